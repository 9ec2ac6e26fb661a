// Shared helpers for every kefu page. All text from users is rendered with
// textContent (never innerHTML), so shopper, agent and merchant strings can
// never become markup.

export const $ = (sel, root = document) => root.querySelector(sel);

/** el('div', {class: 'x', onclick: f}, 'text', childNode, …) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const STRINGS = {
  'zh-CN': {
    login: '登录', username: '用户名', password: '密码', logout: '退出', wrong_login: '用户名或密码错误', queue_ahead: n => n > 0 ? `正在为您转接人工客服，前面还有 ${n} 位，请稍候` : '正在为您转接人工客服，马上就到您', queue_wait: s => s < 60 ? '，预计 1 分钟内接入' : `，预计等待约 ${Math.ceil(s / 60)} 分钟`, queue_served: name => `客服 ${name} 正在为您服务`, queue_nobody: n => `人工客服暂时都不在线，您已在排队${n > 0 ? `（前面还有 ${n} 位）` : ''}，客服上线后按顺序回复您，可先留言`, queue_closed: (when, n) => `客服已下班，${when} 回来后按顺序回复您${n > 0 ? `（前面还有 ${n} 位）` : ''}，可先留言`, account_disabled: '该账号已停用，请联系管理员', signed_out: '您已在此设备退出：账号被停用或密码已修改，请重新登录', auto_offline: '你已变为离线（工作台断开超过 3 分钟，或在其他页面更改），不再分配新会话；选择“接待中”继续接待',
    online: '接待中', away: '挂起', offline: '离线', load: '负载',
    tab_mine: '进行中', kpi_line: (n, first, avg, minutes, reply) => `今日接待 ${n} · 30秒应答 ${first} · 均响 ${avg} · ${minutes}分钟回复 ${reply}`, still_holding: n => `不再分配新会话，但你手上还有 ${n} 个会话：请处理完或转接`, sum_queue: n => `排队 ${n}`, stranded: n => `未在接待，仍有 ${n} 个会话`, sum_stranded: n => `${n} 位未在接待仍有会话`, sum_longest: w => `最久 ${w}`, sum_online: (n, all) => `接待中 ${n}/${all}`, sum_seats: n => `空位 ${n}`, sum_label: '接待概况', team_kpi: (day, n, first, avg, minutes, reply) => `${day} ${n} · 30秒 ${first} · 均响 ${avg} · ${minutes}分钟 ${reply}`, team_today: '今日', team_day: '查看日期', team_day_on: d => `${Number(d.slice(5, 7))}月${Number(d.slice(8, 10))}日`, team_day_empty: d => `${d} 无接待记录`, kpi_secs: s => (s < 60 ? `${s}秒` : `${Math.floor(s / 60)}分${String(s % 60).padStart(2, '0')}秒`), kpi_hint: (minutes, late) => `今日（北京时间）：接待 = 回复过的会话数；30秒应答 = 接入后首次回复在 30 秒内的比例；均响 = 买家等待到回复的平均时长（从接入算起）；${minutes}分钟回复 = 在 ${minutes} 分钟内回复的比例，正在超时等待的买家（现有 ${late} 位）也计入未达标`, tab_team: '团队', no_team: '暂无同事', team_no_convs: '没有进行中的会话', set_to: s => `设为${s}`, take_back: n => `收回会话 (${n})`, take_back_hint: '先设为挂起或离线，再收回其会话', taken_back: n => `已收回 ${n} 个会话，正在分配给其他客服`, set_by: (name, s) => `${name} 将你设为${s}，不再分配新会话；选择“接待中”继续接待`, a_supervisor: '主管', search_team: '同事姓名 / 账号', role_names: { agent: '客服', senior: '资深客服', qa: '质检', supervisor: '主管', admin: '管理员' }, tab_queue: '排队', tab_history: '历史', tab_requests: '服务单', no_requests: '没有待处理的服务单', search: '昵称 / 手机 / 订单号',
    accept: '接入', dispatch: '指派', dispatch_to: '指派给…', kpi_missed: n => ` · 漏接 ${n}`, offered_status: '待接入', offer_accept: s => `接入 ${s}秒`, offer_hint: s => `系统分配给你的新会话：请在 ${s} 秒内接入或回复，超时将转给其他客服，并把你设为挂起`, missed_offer: '你未在时限内接入分配的会话，已转给其他客服，并将你设为挂起；选择“接待中”继续接待', transfer: '转接', close: '结束', reply: '回复', note: '备注',
    note_hint: '内部备注，买家不可见', send: '发送', enter_hint: 'Enter 发送 · Shift+Enter 换行',
    no_conversation: '从左侧选择一个会话', empty_list: '暂无会话', bot: '机器人接待中',
    buyer: '买家', orders: '订单', products: '商品', no_products: '本次会话还没有涉及商品', prod_asked: '买家咨询', history: '历史', ctx_profile: '买家资料', ctx_order: '当前订单', ctx_recent: '最近会话', ctx_pin: '固定在顶部（各标签页都显示）', ctx_unpin: '取消固定', ctx_up: '上移', ctx_down: '下移', complaints: '投诉', spend: '累计消费',
    no_orders: '暂无订单', no_history: '暂无历史会话', tracking: '运单号', copy: '复制', copied: '已复制',
    waiting_popup: (n, w) => `${n} 个会话等待超过 100 秒 · 最久 ${w}`,
    over3: '超3分钟', over5: '超5分钟', queued_hint: '该会话在排队中，接入后即可回复',
    transfer_to: '转接给…', transfer_note: '转接说明（选填，仅同事可见）：原因、已处理到哪一步', transfer_group: '转到技能组', cancel: '取消', confirm: '确定',
    today: '今天', yesterday: '昨天', load_more: '加载更早的消息', lang: 'English',
    status: { created: '待付款', paid: '待发货', shipped: '已发货', delivered: '已签收', completed: '已完成', cancelled: '已取消', after_sale: '售后中', refunded: '已退款' },
    tier: { plus: 'PLUS', vip: 'VIP', normal: '' },
    conv_status: { bot: '机器人', queued: '排队中', assigned: '接待中', closed: '已结束' },
    today_chats: '今日接待', reconnecting: '连接中断，正在重连…', new_messages: n => `(${n}) 新消息`,
    sound_enable: '点击开启声音提醒', sound_on: '🔔 声音已开', v_offer: '新会话', v_message: '买家消息', v_timer: '等待超时', v_transfer: '转给我', n_offer: '新的排队会话', n_message: '买家新消息', n_timer: '买家等待超时', n_transfer: '会话转给了你',
    shop: '店铺', items: '件',
    image: '图片', image_too_large: '图片不能超过 5 MB', image_not_image: '只能发送 PNG、JPEG、GIF 或 WebP 图片', image_failed: '图片没有发出去，请重试', image_expired: '[图片已过期]', image_too_many: s => s > 3 * 3600 ? '今天的图片已达上限，请先用文字描述问题，客服同样可以处理' : `图片发得太频繁了，请 ${s > 90 ? Math.ceil(s / 60) + ' 分钟' : s + ' 秒'}后再试`,
    handoff_title: '机器人移交', display: '显示', compact: '紧凑模式', dark: '深色主题',
    cmd_palette: '命令', cmd_palette_hint: '输入命令或拼音首字母，如 js 结束', cmd_none: '没有匹配的命令', cmd_note: '切换到备注', cmd_reply: '切换到回复', cmd_longest: '打开等待最久的会话', cmd_status: '接待状态', cmd_help: '快捷键',
    key_send: '发送', key_newline: '换行', key_phrases: '快捷短语（编码或拼音首字母）', key_prev_next: '上一个 / 下一个会话', key_esc: '关闭弹窗（草稿保留）', shortcuts_on: '启用快捷键',
    quick_phrases: '快捷短语', phrase_hint: '在输入框里打 / 加编码或拼音首字母，如 /fh', no_phrases: '没有匹配的快捷短语',
    product_card: '商品', ask_product: '咨询此商品', send_product: '发送商品',
    req_title: '服务单', req_kind: { urge: '催发货', cancel: '取消订单', address_change: '改地址', after_sale: '售后', price_protection: '价保', invoice: '发票' },
    req_status: { open: '处理中', review: '待审核', done: '已完成', rejected: '已驳回' }, req_by_bot: '机器人', req_by_merchant: '商家系统', req_all: '全部', act_done: '完成', act_reject: '驳回', reject_why: '驳回原因（必填）', done_note: '处理结果（选填）',
    act_submit: '提交', act_exception: '特批提交（需审核）', province: '省', city: '市', address: '详细地址', item: '商品', return_refund: '退货退款', exchange: '换货',
    reasons: { no_reason: '七天无理由', quality: '质量问题', wrong_item: '发错货/少件', damaged: '运输破损' }, opened: '已拆封', req_note: '备注（给处理人）',
    inv_title: '抬头（个人姓名或公司名）', inv_code: '税号（公司填写）', inv_email: '接收邮箱', reply_ready: '已提交，回复已放入输入框', request_open: '该订单已有处理中的同类服务单', order_moved: '订单状态已变化，请刷新后再试',
    confirm_cancel: n => `确认取消订单 ${n}？取消后原路退款。`,
    req_open: { after_sale: '售后处理中', invoice: '发票开具中', price_protection: '价保核实中' },
    order_card: '订单', send_card: '发送订单卡片', card_sent: '已发送卡片', pick_order: '选择订单', pick_order_title: '选择要咨询的订单', order_no: '订单号', more_items: n => `等${n}件`,
    // chat page
    chat_online: typical => '客服在线' + ({ '30s': ' · 通常 30 秒内回复', '3m': ' · 通常 3 分钟内回复', '5m': ' · 通常 5 分钟内回复' }[typical] || ''), chat_busy: '人工客服暂时都不在线，智能客服为您服务，可先留言', chat_closed: w => `客服已下班，${w} 回来，可先留言`, tomorrow: '明天', input_placeholder: '请输入您的问题…', bot_name: '智能客服', sending: '发送中', sent: '已发送', read: '已读', failed: '发送失败，点击重试',
    chips: ['查物流', '退换货', '改地址', '转人工'], rate_title: '请为本次服务评分', rate_thanks: '感谢您的评价！', skip: '跳过',
    csat: ['非常不满意', '不满意', '一般', '满意', '非常满意'], closed_note: '会话已结束', you: '我', agent: '客服', system: '系统',
    offline_queue: '网络已断开，消息将在恢复后发送',
  },
  en: {
    login: 'Log in', username: 'Username', password: 'Password', logout: 'Log out', wrong_login: 'Wrong username or password', queue_ahead: n => n > 0 ? `Connecting you to an agent: ${n} ahead of you` : 'Connecting you to an agent: you are next', queue_wait: s => s < 60 ? ' (under a minute)' : ` (about ${Math.ceil(s / 60)} min)`, queue_served: name => `${name} is helping you`, queue_nobody: n => `Nobody is online right now; you are in the queue${n > 0 ? ` (${n} ahead of you)` : ''} and will be answered in turn. Leave a message meanwhile`, queue_closed: (when, n) => `We are closed; back at ${when}, answering in turn${n > 0 ? ` (${n} ahead of you)` : ''}. Leave a message meanwhile`, account_disabled: 'This account is disabled; ask an admin', signed_out: 'You were signed out: the account was disabled or its password changed. Log in again.', auto_offline: 'You are now offline (disconnected for over 3 minutes, or changed elsewhere) and get no new chats; choose Online to continue',
    online: 'Available', away: 'Away', offline: 'Offline', load: 'Load',
    tab_mine: 'Active', kpi_line: (n, first, avg, minutes, reply) => `Today ${n} · 30s ${first} · avg ${avg} · ${minutes}-min ${reply}`, still_holding: n => `No new chats, but you still hold ${n}: finish or transfer them`, sum_queue: n => `Queue ${n}`, stranded: n => `not available, still holding ${n}`, sum_stranded: n => `${n} not available still holding chats`, sum_longest: w => `longest ${w}`, sum_online: (n, all) => `available ${n}/${all}`, sum_seats: n => `${n} free`, sum_label: 'Desk at a glance', team_kpi: (day, n, first, avg, minutes, reply) => `${day} ${n} · 30s ${first} · Avg ${avg} · ${minutes}-min ${reply}`, team_today: 'Today', team_day: 'Figures of', team_day_on: d => d, team_day_empty: d => `${d}: nothing answered`, kpi_secs: s => (s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`), kpi_hint: (minutes, late) => `Today (China time): chats = conversations you answered; 30s response = first answers within 30 s of getting the chat; Avg = mean wait you answered (from getting the chat); ${minutes}-min reply = answers within ${minutes} minutes, with buyers late and still waiting (${late} now) counted as missed`, tab_team: 'Team', no_team: 'No colleagues', team_no_convs: 'No open conversations', set_to: s => `Set ${s.toLowerCase()}`, take_back: n => `Take back chats (${n})`, take_back_hint: 'Set them away or offline first', taken_back: n => `${n} chats taken back and routed to others`, set_by: (name, s) => `${name} set you ${s.toLowerCase()}; you get no new chats. Choose Online to continue`, a_supervisor: 'A supervisor', search_team: 'Colleague name / username', role_names: { agent: 'Agent', senior: 'Senior', qa: 'QA', supervisor: 'Supervisor', admin: 'Admin' }, tab_queue: 'Queue', tab_history: 'History', tab_requests: 'Requests', no_requests: 'No open requests', search: 'Name / phone / order no.',
    accept: 'Accept', dispatch: 'Assign', dispatch_to: 'Assign to…', kpi_missed: n => ` · missed ${n}`, offered_status: 'Offered', offer_accept: s => `Accept ${s}s`, offer_hint: s => `Assigned to you: accept or reply within ${s} s, or it goes to someone else and you are set away`, missed_offer: 'You did not accept an assigned chat in time: it went to someone else and you are set away. Choose Online to continue', transfer: 'Transfer', close: 'Close', reply: 'Reply', note: 'Note',
    note_hint: 'Internal note, not visible to the buyer', send: 'Send', enter_hint: 'Enter to send · Shift+Enter for a new line',
    no_conversation: 'Pick a conversation on the left', empty_list: 'No conversations', bot: 'Bot is handling',
    buyer: 'Buyer', orders: 'Orders', products: 'Products', no_products: 'No products in this conversation yet', prod_asked: 'asked about', history: 'History', ctx_profile: 'Profile', ctx_order: 'Order in question', ctx_recent: 'Recent chats', ctx_pin: 'Pin to the top (on every tab)', ctx_unpin: 'Unpin', ctx_up: 'Move up', ctx_down: 'Move down', complaints: 'Complaints', spend: 'Lifetime spend',
    no_orders: 'No orders', no_history: 'No past conversations', tracking: 'Tracking no.', copy: 'Copy', copied: 'Copied',
    waiting_popup: (n, w) => `${n} conversations waiting over 100 s · longest ${w}`,
    over3: '> 3 min', over5: '> 5 min', queued_hint: 'This conversation is queued; accept it to reply',
    transfer_to: 'Transfer to…', transfer_note: 'Note for the colleague (optional, agents only): why, and what was done', transfer_group: 'To skill group', cancel: 'Cancel', confirm: 'OK',
    today: 'Today', yesterday: 'Yesterday', load_more: 'Load earlier messages', lang: '中文',
    status: { created: 'Unpaid', paid: 'Paid', shipped: 'Shipped', delivered: 'Delivered', completed: 'Completed', cancelled: 'Cancelled', after_sale: 'After-sale', refunded: 'Refunded' },
    tier: { plus: 'PLUS', vip: 'VIP', normal: '' },
    conv_status: { bot: 'Bot', queued: 'Queued', assigned: 'Active', closed: 'Closed' },
    today_chats: 'Today', reconnecting: 'Connection lost, reconnecting…', new_messages: n => `(${n}) new`,
    sound_enable: 'Click to turn on sound alerts', sound_on: '🔔 Sound on', v_offer: 'New conversation', v_message: 'Buyer message', v_timer: 'Waiting too long', v_transfer: 'Transferred to me', n_offer: 'New conversation waiting', n_message: 'New buyer message', n_timer: 'Buyer waiting too long', n_transfer: 'Conversation transferred to you',
    shop: 'Shop', items: 'items',
    image: 'Image', image_too_large: 'Images can be up to 5 MB', image_not_image: 'Only PNG, JPEG, GIF or WebP images', image_failed: 'The image was not sent; try again', image_expired: '[Image expired]', image_too_many: s => s > 3 * 3600 ? 'No more images today; please describe the problem in words and we will help' : `Too many images; try again in ${s > 90 ? Math.ceil(s / 60) + ' min' : s + ' s'}`,
    handoff_title: 'Handed over by the bot', display: 'Display', compact: 'Compact', dark: 'Dark theme',
    cmd_palette: 'Commands', cmd_palette_hint: 'Type a command, e.g. close', cmd_none: 'No matching command', cmd_note: 'Switch to note', cmd_reply: 'Switch to reply', cmd_longest: 'Open the longest wait', cmd_status: 'Status', cmd_help: 'Keyboard shortcuts',
    key_send: 'Send', key_newline: 'New line', key_phrases: 'Quick phrases (code or pinyin initials)', key_prev_next: 'Previous / next conversation', key_esc: 'Close a popup (the draft stays)', shortcuts_on: 'Shortcuts on',
    quick_phrases: 'Quick phrases', phrase_hint: 'Type / and a code or pinyin initials in the reply box, e.g. /fh', no_phrases: 'No matching phrase',
    product_card: 'Product', ask_product: 'Ask about this product', send_product: 'Send',
    req_title: 'Requests', req_kind: { urge: 'Urge', cancel: 'Cancel order', address_change: 'Address', after_sale: 'After-sale', price_protection: 'Price protection', invoice: 'Invoice' },
    req_status: { open: 'Open', review: 'For review', done: 'Done', rejected: 'Rejected' }, req_by_bot: 'Bot', req_by_merchant: 'Merchant system', req_all: 'All', act_done: 'Done', act_reject: 'Reject', reject_why: 'Why (required)', done_note: 'Outcome (optional)',
    act_submit: 'Submit', act_exception: 'Grant as exception (for review)', province: 'Province', city: 'City', address: 'Street address', item: 'Item', return_refund: 'Return & refund', exchange: 'Exchange',
    reasons: { no_reason: 'Changed mind (7 days)', quality: 'Faulty', wrong_item: 'Wrong / missing item', damaged: 'Damaged in transit' }, opened: 'Opened',
    req_note: 'Note for whoever handles it', inv_title: 'Title (person or company)', inv_code: 'Tax id (companies)', inv_email: 'E-mail', reply_ready: 'Filed; a reply is in the box', request_open: 'This order already has an open request of this kind', order_moved: 'The order has changed; refresh and try again',
    confirm_cancel: n => `Cancel order ${n}? The payment is refunded.`,
    not_eligible: {
      already_shipped: 'Already shipped: intercept the parcel or have the buyer refuse it.', not_paid: 'Not paid yet: it ships after payment.',
      order_closed: 'The order is cancelled or refunded.', price_protection_window: 'Past the price-protection window.',
      window_passed: 'Past the return window.', category_excluded: 'This category has no no-reason returns.',
      opened_excluded: 'Opened items of this category have no no-reason returns.', exchange_needs_reason: 'Exchanges are for faulty, wrong or damaged items.',
      not_delivered: 'Not delivered yet: cancel, intercept or refuse instead.', item_not_in_order: 'That item is not in the order.',
      already_in_after_sale: 'The order is already in after-sales.',
    },
    req_open: { after_sale: 'After-sale in progress', invoice: 'Invoice on its way', price_protection: 'Price check in progress' },
    order_card: 'Order', send_card: 'Send order card', card_sent: 'Card sent', pick_order: 'Pick an order', pick_order_title: 'Which order is it about?', order_no: 'Order no.', more_items: n => `and ${n - 1} more`,
    chat_online: typical => 'We are online' + ({ '30s': ' · usually reply within 30 seconds', '3m': ' · usually reply within 3 minutes', '5m': ' · usually reply within 5 minutes' }[typical] || ''), chat_busy: 'No agent is free right now; our assistant can help, or leave a message', chat_closed: w => `We are back ${w}; leave a message`, tomorrow: 'tomorrow', input_placeholder: 'Type your question…', bot_name: 'Assistant', sending: 'Sending', sent: 'Sent', read: 'Read', failed: 'Not sent, tap to retry',
    chips: ['Track parcel', 'Return / exchange', 'Change address', 'Talk to a person'], rate_title: 'How did we do?', rate_thanks: 'Thanks for your feedback!', skip: 'Skip',
    csat: ['Very unhappy', 'Unhappy', 'OK', 'Happy', 'Very happy'], closed_note: 'Conversation ended', you: 'Me', agent: 'Agent', system: 'System',
    offline_queue: 'Offline: messages will be sent when the connection is back',
  },
};

export function lang() {
  const saved = localStorage.getItem('kefu_lang');
  if (saved === 'en' || saved === 'zh-CN') return saved;
  return 'zh-CN';
}

export function setLang(l) {
  localStorage.setItem('kefu_lang', l);
  location.reload();
}

export function t(key, ...args) {
  const v = STRINGS[lang()][key] ?? STRINGS['zh-CN'][key] ?? key;
  return typeof v === 'function' ? v(...args) : v;
}

document.documentElement.lang = lang();

let csrfToken = '';
export function setCsrf(token) { csrfToken = token; }

export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

/**
 * Uploads an image file as the request body; answers the attachment id, or
 * throws an ApiError (`too_large` before anything is sent).
 */
