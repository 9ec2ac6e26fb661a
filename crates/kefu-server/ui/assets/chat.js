// The shopper's chat page (also the widget's iframe). Anonymous visitors keep
// their chat token in localStorage; a merchant's site can pass a signed
// identity in the URL (customer_id, expires, signature).
import { $, el, t, api, clientId, fmtTime, isPlainEnter, connectSocket, orderCardView, productCardView, productCache, fmtWhen, uploadImage, imageView, imageFile, shortText, expiredImage } from './common.js';

const slug = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] || '');
const params = new URLSearchParams(location.search);
const tokenKey = `kefu_chat_token_${slug}`;
const log = $('#log');
const input = $('#input');

// A shopper reading the latest message keeps it in view when the log's box
// shrinks (the queue line or a banner appears, the keyboard opens); one
// scrolled up to read older ones is left where they are.
let atBottom = true;
log.addEventListener('scroll', () => { atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24; });
new ResizeObserver(() => { if (atBottom) log.scrollTop = log.scrollHeight; }).observe(log);

const state = {
  token: null,
  conversationId: null,
  lastSeq: 0,
  readSeq: 0,
  seen: new Set(),          // message ids rendered
  pending: new Map(),       // client_msg_id -> {text, kind, li}
  rated: false,
  identified: false,
  orders: null,             // order_no -> order, once loaded (identified shoppers)
  people: null,             // who the header says is there: answering, nobody_online, closed
};

// In the widget the panel can be closed while the page stays loaded: the
// widget says when it opens and closes, replies that arrive meanwhile are
// counted on its launcher (never marked 已读), and opening reads them.
const embedded = !!params.get('embed');
let panelOpen = true;
let unread = 0;
function tellWidget(preview = '') {
  if (embedded) parent.postMessage({ kefu: 'unread', count: unread, preview }, '*');
}
if (embedded) {
  const btn = $('#close-embed');
  btn.hidden = false;
  btn.addEventListener('click', () => parent.postMessage({ kefu: 'close' }, '*'));
  window.addEventListener('message', e => {
    if (e.source !== parent || e.data?.kefu !== 'panel') return;
    panelOpen = !!e.data.open;
    if (panelOpen) { unread = 0; tellWidget(); markRead(); input.focus(); }
  });
}

document.addEventListener('keydown', e => {
  if (e.key !== 'Escape' || e.isComposing) return;
  const picker = $('#order-picker');
  if (!picker.hidden) { picker.hidden = true; $('#pick-order')?.focus(); return; }
  if (params.get('embed')) parent.postMessage({ kefu: 'close' }, '*');
});

input.placeholder = t('input_placeholder');
$('#send').textContent = t('send');
for (const [i, chip] of t('chips').entries()) {
  // The last chip asks for a person: hidden while the shopper already waits for or talks to one.
  const human = i === t('chips').length - 1;
  $('#chips').append(el('button', { type: 'button', class: human ? 'chip-human' : '', onclick: () => send(chip) }, chip));
}

// ---------------------------------------------------------------- order cards

let ordersLoading = null;
/**
 * The shopper's orders, fetched once however many cards ask at the same
 * time; `fresh` reads them again (the picker: an order may have shipped, or
 * gone into after-sales, since the page loaded).
 */
function loadOrders(fresh = false) {
  if (fresh && state.orders) { state.orders = null; ordersLoading = null; }
  if (state.orders || !state.identified) return Promise.resolve(state.orders);
  ordersLoading ??= api('GET', '/api/widget/orders', undefined, { Authorization: 'Bearer ' + state.token })
    .then(r => { state.orders = new Map(r.orders.map(o => [o.order_no, o])); fillCards(); return state.orders; })
    .catch(() => { ordersLoading = null; return null; }); // cards stay plain numbers; a later card tries again
  return ordersLoading;
}

/** Draws every card on the page from the orders now known. */
function fillCards() {
  for (const card of log.querySelectorAll('.order-card')) {
    const o = state.orders?.get(card.dataset.orderNo);
    if (o && !card.querySelector('.badge')) card.replaceWith(orderCardView(card.dataset.orderNo, o));
  }
}

const product = productCache(sku => api('GET', `/api/widget/products/${encodeURIComponent(sku)}`, undefined, { Authorization: 'Bearer ' + state.token }));

/** A product card, drawn once its product is known. */
function productBubble(sku) {
  const card = productCardView(sku, null);
  product(sku).then(p => { if (p) card.replaceWith(productCardView(sku, p)); });
  return el('div', { class: 'bubble card' }, card);
}

