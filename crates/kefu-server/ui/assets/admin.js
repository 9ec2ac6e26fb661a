// Admin: shops (with their signing secrets), agents and skill groups; for
// supervisors and admins, the self-service bot's figures per shop and the
// knowledge base it answers from, and the shops' quick phrases.
import { $, el, api, setCsrf } from './common.js';

async function load() {
  let me;
  try { me = await api('GET', '/api/me'); } catch { location.href = '/agent'; return; }
  setCsrf(me.csrf_token);
  const supervises = me.agent.role === 'admin' || me.agent.role === 'supervisor';
  if (supervises) { loadBot(me.shops); loadKnowledge(me.shops); loadRules(me.shops); loadPhrases(me.shops); }
  $('#rules-reload').onclick = reloadRules;
  $('#rules-shop').onchange = showRules;
  $('#rules-save').onclick = () => saveRules('PUT');
  $('#rules-remove').onclick = () => { if (confirm('删除在此保存的规则？')) saveRules('DELETE'); };
  $('#rules-compare').onclick = () => showDiff($('#rules-text').dataset.loaded ?? '', '当前生效', $('#rules-text').value);
  if (me.agent.role !== 'admin') {
    for (const s of document.querySelectorAll('.admin-only')) s.hidden = true;
    if (!supervises) $('#error').textContent = '仅管理员和主管可访问';
    return;
  }
  const [{ shops }, { agents }] = await Promise.all([api('GET', '/api/admin/shops'), api('GET', '/api/admin/agents')]);
  const shopName = Object.fromEntries(shops.map(s => [s.id, s.name]));
  $('#shops').replaceChildren(
    el('tr', {}, el('th', {}, '名称'), el('th', {}, 'slug'), el('th', {}, '签名密钥 (HMAC)'), el('th', {}, '')),
    ...shops.map(s => el('tr', {}, el('td', {}, s.name), el('td', {}, s.slug), el('td', { class: 'secret' }, s.secret),
      el('td', {}, el('button', { class: 'btn danger', onclick: async () => { if (confirm('轮换后旧密钥立即失效，确定？')) { await api('POST', `/api/admin/shops/${s.id}/secret`); load(); } } }, '轮换密钥')))));
  $('#agent-shop').replaceChildren(...shops.map(s => el('option', { value: s.id }, s.name)));
  const groupsByShop = Object.fromEntries(await Promise.all(shops.map(s =>
    api('GET', `/api/shops/${s.id}/skill-groups`).then(r => [s.id, r.skill_groups]))));
  $('#agents').replaceChildren(
    el('tr', {}, el('th', {}, '账号'), el('th', {}, '显示名'), el('th', {}, '角色'), el('th', {}, '店铺'), el('th', {}, '接待上限'), el('th', {}, '状态'), el('th', {}, '')),
    ...agents.map(a => el('tr', { class: a.disabled ? 'agent disabled' : 'agent', dataset: { username: a.username } },
      el('td', {}, a.username), el('td', {}, a.display_name), el('td', {}, ROLES[a.role] || a.role),
      el('td', {}, a.shops.map(id => shopName[id] || id).join('、')), el('td', { class: 'num' }, `${a.open_conversations ?? 0}/${a.max_concurrent}`),
      el('td', {}, a.disabled ? '已停用' : (STATUSES[a.status] || a.status)),
      el('td', {},
        el('button', { class: 'btn small', type: 'button', onclick: () => editAgent(a, shops, groupsByShop) }, '编辑'), ' ',
        a.id === me.agent.id ? '' : a.disabled
          ? el('button', { class: 'btn small', type: 'button', onclick: () => setDisabled(a, false) }, '启用')
          : el('button', { class: 'btn small danger', type: 'button', onclick: () => setDisabled(a, true) }, '停用')))));
  const notifyShop = $('#notify-shop');
  const chosen = notifyShop.value;
  notifyShop.replaceChildren(...shops.map(s => el('option', { value: s.id }, s.name)));
  if (chosen && shops.some(s => s.id === chosen)) notifyShop.value = chosen;
  showNotify();
  const groups = shops.map(s => [s, groupsByShop[s.id] || []]);
  $('#groups').replaceChildren(...groups.map(([s, gs]) => el('p', {}, el('strong', {}, s.name), '：', gs.map(g => g.name).join('、') || '—', ' ',
    el('button', { class: 'btn', onclick: async () => { const name = prompt('技能组名称'); if (name) { await api('POST', `/api/shops/${s.id}/skill-groups`, { name }); load(); } } }, '添加'))));
}