export async function uploadImage(path, file, headers = {}) {
  if (file.size > MAX_IMAGE_BYTES) throw new ApiError(413, 'too_large', t('image_too_large'));
  const res = await fetch(path, { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrfToken, ...headers }, body: file });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const code = data?.error?.code || 'http_' + res.status;
    const why = { invalid_input: t('image_not_image'), rate_limited: t('image_too_many', data?.error?.details?.retry_after_seconds) }[code] || t('image_failed');
    throw new ApiError(res.status, code, why);
  }
  return data.attachment.id;
}

/** A message in one line, for lists, notifications and the launcher: [订单] 2600…, [图片]. */
export function shortText(m) {
  if (m.kind === 'image') return `[${t('image')}]`;
  const tag = { order: t('order_card'), product: t('product_card'), note: t('note') }[m.kind];
  return (tag ? `[${tag}] ` : '') + m.text.slice(0, 80);
}

/** An image in a message: small in the thread, full size in a new tab on click. */
/** What stands where an image was: deleted after the shop's retention (or never there). */
export function expiredImage() {
  return el('span', { class: 'meta image-expired' }, t('image_expired'));
}

export function imageView(src) {
  const img = el('img', { class: 'msg-image', alt: t('image'), loading: 'lazy' });
  img.addEventListener('error', () => img.replaceWith(expiredImage()), { once: true });
  if (src) img.src = src;
  img.addEventListener('click', () => { if (img.src) window.open(img.src, '_blank', 'noopener'); });
  return img;
}

