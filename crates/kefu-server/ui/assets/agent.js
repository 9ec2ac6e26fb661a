// The agent workspace: conversation list (longest wait first), thread with
// reply/note composer, buyer context with orders and logistics. Live through
// the WebSocket; the open conversation is resumed by seq so nothing is missed
// or shown twice across reconnects.
import { $, el, t, api, setCsrf, ApiError, clientId, fmtWait, fmtTime, fmtFen, isPlainEnter, connectSocket, lang, setLang, orderCardView, productCardView, productCache, uploadImage, imageView, imageFile, shortText } from './common.js';
import { KINDS, enableSound, notify, setVolume, soundOn, volume } from './notify.js';

const S = {
  me: null,
  shops: [],
  shopFilter: '',
  convs: new Map(),        // id -> {conversation, customer, last_message}
  history: [],
  tab: 'mine',
  search: '',
  selected: null,
  messages: new Map(),     // conversation id -> Map(seq -> message)
  pending: new Map(),      // client_msg_id -> {conversationId, text, note}
  readByCustomer: new Map(),
  mode: 'reply',
  unseen: 0,
  contextTab: 'buyer',
  /// The selected conversation's customer's orders by number (for order cards).
  orders: new Map(),
  /// Reply-timer thresholds already announced: `${id}:${waiting_since}:${ms}`.
  timerAlerts: new Set(),
  /// Open order requests of the shops in view (the 服务单 tab), and its filter.
  requests: [],
  requestFilter: 'all',
  /// Colleagues of the shops in view (the 团队 tab): id -> agent with status and load; kept live by presence frames.
  team: new Map(),
  /// A supervisor's view of the team: each colleague's day (id -> counts, shops added up), the
  /// reply window it is judged by, the colleague opened (one at a time), and the last action's outcome.
  teamStats: new Map(),
  teamMinutes: 3,
  teamOpen: null,
  teamNote: null,
  /// The tab's count: read with the list, then kept by the frames while the tab is closed.
  requestsOpen: 0,
  /// The order action whose form is open in the context pane: {no, kind}.
  orderForm: null,
};
let socket = null;

for (const node of document.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);

// ---------------------------------------------------------------- boot

async function boot() {
  try {
    const me = await api('GET', '/api/me');
    start(me);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) showLogin();
    else throw e;
  }
}

function showLogin() {
  // A quick login can finish before the first session check answers 401.
  if (S.me) return;
  $('#app').hidden = true;
  $('#login').hidden = false;
  if (sessionStorage.getItem('kefu.signedOut')) {
    sessionStorage.removeItem('kefu.signedOut');
    $('#login-error').textContent = t('signed_out');
  }
  $('#login-form input[name=username]').focus();
}

$('#login-form').addEventListener('submit', async e => {
  e.preventDefault();
  const form = new FormData(e.target);
  try {
    const me = await api('POST', '/api/auth/login', { username: form.get('username'), password: form.get('password') });
    $('#login').hidden = true;
    start(me);
  } catch (err) {
    $('#login-error').textContent = t(err.code === 'account_disabled' ? 'account_disabled' : 'wrong_login');
  }
});

function start(me) {
  S.me = me.agent;
  S.shops = me.shops;
  setCsrf(me.csrf_token);
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#me').textContent = S.me.display_name;
  $('#lang').textContent = t('lang');
  const sound = $('#sound');
  sound.textContent = soundOn() ? t('sound_on') : t('sound_enable');
  sound.onclick = () => {
    if (!soundOn()) { enableSound(); sound.textContent = t('sound_on'); return; }
    // Once on, the button opens the volume of each kind of alert.
    const panel = $('#volumes');
    panel.hidden = !panel.hidden;
    panel.replaceChildren(...KINDS.map(kind => el('label', {}, t('v_' + kind), el('input', {
      type: 'range', min: '0', max: '1', step: '0.25', value: String(volume(kind)), 'data-kind': kind,
      oninput: e => setVolume(kind, e.target.value),
    }))));
  };
  $('#lang').onclick = () => setLang(lang() === 'en' ? 'zh-CN' : 'en');
  applyPrefs();
  $('#prefs-btn').onclick = togglePrefs;
  $('#search').placeholder = t('search');
  $('#thread-empty').textContent = t('no_conversation');
  const filter = $('#shop-filter');
  filter.replaceChildren(el('option', { value: '' }, lang() === 'en' ? 'All shops' : '全部店铺'), ...S.shops.map(s => el('option', { value: s.id }, s.name)));
  filter.onchange = () => { S.shopFilter = filter.value; loadList(); loadTeam().then(renderList); loadKpis(); };
  const status = $('#status');
  for (const o of status.options) o.textContent = { online: '● ', away: '◐ ', offline: '○ ' }[o.value] + t(o.value);
  status.value = S.me.status;
  status.onchange = () => setStatus(status.value);
  $('#palette-btn').onclick = openPalette;
  $('#palette-btn').title = t('cmd_palette_hint');
  $('#logout').onclick = async () => { await api('POST', '/api/auth/logout'); location.reload(); };
  for (const tab of document.querySelectorAll('.list-pane [role=tab]')) tab.onclick = () => selectTab(tab.dataset.tab);
  let debounce;
  $('#search').oninput = e => {
    clearTimeout(debounce);
    // On 团队 the box finds a colleague, at once and locally; elsewhere it searches conversations.
    if (S.tab === 'team') { S.teamSearch = e.target.value.trim().toLowerCase(); renderList(); return; }
    debounce = setTimeout(() => { S.search = e.target.value.trim(); loadList(); }, 250);
  };
  const teamDay = $('#team-day');
  teamDay.max = teamDay.value = chinaToday();
  teamDay.onchange = () => {
    // Today (or an emptied box) is the live day; any other is read as it closed.
    const day = teamDay.value && teamDay.value < chinaToday() ? teamDay.value : '';
    if (!day) teamDay.value = chinaToday();
    S.teamDay = day;
    loadTeam().then(renderList);
  };
  socket = connectSocket({
    hello: () => ({}),
    onFrame,
    onState: s => { $('#conn').textContent = s === 'down' ? t('reconnecting') : ''; },
    onReady: again => {
      if (again) {
        loadList();
        // The status may have changed while disconnected (set offline when gone too long).
        api('GET', '/api/me').then(me => showOwnStatus(me.agent.status, true)).catch(() => {});
      }
      if (S.selected) resume(S.selected);
    },
  });
  loadList();
  loadRequests().then(renderList); // the 服务单 count from the start
  loadTeam().then(renderList); // the 团队 count: colleagues online
  loadKpis();
  setInterval(tick, 1000);
  setInterval(loadKpis, 60_000);
}

// ---------------------------------------------------------------- my day

let kpiTimer = null;
/** After one of my answers: read my figures again, once for a burst of them. */
function kpisSoon() { clearTimeout(kpiTimer); kpiTimer = setTimeout(loadKpis, 1500); }

/**
 * 今日接待 · 30秒应答 · 均响 · N分钟回复: my own day (China time), counted by
 * the server from the answers I gave; the shop in view sets the window.
 */
async function loadKpis() {
  const shop = S.shopFilter ? `?shop=${S.shopFilter}` : '';
  let k;
  try { k = await api('GET', '/api/me/stats' + shop); } catch { return; }
  const node = $('#kpis');
  node.textContent = kpiLine('kpi_line', k, k.reply_minutes);
  node.title = t('kpi_hint', k.reply_minutes, k.overdue_now);
  node.classList.toggle('overdue', k.overdue_now > 0);
}

/** A day's figures as one line (`kpi_line` for mine, `team_kpi` for a colleague's, led by the team's day); '–' where there is nothing to count. */
function kpiLine(key, k, minutes) {
  const pct = r => (r === null || r === undefined ? '–' : `${Math.floor(r * 100)}%`);
  const secs = s => (s === null || s === undefined ? '–' : t('kpi_secs', Math.round(s)));
  const day = key === 'team_kpi' ? [S.teamDay ? t('team_day_on', S.teamDay) : t('team_today')] : [];
  // Offers let lapse (漏接) only when there were some: most days there are none.
  return t(key, ...day, k.chats, pct(k.first_answer_rate), secs(k.average_response_seconds), minutes, pct(k.reply_rate)) + (k.missed_offers > 0 ? t('kpi_missed', k.missed_offers) : '');
}

/** Today's date in China time (where the figures' days start), as YYYY-MM-DD. */
function chinaToday() {
  return new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
}

/** Several shops' counts of one agent added up, the rates worked out again from the sums. */
function addCounts(a, b) {
  const sum = {};
  for (const key of ['chats', 'answers', 'waited_ms', 'first_answers', 'first_within_30s', 'within_window', 'overdue_now', 'missed_offers']) sum[key] = (a?.[key] || 0) + (b[key] || 0);
  sum.first_answer_rate = sum.first_answers ? sum.first_within_30s / sum.first_answers : null;
  sum.average_response_seconds = sum.answers ? sum.waited_ms / sum.answers / 1000 : null;
  const due = sum.answers + sum.overdue_now;
  sum.reply_rate = due ? sum.within_window / due : null;
  return sum;
}

// ---------------------------------------------------------------- list

async function loadList() {
  const q = new URLSearchParams();
  if (S.shopFilter) q.set('shop', S.shopFilter);
  if (S.search) q.set('q', S.search);
  const open = await api('GET', '/api/conversations?' + q);
  S.convs = new Map(open.conversations.map(o => [o.conversation.id, o]));
  if (S.tab === 'history') {
    q.set('status', 'closed');
    q.set('limit', '50');
    S.history = (await api('GET', '/api/conversations?' + q)).conversations;
  }
  if (S.tab === 'requests') await loadRequests();
  renderList();
}

/** The open requests of the shops in view: those waiting for my review first (seniors), then the longest open. */
async function loadRequests() {
  const shops = S.shopFilter ? [S.shopFilter] : S.shops.map(s => s.id);
  const lists = await Promise.all(shops.map(id => api('GET', `/api/shops/${id}/order-requests?status=open&limit=200`).then(r => r.requests, () => [])));
  const first = r => (SENIOR.has(S.me.role) && r.needs_review ? 0 : 1);
  S.requests = lists.flat().sort((a, b) => first(a) - first(b) || a.created_at - b.created_at);
  S.requestsOpen = S.requests.length;
}

let reloadTimer = null;
function reloadSoon() { clearTimeout(reloadTimer); reloadTimer = setTimeout(loadList, 200); }

