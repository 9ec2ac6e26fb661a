// The desk in a real browser: a shopper writes, an agent accepts and replies,
// hostile strings stay text, notes stay internal, IME Enter does not send,
// screenshots for people to look at, and no request leaves the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { startKefu, launchBrowser, login, recordRequests, shotsDir, zhDesk } from './harness.mjs';

let kefu, browser;
const urls = [];
const XSS = '<img src=x onerror=alert(1)>';

before(async () => {
  // These stories are about people talking; the bot has its own test.
  kefu = await startKefu({ env: { KEFU_BOT: 'false' } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await kefu?.stop();
});

const SIZES = { desk: { width: 1366, height: 768 }, phone: { width: 420, height: 760 }, admin: { width: 1366, height: 900 } };

/** A page in a browser context of its own, in China: `desk`, `phone` or `admin` size. Close with `page.context().close()`. */
async function pageAt(size) {
  const ctx = await browser.newContext({ viewport: SIZES[size], ...zhDesk });
  return ctx.newPage();
}

/** The demo shop's chat page (or `path`), once it has said which shop it is. */
async function openChat(page, path = '/chat/youpin-home') {
  await page.goto(kefu.base + path);
  await page.waitForSelector('#chat-title:has-text("优品家电旗舰店")');
}

/** The demo's known shopper (王小明, by the signed link `kefu demo` prints) on a phone, and an agent's page. */
async function knownShopperAndAgent() {
  const link = /Known shopper\s*:\s*(\S+)/.exec(kefu.output())?.[1];
  assert.ok(link, 'kefu demo prints a signed link for the known shopper');
  const shopper = await pageAt('phone');
  const agent = await pageAt('desk');
  recordRequests(shopper, urls);
  recordRequests(agent, urls);
  await shopper.goto(link);
  await shopper.waitForSelector('#chat-title:has-text("优品家电旗舰店")');
  return { shopper, agent };
}

test('shopper and agent talk; hostile text stays text; notes stay internal', async () => {
  const agent = await pageAt('desk');
  const shopper = await pageAt('phone');
  const dialogs = [];
  for (const p of [agent, shopper]) {
    recordRequests(p, urls);
    p.on('dialog', d => { dialogs.push(d.message()); d.dismiss(); });
  }

  await login(agent, kefu.base, 'zhangsan');

  await openChat(shopper);
  // Someone is here; nothing answered yet today, so no reply time is promised.
  assert.equal(await shopper.textContent('#chat-sub'), '客服在线');
  await shopper.fill('#input', '你好，我的冰箱什么时候发货？');
  await shopper.press('#input', 'Enter');
  await shopper.waitForSelector('.msg.me .state:has-text("已发送")');
  // While waiting, the shopper sees where they stand.
  await shopper.waitForSelector('#queue:has-text("正在为您转接人工客服")');

  // The agent sees it in the queue, longest wait first, and accepts.
  await agent.click('[data-tab=queue]');
  const row = agent.locator('.conv', { hasText: '你好，我的冰箱什么时候发货？' });
  await row.waitFor();
  await row.click();
  await agent.click('#accept');
  await agent.waitForSelector('#composer-input');
  await agent.fill('#composer-input', '亲，您好！冰箱今天下午就会发出哦');
  await agent.press('#composer-input', 'Enter');

  await shopper.waitForSelector('.msg.them .bubble:has-text("冰箱今天下午就会发出哦")');
  await shopper.waitForSelector('#queue:has-text("客服 张三 正在为您服务")');
  // The top bar counts the answer: today's chats, the first answer within 30 s, the shop's 3-minute window.
  await agent.waitForSelector('#kpis:has-text("今日接待 1")');
  assert.match(await agent.textContent('#kpis'), /30秒应答 100% · 均响 \d+秒 · 3分钟回复 100%/);

  // A hostile string is shown as text on both sides and never runs.
  await shopper.fill('#input', XSS);
  await shopper.press('#input', 'Enter');
  await agent.waitForSelector(`.msg.customer .bubble:text-is("${XSS}")`);
  assert.equal(await agent.locator('#log img').count(), 0);
  assert.equal(await shopper.locator('#log img').count(), 0);
  assert.equal(await agent.locator('.conv .preview', { hasText: XSS }).count(), 1, 'the list preview shows it as text');

  // An internal note: yellow on the agent side, absent from the shopper's page.
  await agent.click('.composer .modes button:has-text("备注")');
  await agent.fill('#composer-input', '内部备注：该买家需要优先发货');
  await agent.press('#composer-input', 'Enter');
  await agent.waitForSelector('.msg.note .bubble:has-text("优先发货")');
  await agent.click('.composer .modes button:has-text("回复")');
  await agent.fill('#composer-input', '还有什么可以帮您？');
  await agent.press('#composer-input', 'Enter');
  await shopper.waitForSelector('.msg.them .bubble:has-text("还有什么可以帮您")');
  assert.equal(await shopper.locator('text=优先发货').count(), 0, 'notes never reach the widget');
  assert.ok(!(await shopper.content()).includes('优先发货'));

  // Enter while an input method is composing must not send.
  await agent.fill('#composer-input', 'nihao');
  await agent.evaluate(() => {
    const box = document.querySelector('#composer-input');
    box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true, isComposing: true }));
  });
  assert.equal(await agent.inputValue('#composer-input'), 'nihao', 'composition Enter keeps the text');
  assert.equal(await agent.locator('.msg.agent .bubble:text-is("nihao")').count(), 0);

  // The buyer panel shows the customer.
  await agent.waitForSelector('#context .section');

  assert.deepEqual(dialogs, [], 'no script ran from message text');
  await agent.screenshot({ path: join(shotsDir, 'agent-1366x768-zh.png') });
  await shopper.screenshot({ path: join(shotsDir, 'chat-420x760-zh.png') });
  await agent.setViewportSize({ width: 1920, height: 1080 });
  await agent.screenshot({ path: join(shotsDir, 'agent-1920x1080-zh.png') });
  await agent.context().close();
  await shopper.context().close();
});