/** The first image among dropped or pasted files, if any. */
export function imageFile(list) {
  return [...(list || [])].find(f => f.type.startsWith('image/')) || null;
}

export class ApiError extends Error {
  constructor(status, code, message, details) { super(message); this.status = status; this.code = code; this.details = details; }
}

/** JSON request; state-changing calls carry the CSRF token. */
export async function api(method, path, body, headers = {}) {
  const opts = { method, credentials: 'same-origin', headers: { ...headers } };
  if (method !== 'GET') opts.headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) { opts.headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(body); }
  const res = await fetch(path, opts);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, data?.error?.code || 'http_' + res.status, data?.error?.message || res.statusText, data?.error?.details);
  return data;
}

export function clientId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
}

/** m:ss, or h:mm:ss past an hour. */
export function fmtWait(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = h ? String(m).padStart(2, '0') : String(m);
  return (h ? h + ':' : '') + mm + ':' + String(sec).padStart(2, '0');
}

const pad = n => String(n).padStart(2, '0');

/** 14:05 today, 昨天 14:05, 11月22日 14:05. */
export function fmtTime(ms) {
  const d = new Date(ms), now = new Date();
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const day = x => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const diff = (day(now) - day(d)) / 86400000;
  if (diff === 0) return hm;
  if (diff === 1) return `${t('yesterday')} ${hm}`;
  if (lang() === 'en') return `${d.getMonth() + 1}/${d.getDate()} ${hm}`;
  return `${d.getMonth() + 1}月${d.getDate()}日 ${hm}`;
}