function selectTab(tab) {
  S.tab = tab;
  for (const b of document.querySelectorAll('.list-pane [role=tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
  const search = $('#search');
  search.placeholder = t(tab === 'team' ? 'search_team' : 'search');
  search.value = tab === 'team' ? S.teamSearch || '' : S.search;
  // A supervisor looks back at a day of the team's figures (the morning after 双11).
  $('#team-day-box').hidden = !(tab === 'team' && SUPERVISES.has(S.me.role));
  if (tab === 'history' || tab === 'requests') loadList();
  else if (tab === 'team') loadTeam().then(renderList);
  else renderList();
}

/** Everyone of my shops (or the shop in view), with status and load: who is here on a busy night. */
async function loadTeam() {
  S.teamAt = Date.now(); // before the reads, so renders meanwhile do not start more
  const shops = S.shopFilter ? [S.shopFilter] : S.shops.map(s => s.id);
  const lists = await Promise.all(shops.map(id => api('GET', `/api/shops/${id}/agents`).catch(() => ({ agents: [] }))));
  S.team = new Map(lists.flatMap(l => l.agents).filter(a => !a.disabled).map(a => [a.id, a]));
  S.teamShops = new Map(shops.map((id, i) => [id, lists[i].agents.filter(a => !a.disabled).map(a => a.id)]));
  // A supervisor also sees how each is answering today (in the shops in view, added up).
  if (!SUPERVISES.has(S.me.role)) return;
  const day = S.teamDay ? `?day=${S.teamDay}` : '';
  const stats = await Promise.all(shops.map(id => api('GET', `/api/shops/${id}/agent-stats${day}`).catch(() => null)));
  S.teamStats = new Map();
  S.teamMinutes = stats.find(Boolean)?.reply_minutes ?? 3;
  for (const row of stats.flatMap(s => s?.agents || [])) S.teamStats.set(row.agent_id, addCounts(S.teamStats.get(row.agent_id), row));
}

const SUPERVISES = new Set(['supervisor', 'admin']);

/**
 * A colleague in the 团队 tab. A supervisor opens the row (one at a time):
 * the conversations they hold, with their timers, and what to do about
 * someone who walked away — 挂起 or 离线, then take their shoppers back
 * (routed to whoever is free).
 */
function teamRow(a) {
  const me = a.id === S.me.id;
  const lead = SUPERVISES.has(S.me.role);
  const open = lead && S.teamOpen === a.id;
  const toggle = () => { S.teamOpen = open ? null : a.id; renderList(); };
  const li = el('li', {
    class: `team-member ${a.status}`, dataset: { agent: a.id },
    ...(lead ? {
      tabindex: 0, 'aria-expanded': String(open),
      onclick: e => { if (!e.target.closest('.team-detail')) toggle(); },
      onkeydown: e => { if (e.key === 'Enter' && !e.isComposing && e.target === li) toggle(); },
    } : {}),
  },
  el('span', { class: 'dot', 'aria-hidden': 'true' }),
  el('span', { class: 'name' }, a.display_name + (me ? ' · ' + (lang() === 'en' ? 'me' : '我') : '')),
  el('span', { class: 'meta' }, `${t('role_names')[a.role] || a.role} · ${t(a.status)}`),
  el('span', { class: 'meta num' }, `${a.open_conversations ?? 0}/${a.max_concurrent}`));
  // Not here but still holding shoppers: what a supervisor takes back on a busy night.
  const stranded = lead && a.status !== 'online' ? heldBy(a).length : 0;
  if (stranded) li.append(el('span', { class: 'stranded' }, '⚠ ' + t('stranded', stranded)));
  const day = S.teamStats?.get(a.id);
  if (day) li.append(el('span', { class: 'meta kpi', title: t('kpi_hint', S.teamMinutes, day.overdue_now) }, kpiLine('team_kpi', day, S.teamMinutes)));
  if (open) li.append(teamDetail(a));
  return li;
}

/**
 * The desk at a glance, above the team: shoppers waiting for a person and
 * the longest wait (kept by the timer tick), who is 接待中 of those who
 * answer, and — for a supervisor — the team's day added up.
 */
function teamSummary() {
  const handlers = [...S.team.values()].filter(a => a.role !== 'qa');
  const parts = [
    ...queueFigures(),
    el('span', {}, t('sum_online', handlers.filter(a => a.status === 'online').length, handlers.length)),
  ];
  if (SUPERVISES.has(S.me.role)) {
    const away = [...S.team.values()].filter(a => a.status !== 'online' && heldBy(a).length).length;
    if (away) parts.push(el('span', { class: 'stranded' }, '⚠ ' + t('sum_stranded', away)));
  }
  if (S.teamStats?.size) {
    const all = [...S.teamStats.values()].reduce((sum, day) => addCounts(sum, day), null);
    parts.push(el('span', { class: 'num team-figures', title: t('kpi_hint', S.teamMinutes, all.overdue_now) }, kpiLine('team_kpi', all, S.teamMinutes)));
  } else if (S.teamDay) {
    parts.push(el('span', { class: 'team-figures' }, t('team_day_empty', t('team_day_on', S.teamDay))));
  }
  const summary = el('li', { class: 'team-summary meta', id: 'team-summary', 'aria-label': t('sum_label') }, ...parts);
  if (S.teamShops?.size > 1) summary.append(el('ul', { class: 'team-shops' }, ...[...S.teamShops].map(([id, ids]) => shopLine(id, ids))));
  return summary;
}

/** 排队 N and the longest wait (kept by the timer tick), of one shop or of all in view. */
function queueFigures(shopId) {
  const waiting = [...S.convs.values()].filter(o => o.conversation.status === 'queued' && (!shopId || o.conversation.shop_id === shopId));
  const oldest = Math.min(...waiting.map(o => o.conversation.waiting_since || Infinity));
  return [
    el('span', {}, t('sum_queue', waiting.length)),
    el('span', { class: 'longest num', dataset: { since: Number.isFinite(oldest) ? oldest : '' } }),
  ];
}

/** One shop's queue and people, for whoever watches several at once (which queue is growing on a sale night). */
function shopLine(shopId, agentIds) {
  const handlers = agentIds.map(id => S.team.get(id)).filter(a => a && a.role !== 'qa');
  const online = handlers.filter(a => a.status === 'online');
  const seats = online.reduce((n, a) => n + Math.max(0, a.max_concurrent - (a.open_conversations ?? 0)), 0);
  return el('li', { class: 'team-shop', dataset: { shop: shopId } },
    shopTag(shopId, true),
    ...queueFigures(shopId),
    el('span', {}, t('sum_online', online.length, handlers.length)),
    el('span', { class: seats ? '' : 'stranded' }, t('sum_seats', seats)));
}

function heldBy(a) {
  return [...S.convs.values()].filter(o => o.conversation.status === 'assigned' && o.conversation.assigned_agent === a.id).sort(byWait);
}

function teamDetail(a) {
  const held = heldBy(a);
  const detail = el('div', { class: 'team-detail' },
    held.length ? el('ul', { class: 'team-convs', 'aria-label': a.display_name }, ...held.map(row)) : el('p', { class: 'meta' }, t('team_no_convs')));
  // Only a colleague below me: a supervisor does not set another supervisor (an admin may).
  const mayAct = a.id !== S.me.id && (S.me.role === 'admin' || !SUPERVISES.has(a.role));
  if (!mayAct) return detail;
  const note = el('p', { class: 'team-note', role: 'status' }, S.teamNote?.agent === a.id ? S.teamNote.text : '');
  const act = async (fn) => {
    try { await fn(); } catch (e) { S.teamNote = { agent: a.id, text: e.message }; }
    renderList();
  };
  const setTo = status => act(async () => {
    const r = await api('PUT', `/api/agents/${a.id}/status`, { status });
    Object.assign(a, { status: r.agent.status });
    S.teamNote = null;
  });
  const back = el('button', {
    type: 'button', class: 'btn small take-back', disabled: a.status === 'online' || !held.length,
    title: a.status === 'online' ? t('take_back_hint') : '',
    onclick: () => act(async () => {
      const r = await api('POST', `/api/agents/${a.id}/take-back`);
      S.teamNote = { agent: a.id, text: t('taken_back', r.conversations.length) };
      a.open_conversations = 0;
    }),
  }, t('take_back', held.length));
  detail.append(el('div', { class: 'team-actions', role: 'group', 'aria-label': a.display_name },
    ...['away', 'offline'].map(status => el('button', {
      type: 'button', class: 'btn small', dataset: { status }, 'aria-pressed': String(a.status === status), disabled: a.status === status,
      onclick: () => setTo(status),
    }, t('set_to', t(status)))),
    back), note);
  return detail;
}

function mine(o) { return o.conversation.status === 'assigned' && o.conversation.assigned_agent === S.me.id; }
function queued(o) { return o.conversation.status === 'queued' || o.conversation.status === 'bot'; }

/** Longest unanswered wait first; nothing waiting goes last, newest first. */
function byWait(a, b) {
  const wa = a.conversation.waiting_since, wb = b.conversation.waiting_since;
  if (wa && wb) return wa - wb;
  if (wa) return -1;
  if (wb) return 1;
  return b.conversation.updated_at - a.conversation.updated_at;
}

/** The 服务单 list's filters: all, those awaiting review, and each kind present (on 双11 the bot's urges alone fill a list). */
function requestFilters() {
  const filters = { all: () => true, review: r => r.needs_review };
  for (const r of S.requests) filters[r.kind] ??= x => x.kind === r.kind;
  return filters;
}

function requestFilterBar() {
  const filters = requestFilters();
  if (!filters[S.requestFilter]) S.requestFilter = 'all';
  const label = key => (key === 'all' ? t('req_all') : key === 'review' ? t('req_status').review : t('req_kind')[key] || key);
  return el('li', { class: 'req-filters', role: 'toolbar', 'aria-label': t('req_title') },
    ...Object.entries(filters).map(([key, test]) => el('button', {
      type: 'button', class: 'chip', dataset: { filter: key }, 'aria-pressed': String(S.requestFilter === key),
      onclick: () => { S.requestFilter = key; renderList(); },
    }, `${label(key)} ${S.requests.filter(test).length}`)));
}

/** A request in the list pane: its order and where it stands; the conversation it came from opens on a click. */
function requestRow(r) {
  const li = requestItem(r, loadList);
  li.classList.add('req-row');
  li.prepend(el('div', { class: 'num' }, '#', r.order_no));
  if (r.conversation_id) {
    li.tabIndex = 0;
    const open = () => { S.contextTab = 'orders'; openConversation(r.conversation_id); };
    li.addEventListener('click', e => { if (!e.target.closest('button, form')) open(); });
    li.addEventListener('keydown', e => { if (e.key === 'Enter' && !e.isComposing && e.target === li) open(); });
  }
  return li;
}

function visibleList() {
  if (S.tab === 'history') return S.history;
  const all = [...S.convs.values()];
  return all.filter(S.tab === 'mine' ? mine : queued).sort(byWait);
}

function renderList() {
  $('#count-requests').textContent = S.requestsOpen || '';
  const all = [...S.convs.values()];
  const held = all.filter(mine).length;
  $('#count-mine').textContent = held || '';
  $('#count-queue').textContent = all.filter(queued).length || '';
  $('#load').textContent = `${t('load')} ${held}/${S.me.max_concurrent}`;
  holdingHint(held);
  const list = $('#conversations');
  $('#count-team').textContent = [...S.team.values()].filter(a => a.status === 'online').length || '';
  if (S.tab === 'team') {
    const wanted = a => !S.teamSearch || a.display_name.toLowerCase().includes(S.teamSearch) || a.username.toLowerCase().includes(S.teamSearch);
    const members = [...S.team.values()].filter(wanted).sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.display_name.localeCompare(b.display_name));
    list.replaceChildren(teamSummary(), ...(members.length ? members.map(teamRow) : [el('li', { class: 'list-empty' }, t('no_team'))]));
    // Loads move with every conversation: read again now and then while the tab is open.
    if (Date.now() - (S.teamAt || 0) > 10_000) loadTeam().then(() => { if (S.tab === 'team') renderList(); });
    tick();
    return;
  }
  if (S.tab === 'requests') {
    const shown = S.requests.filter(requestFilters()[S.requestFilter] || (() => true));
    list.replaceChildren(requestFilterBar(), ...(shown.length ? shown.map(requestRow) : [el('li', { class: 'list-empty' }, t('no_requests'))]));
    return;
  }
  const rows = visibleList();
  if (!rows.length) { list.replaceChildren(el('li', { class: 'list-empty' }, t('empty_list'))); return; }
  list.replaceChildren(...rows.map(row));
  tick();
}

/** A list row's last line; the bot's hand-off shows its reason, not the note's raw text. */
function listPreview(m) {
  if (!m) return '';
  if (m.kind === 'note' && m.sender.kind === 'system' && m.text.startsWith(HANDOFF)) {
    return '[' + t('handoff_title') + '] ' + m.text.slice(HANDOFF.length).split('；')[0].replace(/^[^：]*：/, '');
  }
  return shortText(m);
}

/** Which shop a conversation is of, for an agent of several looking at all of them at once. */
function shopTag(shopId, always) {
  if (S.shops.length < 2 || (S.shopFilter && !always)) return null;
  const name = S.shops.find(s => s.id === shopId)?.name;
  if (!name) return null;
  // Chinese shop names lead with the brand (极客数码专营店 → 极客数码); others with their first word.
  const short = /^[\x00-\x7f]/.test(name) ? name.split(/\s+/)[0] : [...name].slice(0, 4).join('');
  return el('span', { class: 'badge shop', title: name }, short);
}

function row(o) {
  const c = o.conversation;
  const badges = [shopTag(c.shop_id)].filter(Boolean);
  if (o.customer.tier !== 'normal') badges.push(el('span', { class: 'badge ' + o.customer.tier }, t('tier')[o.customer.tier]));
  if (o.customer.complaint_count > 0) badges.push(el('span', { class: 'badge risk' }, '⚠' + t('complaints') + o.customer.complaint_count));
  if (c.status === 'bot') badges.push(el('span', { class: 'badge bot' }, el('i', { class: 'icon-bot', 'aria-hidden': 'true' }), t('bot')));
  // A colleague's offer not taken yet (a supervisor's 团队): it may lapse to someone else.
  if (c.status === 'assigned' && c.offered_until && c.assigned_agent !== S.me.id) badges.push(el('span', { class: 'badge offered' }, t('offered_status')));
  const preview = listPreview(o.last_message);
  const li = el('li', {
    class: 'conv', tabindex: 0, dataset: { id: c.id, waiting: c.waiting_since || '' },
    'aria-current': String(c.id === S.selected),
    onclick: () => openConversation(c.id),
    onkeydown: e => { if (e.key === 'Enter' && !e.isComposing) openConversation(c.id); },
  },
  el('span', { class: 'name' }, o.customer.nickname, ' ', ...badges),
  // The timer and its 超3分钟 chip share the row's second column.
  el('span', { class: 'wait' }, el('span', { class: 'timer', 'aria-label': 'wait' })),
  el('span', { class: 'preview' }, preview));
  if (offeredToMe(c)) {
    // Routed to me and not yet taken: accept here, against its own countdown.
    li.classList.add('offered');
    li.dataset.offer = c.offered_until;
    li.querySelector('.wait').prepend(el('button', {
      type: 'button', class: 'btn primary offer-accept',
      onclick: e => { e.stopPropagation(); accept(c.id); },
      onkeydown: e => e.stopPropagation(),
    }, t('offer_accept', offerSecondsLeft(c.offered_until))));
  }
  return li;
}

/** Auto-assign offered it to me and I have not accepted (or answered) yet. */
function offeredToMe(c) {
  return !!c && c.status === 'assigned' && c.assigned_agent === S.me.id && !!c.offered_until;
}

function offerSecondsLeft(until) {
  return Math.max(0, Math.ceil((until - Date.now()) / 1000));
}

// Reply timers: grey < 30 s, amber from 30 s, red from 100 s, chips at 3 and
// 5 minutes. Colour is never the only signal: text and chip change too.
function tick() {
  const now = Date.now();
  let late = 0, longest = 0, longestId = null;
  for (const li of document.querySelectorAll('.conv[data-offer]')) {
    const button = li.querySelector('.offer-accept');
    if (button) button.textContent = t('offer_accept', offerSecondsLeft(Number(li.dataset.offer)));
  }
  const hint = $('#offer-hint');
  if (hint) hint.querySelector('.secs').textContent = t('offer_hint', offerSecondsLeft(Number(hint.dataset.until)));
  for (const li of document.querySelectorAll('.conv')) {
    const since = Number(li.dataset.waiting);
    const timer = li.querySelector('.timer');
    if (!since || S.tab === 'history') { timer.textContent = ''; li.classList.remove('late'); continue; }
    const wait = now - since;
    timer.textContent = fmtWait(wait);
    timer.className = 'timer' + (wait >= 100000 ? ' red' : wait >= 30000 ? ' amber' : '');
    li.classList.toggle('late', wait >= 100000);
    let chip = li.querySelector('.chip-late');
    const label = wait >= 300000 ? t('over5') : wait >= 180000 ? t('over3') : '';
    if (label) { if (!chip) { chip = el('span', { class: 'chip-late' }); timer.after(chip); } chip.textContent = label; } else chip?.remove();
  }
  for (const o of S.convs.values()) {
    const since = o.conversation.waiting_since;
    if (!since || !mine(o)) continue;
    const wait = now - since;
    if (wait >= 100000) late += 1;
    for (const threshold of [30000, 100000]) {
      const key = `${o.conversation.id}:${since}:${threshold}`;
      if (wait >= threshold && !S.timerAlerts.has(key)) {
        S.timerAlerts.add(key);
        notify({ kind: 'timer', key, conversationId: o.conversation.id, selected: S.selected, title: t('n_timer'), body: fmtWait(wait) });
      }
    }
    if (wait > longest) { longest = wait; longestId = o.conversation.id; }
  }
  for (const longestQueued of document.querySelectorAll('#team-summary .longest')) {
    const since = Number(longestQueued.dataset.since);
    longestQueued.textContent = since ? t('sum_longest', fmtWait(now - since)) : '';
    longestQueued.classList.toggle('late', !!since && now - since >= 100000);
  }
  const popup = $('#slow-popup');
  popup.hidden = late === 0;
  if (late) {
    popup.textContent = t('waiting_popup', late, fmtWait(longest));
    popup.onclick = () => { selectTab('mine'); openConversation(longestId); };
  }
  document.title = (S.unseen && document.hidden ? t('new_messages', S.unseen) + ' ' : '') + 'kefu';
}
document.addEventListener('visibilitychange', () => { if (!document.hidden) { S.unseen = 0; tick(); } });

// ---------------------------------------------------------------- thread

async function openConversation(id) {
  if (S.selected && S.selected !== id) { saveDraft(); S.orderForm = null; }
  S.selected = id;
  for (const li of document.querySelectorAll('.conv')) li.setAttribute('aria-current', String(li.dataset.id === id));
  let detail;
  try {
    detail = await api('GET', `/api/conversations/${id}`);
  } catch (e) {
    $('#thread').replaceChildren(el('div', { class: 'empty' }, e.message));
    return;
  }
  const page = await api('GET', `/api/conversations/${id}/messages?limit=50`);
  const map = new Map();
  for (const m of page.messages) map.set(m.seq, m);
  // Messages that arrived live while the page was loading (the agent's own
  // reply among them) are kept, not dropped with the old map.
  for (const [seq, m] of S.messages.get(id) || []) if (!map.has(seq) && seq > (page.messages[0]?.seq ?? 0)) map.set(seq, m);
  S.messages.set(id, map);
  const known = S.convs.get(id) || { last_message: null };
  S.convs.set(id, { ...known, conversation: detail.conversation, customer: detail.customer });
  renderThread();
  resume(id);
  loadContext(detail.customer.id);
}

function resume(id) {
  const map = S.messages.get(id);
  const last = map && map.size ? Math.max(...map.keys()) : 0;
  socket?.send({ type: 'resume', conversation_id: id, after_seq: last });
}

function draftKey(id, mode) { return `kefu_draft_${S.me.id}_${id}_${mode}`; }
/** The conversation and mode of the composer on screen: while another conversation loads, it is still its own. */
function composerTarget() {
  const form = $('#composer');
  return { conv: form?.dataset.conv || S.selected, mode: form?.dataset.mode || S.mode };
}

function saveDraft() {
  const box = $('#composer-input');
  const { conv, mode } = composerTarget();
  if (!box || !conv) return;
  const key = draftKey(conv, mode);
  if (box.value) localStorage.setItem(key, box.value); else localStorage.removeItem(key);
}

function renderThread() {
  const o = S.convs.get(S.selected);
  if (!o) return;
  const c = o.conversation;
  const head = el('div', { class: 'thread-head' },
    el('span', { class: 'name' }, o.customer.nickname),
    shopTag(c.shop_id, true),
    o.customer.tier !== 'normal' ? el('span', { class: 'badge ' + o.customer.tier }, t('tier')[o.customer.tier]) : null,
    o.customer.complaint_count > 0 ? el('span', { class: 'badge risk' }, '⚠' + t('complaints') + ' ' + o.customer.complaint_count) : null,
    el('span', { class: 'badge status' }, c.status === 'assigned' && c.offered_until ? t('offered_status') : t('conv_status')[c.status] || c.status),
    orderChip(),
    el('span', { class: 'actions' },
      // A supervisor passes on anyone's conversation, and sends a waiting shopper to someone (指派: a VIP to a senior).
      c.status === 'assigned' && (c.assigned_agent === S.me.id || SUPERVISES.has(S.me.role)) ? el('button', { class: 'btn', onclick: openTransfer }, t('transfer')) : null,
      c.status === 'queued' && SUPERVISES.has(S.me.role) ? el('button', { class: 'btn', id: 'dispatch', onclick: openTransfer }, t('dispatch')) : null,
      c.status === 'assigned' && c.assigned_agent === S.me.id ? el('button', { class: 'btn danger', onclick: closeConversation }, t('close')) : null,
      el('button', { class: 'btn', id: 'toggle-context', onclick: () => $('#context').classList.toggle('open') }, t('buyer'))));
  const log = el('ol', { class: 'log', id: 'log', 'aria-live': 'polite', dataset: { conv: S.selected } });
  const messages = [...(S.messages.get(S.selected)?.values() || [])].sort((a, b) => a.seq - b.seq);
  if (messages.length && messages[0].seq > 1) {
    log.append(el('li', { class: 'more' }, el('button', { class: 'btn', onclick: loadEarlier }, t('load_more'))));
  }
  for (const m of messages) log.append(messageItem(m));
  const parts = [head, log, el('div', { class: 'typing meta', id: 'typing' })];
  if (c.status === 'queued' || c.status === 'bot') {
    parts.push(el('div', { class: 'queued-hint' }, t('queued_hint'), el('button', { class: 'btn primary', id: 'accept', onclick: () => accept() }, t('accept'))));
  } else if (canReply()) {
    if (offeredToMe(c)) {
      // Replying accepts too: the composer stays below.
      parts.push(el('div', { class: 'offer-hint', id: 'offer-hint', dataset: { until: c.offered_until } },
        el('span', { class: 'secs' }, t('offer_hint', offerSecondsLeft(c.offered_until))),
        el('button', { class: 'btn primary', id: 'accept-offer', onclick: () => accept() }, t('accept'))));
    }
    // The composer on screen stays (focus, caret, open popup): a read
    // receipt or a status change must not take it from an agent mid-sentence.
    const kept = $('#composer');
    parts.push(kept && kept.dataset.conv === S.selected && kept.dataset.mode === S.mode ? kept : composer());
  }
  const box = $('#composer-input');
  const focused = box && document.activeElement === box ? [box.selectionStart, box.selectionEnd] : null;
  $('#thread').replaceChildren(...parts);
  if (focused && box.isConnected) { box.focus(); box.setSelectionRange(...focused); }
  log.scrollTop = log.scrollHeight;
  // Sending cards follows who may write now (accepted, transferred away…).
  for (const b of document.querySelectorAll('#context .send-card')) b.hidden = !canReply();
}

function senderClass(m) {
  if (m.kind === 'note') return 'note';
  return m.sender.kind;
}

/** The order the conversation is about: the last order card either side sent. It stays in the head. */
/** The order in question: the last order card either side sent in the conversation on screen. */
function orderInQuestion() {
  const messages = [...(S.messages.get(S.selected)?.values() || [])];
  return messages.filter(m => m.kind === 'order').sort((a, b) => b.seq - a.seq)[0]?.text;
}

function orderChip() {
  const no = orderInQuestion();
  if (!no) return null;
  const o = S.orders.get(no);
  return el('button', { type: 'button', class: 'order-chip', id: 'order-chip', dataset: { orderNo: no }, title: t('order_no'), onclick: () => showOrder(no) },
    t('order_card'), ' ', el('span', { class: 'num' }, no), o ? ' ' + (t('status')[o.status] || o.status) : '');
}

/** Opens the orders tab at this order. */
function showOrder(no) {
  S.contextTab = 'orders';
  $('#context').classList.add('open');
  renderContext();
  const card = [...document.querySelectorAll('#context .order')].find(n => n.dataset.orderNo === no);
  card?.scrollIntoView({ block: 'nearest' });
  card?.classList.add('flash');
}

/** Products of a shop by SKU, fetched once per page. */
const productsOf = new Map();
function product(shop, sku) {
  if (!productsOf.has(shop)) productsOf.set(shop, productCache(s => api('GET', `/api/shops/${shop}/products/${encodeURIComponent(s)}`)));
  return productsOf.get(shop)(sku);
}

const HANDOFF = '【机器人转人工】';

/** The bot's hand-off note as a card: one line per part of its summary. */
function handoffBubble(m) {
  const parts = m.text.slice(HANDOFF.length).split('；').map(p => p.trim()).filter(Boolean);
  return el('div', { class: 'bubble handoff' },
    el('div', { class: 'handoff-title' }, el('i', { class: 'icon-bot', 'aria-hidden': 'true' }), t('handoff_title')),
    el('ul', {}, ...parts.map(p => el('li', {}, p))));
}

function bubble(m) {
  if (m.kind === 'image') return el('div', { class: 'bubble image' }, imageView(`/api/attachments/${encodeURIComponent(m.text)}`));
  if (m.kind === 'note' && m.sender.kind === 'system' && m.text.startsWith(HANDOFF)) return handoffBubble(m);
  if (m.kind === 'product') {
    const card = productCardView(m.text, null);
    const shop = S.convs.get(m.conversation_id)?.conversation.shop_id;
    if (shop) product(shop, m.text).then(p => { if (p) card.replaceWith(productCardView(m.text, p)); });
    return el('div', { class: 'bubble card' }, card);
  }
  if (m.kind === 'order') return el('div', { class: 'bubble card' }, orderCardView(m.text, S.orders.get(m.text)));
  return el('div', { class: 'bubble' }, m.text);
}

/** Redraws cards and the head's chip once the customer's orders are known. */
function fillCards() {
  for (const card of document.querySelectorAll('#log .order-card')) {
    const o = S.orders.get(card.dataset.orderNo);
    if (o && !card.querySelector('.badge')) card.replaceWith(orderCardView(card.dataset.orderNo, o));
  }
  placeOrderChip();
}

function placeOrderChip() {
  const chip = orderChip();
  const old = $('#order-chip');
  if (old) old.replaceWith(chip || '');
  else if (chip) $('.thread-head .actions')?.before(chip);
}

function messageItem(m) {
  const readSeq = S.readByCustomer.get(m.conversation_id) || 0;
  const status = m.sender.kind === 'agent' && m.kind !== 'note' ? el('span', { class: 'read-state' }, ' · ' + t(m.seq <= readSeq ? 'read' : 'sent')) : null;
  return el('li', { class: 'msg ' + senderClass(m), dataset: { seq: m.seq } },
    bubble(m),
    el('span', { class: 'meta' }, (m.kind === 'note' ? t('note_hint') + ' · ' : '') + (m.sender.kind === 'bot' ? t('bot_name') + ' · ' : '') + fmtTime(m.created_at), status));
}

async function loadEarlier() {
  const map = S.messages.get(S.selected);
  const first = Math.min(...map.keys());
  const page = await api('GET', `/api/conversations/${S.selected}/messages?before=${first}&limit=50`);
  for (const m of page.messages) map.set(m.seq, m);
  const log = $('#log');
  const keep = log.scrollHeight - log.scrollTop;
  renderThread();
  const again = $('#log');
  again.scrollTop = again.scrollHeight - keep;
}

// ---------------------------------------------------------------- quick phrases

/** Opens the quick phrases of the composer on screen (set by `composer`). */
let openPhrases = () => {};

/** A shop's quick phrases, loaded once per shop (shop id -> Promise of the list). */
const phrasesOf = new Map();
function loadPhrases(shop) {
  if (!phrasesOf.has(shop)) {
    phrasesOf.set(shop, api('GET', `/api/shops/${shop}/quick-phrases`).then(r => r.phrases).catch(() => { phrasesOf.delete(shop); return []; }));
  }
  return phrasesOf.get(shop);
}

/** Phrases for `q`: code first, then pinyin initials, then the text itself. */
function matchPhrases(phrases, q) {
  q = q.trim().toLowerCase();
  if (!q) return phrases.slice(0, 8);
  const rank = p => p.code.startsWith(q) ? 0 : p.initials.startsWith(q) ? 1 : p.initials.includes(q) ? 2 : p.text.toLowerCase().includes(q) ? 3 : 9;
  return phrases.map(p => [rank(p), p]).filter(([r]) => r < 9).sort((a, b) => a[0] - b[0] || a[1].code.localeCompare(b[1].code)).slice(0, 8).map(([, p]) => p);
}

/**
 * The `/` under the caret, when there is one: `/fh` at the start of the
 * draft or after a space (Chinese punctuation mode types `、` for `/`).
 */
function slashQuery(box) {
  const before = box.value.slice(0, box.selectionStart);
  const m = /(?:^|\s)[\/、]([^\s\/、]{0,20})$/.exec(before);
  return m ? { query: m[1], start: before.length - m[1].length - 1 } : null;
}

/** The popup over the composer: ↑ ↓ choose, Enter or Tab insert, Esc closes (the draft stays). */
/**
 * A phrase's placeholders filled from the conversation on screen: {买家} the
 * buyer's nickname, {客服} mine, {订单号} and {运单号} the order in question
 * (the last order card either side sent) and its parcel. What is not known
 * stays as written, for the agent to fill.
 */
function fillPlaceholders(text) {
  const o = S.convs.get(S.selected);
  const no = orderInQuestion();
  const tracking = no ? S.orders.get(no)?.shipments?.at(-1)?.tracking_no : undefined;
  const values = { '买家': o?.customer?.nickname, buyer: o?.customer?.nickname, '客服': S.me.display_name, agent: S.me.display_name, '订单号': no, order: no, '运单号': tracking, tracking };
  return text.replace(/\{([^{}\s]{1,8})\}/g, (whole, key) => values[key] ?? whole);
}

function phrasePicker(box) {
  const list = el('ul', { class: 'phrases', id: 'phrases', role: 'listbox', 'aria-label': t('quick_phrases'), hidden: true });
  const state = { open: false, items: [], index: 0, start: null };
  const draw = () => {
    list.replaceChildren(...(state.items.length ? state.items.map((p, i) => el('li', {
      role: 'option', 'aria-selected': String(i === state.index), dataset: { code: p.code },
      onmousedown: e => { e.preventDefault(); state.index = i; insert(); },
    }, el('span', { class: 'code num' }, '/' + p.code), el('span', { class: 'text' }, p.text))) : [el('li', { class: 'meta none' }, t('no_phrases'))]));
    list.hidden = !state.open;
  };
  const close = () => { state.open = false; list.hidden = true; box.setAttribute('aria-expanded', 'false'); };
  const show = async (query, start) => {
    const shop = S.convs.get(S.selected)?.conversation.shop_id;
    const all = shop ? await loadPhrases(shop) : [];
    state.items = matchPhrases(all, query);
    state.index = 0;
    state.start = start;
    state.open = true;
    box.setAttribute('aria-expanded', 'true');
    draw();
  };
  const insert = () => {
    const p = state.items[state.index];
    if (!p) return close();
    const caret = box.selectionStart;
    const from = state.start ?? caret;
    const text = fillPlaceholders(p.text);
    box.value = box.value.slice(0, from) + text + box.value.slice(caret);
    // A placeholder nothing could fill is selected: the agent types over it.
    const hole = /\{[^{}\s]{1,8}\}/.exec(text);
    if (hole) box.setSelectionRange(from + hole.index, from + hole.index + hole[0].length);
    else box.setSelectionRange(from + text.length, from + text.length);
    close();
    box.focus();
    box.dispatchEvent(new Event('input'));
  };
  box.setAttribute('aria-controls', 'phrases');
  box.setAttribute('aria-expanded', 'false');
  box.addEventListener('input', () => {
    const q = slashQuery(box);
    if (q) show(q.query, q.start); else if (state.start !== null) close();
  });
  box.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== box) close(); }, 150));
  return {
    list,
    /** Opens the whole list from the button, inserting at the caret. */
    openAll: () => { box.focus(); show('', null); },
    /** Takes the keys it uses while open; true when it did. */
    key(e) {
      if (!state.open || e.isComposing || e.keyCode === 229) return false;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        const n = state.items.length || 1;
        state.index = (state.index + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
        draw();
      } else if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') insert();
      else if (e.key === 'Escape') close();
      else return false;
      e.preventDefault();
      return true;
    },
  };
}

