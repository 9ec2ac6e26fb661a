// Admin: shops (with their signing secrets), agents and skill groups.
import { $, el, api, setCsrf } from './common.js';

async function load() {
  let me;
  try { me = await api('GET', '/api/me'); } catch { location.href = '/agent'; return; }
  setCsrf(me.csrf_token);
  if (me.agent.role !== 'admin') { $('#error').textContent = '仅管理员可访问'; return; }
  const [{ shops }, { agents }] = await Promise.all([api('GET', '/api/admin/shops'), api('GET', '/api/admin/agents')]);
  const shopName = Object.fromEntries(shops.map(s => [s.id, s.name]));
  $('#shops').replaceChildren(
    el('tr', {}, el('th', {}, '名称'), el('th', {}, 'slug'), el('th', {}, '签名密钥 (HMAC)'), el('th', {}, '')),
    ...shops.map(s => el('tr', {}, el('td', {}, s.name), el('td', {}, s.slug), el('td', { class: 'secret' }, s.secret),
      el('td', {}, el('button', { class: 'btn danger', onclick: async () => { if (confirm('轮换后旧密钥立即失效，确定？')) { await api('POST', `/api/admin/shops/${s.id}/secret`); load(); } } }, '轮换密钥')))));
  $('#agent-shop').replaceChildren(...shops.map(s => el('option', { value: s.id }, s.name)));
  $('#agents').replaceChildren(
    el('tr', {}, el('th', {}, '账号'), el('th', {}, '显示名'), el('th', {}, '角色'), el('th', {}, '店铺'), el('th', {}, '接待上限'), el('th', {}, '状态')),
    ...agents.map(a => el('tr', {}, el('td', {}, a.username), el('td', {}, a.display_name), el('td', {}, a.role),
      el('td', {}, a.shops.map(id => shopName[id] || id).join('、')), el('td', { class: 'num' }, `${a.open_conversations ?? 0}/${a.max_concurrent}`), el('td', {}, a.status))));
  const groups = await Promise.all(shops.map(s => api('GET', `/api/shops/${s.id}/skill-groups`).then(r => [s, r.skill_groups])));
  $('#groups').replaceChildren(...groups.map(([s, gs]) => el('p', {}, el('strong', {}, s.name), '：', gs.map(g => g.name).join('、') || '—', ' ',
    el('button', { class: 'btn', onclick: async () => { const name = prompt('技能组名称'); if (name) { await api('POST', `/api/shops/${s.id}/skill-groups`, { name }); load(); } } }, '添加'))));
}

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