/** 咨询此商品: opened from a product page (`?sku=`), the card is ready to send. */
async function offerProduct(sku) {
  const p = await product(sku);
  if (!p) return;
  const box = $('#ask-product');
  box.replaceChildren(productCardView(sku, p),
    el('button', { type: 'button', class: 'btn primary', id: 'send-product', onclick: () => { box.hidden = true; send(sku, 'product'); input.focus(); } }, t('send_product')),
    el('button', { type: 'button', class: 'icon-btn', 'aria-label': t('cancel'), onclick: () => { box.hidden = true; } }, '✕'));
  box.hidden = false;
}

/** Images are fetched with the chat token (an <img> cannot send it) and shown from memory. */
const images = new Map();
function imageBubble(id) {
  const img = imageView(null);
  if (!images.has(id)) {
    images.set(id, fetch(`/api/widget/attachments/${encodeURIComponent(id)}`, { headers: { Authorization: 'Bearer ' + state.token } })
      .then(r => (r.ok ? r.blob() : null)).then(b => (b ? URL.createObjectURL(b) : null)).catch(() => null));
  }
  images.get(id).then(url => { if (url) img.src = url; else img.replaceWith(expiredImage()); });
  return el('div', { class: 'bubble image' }, img);
}

/** A photo from the button, a paste or a drop: uploaded, then sent as an image message. */
async function sendImage(file) {
  if (!file) return;
  try {
    const id = await uploadImage('/api/widget/attachments', file, { Authorization: 'Bearer ' + state.token });
    send(id, 'image');
  } catch (e) {
    banner(e.message);
    setTimeout(() => unbanner(e.message), 4000);
  }
}

function bubble(m) {
  if (m.kind === 'image') return imageBubble(m.text);
  if (m.kind === 'product') return productBubble(m.text);
  if (m.kind === 'order') {
    if (!state.orders) loadOrders();
    return el('div', { class: 'bubble card' }, orderCardView(m.text, state.orders?.get(m.text)));
  }
  return el('div', { class: 'bubble' }, m.text);
}

async function togglePicker() {
  const picker = $('#order-picker');
  if (!picker.hidden) { picker.hidden = true; return; }
  const orders = await loadOrders(true);
  const list = [...(orders?.values() || [])];
  picker.replaceChildren(
    el('div', { class: 'picker-head' }, el('span', {}, t('pick_order_title')), el('button', { type: 'button', class: 'icon-btn', 'aria-label': t('cancel'), onclick: () => { picker.hidden = true; } }, '✕')),
    list.length
      ? el('ul', {}, ...list.map(o => el('li', {}, el('button', { type: 'button', class: 'pick', onclick: () => { picker.hidden = true; send(o.order_no, 'order'); input.focus(); } }, orderCardView(o.order_no, o)))))
      : el('p', { class: 'meta' }, t('no_orders')));
  picker.hidden = false;
  picker.querySelector('button.pick')?.focus();
}

function banner(text) {
  const b = $('#banner');
  b.hidden = !text;
  b.textContent = text || '';
}

/** Hides the banner if it still shows `text`: the connection coming up must
 * not hide a refused image's reason, nor a reason's timer a reconnection. */
function unbanner(text) {
  if ($('#banner').textContent === text) banner('');
}

function senderClass(m) {
  if (m.sender.kind === 'customer') return 'me';
  if (m.sender.kind === 'system') return 'system';
  return 'them';
}

function render(m) {
  if (state.seen.has(m.id)) return;
  state.seen.add(m.id);
  if (m.seq > state.lastSeq) state.lastSeq = m.seq;
  const pending = m.client_msg_id && state.pending.get(m.client_msg_id);
  if (pending) {
    pending.li.dataset.seq = m.seq;
    setState(pending.li, t('sent') + ' ✓');
    state.pending.delete(m.client_msg_id);
    return;
  }
  const li = el('li', { class: 'msg ' + senderClass(m), dataset: { seq: m.seq } },
    bubble(m),
    el('span', { class: 'meta' }, (m.sender.kind === 'bot' ? t('bot_name') + ' · ' : '') + fmtTime(m.created_at)));
  if (m.sender.kind === 'customer') li.append(el('span', { class: 'state' }, t('sent') + ' ✓'));
  log.append(li);
  log.scrollTop = log.scrollHeight;
  if (m.sender.kind === 'customer' || m.sender.kind === 'system') return;
  if (!panelOpen) { unread += 1; tellWidget(shortText(m)); } else if (document.visibilityState === 'visible') markRead();
}