function setMode(mode) {
  saveDraft();
  S.mode = mode;
  renderThread();
  $('#composer-input')?.focus();
}

function composer() {
  const box = el('textarea', { id: 'composer-input', 'aria-label': t('reply'), maxlength: 5000 });
  box.value = localStorage.getItem(draftKey(S.selected, S.mode)) || '';
  const wrap = el('form', { class: 'composer' + (S.mode === 'note' ? ' note-mode' : ''), id: 'composer', dataset: { conv: S.selected, mode: S.mode } });
  const modeButton = mode => el('button', { type: 'button', 'aria-pressed': String(S.mode === mode), onclick: () => setMode(mode) }, t(mode));
  const picker = phrasePicker(box);
  openPhrases = picker.openAll;
  wrap.append(
    el('div', { class: 'modes' }, modeButton('reply'), modeButton('note'), S.mode === 'note' ? el('span', { class: 'meta' }, t('note_hint')) : null,
      el('button', { type: 'button', class: 'phrase-btn', id: 'phrase-btn', title: t('phrase_hint'), onclick: picker.openAll }, t('quick_phrases')),
      S.mode === 'reply' ? el('button', { type: 'button', class: 'phrase-btn image-btn', id: 'image-btn', onclick: () => wrap.querySelector('input[type=file]').click() }, t('image')) : null,
      el('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp', hidden: true, onchange: e => { sendImage(imageFile(e.target.files)); e.target.value = ''; } })),
    picker.list,
    box,
    el('div', { class: 'row' }, el('span', { class: 'meta' }, t('enter_hint')), el('button', { class: 'btn primary', type: 'submit' }, t('send'))));
  wrap.addEventListener('submit', e => { e.preventDefault(); sendFromComposer(); });
  // A pasted screenshot goes out as an image (replies only: notes stay text).
  box.addEventListener('paste', e => {
    const file = S.mode === 'reply' && imageFile(e.clipboardData?.files);
    if (file) { e.preventDefault(); sendImage(file); }
  });
  box.addEventListener('keydown', e => {
    if (picker.key(e)) return;
    if (isPlainEnter(e)) { e.preventDefault(); sendFromComposer(); }
  });
  let typingSent = 0;
  box.addEventListener('input', () => {
    saveDraft();
    // Notes are private: typing a note sends no typing event.
    if (S.mode === 'reply' && Date.now() - typingSent > 2000) { typingSent = Date.now(); socket?.send({ type: 'typing', conversation_id: S.selected, on: true }); }
  });
  return wrap;
}

