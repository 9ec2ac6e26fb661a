// The shopper's chat page (also the widget's iframe). Anonymous visitors keep
// their chat token in localStorage; a merchant's site can pass a signed
// identity in the URL (customer_id, expires, signature).
import { $, el, t, api, clientId, fmtTime, isPlainEnter, connectSocket } from './common.js';

const slug = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] || '');
const params = new URLSearchParams(location.search);
const tokenKey = `kefu_chat_token_${slug}`;
const log = $('#log');
const input = $('#input');

const state = {
  token: null,
  conversationId: null,
  lastSeq: 0,
  readSeq: 0,
  seen: new Set(),          // message ids rendered
  pending: new Map(),       // client_msg_id -> {text, li}
  rated: false,
};

if (params.get('embed')) {
  const btn = $('#close-embed');
  btn.hidden = false;
  btn.addEventListener('click', () => parent.postMessage({ kefu: 'close' }, '*'));
}
document.addEventListener('keydown', e => { if (e.key === 'Escape' && params.get('embed')) parent.postMessage({ kefu: 'close' }, '*'); });

input.placeholder = t('input_placeholder');
$('#send').textContent = t('send');
for (const chip of t('chips')) {
  $('#chips').append(el('button', { type: 'button', onclick: () => send(chip) }, chip));
}

function banner(text) {
  const b = $('#banner');
  b.hidden = !text;
  b.textContent = text || '';
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
    el('div', { class: 'bubble' }, m.text),
    el('span', { class: 'meta' }, (m.sender.kind === 'bot' ? t('bot_name') + ' · ' : '') + fmtTime(m.created_at)));
  if (m.sender.kind === 'customer') li.append(el('span', { class: 'state' }, t('sent') + ' ✓'));
  log.append(li);
  log.scrollTop = log.scrollHeight;
  if (m.sender.kind !== 'customer' && document.visibilityState === 'visible') markRead();
}

function setState(li, text, failed) {
  let s = li.querySelector('.state');
  if (!s) { s = el('span', { class: 'state' }); li.append(s); }
  s.textContent = text;
  s.classList.toggle('failed', !!failed);
}

function markRead() {
  if (state.conversationId && state.lastSeq > state.readSeq) {
    state.readSeq = state.lastSeq;
    socket?.send({ type: 'read', conversation_id: state.conversationId, seq: state.lastSeq });
  }
}
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') markRead(); });

function send(text) {
  text = text.trim();
  if (!text) return;
  const id = clientId();
  const li = el('li', { class: 'msg me' }, el('div', { class: 'bubble' }, text));
  log.append(li);
  log.scrollTop = log.scrollHeight;
  state.pending.set(id, { text, li });
  transmit(id);
}

// Messages typed offline stay queued and go out (same client id, so never
// twice) once the socket is back.
function transmit(id) {
  const p = state.pending.get(id);
  if (!p) return;
  const ok = socket?.send({ type: 'send', client_msg_id: id, text: p.text, conversation_id: state.conversationId || undefined });
  setState(p.li, ok ? t('sending') + '…' : t('offline_queue'));
}

function onFrame(f) {
  switch (f.type) {
    case 'ack': {
      const p = state.pending.get(f.client_msg_id);
      if (!state.conversationId || state.conversationId !== f.conversation_id) {
        state.conversationId = f.conversation_id;
        $('#csat').hidden = true;
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
  if (!session.customer.identified) localStorage.setItem(tokenKey, session.token);
  document.title = session.shop.name;
  $('#chat-title').textContent = session.shop.name;
  $('#chat-sub').textContent = t('chat_online');
  if (session.conversation) {
    state.conversationId = session.conversation.id;
    const history = await api('GET', '/api/widget/messages', undefined, { Authorization: 'Bearer ' + state.token });
    history.messages.forEach(render);
  }
  socket = connectSocket({
    hello: () => ({ token: state.token }),
    onFrame,
    onState: s => banner(s === 'down' ? t('reconnecting') : ''),
    onReady: () => {
      if (state.conversationId) socket.send({ type: 'resume', conversation_id: state.conversationId, after_seq: state.lastSeq });
      for (const id of state.pending.keys()) transmit(id);
      markRead();
    },
  });
}

$('#compose').addEventListener('submit', e => { e.preventDefault(); send(input.value); input.value = ''; input.focus(); });
input.addEventListener('keydown', e => {
  if (isPlainEnter(e)) { e.preventDefault(); send(input.value); input.value = ''; }
});
// Keep the input above the on-screen keyboard on phones.
window.visualViewport?.addEventListener('resize', () => { document.querySelector('.chat').style.height = window.visualViewport.height + 'px'; });

start();
input.focus();