function setState(li, text, failed) {
  let s = li.querySelector('.state');
  if (!s) { s = el('span', { class: 'state' }); li.append(s); }
  s.textContent = text;
  s.classList.toggle('failed', !!failed);
}

function markRead() {
  if (panelOpen && state.conversationId && state.lastSeq > state.readSeq) {
    state.readSeq = state.lastSeq;
    socket?.send({ type: 'read', conversation_id: state.conversationId, seq: state.lastSeq });
  }
}
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') markRead(); });

function send(text, kind = 'text') {
  text = text.trim();
  if (!text) return;
  const id = clientId();
  const li = el('li', { class: 'msg me' }, bubble({ kind, text }));
  log.append(li);
  log.scrollTop = log.scrollHeight;
  state.pending.set(id, { text, kind, li });
  transmit(id);
}

// Messages typed offline stay queued and go out (same client id, so never
// twice) once the socket is back.
function transmit(id) {
  const p = state.pending.get(id);
  if (!p) return;
  const ok = socket?.send({ type: 'send', client_msg_id: id, text: p.text, kind: p.kind, conversation_id: state.conversationId || undefined });
  setState(p.li, ok ? t('sending') + '…' : t('offline_queue'));
}

function onFrame(f) {
  switch (f.type) {
    case 'ack': {
      const p = state.pending.get(f.client_msg_id);
      if (!state.conversationId || state.conversationId !== f.conversation_id) {
        state.conversationId = f.conversation_id;
        $('#csat').hidden = true;
        followQueue();
      }
      if (p) { p.li.dataset.seq = f.seq; setState(p.li, t('sent') + ' ✓'); }
      break;
    }
    case 'message': render(f.message); break;
    case 'read':
      if (f.by === 'agent') {
        for (const li of log.querySelectorAll('.msg.me')) {
          if (Number(li.dataset.seq) <= f.seq) setState(li, t('read'));
        }
      }
      break;
    case 'conversation':
      if (f.conversation.status === 'closed' && f.conversation.csat == null) showCsat(f.conversation.id);
      followQueue(f.conversation.status);
      break;
    case 'error': {
      const p = f.ref && state.pending.get(f.ref);
      if (p) {
        const li = p.li;
        setState(li, t('failed'), true);
        li.querySelector('.state').onclick = () => transmit(f.ref);
      }
      break;
    }
  }
}

function showCsat(conversationId) {
  if (state.rated) return;
  const box = $('#csat');
  box.replaceChildren(el('div', {}, t('rate_title')));
  const options = el('div', { class: 'options', role: 'group', 'aria-label': t('rate_title') });
  t('csat').slice().reverse().forEach((label, i) => {
    const score = 5 - i;
    options.append(el('button', { type: 'button', class: 'btn', onclick: async () => {
      try { await api('POST', '/api/widget/rate', { conversation_id: conversationId, csat: score }, { Authorization: 'Bearer ' + state.token }); } catch { /* rated already */ }
      state.rated = true;
      box.replaceChildren(el('div', { class: 'meta' }, t('rate_thanks')));
    } }, label));
  });
  box.append(options, el('button', { type: 'button', class: 'btn', onclick: () => { box.hidden = true; } }, t('skip')));
  box.hidden = false;
  state.conversationId = null;
  state.lastSeq = 0;
}

// ---------------------------------------------------------------- where I stand

// Waiting for a person: 前面还有 N 位 (and 预计等待, once the server has
// watched the queue move), asked again every few seconds while
// waiting (the server reads each shop's queue once for everyone asking);
// then who took the conversation. Nothing shows while the bot answers.
let queueTimer = null;
let queueAsk = 0;
async function followQueue(status) {
  clearTimeout(queueTimer);
  const ask = ++queueAsk;
  const line = $('#queue');
  if (status) humanChip(status);
  if (status === 'bot' || status === 'closed') { line.hidden = true; return; }
  let v = null;
  try { v = await api('GET', '/api/widget/queue', undefined, { Authorization: 'Bearer ' + state.token }); } catch { /* shown as before */ }
  if (ask !== queueAsk) return; // a newer answer is on its way
  if (v) humanChip(v.status);
  if (v?.people && v.people !== state.people) {
    // The header said who was there when the chat opened; the queue's answer is newer.
    state.people = v.people;
    $('#chat-sub').textContent = v.people === 'answering' ? t('chat_online') : v.people === 'closed' ? t('chat_closed', fmtWhen(v.next_open)) : t('chat_busy');
  }
  if (v?.status === 'queued') {
    // Nobody online: the queue does not move, so no "马上就到您"; say so, and after hours when people are back.
    line.textContent = v.people === 'closed' ? t('queue_closed', fmtWhen(v.next_open), v.ahead)
      : v.people === 'nobody_online' ? t('queue_nobody', v.ahead)
        : t('queue_ahead', v.ahead) + (v.wait_seconds != null ? t('queue_wait', v.wait_seconds) : '');
    line.hidden = false;
    queueTimer = setTimeout(() => followQueue(), 8000);
  } else if (v?.status === 'assigned' && v.offered) {
    // An agent was offered it and has not taken it yet: next, not yet served.
    line.textContent = t('queue_ahead', 0);
    line.hidden = false;
    queueTimer = setTimeout(() => followQueue(), 3000);
  } else if (v?.status === 'assigned' && v.agent_name) {
    line.textContent = t('queue_served', v.agent_name);
    line.hidden = false;
  } else if (v) {
    line.hidden = true;
  }
}