function sendFromComposer() {
  const box = $('#composer-input');
  const text = box.value.trim();
  if (!text) return;
  // To the conversation the composer belongs to: right after a click on
  // another row, the screen still shows this one until the other loads.
  const { conv, mode } = composerTarget();
  const id = clientId();
  const note = mode === 'note';
  S.pending.set(id, { conversationId: conv, text, note });
  if (!socket?.send({ type: 'send', conversation_id: conv, client_msg_id: id, text, note })) {
    // Offline: fall back to REST so nothing typed is lost.
    api('POST', `/api/conversations/${conv}/messages`, { text, note, client_msg_id: id }).then(r => addMessage(r.message)).catch(e => alert(e.message));
  }
  box.value = '';
  localStorage.removeItem(draftKey(conv, mode));
}

/** A photo from the composer's button or a paste: uploaded for this conversation, then sent. */
async function sendImage(file) {
  if (!file) return;
  const conversation = S.selected;
  try {
    const id = await uploadImage(`/api/conversations/${conversation}/attachments`, file);
    const client = clientId();
    S.pending.set(client, { conversationId: conversation, text: id, note: false });
    if (!socket?.send({ type: 'send', conversation_id: conversation, client_msg_id: client, text: id, kind: 'image' })) {
      api('POST', `/api/conversations/${conversation}/messages`, { text: id, kind: 'image', client_msg_id: client }).then(r => addMessage(r.message)).catch(e => alert(e.message));
    }
  } catch (e) { alert(e.message); }
}