test('sound alerts: only after the click, not for the conversation on screen, with the page hidden', async () => {
  const agent = await pageAt('desk');
  const shopper = await pageAt('phone');
  await login(agent, kefu.base, 'zhangsan');
  const sounds = () => agent.evaluate(() => window.kefuSounds.filter(s => s.kind !== 'timer'));

  await openChat(shopper);
  await shopper.fill('#input', '请问这款冰箱有白色的吗');
  await shopper.press('#input', 'Enter');
  await agent.click('[data-tab=queue]');
  const row = agent.locator('.conv', { hasText: '请问这款冰箱有白色的吗' });
  await row.waitFor();
  assert.deepEqual(await sounds(), [], 'no sound before the agent turns it on');

  await agent.click('#sound');
  await agent.waitForSelector('#sound:has-text("声音已开")');
  await row.click();
  await agent.click('#accept');
  await agent.waitForSelector('#composer-input');
  await shopper.fill('#input', '在吗');
  await shopper.press('#input', 'Enter');
  await agent.waitForSelector('.msg.customer .bubble:text-is("在吗")');
  assert.deepEqual(await sounds(), [], 'nothing for the conversation on screen (accepting it included)');

  // The agent switches to another window: the next buyer message sounds.
  await agent.evaluate(() => {
    Object.defineProperty(document, 'hidden', { get: () => true, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await shopper.fill('#input', '白色的什么时候有货');
  await shopper.press('#input', 'Enter');
  await agent.waitForFunction(() => window.kefuSounds.some(s => s.kind === 'message'), null, { timeout: 10000 });
  assert.deepEqual(await sounds(), [{ kind: 'message', soft: false }]);
  assert.match(await agent.title(), /新消息/, 'the tab title counts unseen messages');

  // Volume per kind of alert: buyer messages turned down to nothing stay silent.
  await agent.click('#sound');
  const slider = agent.locator('#volumes input[data-kind=message]');
  await slider.waitFor();
  await slider.fill('0');
  await shopper.fill('#input', '好的');
  await shopper.press('#input', 'Enter');
  await agent.waitForSelector('.msg.customer .bubble:text-is("好的")');
  await agent.waitForTimeout(300);
  assert.deepEqual(await sounds(), [{ kind: 'message', soft: false }], 'volume 0 plays nothing');
  await agent.context().close();
  await shopper.context().close();
});

test('order cards both ways: the shopper picks an order, the agent sends one back', async () => {
  const { shopper, agent } = await knownShopperAndAgent();

  // 选择订单 lists the shopper's orders as cards; Esc closes the list, a tap sends one.
  await shopper.click('#pick-order');
  const picks = shopper.locator('#order-picker .pick');
  await picks.first().waitFor();
  await shopper.keyboard.press('Escape');
  assert.equal(await shopper.locator('#order-picker').isVisible(), false, 'Esc closes the order list');
  await shopper.click('#pick-order');
  const first = picks.first();
  const orderNo = await first.locator('.order-card').getAttribute('data-order-no');
  const status = await first.locator('.badge').textContent();
  await first.click();
  const sent = shopper.locator(`.msg.me .order-card[data-order-no="${orderNo}"]`);
  await sent.waitFor();
  await shopper.waitForSelector('.msg.me .state:has-text("已发送")');
  assert.match(await sent.textContent(), new RegExp(status), 'the card shows the order status');

  // The agent sees the card in the queue's preview, in the thread and in the head's chip.
  await login(agent, kefu.base, 'zhangsan');
  await agent.click('[data-tab=queue]');
  const row = agent.locator('.conv', { hasText: '[订单] ' + orderNo });
  await row.waitFor();
  await row.click();
  await agent.click('#accept');
  await agent.waitForSelector(`#log .msg.customer .order-card[data-order-no="${orderNo}"] .badge`);
  await agent.waitForSelector(`#order-chip:has-text("${orderNo}")`);

  // The chip opens the order in the orders tab; its 发送订单卡片 sends it back.
  await agent.click('#order-chip');
  const orderInPane = agent.locator(`#context .order[data-order-no="${orderNo}"]`);
  await orderInPane.waitFor();
  await orderInPane.locator('.send-card').click();
  await agent.waitForSelector(`#log .msg.agent .order-card[data-order-no="${orderNo}"]`);
  const back = shopper.locator(`.msg.them .order-card[data-order-no="${orderNo}"]`);
  await back.waitFor();
  await shopper.waitForSelector(`.msg.them .order-card[data-order-no="${orderNo}"] .badge`);
  await agent.screenshot({ path: join(shotsDir, 'agent-order-cards-1366x768-zh.png') });
  await shopper.screenshot({ path: join(shotsDir, 'chat-order-cards-420x760-zh.png') });
  await agent.context().close();
  await shopper.context().close();
});

test('服务单: the agent files an after-sales request and an invoice on the shopper\'s order, and closes one', async () => {
  const { shopper, agent } = await knownShopperAndAgent();
  await shopper.fill('#input', '收到的东西有质量问题，想退货，顺便开个发票');
  await shopper.keyboard.press('Enter');

  await login(agent, kefu.base, 'zhangsan');
  // The shopper's conversation may already be zhangsan's (the order-card story talks to the same shopper).
  await agent.waitForSelector('#conversations li');
  const conv = agent.locator('.conv', { hasText: '质量问题' }).first();
  if (!(await conv.isVisible())) await agent.click('[data-tab=queue]');
  await conv.click();
  await agent.waitForSelector('#accept, #composer-input');
  if (await agent.locator('#accept').isVisible()) await agent.click('#accept');
  await agent.click('#context [role=tab]:has-text("订单")');
  const order = agent.locator('#context .order', { has: agent.locator('.badge.status', { hasText: '已签收' }) }).first();
  await order.waitFor();
  const orderNo = await order.getAttribute('data-order-no');
  const card = () => agent.locator(`#context .order[data-order-no="${orderNo}"]`);
  // A delivered order offers after-sales, price protection and an invoice; not cancel.
  assert.equal(await card().locator('[data-act=cancel]').count(), 0);
  // A senior watches the 服务单 tab: what the agent files appears there without a reload.
  const senior = await pageAt('desk');
  recordRequests(senior, urls);
  await login(senior, kefu.base, 'wangwu');
  await senior.click('[data-tab=requests]');
  await senior.waitForSelector('#conversations .req-row');
  const before = Number(await senior.locator('#count-requests').textContent());

  // 售后: the shop's rules allow it; the request is listed and the reply is in the composer, not sent.
  await card().locator('[data-act=after_sale]').click();
  await card().locator('.order-form select[name=reason]').selectOption('quality');
  await card().locator('.order-form input[name=note]').fill('买家说开机有异响');
  await card().locator('.order-form button[type=submit]').click();
  await card().locator('.req[data-state] >> text=售后').waitFor();
  assert.match(await agent.inputValue('#composer-input'), new RegExp(`已为您提交订单${orderNo}的退货退款申请`));
  // A second after-sales request on the order is refused while the first is open.
  await card().locator('[data-act=after_sale]').click();
  await card().locator('.order-form button[type=submit]').click();
  await card().locator('.order-form .form-error:has-text("已有处理中的同类服务单")').waitFor();
  await agent.keyboard.press('Escape');

  // 发票, from the command palette by its pinyin initials: a wrong credit code is refused with its reason; a personal title goes through.
  await agent.keyboard.press('Control+KeyK');
  await agent.locator('#palette input').fill(`kfp ${orderNo}`);
  await agent.waitForSelector(`#palette li[aria-selected="true"]:has-text("发票 · ${orderNo}")`);
  await agent.keyboard.press('Enter');
  await agent.waitForSelector('#palette', { state: 'detached' });
  assert.equal(await card().locator('.order-form input[name=title]').evaluate(i => i === document.activeElement), true, 'the form opens with its first field focused');
  await card().locator('.order-form input[name=title]').fill('王小明');
  await card().locator('.order-form input[name=credit_code]').fill('12345');
  await card().locator('.order-form input[name=email]').fill('wxm@example.com');
  await card().locator('.order-form button[type=submit]').click();
  await card().locator('.order-form .form-error:has-text("credit_code")').waitFor();
  await card().locator('.order-form input[name=credit_code]').fill('');
  await card().locator('.order-form button[type=submit]').click();
  const invoice = card().locator('.req', { hasText: '发票' });
  await invoice.waitFor();
  assert.equal(await invoice.getAttribute('data-state'), 'open');

  // Closed as done, with a word: who and when show on it.
  await invoice.locator('.req-actions button:has-text("完成")').click();
  await invoice.locator('.resolve input').fill('已开票并发送邮箱');
  await invoice.locator('.resolve button[type=submit]').click();
  await card().locator('.req[data-state=done]', { hasText: '已开票并发送邮箱' }).waitFor();
  await agent.screenshot({ path: join(shotsDir, 'agent-order-requests-1366x768-zh.png') });

  // The agent sends the suggested replies; the shopper reads them.
  await agent.focus('#composer-input');
  await agent.keyboard.press('Enter');
  await shopper.waitForSelector(`.msg.them:has-text("已为您提交订单${orderNo}")`);
  await shopper.waitForSelector('.msg.them:has-text("电子发票")');
  // The shopper's own order list says what is open on the order.
  await shopper.click('#pick-order');
  await shopper.waitForSelector(`#order-picker .order-card[data-order-no="${orderNo}"] .badge:has-text("售后处理中")`);
  await shopper.keyboard.press('Escape');

  // The senior's open 服务单 tab has the after-sales request, live; they reject it, saying why.
  const row = senior.locator('.req-row', { hasText: orderNo }).filter({ hasText: '售后' });
  await senior.waitForFunction(n => Number(document.querySelector('#count-requests').textContent) === n, before + 1);
  await row.waitFor();
  // Filters by kind: only after-sales requests, then all again.
  await senior.click('.req-filters [data-filter=after_sale]');
  assert.ok((await senior.locator('.req-row b').allTextContents()).every(k => k === '售后'), 'only after-sales requests');
  await senior.click('.req-filters [data-filter=all]');
  await senior.screenshot({ path: join(shotsDir, 'agent-requests-tab-1366x768-zh.png') });
  await row.locator('.req-actions button:has-text("驳回")').click();
  await row.locator('.resolve button[type=submit]').click();
  assert.equal(await row.locator('.resolve input').evaluate(i => i.validity.valueMissing), true, 'a rejection needs a reason');
  await row.locator('.resolve input').fill('超出质保范围，建议联系售后网点');
  await row.locator('.resolve button[type=submit]').click();
  await row.waitFor({ state: 'detached' });
  await senior.context().close();
  await agent.context().close();
  await shopper.context().close();
});

test('咨询此商品: from a product page the card is ready; the agent sees the product', async () => {
  const shopper = await pageAt('phone');
  const agent = await pageAt('desk');
  recordRequests(shopper, urls);
  await shopper.goto(kefu.base + '/chat/youpin-home?sku=YO-0101');
  const ready = shopper.locator('#ask-product:not([hidden]) .product-card[data-sku="YO-0101"]');
  await ready.waitFor();
  const name = await ready.locator('.oc-title').textContent();
  assert.notEqual(name, '商品', 'the card names the product');
  await shopper.click('#send-product');
  await shopper.waitForSelector(`.msg.me .product-card[data-sku="YO-0101"]:has-text("${name}")`);
  await shopper.waitForSelector('.msg.me .state:has-text("已发送")');
  assert.equal(await shopper.locator('#ask-product').isVisible(), false);

  await login(agent, kefu.base, 'zhangsan');
  await agent.click('[data-tab=queue]');
  await agent.locator('.conv', { hasText: '[商品] YO-0101' }).click();
  await agent.waitForSelector(`#log .msg.customer .product-card[data-sku="YO-0101"]:has-text("${name}")`);
  await agent.click('#accept'); // not left in the queue for the stories after this one
  await agent.waitForSelector('#composer-input');
  await shopper.screenshot({ path: join(shotsDir, 'chat-product-card-420x760-zh.png') });
  await agent.context().close();
  await shopper.context().close();
});

test('the widget on a merchant page: unread count and preview while closed, 已读 only once opened', async () => {
  const hostCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...zhDesk });
  const host = await hostCtx.newPage();
  const agent = await pageAt('desk');
  // The merchant's page, on its own origin: a small server of the test's own on another port.
  const page = `<!doctype html><html><head><meta charset="utf-8"></head><body><h1>优品家电 · 商品详情</h1><script src="${kefu.base}/widget.js" data-shop="youpin-home"></script></body></html>`;
  const merchant = createServer((_, res) => { res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }); res.end(page); });
  await new Promise(ok => merchant.listen(0, '127.0.0.1', ok));
  await host.goto(`http://127.0.0.1:${merchant.address().port}/item/1`);
  const launcher = host.locator('button[aria-label^="在线客服"]');
  await launcher.click();
  const chat = host.frameLocator('iframe[title="在线客服"]');
  await chat.locator('#chat-title:has-text("优品家电旗舰店")').waitFor();
  await chat.locator('#input').fill('请问这台有现货吗');
  await chat.locator('#input').press('Enter');
  await chat.locator('.msg.me .state:has-text("已发送")').waitFor();
  await launcher.click(); // the shopper closes the panel and reads the product page

  await login(agent, kefu.base, 'zhangsan');
  await agent.click('[data-tab=queue]');
  await agent.locator('.conv', { hasText: '请问这台有现货吗' }).click();
  await agent.click('#accept');
  await agent.fill('#composer-input', '有现货的亲，今天下单明天发');
  await agent.press('#composer-input', 'Enter');

  await host.locator('button[aria-label="在线客服，1 条未读"]').waitFor();
  await host.locator('[role=status]:has-text("有现货的亲")').waitFor();
  await host.screenshot({ path: join(shotsDir, 'widget-unread-1280x800-zh.png') });
  await agent.waitForTimeout(500);
  assert.match(await agent.locator('#log .msg.agent .read-state').last().textContent(), /已发送/, 'not read while the panel is closed');

  await launcher.click();
  await host.locator('button[aria-label="在线客服"]').waitFor();
  assert.equal(await host.locator('[role=status]:has-text("有现货的亲")').isVisible(), false);
  await agent.waitForSelector('#log .msg.agent .read-state:has-text("已读")');
  await agent.context().close();
  await hostCtx.close();
  merchant.close();
});

