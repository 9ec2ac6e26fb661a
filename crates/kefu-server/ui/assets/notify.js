// Agent notifications (docs: ../shared/UI.md "Notifications"): distinct
// sounds for a new offer, a buyer message, a reply-timer threshold and a
// transfer to me, made with WebAudio (no sound files, nothing fetched).
// Sound starts only after the agent clicks to turn it on (browsers block
// autoplay). Page hidden: system notification + sound; looking at that
// conversation: nothing; elsewhere: a soft sound. Two tabs of one agent
// play one sound: the first tab to claim the event in localStorage plays it.
// Every sound played is also pushed to `window.kefuSounds` for the browser tests.

const TONES = {
  offer: [[660, 0.12], [880, 0.16]],
  message: [[880, 0.12]],
  timer: [[440, 0.18], [440, 0.18]],
  transfer: [[523, 0.1], [659, 0.1], [784, 0.16]],
};

let audio = null;
window.kefuSounds = [];

export const KINDS = Object.keys(TONES);

/// Volume per event, 0–1, kept in this browser.
export function volume(kind) {
  try {
    const raw = localStorage.getItem('kefu-volume:' + kind);
    const v = Number(raw);
    return raw === null || Number.isNaN(v) ? 1 : Math.min(1, Math.max(0, v));
  } catch { return 1; }
}

export function setVolume(kind, v) {
  try { localStorage.setItem('kefu-volume:' + kind, String(v)); } catch { /* storage off */ }
}

export function soundOn() { return audio !== null; }

/// Must run inside a click: browsers allow an AudioContext to start only then.
export function enableSound() {
  if (audio) return;
  const Ctx = window.AudioContext || window.webkitAudioContext;
  audio = Ctx ? new Ctx() : { fake: true };
  if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission().catch(() => {});
}

function claimed(key) {
  // One tab plays each event: claim it for 3 s.
  try {
    const k = 'kefu-sound:' + key;
    const prev = Number(localStorage.getItem(k) || 0);
    if (Date.now() - prev < 3000) return false;
    localStorage.setItem(k, String(Date.now()));
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const name = localStorage.key(i);
      if (name?.startsWith('kefu-sound:') && Date.now() - Number(localStorage.getItem(name)) > 60000) localStorage.removeItem(name);
    }
  } catch { /* storage off: every tab plays */ }
  return true;
}

function play(kind, soft) {
  const level = volume(kind);
  if (level === 0) return;
  window.kefuSounds.push({ kind, soft });
  if (!audio || audio.fake) return;
  let at = audio.currentTime;
  for (const [freq, len] of TONES[kind]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime((soft ? 0.04 : 0.15) * level, at);
    gain.gain.exponentialRampToValueAtTime(0.001, at + len);
    osc.connect(gain).connect(audio.destination);
    osc.start(at);
    osc.stop(at + len);
    at += len + 0.04;
  }
}

/// kind: offer | message | timer | transfer; key: unique per event (across tabs);
/// conversationId: the conversation it is about; selected: the one on screen.
export function notify({ kind, key, conversationId, selected, title, body }) {
  if (!audio) return;
  // Looking at that conversation already: nothing to say.
  if (!document.hidden && conversationId && conversationId === selected) return;
  if (!claimed(key)) return;
  if (document.hidden) {
    play(kind, false);
    if ('Notification' in window && Notification.permission === 'granted') {
      // Text only: the body is the buyer's words as plain text.
      try { new Notification(title, { body, tag: conversationId || kind }); } catch { /* not allowed here */ }
    }
  } else {
    play(kind, kind === 'message');
  }
}