/** Sends one of the customer's orders to them as a card. */
function sendCard(no) {
  const id = clientId();
  S.pending.set(id, { conversationId: S.selected, text: no, note: false });
  if (!socket?.send({ type: 'send', conversation_id: S.selected, client_msg_id: id, text: no, kind: 'order' })) {
    api('POST', `/api/conversations/${S.selected}/messages`, { text: no, kind: 'order', client_msg_id: id }).then(r => addMessage(r.message)).catch(e => alert(e.message));
  }
}

/** Whether this agent may write to the selected conversation now. */
function canReply() {
  const c = S.convs.get(S.selected)?.conversation;
  return !!c && c.status === 'assigned' && (c.assigned_agent === S.me.id || S.me.role === 'supervisor' || S.me.role === 'admin');
}

/** Takes a queued conversation, or accepts one offered to me (from its list row: `id`). */
async function accept(id = S.selected) {
  try {
    const r = await api('POST', `/api/conversations/${id}/accept`);
    updateConversation(r.conversation);
    if (id !== S.selected) return;
    selectTab('mine');
    renderThread();
    renderContext(); // the order actions are the holder's
    $('#composer-input')?.focus();
  } catch (e) { alert(e.message); }
}

async function closeConversation() {
  const r = await api('POST', `/api/conversations/${S.selected}/close`);
  updateConversation(r.conversation);
  renderThread();
}

const STATUS_ORDER = { online: 0, away: 1, offline: 2 };
const loadShare = a => a.open_conversations / Math.max(1, a.max_concurrent);

async function openTransfer() {
  const o = S.convs.get(S.selected);
  const shop = o.conversation.shop_id;
  const [agents, groups] = await Promise.all([api('GET', `/api/shops/${shop}/agents`), api('GET', `/api/shops/${shop}/skill-groups`)]);
  const select = el('select', { 'aria-label': t('transfer_to') },
    // Who is here first (接待中, then 挂起, then 离线), the least loaded first among them.
    ...agents.agents.filter(a => a.id !== S.me.id && a.id !== o.conversation.assigned_agent && ['agent', 'senior', 'supervisor', 'admin'].includes(a.role))
      .sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || loadShare(a) - loadShare(b))
      .map(a => el('option', { value: 'agent:' + a.id }, `${a.display_name} (${a.role}, ${a.open_conversations}/${a.max_concurrent}, ${t(a.status)})`)),
    ...groups.skill_groups.map(g => el('option', { value: 'group:' + g.id }, `${t('transfer_group')}: ${g.name}`)));
  // Why, and what was tried: an internal note for whoever takes it over (the shopper never sees it).
  const note = el('textarea', { class: 'transfer-note', rows: 3, maxlength: 500, 'aria-label': t('transfer_note'), placeholder: t('transfer_note') });
  const conversation = S.selected;
  const dialog = el('dialog', {},
    el('form', { method: 'dialog' }, el('p', {}, t(o.conversation.status === 'queued' ? 'dispatch_to' : 'transfer_to')), select, note,
      el('div', { class: 'row' }, el('button', { class: 'btn', value: 'cancel' }, t('cancel')), el('button', { class: 'btn primary', value: 'ok' }, t('confirm')))));
  document.body.append(dialog);
  dialog.addEventListener('close', async () => {
    if (dialog.returnValue === 'ok' && select.value) {
      const [kind, id] = select.value.split(':');
      const body = { ...(kind === 'agent' ? { agent_id: id } : { group_id: id }), note: note.value };
      try {
        const r = await api('POST', `/api/conversations/${conversation}/transfer`, body);
        updateConversation(r.conversation);
        renderThread();
      } catch (e) { alert(e.message); }
    }
    dialog.remove();
  });
  dialog.showModal();
}

// ---------------------------------------------------------------- live events

function announce(c, before) {
  const shopOk = !S.shopFilter || c.shop_id === S.shopFilter;
  const toMe = c.status === 'assigned' && c.assigned_agent === S.me.id;
  const wasMine = before && before.status === 'assigned' && before.assigned_agent === S.me.id;
  if (toMe && !wasMine) {
    // Routed or transferred to me.
    notify({ kind: before?.status === 'assigned' ? 'transfer' : 'offer', key: `${c.id}:to:${c.updated_at}`, conversationId: c.id, selected: S.selected, title: t(before?.status === 'assigned' ? 'n_transfer' : 'n_offer'), body: '' });
  } else if (c.status === 'queued' && before?.status !== 'queued' && shopOk && S.me.status === 'online') {
    // A new offer in my shops' queue (挂起 takes no new offers).
    notify({ kind: 'offer', key: `${c.id}:queued:${c.updated_at}`, conversationId: c.id, selected: S.selected, title: t('n_offer'), body: '' });
  }
}

/**
 * Whether snapshot `a` of a conversation is at least as new as `b`. Frames
 * of one conversation come from several events (a message, an assignment, a
 * read), so an older snapshot must never undo a newer one: a reply's timer
 * would start again.
 */
function fresher(a, b) {
  if (!b) return true;
  if (a.last_seq !== b.last_seq) return a.last_seq > b.last_seq;
  return a.updated_at >= b.updated_at;
}

function updateConversation(c) {
  const o = S.convs.get(c.id);
  announce(c, o?.conversation);
  if (!o) { reloadSoon(); return; }
  if (!fresher(c, o.conversation)) return;
  o.conversation = c;
  renderList();
  if (c.id === S.selected) renderThread();
}

function addMessage(m, conversation) {
  let map = S.messages.get(m.conversation_id);
  if (!map && m.conversation_id === S.selected) {
    // The conversation is still loading: keep the message for it.
    map = new Map();
    S.messages.set(m.conversation_id, map);
  }
  const fresh = map && !map.has(m.seq);
  if (map) map.set(m.seq, m);
  if (m.sender.kind === 'agent' && m.sender.id === S.me.id && m.kind !== 'note') kpisSoon();
  const o = S.convs.get(m.conversation_id);
  if (o) {
    if (!o.last_message || o.last_message.seq <= m.seq) o.last_message = m;
    if (conversation && fresher(conversation, o.conversation)) o.conversation = conversation;
  } else reloadSoon();
  if (m.conversation_id === S.selected && fresh) {
    const log = $('#log');
    if (log && log.dataset.conv === m.conversation_id) {
      const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 60;
      log.append(messageItem(m));
      if (atBottom || m.sender.kind === 'agent') log.scrollTop = log.scrollHeight;
    }
    if (m.sender.kind === 'customer') $('#typing').textContent = '';
    if (m.kind === 'order') placeOrderChip();
  }
  if (m.sender.kind === 'customer' && (document.hidden || m.conversation_id !== S.selected)) { S.unseen += 1; }
  const c = o?.conversation || conversation;
  if (m.sender.kind === 'customer' && fresh !== false && c && c.status === 'assigned' && c.assigned_agent === S.me.id) {
    notify({ kind: 'message', key: `${m.conversation_id}:${m.seq}`, conversationId: m.conversation_id, selected: S.selected, title: t('n_message'), body: shortText(m) });
  }
  renderList();
}