/** A time to come: 09:00 today, 明天 09:00, else 11月24日 09:00. */
export function fmtWhen(ms) {
  const d = new Date(ms), now = new Date();
  const day = x => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const ahead = Math.round((day(d) - day(now)) / 86400000);
  if (ahead === 0) return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (ahead === 1) return `${t('tomorrow')} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return fmtTime(ms);
}

export function fmtFen(fen) {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}¥${Math.floor(abs / 100).toLocaleString('en-US')}.${pad(abs % 100)}`;
}

/**
 * An order card in a conversation: the message carries only the order
 * number, the card is drawn from the order as the page knows it now (`o`,
 * or just the number until it is known). Text only, like everything else.
 */
export function orderCardView(no, o) {
  const card = el('div', { class: 'order-card', dataset: { orderNo: no } },
    el('div', { class: 'oc-top' },
      el('span', { class: 'oc-title' }, t('order_card'), ' ', el('span', { class: 'num' }, no)),
      o ? el('span', { class: 'badge status' }, t('status')[o.status] || o.status) : null));
  // What is open on the order, for both sides: 售后处理中, 发票开具中, 价保核实中.
  const open = (o?.open_requests || []).map(k => t('req_open')[k]).filter(Boolean);
  if (open.length) card.querySelector('.oc-top').after(el('div', { class: 'oc-open' }, ...open.map(x => el('span', { class: 'badge open-req' }, x))));
  if (o) {
    const first = o.items[0];
    card.append(
      first ? el('div', { class: 'oc-items' }, first.name, o.items.length > 1 ? ' ' + t('more_items', o.items.length) : ` ×${first.quantity}`) : null,
      el('div', { class: 'oc-meta meta num' }, fmtFen(o.total_fen), ' · ', fmtTime(o.created_at)));
  }
  return card;
}