/** A real 1×1 PNG, so the browser decodes what it shows. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const decoded = img => img.evaluate(i => i.complete && i.naturalWidth > 0);

test('images both ways: a shopper\'s photo, an agent\'s picture, and a fake image refused', async () => {
  const shopper = await pageAt('phone');
  const agent = await pageAt('desk');
  recordRequests(shopper, urls);
  recordRequests(agent, urls);
  await openChat(shopper);

  // Not an image by its bytes, whatever its name says.
  await shopper.setInputFiles('#image-file', { name: 'parcel.png', mimeType: 'image/png', buffer: Buffer.from('<svg onload=alert(1)>') });
  await shopper.waitForSelector('#banner:not([hidden]):has-text("只能发送")');
  assert.equal(await shopper.locator('.msg.me').count(), 0, 'nothing was sent');

  await shopper.setInputFiles('#image-file', { name: 'parcel.png', mimeType: 'image/png', buffer: PNG });
  const mine = shopper.locator('.msg.me img.msg-image');
  await mine.waitFor();
  await shopper.waitForFunction(() => [...document.querySelectorAll('.msg.me img.msg-image')].some(i => i.complete && i.naturalWidth > 0));
  await shopper.waitForSelector('.msg.me .state:has-text("已发送")');

  await login(agent, kefu.base, 'zhangsan');
  await agent.click('[data-tab=queue]');
  await agent.locator('.conv', { hasText: '[图片]' }).first().click();
  await agent.click('#accept');
  const theirs = agent.locator('#log .msg.customer img.msg-image');
  await theirs.waitFor();
  await agent.waitForFunction(() => [...document.querySelectorAll('#log .msg.customer img.msg-image')].some(i => i.complete && i.naturalWidth > 0));
  assert.ok(await decoded(theirs.first()));

  await agent.setInputFiles('#composer input[type=file]', { name: 'how-to-install.png', mimeType: 'image/png', buffer: PNG });
  await agent.waitForSelector('#log .msg.agent img.msg-image');
  await shopper.waitForFunction(() => [...document.querySelectorAll('.msg.them img.msg-image')].some(i => i.complete && i.naturalWidth > 0));
  await shopper.screenshot({ path: join(shotsDir, 'chat-images-420x760-zh.png') });
  await agent.context().close();
  await shopper.context().close();
});

test('quick phrases: / with a code or pinyin initials, keyboard only, IME-safe', async () => {
  const agent = await pageAt('desk');
  const shopper = await pageAt('phone');
  await openChat(shopper);
  await shopper.fill('#input', '什么时候能发货呀');
  await shopper.press('#input', 'Enter');

  // A supervisor adds a phrase on /admin; a taken code is refused and stores nothing.
  const boss = await pageAt('admin');
  await login(boss, kefu.base, 'supervisor');
  await boss.goto(kefu.base + '/admin');
  await boss.waitForSelector('#qp-card:not([hidden]) #qp tr[data-code="fh"]');
  await boss.selectOption('#qp-shop', { label: '优品家电旗舰店' });
  const form = boss.locator('#qp-form');
  await form.locator('[name=code]').fill('fh');
  await form.locator('[name=text]').fill('重复的编码');
  await boss.click('#qp-save');
  await boss.waitForSelector('#error:has-text("该编码已被使用")');
  await form.locator('[name=code]').fill('ys');
  await form.locator('[name=text]').fill('亲，预售商品按页面标注的时间发货哦');
  await boss.click('#qp-save');
  await boss.waitForSelector('#qp tr[data-code="ys"]');
  assert.equal(await boss.locator('#qp tr', { hasText: '重复的编码' }).count(), 0);
  await boss.context().close();

  await login(agent, kefu.base, 'zhangsan');
  await agent.click('[data-tab=queue]');
  await agent.locator('.conv', { hasText: '什么时候能发货呀' }).click();
  await agent.click('#accept');
  const box = agent.locator('#composer-input');
  await box.waitFor();

  // `/` and the code: the popup lists it first.
  await box.pressSequentially('/fh');
  await agent.waitForSelector('#phrases li[aria-selected="true"][data-code="fh"]');
  // Enter while an input method is composing neither picks nor sends.
  await box.evaluate(b => b.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true, isComposing: true })));
  assert.equal(await box.inputValue(), '/fh');
  assert.equal(await agent.locator('#phrases').isVisible(), true);
  // Esc closes the popup and keeps the draft.
  await box.press('Escape');
  assert.equal(await agent.locator('#phrases').isVisible(), false);
  assert.equal(await box.inputValue(), '/fh');

  // The supervisor's new phrase, by its initials (预售商品 → yssp).
  await box.fill('');
  await box.pressSequentially('/yssp');
  await agent.waitForSelector('#phrases li[aria-selected="true"][data-code="ys"]');
  await box.press('Escape');

  // Pinyin initials anywhere in the phrase: 催促仓库 → ccck; ↓ ↑ and Enter insert it in place of the query.
  await box.fill('');
  await box.pressSequentially('/ccck');
  await agent.waitForSelector('#phrases li[data-code="cd"]');
  await agent.screenshot({ path: join(shotsDir, 'agent-quick-phrase-1366x768-zh.png') });
  await box.press('ArrowDown');
  await box.press('ArrowUp');
  await box.press('Enter');
  assert.match(await box.inputValue(), /^亲，已经帮您催促仓库尽快发货了/);
  assert.equal(await agent.locator('#phrases').isVisible(), false);
  await box.press('Enter');
  await shopper.waitForSelector('.msg.them .bubble:has-text("催促仓库尽快发货")');

  // Placeholders: {买家} and {客服} are filled; {订单号} with no order in question is selected to type over.
  await box.fill('');
  await box.pressSequentially('/hy');
  await agent.waitForSelector('#phrases li[aria-selected="true"][data-code="hy"]');
  await box.press('Enter');
  const greeting = await box.inputValue();
  assert.match(greeting, /^亲爱的.+，您好！我是客服张三/);
  assert.doesNotMatch(greeting, /\{买家\}|\{客服\}/);
  await box.fill('');
  await box.pressSequentially('/wl');
  await agent.waitForSelector('#phrases li[aria-selected="true"][data-code="wl"]');
  await box.press('Enter');
  assert.equal(await box.evaluate(b => b.value.slice(b.selectionStart, b.selectionEnd)), '{订单号}');
  await box.pressSequentially('2600001234');
  assert.match(await box.inputValue(), /查询订单2600001234的物流/);
  await box.fill('');

  // The button opens the whole list; a click inserts at the caret.
  await agent.click('#phrase-btn');
  await agent.locator('#phrases li[data-code="bye"]').click();
  assert.match(await box.inputValue(), /感谢您的光临/);
  await agent.context().close();
  await shopper.context().close();
});

test('keyboard only: longest wait, accept, reply, note, close, with the shortcut help', async () => {
  const agent = await pageAt('desk');
  const shopper = await pageAt('phone');
  await login(agent, kefu.base, 'wangwu');
  await openChat(shopper);
  await shopper.fill('#input', '键盘党客服在吗');
  await shopper.press('#input', 'Enter');
  await agent.click('[data-tab=queue]');
  await agent.locator('.conv', { hasText: '键盘党客服在吗' }).waitFor();
  await agent.click('[data-tab=mine]');

  // Alt+Shift+↓ opens the longest wait (the queue's, with none of mine waiting); Ctrl+K → 接入.
  await agent.keyboard.press('Alt+Shift+ArrowDown');
  await agent.waitForSelector('#log .msg.customer .bubble:has-text("键盘党客服在吗")');
  const command = async (query, expect) => {
    await agent.keyboard.press('Control+KeyK');
    const input = agent.locator('#palette input');
    await input.waitFor();
    await input.pressSequentially(query);
    await agent.waitForSelector(`#palette li[aria-selected="true"]:has-text("${expect}")`);
    await input.press('Enter');
    await agent.waitForSelector('#palette', { state: 'detached' });
  };
  await command('jr', '接入');
  const box = agent.locator('#composer-input');
  await box.waitFor();
  await agent.waitForFunction(() => document.activeElement?.id === 'composer-input');
  await agent.keyboard.type('在的，您请说');
  await agent.keyboard.press('Enter');
  await shopper.waitForSelector('.msg.them .bubble:has-text("在的，您请说")');

  // A note by command, typed and sent without the mouse; it never reaches the shopper.
  await command('bz', '切换到备注');
  await agent.waitForSelector('.composer.note-mode');
  await agent.waitForFunction(() => document.activeElement?.id === 'composer-input');
  await agent.keyboard.type('键盘党：已核实');
  await agent.keyboard.press('Enter');
  await agent.waitForSelector('.msg.note .bubble:has-text("键盘党：已核实")');

  // Ctrl+/ lists the shortcuts and can turn them off; Esc closes it.
  await agent.keyboard.press('Control+Slash');
  await agent.waitForSelector('#help kbd:has-text("Alt+Shift+↓")');
  await agent.screenshot({ path: join(shotsDir, 'agent-shortcuts-1366x768-zh.png') });
  await agent.keyboard.press('Escape');
  await agent.waitForSelector('#help', { state: 'detached' });

  await command('js', '结束');
  await agent.waitForSelector('.thread-head .badge.status:has-text("已结束")');
  await shopper.waitForSelector('#csat:not([hidden])');
  assert.equal(await shopper.locator('text=键盘党：已核实').count(), 0);
  await agent.context().close();
  await shopper.context().close();
});

test('reply timers under fake time: amber at 30 s, red and the merged popup at 100 s, chips at 3 and 5 minutes', async () => {
  const agent = await pageAt('desk');
  await agent.clock.install(); // before the workspace loads, so its timers run on the fake clock
  await login(agent, kefu.base, 'lisi');
  const shoppers = [];
  for (const text of ['第一位买家在等', '第二位买家也在等']) {
    const page = await pageAt('phone');
    await openChat(page);
    await page.fill('#input', text);
    await page.press('#input', 'Enter');
    await page.waitForSelector('.msg.me .state:has-text("已发送")');
    shoppers.push(page);
    await agent.click('[data-tab=queue]');
    await agent.locator('.conv', { hasText: text }).click();
    await agent.click('#accept');
    await agent.waitForSelector('#composer-input');
  }
  await agent.click('[data-tab=mine]');
  const rows = agent.locator('.conv');
  await agent.waitForFunction(() => document.querySelectorAll('.conv .timer:not(:empty)').length === 2);
  const classes = () => agent.locator('.conv .timer').evaluateAll(ts => ts.map(t => t.className));
  assert.deepEqual(await classes(), ['timer', 'timer'], 'grey under 30 s');
  assert.equal(await agent.locator('#slow-popup').isVisible(), false);

  await agent.clock.fastForward(35_000);
  await agent.waitForFunction(() => [...document.querySelectorAll('.conv .timer')].every(t => t.classList.contains('amber')));

  await agent.clock.fastForward(70_000);
  await agent.waitForSelector('#slow-popup:not([hidden]):has-text("2 个会话等待超过 100 秒")');
  assert.deepEqual(await classes(), ['timer red', 'timer red']);
  assert.equal(await agent.locator('.conv.late').count(), 2, 'the row deepens too');
  assert.equal(await agent.locator('.chip-late').count(), 0);

  await agent.clock.fastForward(80_000);
  await agent.waitForFunction(() => document.querySelectorAll('.chip-late').length === 2);
  assert.deepEqual(await agent.locator('.chip-late').allTextContents(), ['超3分钟', '超3分钟'], 'the chip says it, not only the colour');

  // A reply to the longest wait stops its timer; the popup counts the other one.
  await rows.first().click();
  await agent.waitForSelector('#log .msg.customer .bubble:has-text("第一位买家在等")');
  await agent.fill('#composer-input', '让您久等了');
  await agent.press('#composer-input', 'Enter');
  await agent.waitForSelector('#log .msg.agent .bubble:has-text("让您久等了")');
  await agent.waitForSelector('#slow-popup:has-text("1 个会话等待超过 100 秒")');
  await agent.clock.fastForward(120_000);
  await agent.waitForSelector('.chip-late:has-text("超5分钟")');
  await agent.screenshot({ path: join(shotsDir, 'agent-timers-1366x768-zh.png') });

  // The popup opens the longest wait.
  await agent.click('#slow-popup');
  await agent.waitForSelector('#log .msg.customer .bubble:has-text("第二位买家也在等")');
  await agent.context().close();
  for (const page of shoppers) await page.context().close();
});

test('display: compact and dark, remembered for the agent across reloads', async () => {
  const agent = await pageAt('desk');
  await login(agent, kefu.base, 'zhangsan');
  await agent.click('#prefs-btn');
  await agent.check('#prefs input[data-pref=compact]');
  await agent.check('#prefs input[data-pref=dark]');
  await agent.click('#prefs-btn');
  assert.deepEqual(await agent.evaluate(() => [...document.body.classList].sort()), ['compact', 'dark']);
  await agent.reload();
  await agent.waitForSelector('#app:not([hidden])');
  assert.deepEqual(await agent.evaluate(() => [...document.body.classList].sort()), ['compact', 'dark'], 'kept after a reload');
  const first = agent.locator('.conv').first();
  await first.waitFor();
  await first.click();
  await agent.waitForSelector('#log .msg');
  const bg = await agent.evaluate(() => getComputedStyle(document.querySelector('.thread-pane')).backgroundColor);
  assert.equal(bg, 'rgb(15, 20, 26)', 'the dark surfaces apply');
  await agent.screenshot({ path: join(shotsDir, 'agent-dark-compact-1366x768-zh.png') });
  await agent.click('#prefs-btn');
  await agent.uncheck('#prefs input[data-pref=dark]');
  await agent.uncheck('#prefs input[data-pref=compact]');
  await agent.context().close();
});

test('a status changed elsewhere shows in every open workspace, marked, and 接待中 clears the mark', async () => {
  const first = await pageAt('desk');
  await login(first, kefu.base, 'lisi');
  const second = await first.context().newPage();
  await second.goto(kefu.base + '/agent');
  await second.waitForSelector('#app:not([hidden])');
  await second.selectOption('#status', 'offline');
  // The first tab hears it from the server (a presence frame) and says why it gets no new chats.
  await first.waitForSelector('#status.auto-offline');
  assert.equal(await first.inputValue('#status'), 'offline');
  assert.match(await first.getAttribute('#status', 'title'), /不再分配新会话/);
  await first.selectOption('#status', 'online');
  await first.waitForSelector('#status:not(.auto-offline)');
  await first.context().close();
});

test('团队: colleagues with their status and load, live as they come and go', async () => {
  const watcher = await pageAt('desk');
  await login(watcher, kefu.base, 'lisi');
  await watcher.click('.list-pane [data-tab=team]');
  const zhangsan = watcher.locator('.team-member', { hasText: '张三' });
  await zhangsan.waitFor();
  const colleague = await pageAt('desk');
  await login(colleague, kefu.base, 'zhangsan'); // goes 接待中
  await watcher.waitForSelector('.team-member.online:has-text("张三")');
  assert.match(await zhangsan.innerText(), /接待中[\s\S]*\d+\/\d+/);
  await watcher.screenshot({ path: join(shotsDir, 'agent-team-1366x768-zh.png') });
  // The box finds a colleague by name or username; back on a conversation tab it searches conversations again.
  assert.equal(await watcher.getAttribute('#search', 'placeholder'), '同事姓名 / 账号');
  await watcher.fill('#search', 'zhangs');
  await watcher.waitForFunction(() => document.querySelectorAll('.team-member').length === 1);
  assert.match(await watcher.locator('.team-member').innerText(), /张三/);
  await watcher.fill('#search', '');
  await watcher.waitForFunction(() => document.querySelectorAll('.team-member').length > 1);
  await colleague.selectOption('#status', 'away');
  await watcher.waitForSelector('.team-member.away:has-text("张三")');
  await colleague.click('#logout'); // leaving goes offline
  await watcher.waitForSelector('.team-member.offline:has-text("张三")');
  await colleague.context().close();
  await watcher.context().close();
});

test('团队 for a supervisor: a colleague who walked away is set 挂起 and their shopper taken back', async () => {
  const shopper = await pageAt('phone');
  const worker = await pageAt('desk');
  const lead = await pageAt('desk');
  for (const p of [shopper, worker, lead]) recordRequests(p, urls);
  await openChat(shopper);
  await shopper.fill('#input', '团队测试：还有人在吗');
  await shopper.press('#input', 'Enter');
  await shopper.waitForSelector('.msg.me .state:has-text("已发送")');
  await login(worker, kefu.base, 'zhangsan');
  await worker.click('[data-tab=queue]');
  await worker.locator('.conv', { hasText: '团队测试' }).click();
  await worker.click('#accept');
  await worker.fill('#composer-input', '亲，稍等，我查一下');
  await worker.press('#composer-input', 'Enter');
  await shopper.waitForSelector('.msg.them .bubble:has-text("我查一下")');
  await shopper.fill('#input', '好的，等你');
  await shopper.press('#input', 'Enter');

  // The supervisor opens 张三 in 团队: how he is answering today, the shopper he holds, with its timer, and what to do.
  await login(lead, kefu.base, 'supervisor');
  await lead.click('.list-pane [data-tab=team]');
  const member = lead.locator('.team-member', { hasText: '张三' });
  assert.match(await member.locator('.kpi').innerText(), /今日 \d+ · 30秒 \d+% · 均响 \d+秒 · 3分钟 \d+%/);
  // The desk at a glance above the team: the queue, who is here, the team's day added up.
  assert.match(await lead.locator('#team-summary').innerText(), /排队 \d+[\s\S]*接待中 \d+\/\d+[\s\S]*今日 \d+ · 30秒/);
  // The morning after: a past day's figures as it closed (the demo answered nothing yesterday,
  // unless this run crossed midnight in China), then back to today.
  const today = await lead.inputValue('#team-day');
  const yesterday = new Date(Date.parse(today) - 86_400_000).toISOString().slice(0, 10);
  await lead.fill('#team-day', yesterday);
  const [, m, d] = yesterday.split('-').map(Number);
  await lead.waitForSelector(`#team-summary .team-figures:has-text("${m}月${d}日")`);
  assert.match(await lead.locator('#team-summary .team-figures').innerText(), new RegExp(`^${m}月${d}日 (无接待记录|\\d+ · 30秒)`));
  await lead.fill('#team-day', today);
  await lead.waitForSelector('#team-summary .team-figures:has-text("今日")');
  assert.match(await member.locator('.kpi').innerText(), /今日 \d+ · 30秒/);
  await member.locator('.name').click();
  const held = lead.locator('.team-member[aria-expanded=true] .team-convs .conv', { hasText: '好的，等你' });
  const id = await held.getAttribute('data-id');
  const back = member.locator('.take-back');
  assert.ok(await back.isDisabled(), 'not while he is 接待中: routing would hand them straight back');
  assert.equal(await back.getAttribute('title'), '先设为挂起或离线，再收回其会话');
  await member.locator('button[data-status=away]').click();
  await lead.waitForSelector('.team-member.away[aria-expanded=true]:has-text("张三")');
  // Not here but still holding a shopper: marked on his row and counted above the team.
  assert.match(await member.locator('.stranded').innerText(), /未在接待，仍有 \d+ 个会话/);
  assert.match(await lead.locator('#team-summary .stranded').innerText(), /\d+ 位未在接待仍有会话/);
  // His own screen says who did it.
  await worker.waitForSelector('#status.auto-offline');
  assert.equal(await worker.inputValue('#status'), 'away');
  assert.match(await worker.getAttribute('#status', 'title'), /主管 孙八 将你设为挂起/);
  await lead.screenshot({ path: join(shotsDir, 'agent-team-supervisor-1366x768-zh.png') });

  await back.click();
  await lead.waitForSelector('.team-member .team-note:has-text("已收回")');
  assert.match(await member.locator('.team-note').innerText(), /已收回 \d+ 个会话/);
  await shopper.waitForSelector('text=正在为您转接其他客服');
  await lead.waitForFunction(() => !document.querySelector('.team-convs .conv'));
  assert.equal(await member.locator('.stranded').count(), 0, 'nothing left to take back');
  // Back in the queue for whoever is free (auto-assign is off in the demo), gone from his list.
  await lead.click('.list-pane [data-tab=queue]');
  // (its preview is now the line the shopper was told)
  await lead.waitForSelector(`.conv[data-id="${id}"]:has-text("正在为您转接其他客服")`);
  await worker.waitForFunction(id => !document.querySelector(`.conv[data-id="${id}"]`), id);
  await worker.selectOption('#status', 'online');
  await worker.waitForSelector('#status:not(.auto-offline)');
  for (const p of [shopper, worker, lead]) await p.context().close();
});

test('转接 with a note: the colleague taking over reads why, the shopper never does', async () => {
  const shopper = await pageAt('phone');
  const from = await pageAt('desk');
  const to = await pageAt('desk');
  for (const p of [shopper, from, to]) recordRequests(p, urls);
  await openChat(shopper);
  await shopper.fill('#input', '转接测试：我要开增值税专票');
  await shopper.press('#input', 'Enter');
  await shopper.waitForSelector('.msg.me .state:has-text("已发送")');
  await login(to, kefu.base, 'zhangsan');
  await login(from, kefu.base, 'lisi');
  await from.click('[data-tab=queue]');
  const row = from.locator('.conv', { hasText: '转接测试' });
  const id = await row.getAttribute('data-id');
  await row.click();
  await from.click('#accept');
  await from.waitForSelector('#composer-input');
  await from.click('.thread-head button:has-text("转接")');
  const option = from.locator('dialog select option', { hasText: '张三' });
  await from.selectOption('dialog select', await option.getAttribute('value'));
  await from.fill('dialog .transfer-note', '买家要开专票，抬头和税号已确认');
  await from.click('dialog button[value=ok]');
  // 张三 gets it with the note, yellow, where the hand-over happened.
  await to.click('[data-tab=mine]');
  await to.click(`.conv[data-id="${id}"]`);
  await to.waitForSelector('.msg.note .bubble:has-text("【转接】买家要开专票，抬头和税号已确认")');
  // Once his reply has reached the shopper, the note (written before it) has had every chance to: it did not.
  await to.fill('#composer-input', '您好，我来为您开票');
  await to.press('#composer-input', 'Enter');
  await shopper.waitForSelector('.msg.them .bubble:has-text("我来为您开票")');
  assert.equal(await shopper.locator('text=买家要开专票').count(), 0, 'notes never reach the widget');
  // 挂起 stops new shoppers, not this one: his status says so while he holds it.
  await to.selectOption('#status', 'away');
  await to.waitForSelector('#status.holding');
  assert.match(await to.getAttribute('#status', 'title'), /你手上还有 \d+ 个会话/);
  await to.selectOption('#status', 'online');
  await to.waitForSelector('#status:not(.holding)');
  for (const p of [shopper, from, to]) await p.context().close();
});

test('指派: a supervisor sends a waiting shopper straight to a colleague of their choice', async () => {
  const shopper = await pageAt('phone');
  const lead = await pageAt('desk');
  const to = await pageAt('desk');
  for (const p of [shopper, lead, to]) recordRequests(p, urls);
  await openChat(shopper);
  await shopper.fill('#input', '指派测试：我是老客户，冰箱漏水');
  await shopper.press('#input', 'Enter');
  await shopper.waitForSelector('.msg.me .state:has-text("已发送")');
  await login(to, kefu.base, 'wangwu');
  await login(lead, kefu.base, 'supervisor');
  await lead.click('[data-tab=queue]');
  const row = lead.locator('.conv', { hasText: '指派测试' });
  const id = await row.getAttribute('data-id');
  await row.click();
  await lead.click('#dispatch');
  await lead.waitForSelector('dialog p:has-text("指派给")');
  const option = lead.locator('dialog select option', { hasText: '王五' });
  await lead.selectOption('dialog select', await option.getAttribute('value'));
  await lead.fill('dialog .transfer-note', '老客户，漏水先安抚，安排上门');
  await lead.click('dialog button[value=ok]');
  await lead.waitForSelector(`.conv[data-id="${id}"]`, { state: 'detached' });
  // Theirs at once (no offer to accept), with the supervisor's note.
  await to.click('[data-tab=mine]');
  await to.click(`.conv[data-id="${id}"]:not(.offered)`);
  await to.waitForSelector('.msg.note .bubble:has-text("【转接】老客户，漏水先安抚")');
  await to.waitForSelector('#composer-input');
  for (const p of [shopper, lead, to]) await p.context().close();
});

test('商品: the items of the shopper\'s orders, with model and price, sent back as a card', async () => {
  const { shopper, agent } = await knownShopperAndAgent();
  await shopper.fill('#input', '商品测试：我买的这个有新款吗');
  await shopper.press('#input', 'Enter');
  await shopper.waitForSelector('.msg.me .state:has-text("已发送")');
  await login(agent, kefu.base, 'zhangsan');
  await agent.click('[data-tab=queue]');
  await agent.locator('.conv', { hasText: '商品测试' }).click();
  await agent.click('#accept');
  await agent.waitForSelector('#composer-input');
  await agent.click('#context [role=tab]:has-text("商品")');
  const first = agent.locator('#context .product-row').first();
  await first.waitFor();
  const sku = await first.getAttribute('data-sku');
  // Filled from the shop's catalogue: a price at least (¥), and where the item came from.
  await agent.waitForSelector(`#context .product-row[data-sku="${sku}"] .meta:has-text("¥")`);
  assert.match(await first.textContent(), /#\d+/, 'from which order');
  await agent.screenshot({ path: join(shotsDir, 'agent-products-1366x768.png') });
  await first.locator('.send-card').click();
  await shopper.waitForSelector(`.product-card[data-sku="${sku}"]`);
  await agent.waitForSelector(`#log .product-card[data-sku="${sku}"]`);
  await agent.context().close();
  await shopper.context().close();
});

test('English workspace with orders and logistics, for a known VIP', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await ctx.newPage();
  recordRequests(page, urls);
  await page.addInitScript(() => localStorage.setItem('kefu_lang', 'en'));
  await login(page, kefu.base, 'lisi');
  await page.click('[data-tab=history]');
  // A known customer's (the seeded history), not a visitor's from the stories above.
  const first = page.locator('.conv').filter({ hasNotText: /访客|Visitor/ }).first();
  await first.waitFor();
  await first.click();
  await page.click('#context [role=tab]:has-text("Orders")');
  await page.waitForSelector('#context .order');
  await page.screenshot({ path: join(shotsDir, 'agent-1366x768-en.png') });
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.screenshot({ path: join(shotsDir, 'agent-1920x1080-en.png') });
  await ctx.close();
});

test('the buyer panel: sections fold, move and pin above every tab, remembered for the agent', async () => {
  const page = await pageAt('desk');
  recordRequests(page, urls);
  const openKnown = async () => {
    await page.click('[data-tab=history]');
    const first = page.locator('.conv').filter({ hasNotText: /访客|Visitor/ }).first();
    await first.waitFor();
    await first.click();
    await page.waitForSelector('#context section[data-section=profile]');
  };
  const order = () => page.$$eval('#context section[data-section]', s => s.map(x => x.dataset.section));
  await login(page, kefu.base, 'lisi');
  await openKnown();
  assert.deepEqual(await order(), ['profile', 'order', 'recent']);
  await page.click('#context [data-section=recent] .section-tool.up');
  await page.click('#context [data-section=recent] .section-tool.up');
  assert.deepEqual(await order(), ['recent', 'profile', 'order']);
  await page.click('#context [data-section=profile] .section-title');
  assert.equal(await page.getAttribute('#context [data-section=profile] .section-title', 'aria-expanded'), 'false');
  assert.equal(await page.locator('#context [data-section=profile] .kv').count(), 0, 'folded');
  await page.click('#context [data-section=order] .section-tool.pin');
  assert.deepEqual(await order(), ['order', 'recent', 'profile'], 'pinned first');
  // Pinned: above the 订单 and 历史 tabs too; the others stay on 买家.
  await page.click('#context [role=tab]:has-text("历史")');
  assert.deepEqual(await order(), ['order']);
  await page.screenshot({ path: join(shotsDir, 'agent-context-pinned-1366x768.png') });

  // The same agent, after a reload: the panel as they left it.
  await page.reload();
  await page.waitForSelector('#app:not([hidden])');
  await openKnown();
  assert.deepEqual(await order(), ['order', 'recent', 'profile']);
  assert.equal(await page.getAttribute('#context [data-section=profile] .section-title', 'aria-expanded'), 'false');
  await page.context().close();
});

test('no asset, font or script URL leaves the server', () => {
  assert.ok(urls.length > 10, `requests recorded: ${urls.length}`);
  // blob: URLs of the server's own origin are images already fetched from it, held in memory.
  const local = [kefu.base, 'ws://127.0.0.1', 'data:', 'blob:' + kefu.base + '/'];
  const foreign = urls.filter(u => !local.some(prefix => u.startsWith(prefix)));
  assert.deepEqual(foreign, []);
});