function onFrame(f) {
  switch (f.type) {
    case 'message': addMessage(f.message, f.conversation); break;
    case 'conversation': updateConversation(f.conversation); break;
    case 'ack': S.pending.delete(f.client_msg_id); break;
    case 'typing':
      if (f.conversation_id === S.selected && f.from === 'customer') {
        const node = $('#typing');
        if (node) { node.textContent = f.on ? (lang() === 'en' ? 'Buyer is typing…' : '对方正在输入…') : ''; clearTimeout(node._t); node._t = setTimeout(() => { node.textContent = ''; }, 4000); }
      }
      break;
    case 'read':
      if (f.by === 'customer') {
        S.readByCustomer.set(f.conversation_id, f.seq);
        // In place: the agent's scroll position and composer stay as they are.
        if (f.conversation_id === S.selected) {
          for (const li of document.querySelectorAll('#log li.msg')) {
            const state = li.querySelector('.read-state');
            if (state && Number(li.dataset.seq) <= f.seq) state.textContent = ' · ' + t('read');
          }
        }
      }
      break;
    case 'request': requestChanged(f); break;
    case 'presence': {
      if (f.agent_id === S.me.id) {
        showOwnStatus(f.status, true, f.by, f.missed_offer);
        // The key is the same in each of my tabs (one sound, not two): the frame names no conversation.
        if (f.missed_offer) loadKpis(); // 漏接 is on my day now
        if (f.missed_offer) notify({ kind: 'timer', key: `missed:${Math.floor(Date.now() / 10000)}`, conversationId: null, selected: S.selected, title: t('missed_offer'), body: '' });
      }
      const a = S.team.get(f.agent_id);
      if (a) { a.status = f.status; renderList(); }
      else if (f.status !== 'offline') loadTeam().then(renderList); // someone new to this screen
      break;
    }
    case 'error':
      if (f.code === 'session_revoked') { signedOut(); break; }
      if (f.ref && S.pending.has(f.ref)) { alert(f.message); S.pending.delete(f.ref); }
      break;
  }
}

/** The account was disabled or its password changed: back to the login, saying why. */
function signedOut() {
  socket?.close();
  sessionStorage.setItem('kefu.signedOut', '1');
  location.reload();
}

let requestsTimer = null;
/**
 * A request of one of my shops was filed or closed (by the bot, a colleague,
 * the merchant's system): with the 服务单 tab open its list is read again
 * (debounced: a burst of changes is one read), else only its count moves;
 * the buyer panel is read again when the request is about one of its orders.
 */
function requestChanged(f) {
  if (S.tab === 'requests') {
    clearTimeout(requestsTimer);
    requestsTimer = setTimeout(async () => {
      await loadRequests();
      // A reason half typed in the list is not redrawn away: only the count moves.
      if (document.querySelector('#conversations .resolve')) $('#count-requests').textContent = S.requests.length || '';
      else renderList();
    }, 300);
  } else {
    // On 双11 the bot files urges all night: with the tab closed the count
    // follows the frames (filed +1, closed −1), and the list is read when
    // the tab opens, not by every agent on every filing.
    if (!S.shopFilter || f.shop_id === S.shopFilter) S.requestsOpen = Math.max(0, S.requestsOpen + (f.status === 'open' ? 1 : -1));
    $('#count-requests').textContent = S.requestsOpen || '';
  }
  const ours = f.conversation_id === S.selected || (context?.orders || []).some(o => o.id === f.order_id);
  // Not while the agent is filling a form there: it would be redrawn under them.
  if (ours && !S.orderForm && !document.querySelector('#context .resolve')) reloadContext();
}

// ---------------------------------------------------------------- context pane

let context = null; // the selected conversation's customer, with their orders and past conversations

async function loadContext(customerId) {
  const pane = $('#context');
  S.orders = new Map();
  let data;
  try { data = await api('GET', `/api/customers/${customerId}`); } catch (e) { pane.replaceChildren(el('p', { class: 'section' }, e.message)); return; }
  // A later selection may have answered first: keep the pane on the conversation on screen.
  if (S.convs.get(S.selected)?.customer?.id !== customerId) return;
  context = data;
  S.orders = new Map(data.orders.map(o => [o.order_no, o]));
  renderContext();
  fillCards();
}

function renderContext() {
  const data = context;
  if (!data) return;
  const tabs = el('div', { class: 'tabs', role: 'tablist' },
    ...['buyer', 'orders', 'products', 'history'].map(tab => el('button', { role: 'tab', 'aria-selected': String(S.contextTab === tab), onclick: () => { S.contextTab = tab; renderContext(); } }, t(tab))));
  const layout = contextLayout();
  const sections = Object.keys(CONTEXT_SECTIONS).sort((a, b) => layout.pinned.includes(b) - layout.pinned.includes(a) || layout.order.indexOf(a) - layout.order.indexOf(b));
  let body;
  if (S.contextTab === 'buyer') {
    body = sections.map(key => contextSection(key, data, layout));
  } else {
    // Pinned sections stay above the other tabs too: the VIP and complaint flags while reading orders.
    const pinned = sections.filter(key => layout.pinned.includes(key)).map(key => contextSection(key, data, layout));
    const rest = S.contextTab === 'orders'
      ? el('div', { class: 'section' }, data.orders.length ? data.orders.map(orderCard) : el('p', { class: 'meta' }, t('no_orders')))
      : S.contextTab === 'products' ? productsSection(data)
        : el('div', { class: 'section' }, historyList(data.conversations));
    body = [...pinned, rest];
  }
  $('#context').replaceChildren(tabs, ...body);
}

/** The 买家 tab's sections: what each shows. */
const CONTEXT_SECTIONS = {
  profile: data => {
    const c = data.customer;
    return el('dl', { class: 'kv' },
      el('dt', {}, lang() === 'en' ? 'Name' : '昵称'), el('dd', {}, c.nickname, ' ', c.tier !== 'normal' ? el('span', { class: 'badge ' + c.tier }, t('tier')[c.tier]) : ''),
      el('dt', {}, lang() === 'en' ? 'Phone' : '手机'), el('dd', { class: 'num' }, c.phone || '—'),
      el('dt', {}, t('spend')), el('dd', { class: 'num' }, fmtFen(c.lifetime_spend_fen)),
      el('dt', {}, t('complaints')), el('dd', { class: 'num' }, c.complaint_count ? el('span', { class: 'badge risk' }, '⚠ ' + c.complaint_count) : '0'),
      el('dt', {}, lang() === 'en' ? 'Tags' : '标签'), el('dd', {}, c.tags.join(' · ') || '—'),
      el('dt', {}, 'ID'), el('dd', { class: 'num' }, c.external_id || (lang() === 'en' ? 'visitor' : '访客')));
  },
  // The order the conversation is about (the last order card), else the newest.
  order: data => {
    const o = data.orders.find(x => x.order_no === orderInQuestion()) || data.orders[0];
    return o ? orderCard(o) : el('p', { class: 'meta' }, t('no_orders'));
  },
  recent: data => historyList(data.conversations.slice(0, 3)),
};

/**
 * The 商品 tab: what the shopper is asking about — the products they sent
 * as cards (newest first), then the items of the order in question and of
 * their latest orders — each with its model, category and price, ready to
 * send back as a card.
 */
function productsSection(data) {
  const conv = S.convs.get(S.selected)?.conversation;
  const wanted = new Map();
  const messages = [...(S.messages.get(S.selected)?.values() || [])].sort((a, b) => b.seq - a.seq);
  for (const m of messages) if (m.kind === 'product' && !wanted.has(m.text)) wanted.set(m.text, { from: t('prod_asked') });
  const chip = data.orders.find(o => o.order_no === orderInQuestion());
  for (const o of [chip, ...data.orders].filter(Boolean).slice(0, 4)) {
    for (const i of o.items) if (!wanted.has(i.sku)) wanted.set(i.sku, { name: i.name, price: i.unit_price_fen, from: `#${o.order_no}` });
  }
  if (!wanted.size) return el('div', { class: 'section' }, el('p', { class: 'meta' }, t('no_products')));
  return el('div', { class: 'section' }, el('ul', { class: 'products' }, ...[...wanted].map(([sku, w]) => {
    const name = el('span', { class: 'p-name' }, w.name || sku);
    const meta = el('div', { class: 'meta num' }, w.price != null ? fmtFen(w.price) : '');
    if (conv) product(conv.shop_id, sku).then(p => {
      if (!p) return;
      name.textContent = p.name;
      meta.textContent = [p.model, p.category, fmtFen(p.price_fen)].filter(Boolean).join(' · ');
    });
    return el('li', { class: 'product-row', dataset: { sku } },
      el('div', {}, name, ' ', el('span', { class: 'meta' }, w.from)),
      meta,
      el('div', { class: 'meta num' }, 'SKU ', sku, ' ', copyButton(sku),
        el('button', { type: 'button', class: 'btn send-card', hidden: !canReply(), onclick: () => sendProductCard(sku) }, t('send_product'))));
  })));
}

function sendProductCard(sku) {
  const id = clientId();
  S.pending.set(id, { conversationId: S.selected, text: sku, note: false });
  if (!socket?.send({ type: 'send', conversation_id: S.selected, client_msg_id: id, text: sku, kind: 'product' })) {
    api('POST', `/api/conversations/${S.selected}/messages`, { text: sku, kind: 'product', client_msg_id: id }).then(r => addMessage(r.message)).catch(e => alert(e.message));
  }
}

function historyList(conversations) {
  return conversations.length ? el('ul', {}, ...conversations.map(h =>
    el('li', {}, fmtTime(h.conversation.created_at), ' · ', h.last_message?.text || '', h.conversation.csat ? ` · ★${h.conversation.csat}` : ''))) : el('p', { class: 'meta' }, t('no_history'));
}

/**
 * How this agent arranged the 买家 tab (千牛's right panel): the sections'
 * order, which are folded and which pinned above every tab; remembered per
 * agent on this browser.
 */