/** A product card (咨询此商品): the message carries the SKU, the card the product as the catalogue has it now. */
export function productCardView(sku, p) {
  const card = el('div', { class: 'order-card product-card', dataset: { sku } },
    el('div', { class: 'oc-top' }, el('span', { class: 'oc-title' }, p ? p.name : t('product_card')), el('span', { class: 'badge' }, t('product_card'))));
  card.append(p
    ? el('div', { class: 'oc-meta meta num' }, [p.model, sku].filter(Boolean).join(' · '), ' · ', fmtFen(p.price_fen))
    : el('div', { class: 'oc-meta meta num' }, sku));
  return card;
}

/** Fetches each SKU once per page; `get(sku)` answers the product or null. */
export function productCache(fetchOne) {
  const known = new Map();
  return sku => {
    if (!known.has(sku)) known.set(sku, fetchOne(sku).then(r => r.product).catch(() => null));
    return known.get(sku);
  };
}

/** Enter that is not part of an input method composition (pinyin!). */
export function isPlainEnter(e) {
  return e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229;
}

/**
 * A WebSocket that says hello, reconnects with backoff, and calls
 * onReady(isReconnect) after each welcome so the page can resume.
 */
export function connectSocket({ hello, onFrame, onReady, onState }) {
  let ws = null, attempt = 0, closedByUs = false;
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  const open = () => {
    ws = new WebSocket(url);
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', v: 1, ...hello() }));
    ws.onmessage = ev => {
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      if (frame.type === 'welcome') { const again = attempt > 0; attempt = 0; onState?.('up'); onReady?.(again, frame); }
      onFrame(frame);
    };
    ws.onclose = () => {
      onState?.('down');
      if (closedByUs) return;
      attempt += 1;
      setTimeout(open, Math.min(10000, 300 * 2 ** Math.min(attempt, 5)));
    };
  };
  open();
  return {
    send(frame) { if (ws?.readyState === 1) { ws.send(JSON.stringify(frame)); return true; } return false; },
    isOpen() { return ws?.readyState === 1; },
    close() { closedByUs = true; ws?.close(); },
  };
}