const REASONS = {
  requested: '客户要求', misunderstood: '连续未理解', angry: '情绪激动', complaint: '投诉',
  high_value_complaint: '高价值投诉', vip_with_complaints: 'VIP 有投诉史', needs_human: '需人工处理', order_changed: '订单已变化',
};
const INTENTS = {
  order_status: '查订单', logistics: '查物流', urge_shipment: '催发货', cancel_order: '取消订单', change_address: '修改地址',
  return_exchange: '退货/换货', refund_status: '退款进度', apply_refund: '申请退款', price_protection: '价保', invoice: '发票',
  product_inquiry: '商品咨询', stock_arrival: '库存/到货', coupon_promotion: '优惠券/活动', payment_issue: '支付问题',
  install_repair: '安装/维修', complaint: '投诉', human_agent: '转人工', greeting: '问候', thanks_bye: '感谢/再见',
};
const pct = x => (x * 100).toFixed(1) + '%';

async function loadBot(shops) {
  $('#bot-card').hidden = false;
  const rows = await Promise.all(shops.map(s => api('GET', `/api/shops/${s.id}/bot-metrics?days=7`).then(m => [s, m]).catch(() => [s, null])));
  $('#bot').replaceChildren(...rows.map(([s, m]) => {
    if (!m) return el('p', {}, el('strong', {}, s.name), '：暂无数据');
    const reasons = Object.entries(m.handoff_reasons).sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${REASONS[k] || k} ${n}`).join('、') || '—';
    const intents = Object.entries(m.per_intent).sort((a, b) => b[1].conversations - a[1].conversations).slice(0, 10);
    return el('div', { class: 'bot-shop' },
      el('h3', {}, s.name),
      el('p', { class: 'kpis' },
        el('span', {}, `会话 ${m.conversations}`), el('span', {}, `进行中 ${m.in_progress}`),
        el('span', {}, `已解决 ${m.resolved}（解决率 ${pct(m.resolution_rate)}）`), el('span', {}, `转人工 ${m.handed_off}`),
        el('span', {}, `知识库回答 ${m.knowledge_answers} 次`), el('span', {}, `未理解 ${m.misunderstood_turns} 次`)),
      el('p', {}, '转人工原因：', reasons),
      el('table', {},
        el('tr', {}, el('th', {}, '意图'), el('th', { class: 'num' }, '会话'), el('th', { class: 'num' }, '转人工'), el('th', { class: 'num' }, '承接率')),
        ...intents.map(([intent, x]) => el('tr', {}, el('td', { title: intent }, INTENTS[intent] || intent), el('td', { class: 'num' }, String(x.conversations)),
          el('td', { class: 'num' }, String(x.handed_off)), el('td', { class: 'num' }, pct(x.containment))))));
  }));
}

const SOURCES = { admin: '当前：在此保存的规则', file: '当前：服务器上的规则文件（在此保存后以此为准）', default: '当前：默认规则' };

async function loadRules(shops) {
  $('#rules-card').hidden = false;
  const select = $('#rules-shop');
  if (!select.options.length) select.replaceChildren(...shops.map(s => el('option', { value: s.id }, s.name)));
  await showRules();
}

const localTime = ms => new Date(ms).toLocaleString('zh-CN', { hour12: false });

function showRulesState(r) {
  showRulesSource(r);
  $('#rules-text').value = r.text ?? r.default_text;
  rulesLoaded(r);
  $('#rules-diff').hidden = true;
}

function showRulesSource(r) {
  const when = r.updated_at ? `（${r.updated_by} 于 ${localTime(r.updated_at)} 保存）` : '';
  $('#rules-source').textContent = (SOURCES[r.source] || r.source) + when;
  $('#rules-remove').disabled = r.source !== 'admin';
}

/// What "查看改动" compares the editor with, and the version a save names:
/// the server refuses a save over a change this page has not seen.
function rulesLoaded(r) {
  const text = $('#rules-text');
  text.dataset.loaded = r.text ?? r.default_text;
  text.dataset.version = String(r.version ?? 0);
}

/// Lines of `a` and `b` as [op, line]: ' ' in both, '-' only in a, '+' only in b (longest common subsequence).
function lineDiff(a, b) {
  const x = a.split('\n'), y = b.split('\n');
  const n = x.length, m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--)
    lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { out.push([' ', x[i]]); i++; j++; }
    else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) out.push(['+', y[j++]]);
    else out.push(['-', x[i++]]);
  }
  return out;
}

/// Shows what changes from `before` (named `what`) to `after`; long unchanged runs are folded.
function showDiff(before, what, after) {
  const box = $('#rules-diff');
  const diff = lineDiff(before, after);
  const added = diff.filter(d => d[0] === '+').length, removed = diff.filter(d => d[0] === '-').length;
  const lines = [el('div', { class: 'same' }, added || removed ? `与${what}相比：+${added} 行，−${removed} 行` : `与${what}相同`)];
  const CONTEXT = 2;
  const near = k => diff.slice(Math.max(0, k - CONTEXT), k + CONTEXT + 1).some(d => d[0] !== ' ');
  let folded = 0;
  diff.forEach(([op, line], k) => {
    if (op === ' ' && !near(k)) { folded++; return; }
    if (folded) { lines.push(el('div', { class: 'same' }, `… ${folded} 行未改 …`)); folded = 0; }
    lines.push(el('span', { class: op === '+' ? 'add' : op === '-' ? 'del' : 'same' }, `${op} ${line}`));
  });
  if (folded && (added || removed)) lines.push(el('div', { class: 'same' }, `… ${folded} 行未改 …`));
  box.replaceChildren(...lines);
  box.hidden = false;
}

async function showRulesHistory(shop) {
  const { versions } = await api('GET', `/api/shops/${shop}/bot-rules/history`);
  if ($('#rules-shop').value !== shop) return;
  const table = $('#rules-history');
  if (!versions.length) { table.replaceChildren(el('tr', {}, el('td', {}, '还没有修改记录'))); return; }
  table.replaceChildren(...versions.map(v => el('tr', { 'data-version': String(v.version) },
    el('td', {}, localTime(v.changed_at)), el('td', {}, v.changed_by), el('td', {}, v.removed ? '删除（改用规则文件或默认规则）' : '保存'),
    el('td', {}, v.removed ? '' : el('button', { class: 'btn small', type: 'button', onclick: () => showDiff(v.text, `${localTime(v.changed_at)} 的版本`, $('#rules-text').value) }, '对比')),
    el('td', {}, v.removed ? '' : el('button', { class: 'btn small', type: 'button', onclick: () => {
      $('#rules-text').value = v.text;
      $('#rules-saved').textContent = `已载入 ${localTime(v.changed_at)} 的版本，保存后生效`;
      showDiff($('#rules-text').dataset.loaded ?? '', '当前生效', v.text);
    } }, '载入')))));
}

async function showRules() {
  const shop = $('#rules-shop').value;
  if (!shop) return;
  const text = $('#rules-text');
  $('#rules-saved').textContent = '';
  // No typing into a shop's rules until they are here, so a late answer
  // cannot overwrite what was typed; a later choice of shop wins.
  text.disabled = true;
  const r = await api('GET', `/api/shops/${shop}/bot-rules`);
  if ($('#rules-shop').value !== shop) return;
  showRulesState(r);
  text.dataset.shop = shop;
  text.disabled = false;
  await showRulesHistory(shop);
}

async function saveRules(method) {
  const shop = $('#rules-shop').value;
  const out = $('#rules-saved');
  const text = $('#rules-text');
  const base = Number(text.dataset.version ?? 0);
  try {
    const r = method === 'PUT'
      ? await api('PUT', `/api/shops/${shop}/bot-rules`, { text: text.value, base_version: base })
      : await api('DELETE', `/api/shops/${shop}/bot-rules?base_version=${base}`);
    showRulesState(r);
    out.textContent = method === 'PUT' ? '已保存，机器人下一句起按新规则回答' : '已删除，改用规则文件或默认规则';
    showRulesHistory(shop);
  } catch (e) {
    const now = e.code === 'conflict' && e.details?.current;
    if (!now) { out.textContent = `未保存，规则保持不变：${e.message}`; return; }
    // Someone changed the rules since this page loaded them. The editor keeps
    // what was typed; the diff shows their version against it, and the next
    // save (from their version) is a deliberate choice.
    const who = now.updated_by ? `${now.updated_by} 于 ${localTime(now.updated_at)} ` : '其他人';
    const theirs = now.text ?? now.default_text;
    showRulesSource(now);
    rulesLoaded(now);
    out.textContent = `未保存：${who}已修改了规则。下面是对方的版本与你的编辑的差异；确认无误后再点保存。`;
    showDiff(theirs, '对方的版本', text.value);
    showRulesHistory(shop);
  }
}

async function reloadRules() {
  const out = $('#rules-result');
  try {
    const { shops } = await api('POST', '/api/admin/bot-rules/reload');
    out.textContent = shops.length ? `已生效：${shops.join('、')}（其余店铺用默认规则）` : '没有规则文件：各店铺用默认规则';
    showRules();
  } catch (e) {
    out.textContent = `未加载，规则保持不变：${e.message}`;
  }
}

async function loadKnowledge(shops) {
  $('#kb-card').hidden = false;
  const select = $('#kb-shop');
  if (!select.options.length) select.replaceChildren(...shops.map(s => el('option', { value: s.id }, s.name)));
  await showKnowledge();
}

async function showKnowledge() {
  const shop = $('#kb-shop').value;
  if (!shop) return;
  const q = $('#kb-q').value.trim();
  const { entries } = await api('GET', `/api/shops/${shop}/knowledge${q ? `?q=${encodeURIComponent(q)}` : ''}`);
  $('#kb').replaceChildren(
    el('tr', {}, el('th', {}, '问题'), el('th', {}, '答案'), el('th', {}, '类目'), ...(q ? [el('th', { class: 'num' }, '相似度')] : []), el('th', {}, '')),
    ...entries.map(k => el('tr', { class: k.enabled ? '' : 'off' },
      el('td', {}, k.question, k.enabled ? '' : '（停用）', ...k.alternates.map(a => el('div', { class: 'alts' }, a))),
      el('td', { class: 'answer' }, k.answer),
      el('td', {}, k.category || '—'),
      ...(q ? [el('td', { class: 'num' }, k.score.toFixed(2))] : []),
      el('td', {},
        el('button', { class: 'btn', onclick: () => editKnowledge(k) }, '编辑'), ' ',
        el('button', { class: 'btn danger', onclick: async () => {
          if (confirm(`删除“${k.question}”？`)) { await api('DELETE', `/api/shops/${shop}/knowledge/${k.id}`); showKnowledge(); }
        } }, '删除')))),
    ...(entries.length ? [] : [el('tr', {}, el('td', { colspan: 4 }, q ? '没有相近的知识' : '还没有知识，在下方添加'))]));
}

function editKnowledge(k) {
  const f = $('#kb-form');
  f.elements.id.value = k.id;
  f.elements.question.value = k.question;
  f.elements.alternates.value = k.alternates.join('\n');
  f.elements.answer.value = k.answer;
  f.elements.category.value = k.category || '';
  f.elements.enabled.checked = k.enabled;
  $('#kb-save').textContent = '保存修改';
  $('#kb-cancel').hidden = false;
  f.elements.question.focus();
}

function resetKnowledgeForm() {
  $('#kb-form').reset();
  $('#kb-form').elements.id.value = '';
  $('#kb-save').textContent = '添加知识';
  $('#kb-cancel').hidden = true;
}

$('#kb-shop').addEventListener('change', () => { resetKnowledgeForm(); showKnowledge(); });
let kbTimer;
$('#kb-q').addEventListener('input', () => { clearTimeout(kbTimer); kbTimer = setTimeout(showKnowledge, 250); });
$('#kb-cancel').addEventListener('click', resetKnowledgeForm);
$('#kb-form').addEventListener('submit', async e => {
  e.preventDefault();
  const f = new FormData(e.target);
  const shop = $('#kb-shop').value;
  const id = f.get('id');
  const body = {
    question: f.get('question'), answer: f.get('answer'), category: f.get('category') || undefined,
    alternates: String(f.get('alternates')).split('\n').map(x => x.trim()).filter(Boolean), enabled: f.get('enabled') === 'on',
  };
  try {
    await api(id ? 'PUT' : 'POST', `/api/shops/${shop}/knowledge${id ? `/${id}` : ''}`, body);
    resetKnowledgeForm();
    $('#error').textContent = '';
    showKnowledge();
  } catch (err) { $('#error').textContent = err.message; }
});

async function loadPhrases(shops) {
  $('#qp-card').hidden = false;
  const select = $('#qp-shop');
  if (!select.options.length) select.replaceChildren(...shops.map(s => el('option', { value: s.id }, s.name)));
  await showPhrases();
}

async function showPhrases() {
  const shop = $('#qp-shop').value;
  if (!shop) return;
  const { phrases } = await api('GET', `/api/shops/${shop}/quick-phrases`);
  $('#qp').replaceChildren(
    el('tr', {}, el('th', {}, '编码'), el('th', {}, '内容'), el('th', {}, '拼音首字母'), el('th', {}, '')),
    ...phrases.map(p => el('tr', { dataset: { code: p.code } },
      el('td', { class: 'num' }, '/' + p.code),
      el('td', { class: 'answer' }, p.text),
      el('td', { class: 'num' }, p.initials),
      el('td', {},
        el('button', { class: 'btn', onclick: () => editPhrase(p) }, '编辑'), ' ',
        el('button', { class: 'btn danger', onclick: async () => {
          if (confirm(`删除 /${p.code}？`)) { await api('DELETE', `/api/shops/${shop}/quick-phrases/${p.id}`); showPhrases(); }
        } }, '删除')))),
    ...(phrases.length ? [] : [el('tr', {}, el('td', { colspan: 4 }, '还没有快捷短语，在下方添加'))]));
}

function editPhrase(p) {
  const f = $('#qp-form');
  f.elements.id.value = p.id;
  f.elements.code.value = p.code;
  f.elements.text.value = p.text;
  $('#qp-save').textContent = '保存修改';
  $('#qp-cancel').hidden = false;
  f.elements.text.focus();
}

function resetPhraseForm() {
  $('#qp-form').reset();
  $('#qp-form').elements.id.value = '';
  $('#qp-save').textContent = '添加短语';
  $('#qp-cancel').hidden = true;
}

$('#qp-shop').addEventListener('change', () => { resetPhraseForm(); showPhrases(); });
$('#qp-cancel').addEventListener('click', resetPhraseForm);
$('#qp-form').addEventListener('submit', async e => {
  e.preventDefault();
  const f = new FormData(e.target);
  const shop = $('#qp-shop').value;
  const id = f.get('id');
  try {
    await api(id ? 'PUT' : 'POST', `/api/shops/${shop}/quick-phrases${id ? `/${id}` : ''}`, { code: f.get('code'), text: f.get('text') });
    resetPhraseForm();
    $('#error').textContent = '';
    showPhrases();
  } catch (err) { $('#error').textContent = err.code === 'conflict' ? '该编码已被使用' : err.message; }
});

// Agents: edit one (role, shops, skill groups, capacity, a new password), disable or enable it.
const ROLES = { agent: '客服', senior: '资深客服', qa: '质检', supervisor: '主管', admin: '管理员' };
const STATUSES = { online: '接待中', away: '挂起', offline: '离线' };

async function setDisabled(a, disabled) {
  const ask = disabled
    ? `停用 ${a.display_name}（${a.username}）？该账号将立即在所有设备上退出，无法登录，正在接待的会话退回队列。`
    : `启用 ${a.display_name}（${a.username}）？`;
  if (!confirm(ask)) return;
  try {
    await api('POST', `/api/admin/agents/${a.id}/${disabled ? 'disable' : 'enable'}`);
    $('#error').textContent = '';
    load();
  } catch (err) { $('#error').textContent = err.message; }
}

function editAgent(a, shops, groupsByShop) {
  const f = $('#edit-agent');
  f.hidden = false;
  f.dataset.id = a.id;
  $('#edit-agent-title').textContent = `编辑 ${a.display_name}（${a.username}）`;
  f.elements.display_name.value = a.display_name;
  f.elements.role.value = a.role;
  f.elements.max_concurrent.value = a.max_concurrent;
  f.elements.password.value = '';
  const showGroups = () => {
    const chosen = [...f.querySelectorAll('[name=shop]:checked')].map(c => c.value);
    $('#edit-agent-groups').replaceChildren(...chosen.flatMap(id => (groupsByShop[id] || []).map(g =>
      el('label', {}, el('input', { type: 'checkbox', name: 'group', value: g.id, checked: a.skill_groups.includes(g.id) }),
        ` ${g.name}（${shops.find(s => s.id === id)?.name ?? ''}）`))));
  };
  $('#edit-agent-shops').replaceChildren(...shops.map(s =>
    el('label', {}, el('input', { type: 'checkbox', name: 'shop', value: s.id, checked: a.shops.includes(s.id), onchange: showGroups }), ` ${s.name}`)));
  showGroups();
  f.elements.display_name.focus();
}

$('#edit-agent').addEventListener('submit', async e => {
  e.preventDefault();
  const f = e.target;
  const body = {
    display_name: f.elements.display_name.value,
    role: f.elements.role.value,
    max_concurrent: Number(f.elements.max_concurrent.value),
    shops: [...f.querySelectorAll('[name=shop]:checked')].map(c => c.value),
    skill_groups: [...f.querySelectorAll('[name=group]:checked')].map(c => c.value),
  };
  if (f.elements.password.value) body.password = f.elements.password.value;
  try {
    await api('PUT', `/api/admin/agents/${f.dataset.id}`, body);
    f.hidden = true;
    $('#error').textContent = '';
    load();
  } catch (err) { $('#error').textContent = err.message; }
});
$('#edit-agent-cancel').addEventListener('click', () => { $('#edit-agent').hidden = true; });

// Outbound notifications: the shop's endpoint and what came of the latest deliveries.
const EVENTS = { 'order_request.filed': '服务单提交', 'order_request.closed': '服务单完结', 'conversation.closed': '会话结束', 'conversation.rated': '会话评价', ping: '测试' };
const DELIVERY_STATES = { pending: '待发送', delivered: '已送达', failed: '失败' };
let notifyState = '';

async function showNotify() {
  const shop = $('#notify-shop').value;
  if (!shop) return;
  const q = notifyState ? `?state=${notifyState}` : '';
  const [{ endpoint, deliveries, events }, failed] = await Promise.all([
    api('GET', `/api/admin/shops/${shop}/notify${q}`),
    // Failures at a glance, whichever list is shown (up to 200).
    api('GET', `/api/admin/shops/${shop}/notify?state=failed&limit=200`).then(r => r.deliveries.length),
  ]);
  if ($('#notify-shop').value !== shop) return; // another shop was chosen meanwhile
  const failedChip = $('#notify-filter [data-state=failed]');
  failedChip.textContent = failed ? `失败 ${failed >= 200 ? '200+' : failed}` : '失败';
  failedChip.classList.toggle('warn', failed > 0);
  $('#notify-url').value = endpoint?.url ?? '';
  $('#notify-enabled').checked = endpoint?.enabled ?? true;
  $('#notify-remove').disabled = !endpoint;
  $('#notify-ping').disabled = !endpoint?.enabled;
  showEvents(events, endpoint);
  $('#notify-saved').textContent = endpoint ? `${endpoint.enabled ? '已启用' : '已暂停'}，${localTime(endpoint.updated_at)} 保存` : '未设置地址，不会发送通知';
  for (const b of $('#notify-filter').querySelectorAll('[data-state]')) b.setAttribute('aria-pressed', String(b.dataset.state === notifyState));
  const outcome = d => {
    if (d.state === 'delivered') return `HTTP ${d.last_status}`;
    const last = d.last_error ?? '';
    return d.state === 'pending' && d.next_at ? `${last}${last ? '；' : ''}${localTime(d.next_at)} 重试` : last;
  };
  $('#deliveries').replaceChildren(
    el('tr', {}, el('th', {}, '时间'), el('th', {}, '事件'), el('th', {}, '状态'), el('th', { class: 'num' }, '尝试'), el('th', {}, '结果'), el('th', {}, '')),
    ...deliveries.map(d => el('tr', { class: `delivery ${d.state}`, dataset: { id: d.id } },
      el('td', {}, localTime(d.created_at)),
      el('td', { title: d.event }, EVENTS[d.event] || d.event),
      el('td', {}, DELIVERY_STATES[d.state] || d.state),
      el('td', { class: 'num' }, String(d.attempts)),
      el('td', { class: 'answer' }, outcome(d)),
      el('td', {}, d.state === 'pending' ? '' : el('button', { class: 'btn small', onclick: async () => {
        await api('POST', `/api/admin/shops/${shop}/deliveries/${d.id}/retry`); showNotify();
      } }, '重发')))),
    ...(deliveries.length ? [] : [el('tr', {}, el('td', { colspan: 6 }, '暂无通知'))]));
}

// One box per event that may be chosen; 全部事件 stands for every event,
// including ones a later version adds, so it is kept apart from ticking all.
function showEvents(events, endpoint) {
  const every = endpoint ? endpoint.every_event : true;
  $('#notify-every').checked = every;
  $('#notify-events').querySelectorAll('label.event').forEach(l => l.remove());
  $('#notify-events').append(...events.map(name => el('label', { class: 'event', title: name },
    el('input', { type: 'checkbox', name: 'event', value: name, checked: every || (endpoint?.events ?? []).includes(name), disabled: every }),
    ` ${EVENTS[name] || name}`)));
}

$('#notify-every').addEventListener('change', e => {
  for (const box of $('#notify-events').querySelectorAll('input[name=event]')) {
    box.disabled = e.target.checked;
    if (e.target.checked) box.checked = true;
  }
});
$('#notify-shop').addEventListener('change', showNotify);
$('#notify-refresh').addEventListener('click', showNotify);
$('#notify-filter').addEventListener('click', e => {
  const b = e.target.closest('[data-state]');
  if (b) { notifyState = b.dataset.state; showNotify(); }
});
$('#notify-form').addEventListener('submit', async e => {
  e.preventDefault();
  const shop = $('#notify-shop').value;
  try {
    const body = { url: $('#notify-url').value, enabled: $('#notify-enabled').checked };
    if (!$('#notify-every').checked) {
      body.events = [...$('#notify-events').querySelectorAll('input[name=event]:checked')].map(b => b.value);
      if (!body.events.length) { $('#error').textContent = '请至少选择一个通知事件（不想接收通知请关闭“启用”）'; return; }
    }
    await api('PUT', `/api/admin/shops/${shop}/notify`, body);
    $('#error').textContent = '';
    showNotify();
  } catch (err) { $('#error').textContent = err.message; }
});
$('#notify-ping').addEventListener('click', async () => {
  try { await api('POST', `/api/admin/shops/${$('#notify-shop').value}/notify/ping`); $('#error').textContent = ''; showNotify(); }
  catch (err) { $('#error').textContent = err.message; }
});
$('#notify-remove').addEventListener('click', async () => {
  if (!confirm('删除后不再发送新通知，未发出的通知将标记为失败，确定？')) return;
  await api('DELETE', `/api/admin/shops/${$('#notify-shop').value}/notify`);
  showNotify();
});

function onSubmit(form, build) {
  form.addEventListener('submit', async e => {
    e.preventDefault();
    try { await build(new FormData(form)); form.reset(); $('#error').textContent = ''; load(); } catch (err) { $('#error').textContent = err.message; }
  });
}

onSubmit($('#new-shop'), f => api('POST', '/api/admin/shops', { slug: f.get('slug'), name: f.get('name') }));
onSubmit($('#new-agent'), f => api('POST', '/api/admin/agents', {
  username: f.get('username'), display_name: f.get('display_name') || undefined, password: f.get('password'),
  role: f.get('role'), max_concurrent: Number(f.get('max_concurrent')), shops: [f.get('shop')],
}));

load();