const contextKey = () => `kefu_context_${S.me.id}`;
function contextLayout() {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem(contextKey()) || '{}'); } catch { /* start over */ }
  const known = k => k in CONTEXT_SECTIONS;
  const order = (Array.isArray(saved.order) ? saved.order : []).filter(known);
  for (const k of Object.keys(CONTEXT_SECTIONS)) if (!order.includes(k)) order.push(k);
  const list = v => (Array.isArray(v) ? v : []).filter(known);
  return { order, folded: list(saved.folded), pinned: list(saved.pinned) };
}
function changeLayout(change) {
  const layout = contextLayout();
  change(layout);
  localStorage.setItem(contextKey(), JSON.stringify(layout));
  renderContext();
}
const toggleIn = (list, key) => (list.includes(key) ? list.filter(k => k !== key) : [...list, key]);

function contextSection(key, data, layout) {
  const folded = layout.folded.includes(key);
  const pinned = layout.pinned.includes(key);
  const move = step => changeLayout(l => {
    const i = l.order.indexOf(key), j = i + step;
    if (j < 0 || j >= l.order.length) return;
    [l.order[i], l.order[j]] = [l.order[j], l.order[i]];
  });
  const tool = (cls, label, text, run, extra = {}) => el('button', { type: 'button', class: 'section-tool ' + cls, title: label, 'aria-label': label, onclick: run, ...extra }, text);
  const head = el('div', { class: 'section-head' },
    el('button', { type: 'button', class: 'section-title', 'aria-expanded': String(!folded), onclick: () => changeLayout(l => { l.folded = toggleIn(l.folded, key); }) },
      el('span', { class: 'fold', 'aria-hidden': 'true' }, folded ? '▸' : '▾'), t('ctx_' + key)),
    tool('pin', t(pinned ? 'ctx_unpin' : 'ctx_pin'), pinned ? '★' : '☆', () => changeLayout(l => { l.pinned = toggleIn(l.pinned, key); }), { 'aria-pressed': String(pinned) }),
    tool('up', t('ctx_up'), '↑', () => move(-1)),
    tool('down', t('ctx_down'), '↓', () => move(1)));
  return el('section', { class: 'section' + (pinned ? ' pinned' : ''), dataset: { section: key } }, head, folded ? null : CONTEXT_SECTIONS[key](data));
}

function copyButton(text) {
  return el('button', { class: 'copy', type: 'button', onclick: async e => { try { await navigator.clipboard.writeText(text); e.target.textContent = t('copied'); } catch { /* no clipboard */ } } }, t('copy'));
}

function orderCard(o) {
  const ship = o.shipments[0];
  return el('div', { class: 'order', dataset: { orderNo: o.order_no } },
    el('div', { class: 'top' }, el('span', { class: 'no' }, '#', o.order_no, ' ', copyButton(o.order_no)), el('span', { class: 'badge status' }, t('status')[o.status] || o.status)),
    el('button', { type: 'button', class: 'btn send-card', hidden: !canReply(), onclick: () => sendCard(o.order_no) }, t('send_card')),
    el('ul', {}, ...o.items.map(i => el('li', {}, `${i.name} ×${i.quantity} `, el('span', { class: 'num' }, fmtFen(i.unit_price_fen))))),
    el('div', { class: 'meta num' }, fmtTime(o.created_at), ' · ', fmtFen(o.total_fen), ' · ', `${o.province}${o.city}`),
    ship ? el('div', {},
      el('div', { class: 'meta' }, `${ship.carrier} ${t('tracking')} `, el('span', { class: 'num' }, ship.tracking_no), ' ', copyButton(ship.tracking_no)),
      el('ol', { class: 'timeline' }, ...ship.events.map(e => el('li', {}, el('span', { class: 'num' }, fmtTime(e.at)), ' ', e.description)))) : null,
    requestList(o), actionBar(o), actionForm(o));
}

// ---------------------------------------------------------------- order requests (服务单)

/** Which actions an order in a status can take: the server decides; this only hides the pointless. */
const ACTIONS = {
  urge: s => s === 'paid',
  cancel: s => s === 'created' || s === 'paid',
  address_change: s => s === 'created' || s === 'paid',
  after_sale: s => s === 'delivered' || s === 'completed',
  price_protection: s => ['paid', 'shipped', 'delivered', 'completed'].includes(s),
  invoice: s => ['paid', 'shipped', 'delivered', 'completed'].includes(s),
};
const SENIOR = new Set(['senior', 'supervisor', 'admin']);
/** As the server's `request::may_resolve`: QA reads; a request for review takes a senior. */
function mayResolve(r) { return S.me.role !== 'qa' && (!r.needs_review || SENIOR.has(S.me.role)); }
function reloadContext() { return context ? loadContext(context.customer.id) : null; }

function requestList(o) {
  const rows = (context?.requests || []).filter(r => r.order_no === o.order_no);
  if (!rows.length) return null;
  return el('div', { class: 'requests' }, el('div', { class: 'meta' }, t('req_title')), el('ul', {}, ...rows.map(r => requestItem(r))));
}

function requestItem(r, reload = reloadContext) {
  const state = r.status === 'open' && r.needs_review ? 'review' : r.status;
  const li = el('li', { class: 'req', dataset: { request: r.id, state } },
    el('div', {}, el('span', { class: 'badge req-' + state }, t('req_status')[state]), ' ', el('b', {}, t('req_kind')[r.kind] || r.kind),
      el('span', { class: 'meta' }, ' · ', r.filed_by_name || (r.filed_by ? '' : t('req_by_bot')), ' ', fmtTime(r.created_at))),
    el('div', { class: 'req-detail' }, r.detail),
    r.resolved ? el('div', { class: 'meta' }, `${r.resolved.by_name || (r.resolved.by ? '' : t('req_by_merchant'))} ${fmtTime(r.resolved.at)}`, r.resolved.note ? ` · ${r.resolved.note}` : '') : null);
  if (r.status === 'open' && mayResolve(r)) {
    li.append(el('div', { class: 'req-actions' },
      el('button', { type: 'button', class: 'btn small', onclick: () => resolveForm(li, r, 'done', reload) }, t('act_done')),
      el('button', { type: 'button', class: 'btn small', onclick: () => resolveForm(li, r, 'rejected', reload) }, t('act_reject'))));
  }
  return li;
}

function resolveForm(li, r, status, reload) {
  li.querySelector('.resolve')?.remove();
  const note = el('input', { name: 'note', 'aria-label': t(status === 'rejected' ? 'reject_why' : 'done_note'), placeholder: t(status === 'rejected' ? 'reject_why' : 'done_note'), maxlength: 500, required: status === 'rejected' });
  const err = el('p', { class: 'form-error', role: 'alert' });
  const form = el('form', { class: 'resolve' }, note, el('button', { class: 'btn small primary', type: 'submit' }, t(status === 'done' ? 'act_done' : 'act_reject')), err);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    try {
      await api('POST', `/api/shops/${r.shop_id}/order-requests/${r.id}/resolve`, { status, note: note.value });
      await reload();
    } catch (ex) { err.textContent = ex.message; }
  });
  li.append(form);
  note.focus();
}

function actionBar(o) {
  if (!canReply()) return null;
  const kinds = Object.keys(ACTIONS).filter(k => ACTIONS[k](o.status));
  if (!kinds.length) return null;
  const open = k => S.orderForm?.no === o.order_no && S.orderForm?.kind === k;
  return el('div', { class: 'order-actions' }, ...kinds.map(k => el('button', {
    type: 'button', class: 'btn small', dataset: { act: k }, 'aria-pressed': String(open(k)),
    onclick: () => { if (open(k)) { S.orderForm = null; renderContext(); } else openOrderAction(o.order_no, k); },
  }, t('req_kind')[k])));
}

/** The open action's form: what the request needs, checked again by the server under the shop's rules. */
function actionForm(o) {
  const f = S.orderForm;
  if (!f || f.no !== o.order_no || !canReply()) return null;
  const input = (name, label, attrs = {}) => el('label', {}, el('span', {}, label), el('input', { name, ...attrs }));
  const select = (name, label, options) => el('label', {}, el('span', {}, label), el('select', { name }, ...options.map(([v, text]) => el('option', { value: v }, text))));
  const fields = {
    cancel: () => [el('p', {}, t('confirm_cancel', o.order_no))],
    address_change: () => [input('province', t('province'), { value: o.province, maxlength: 20 }), input('city', t('city'), { value: o.city, maxlength: 20 }), input('address', t('address'), { value: o.address, maxlength: 200, required: true })],
    after_sale: () => [
      select('sku', t('item'), o.items.map(i => [i.sku, `${i.name} ×${i.quantity}`])),
      select('type', t('req_kind').after_sale, [['return', t('return_refund')], ['exchange', t('exchange')]]),
      select('reason', lang() === 'en' ? 'Reason' : '原因', Object.entries(t('reasons'))),
      el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'opened' }), el('span', {}, t('opened')))],
    invoice: () => [input('title', t('inv_title'), { required: true, maxlength: 100 }), input('credit_code', t('inv_code'), { maxlength: 18 }), input('email', t('inv_email'), { type: 'email', required: true })],
  }[f.kind]?.() || [];
  const err = el('p', { class: 'form-error', role: 'alert' });
  const form = el('form', { class: 'order-form', dataset: { kind: f.kind } }, ...fields, input('note', t('req_note'), { maxlength: 500 }),
    el('div', { class: 'row' }, el('button', { class: 'btn small primary', type: 'submit' }, `${t('act_submit')} · ${t('req_kind')[f.kind]}`)), err);
  const send = async exception => {
    const v = Object.fromEntries(new FormData(form));
    const body = { order_no: o.order_no, kind: f.kind, note: v.note || '' };
    if (f.kind === 'address_change') Object.assign(body, { province: v.province, city: v.city, address: v.address });
    if (f.kind === 'after_sale') Object.assign(body, { sku: v.sku, exchange: v.type === 'exchange', reason: v.reason, opened: !!v.opened });
    if (f.kind === 'invoice') Object.assign(body, { title: v.title, credit_code: v.credit_code || null, email: v.email });
    if (exception) body.exception = true;
    try {
      const r = await api('POST', `/api/conversations/${S.selected}/order-requests`, body);
      S.orderForm = null;
      offerReply(r.reply);
      await reloadContext();
    } catch (e) {
      // The server words a refusal in Chinese, with its dates; an English desk reads the rule by its code.
      const why = e.code === 'not_eligible' && lang() === 'en' ? t('not_eligible')[e.details?.reason] : null;
      err.replaceChildren(e.code === 'conflict' ? t(e.message === 'request_open' ? 'request_open' : 'order_moved') : why || e.message);
      if (e.details?.exception_possible && SENIOR.has(S.me.role)) err.append(' ', el('button', { type: 'button', class: 'btn small', onclick: () => send(true) }, t('act_exception')));
    }
  };
  form.addEventListener('submit', e => { e.preventDefault(); send(false); });
  form.addEventListener('keydown', e => { if (e.key === 'Escape') { S.orderForm = null; renderContext(); } });
  return form;
}