/** 转人工 is hidden while the shopper already waits for, or talks to, a person. */
function humanChip(status) {
  const chip = $('#chips .chip-human');
  if (chip) chip.hidden = status === 'queued' || status === 'assigned';
}

let socket = null;

async function start() {
  const body = { shop: slug };
  if (params.get('customer_id') && params.get('signature')) {
    body.identity = { customer_id: params.get('customer_id'), expires: Number(params.get('expires')), signature: params.get('signature') };
  } else if (localStorage.getItem(tokenKey)) {
    body.token = localStorage.getItem(tokenKey);
  }
  let session;
  try {
    session = await api('POST', '/api/widget/session', body);
  } catch (e) {
    banner(e.message);
    return;
  }
  state.token = session.token;
  state.identified = session.customer.identified;
  if (!state.identified) localStorage.setItem(tokenKey, session.token);
  else {
    // 选择订单: an identified shopper sends one of their orders as a card.
    const pick = el('button', { type: 'button', id: 'pick-order', 'aria-haspopup': 'dialog', onclick: togglePicker }, t('pick_order'));
    $('#chips').prepend(pick);
  }
  document.title = session.shop.name;
  $('#chat-title').textContent = session.shop.name;
  // Honest about people: online (with how fast they answered today, when most answers kept a promise),
  // busy (the bot answers), or back at a time in the shopper's own clock.
  const service = session.service;
  $('#chat-sub').textContent = service.people_now ? t('chat_online', service.typical_reply) : service.in_hours ? t('chat_busy') : t('chat_closed', fmtWhen(service.next_open));
  state.people = service.people_now ? 'answering' : service.in_hours ? 'nobody_online' : 'closed';
  if (session.conversation) {
    state.conversationId = session.conversation.id;
    const history = await api('GET', '/api/widget/messages', undefined, { Authorization: 'Bearer ' + state.token });
    history.messages.forEach(render);
    followQueue(session.conversation.status);
  }
  if (params.get('sku')) offerProduct(params.get('sku'));
  socket = connectSocket({
    hello: () => ({ token: state.token }),
    onFrame,
    onState: s => (s === 'down' ? banner(t('reconnecting')) : unbanner(t('reconnecting'))),
    onReady: () => {
      if (state.conversationId) socket.send({ type: 'resume', conversation_id: state.conversationId, after_seq: state.lastSeq });
      for (const id of state.pending.keys()) transmit(id);
      markRead();
    },
  });
}

$('#image-btn').textContent = t('image');
$('#image-btn').addEventListener('click', () => $('#image-file').click());
$('#image-file').addEventListener('change', e => { sendImage(imageFile(e.target.files)); e.target.value = ''; });
input.addEventListener('paste', e => { const file = imageFile(e.clipboardData?.files); if (file) { e.preventDefault(); sendImage(file); } });
document.querySelector('.chat').addEventListener('dragover', e => e.preventDefault());
document.querySelector('.chat').addEventListener('drop', e => { e.preventDefault(); sendImage(imageFile(e.dataTransfer?.files)); });

$('#compose').addEventListener('submit', e => { e.preventDefault(); send(input.value); input.value = ''; input.focus(); });
input.addEventListener('keydown', e => {
  if (isPlainEnter(e)) { e.preventDefault(); send(input.value); input.value = ''; }
});
// Keep the input above the on-screen keyboard on phones.
window.visualViewport?.addEventListener('resize', () => { document.querySelector('.chat').style.height = window.visualViewport.height + 'px'; });

start();
input.focus();
