// Each shop routes its own way, on the demo as shipped: 极客数码专营店's
// rules push new shoppers to an online agent (with a 30-second offer), while
// 优品家电旗舰店 leaves them in 排队 for agents to take. One agent of both
// shops sees one shopper of each arrive the two ways, and in 团队 each
// shop's queue and people on a line of its own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startKefu, launchBrowser, login, shotsDir, zhDesk, chatPage } from './harness.mjs';

let kefu, browser;

before(async () => {
  kefu = await startKefu();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await kefu?.stop();
});

/** A new visitor of `slug` asks the bot for a person. */
async function askForPeople(slug, title, text) {
  const page = await chatPage(browser, kefu.base, slug, title);
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
  await page.waitForSelector('.msg.them .bubble:has-text("正在为您转接人工客服")');
  return page;
}

test('a shop whose rules push offers its shopper to the agent; a shop that pulls queues its own', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, ...zhDesk });
  const agent = await ctx.newPage();
  await login(agent, kefu.base, 'lisi'); // 李四 works for both shops
  await agent.waitForSelector('#status:not(.auto-offline)');

  // A bot hand-off's last line is its note (机器人移交), so rows are told apart by where they are.
  const pushed = await askForPeople('geek-digital', '极客数码专营店', '耳机连不上蓝牙，转人工');
  const offered = agent.locator('.conv.offered');
  await offered.waitFor();
  assert.match(await offered.locator('.offer-accept').textContent(), /^接入 \d+秒$/);
  await offered.locator('.offer-accept').click();
  await agent.waitForSelector('.conv:not(.offered)');
  assert.equal(await agent.locator('.conv').count(), 1);
  // 李四 serves two shops: each row and the open conversation say whose shopper it is.
  assert.equal(await agent.locator('.conv .badge.shop').textContent(), '极客数码');

  const pulled = await askForPeople('youpin-home', '优品家电旗舰店', '冰箱不制冷，转人工');
  await agent.click('[data-tab=queue]');
  await agent.locator('.conv').first().waitFor();
  assert.equal(await agent.locator('.conv').count(), 1, 'the pulling shop\u2019s shopper waits in 排队, the pushed one is not there');
  assert.equal(await agent.locator('.conv .badge.shop').textContent(), '优品家电');
  await agent.locator('.conv').click();
  await agent.waitForSelector('.thread-head .badge.shop:has-text("优品家电")');
  await agent.click('[data-tab=mine]');
  await agent.waitForSelector('#count-mine:has-text("1")');
  assert.equal(await agent.locator('.conv').count(), 1, 'the queued shopper was not handed out');
  await agent.screenshot({ path: join(shotsDir, 'routing-per-shop-1366x768.png') });

  // 团队: each shop's queue and people on a line of its own, for whoever works several.
  await agent.click('[data-tab=team]');
  const youpin = agent.locator('.team-shop', { hasText: '优品家电' });
  await youpin.waitFor();
  assert.equal(await agent.locator('.team-shop').count(), 2);
  assert.match(await youpin.textContent(), /排队 1/);
  assert.match(await agent.locator('.team-shop', { hasText: '极客数码' }).textContent(), /排队 0.*接待中 1\/\d+/);
  await agent.screenshot({ path: join(shotsDir, 'team-shops-1366x768.png') });
  for (const p of [pushed, pulled, agent]) await p.context().close();
});