/** The reply a filed request suggests, put in the composer for the agent to read, edit and send. */
function offerReply(text) {
  if (!text) return;
  if (S.mode !== 'reply') setMode('reply');
  const box = $('#composer-input');
  if (!box) return;
  box.value = box.value.trim() ? `${box.value.trimEnd()}\n${text}` : text;
  saveDraft();
  box.focus();
}

// ---------------------------------------------------------------- display

/** Compact mode and the dark theme, remembered per agent on this browser. */
const prefsKey = () => `kefu_prefs_${S.me.id}`;
function prefs() {
  try { return JSON.parse(localStorage.getItem(prefsKey()) || '{}'); } catch { return {}; }
}
function applyPrefs() {
  const p = prefs();
  document.body.classList.toggle('compact', !!p.compact);
  document.body.classList.toggle('dark', !!p.dark);
}
function togglePrefs() {
  const panel = $('#prefs');
  if (!panel.hidden) { panel.hidden = true; return; }
  const p = prefs();
  const toggle = key => el('label', {}, el('input', { type: 'checkbox', 'data-pref': key, checked: !!p[key], onchange: e => {
    localStorage.setItem(prefsKey(), JSON.stringify({ ...prefs(), [key]: e.target.checked }));
    applyPrefs();
  } }), t(key));
  panel.replaceChildren(toggle('compact'), toggle('dark'));
  panel.hidden = false;
}

// ---------------------------------------------------------------- keyboard

async function setStatus(value) {
  await api('PUT', '/api/me/status', { status: value });
  showOwnStatus(value, false);
}

/**
 * 挂起 or 离线 stops new shoppers, not the ones I hold: say so while I hold
 * any (agents go 离线 thinking their chats move on; they do not).
 */
function holdingHint(held) {
  const select = $('#status');
  const holding = S.me.status !== 'online' && held > 0;
  select.classList.toggle('holding', holding);
  if (!select.classList.contains('auto-offline')) select.title = holding ? t('still_holding', held) : '';
}

/**
 * My status as the server has it; changed by someone else (the absence
 * sweep, another tab, a supervisor: `by`), say why and who.
 */
function showOwnStatus(value, fromServer, by, missedOffer) {
  const changed = S.me.status !== value;
  S.me.status = value;
  const select = $('#status');
  select.value = value;
  const auto = fromServer && changed && (value === 'offline' || missedOffer || (!!by && value !== 'online'));
  if (auto || value !== 'offline') {
    select.classList.toggle('auto-offline', auto);
    select.title = !auto ? '' : missedOffer ? t('missed_offer') : by ? t('set_by', S.team.get(by)?.display_name || t('a_supervisor'), t(value)) : t('auto_offline');
  }
  holdingHint([...S.convs.values()].filter(mine).length);
}

/** The longest unanswered wait among my conversations, else the queue's. */
function openLongest() {
  const all = [...S.convs.values()];
  const waiting = all.filter(o => mine(o) && o.conversation.waiting_since).sort(byWait);
  const pick = waiting[0] || all.filter(queued).sort(byWait)[0];
  if (!pick) return;
  selectTab(mine(pick) ? 'mine' : 'queue');
  openConversation(pick.conversation.id);
}

const shortcutsOn = () => localStorage.getItem('kefu_shortcuts') !== 'off';

/** What Ctrl/⌘+K offers now: each with words to find it by (pinyin initials too). */
/** Pinyin initials and English words the palette finds each order action by. */
const ACTION_KEYS = { urge: 'cfh cc urge', cancel: 'qxdd qx cancel', address_change: 'gdz xgdz address', after_sale: 'sh sqsh th tk return refund', price_protection: 'jb price', invoice: 'fp kfp invoice' };

/** The order actions of the order in question (else the newest orders), as palette commands. */
function orderActionCommands() {
  const chip = orderInQuestion();
  const orders = [...S.orders.values()].sort((a, b) => (b.order_no === chip) - (a.order_no === chip)).slice(0, 3);
  return orders.flatMap(o => Object.keys(ACTIONS).filter(k => ACTIONS[k](o.status)).map(k => ({
    label: `${t('req_kind')[k]} · ${o.order_no} · ${t('status')[o.status] || o.status}`,
    keys: `${ACTION_KEYS[k]} ${o.order_no}`,
    run: () => openOrderAction(o.order_no, k),
  })));
}

/** Opens an action's form on an order in the context pane, its first field focused. */
function openOrderAction(no, kind) {
  S.contextTab = 'orders';
  S.orderForm = { no, kind };
  renderContext();
  const form = document.querySelector(`#context .order[data-order-no="${CSS.escape(no)}"] .order-form`);
  form?.scrollIntoView({ block: 'nearest' });
  form?.querySelector('input, select, button[type=submit]')?.focus();
}

function commands() {
  const c = S.convs.get(S.selected)?.conversation;
  const mineOpen = c && c.status === 'assigned' && c.assigned_agent === S.me.id;
  const list = [
    c && (c.status === 'queued' || c.status === 'bot' || offeredToMe(c)) && { label: t('accept'), keys: 'jr accept', run: () => accept() },
    c && c.status === 'queued' && SUPERVISES.has(S.me.role) && { label: t('dispatch'), keys: 'zp dispatch assign', run: openTransfer },
    (mineOpen || (c?.status === 'assigned' && SUPERVISES.has(S.me.role))) && { label: t('transfer'), keys: 'zj transfer', run: openTransfer },
    mineOpen && { label: t('close'), keys: 'js close end', run: closeConversation },
    canReply() && S.mode !== 'note' && { label: t('cmd_note'), keys: 'bz note', run: () => setMode('note') },
    canReply() && S.mode === 'note' && { label: t('cmd_reply'), keys: 'hf reply', run: () => setMode('reply') },
    canReply() && { label: t('quick_phrases'), hint: '/', keys: 'kjdy phrase', run: () => openPhrases() },
    ...(canReply() ? [...S.orders.values()].slice(0, 5).map(o => ({
      label: `${t('send_card')} ${o.order_no} · ${t('status')[o.status] || o.status}`, keys: `fsddkp card order ${o.order_no}`, run: () => sendCard(o.order_no),
    })) : []),
    ...(canReply() ? orderActionCommands() : []),
    { label: t('cmd_longest'), hint: 'Alt+Shift+↓', keys: 'zjdd longest wait', run: openLongest },
    ...['online', 'away', 'offline'].filter(v => v !== S.me.status).map(v => ({ label: `${t('cmd_status')}：${t(v)}`, keys: `zt status ${v} ${{ online: 'jdz', away: 'gq', offline: 'lx' }[v]}`, run: () => setStatus(v) })),
    { label: t('cmd_help'), hint: 'Ctrl+/', keys: 'kjj help shortcuts', run: showHelp },
  ];
  return list.filter(Boolean);
}

function openPalette() {
  if ($('#palette')) return;
  const all = commands();
  const input = el('input', { type: 'text', 'aria-label': t('cmd_palette'), placeholder: t('cmd_palette_hint'), autocomplete: 'off' });
  const list = el('ul', { class: 'palette-list', role: 'listbox' });
  let shown = all, index = 0;
  const draw = () => {
    list.replaceChildren(...shown.map((cmd, i) => el('li', { role: 'option', 'aria-selected': String(i === index), onmousedown: e => { e.preventDefault(); index = i; run(); } },
      el('span', {}, cmd.label), cmd.hint ? el('kbd', {}, cmd.hint) : null)));
    if (!shown.length) list.append(el('li', { class: 'meta' }, t('cmd_none')));
  };
  const dialog = el('dialog', { id: 'palette', class: 'palette', 'aria-label': t('cmd_palette') }, input, list);
  const run = () => { const cmd = shown[index]; dialog.close(); cmd?.run(); };
  input.addEventListener('input', () => {
    // Every word must match: `kfp 2600…` is the invoice of that order.
    const words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const matches = (cmd, w) => cmd.label.toLowerCase().includes(w) || cmd.keys.split(' ').some(k => k.startsWith(w));
    shown = words.length ? all.filter(cmd => words.every(w => matches(cmd, w))) : all;
    index = 0;
    draw();
  });
  input.addEventListener('keydown', e => {
    if (e.isComposing || e.keyCode === 229) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const n = shown.length || 1;
      index = (index + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      draw();
    } else if (e.key === 'Enter') { e.preventDefault(); run(); }
  });
  // Back to the composer, unless the command put the focus somewhere (a form it opened).
  dialog.addEventListener('close', () => {
    dialog.remove();
    const nowhere = !document.activeElement || document.activeElement === document.body || document.activeElement === input;
    if (nowhere && !$('dialog[open]')) $('#composer-input')?.focus();
  });
  document.body.append(dialog);
  draw();
  dialog.showModal();
  input.focus();
}

const SHORTCUTS = [
  ['Enter', 'key_send'], ['Shift+Enter', 'key_newline'], ['/', 'key_phrases'], ['Ctrl/⌘+K', 'cmd_palette'],
  ['Alt+↑ / Alt+↓', 'key_prev_next'], ['Alt+Shift+↓', 'cmd_longest'], ['Ctrl/⌘+/', 'cmd_help'], ['Esc', 'key_esc'],
];

function showHelp() {
  if ($('#help')) return;
  const toggle = el('input', { type: 'checkbox', id: 'shortcuts-on', checked: shortcutsOn(), onchange: e => localStorage.setItem('kefu_shortcuts', e.target.checked ? 'on' : 'off') });
  const dialog = el('dialog', { id: 'help', class: 'palette help', 'aria-label': t('cmd_help') },
    el('h2', {}, t('cmd_help')),
    el('table', {}, ...SHORTCUTS.map(([k, what]) => el('tr', {}, el('td', {}, el('kbd', {}, k)), el('td', {}, t(what))))),
    el('label', { class: 'row' }, toggle, ' ', t('shortcuts_on')),
    el('form', { method: 'dialog' }, el('button', { class: 'btn' }, t('confirm'))));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

// No Alt+letter (AltGr layouts), no Ctrl+digit, no Ctrl+Shift+letter; keys by `code`; never while composing.
document.addEventListener('keydown', e => {
  if (e.isComposing || e.keyCode === 229 || !shortcutsOn() || !S.me) return;
  const ctrl = (e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey;
  if (ctrl && e.code === 'KeyK') { e.preventDefault(); openPalette(); return; }
  if (ctrl && e.code === 'Slash') { e.preventDefault(); showHelp(); return; }
  if (!e.altKey || e.ctrlKey || e.metaKey) return;
  const rows = [...document.querySelectorAll('.conv')];
  const i = rows.findIndex(r => r.dataset.id === S.selected);
  if (e.code === 'ArrowDown' && e.shiftKey) { e.preventDefault(); openLongest(); }
  else if (e.code === 'ArrowDown') { e.preventDefault(); const next = rows[Math.min(rows.length - 1, i + 1)]; if (next) openConversation(next.dataset.id); }
  else if (e.code === 'ArrowUp') { e.preventDefault(); const prev = rows[Math.max(0, i - 1)]; if (prev) openConversation(prev.dataset.id); }
});

boot();
