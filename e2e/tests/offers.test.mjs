// Auto-assign with offers, as a desk runs it on a busy night: a shopper
// routed to the one agent online shows in their list with 接入 and its own
// countdown; accepted, it is theirs; one left to lapse goes back to the queue
// and the agent is set 挂起, told why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startKefu, launchBrowser, login, shotsDir, zhDesk, chatPage } from './harness.mjs';

let kefu, browser;

before(async () => {
  kefu = await startKefu({ env: { KEFU_BOT: 'false', KEFU_AUTO_ASSIGN: 'true', KEFU_OFFER_SECONDS: '10' } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await kefu?.stop();
});

async function shopperSays(text) {
  const page = await chatPage(browser, kefu.base, 'youpin-home', '优品家电旗舰店');
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
  await page.waitForSelector('.msg.me .state:has-text("已发送")');
  return page;
}

test('an offer is accepted against its countdown; one left to lapse moves on and the agent is set 挂起', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, ...zhDesk });
  const agent = await ctx.newPage();
  await login(agent, kefu.base, 'zhangsan');
  await agent.waitForSelector('#status:not(.auto-offline)');

  const first = await shopperSays('在吗？冰箱的安装预约');
  const row = agent.locator('.conv.offered', { hasText: '冰箱的安装预约' });
  await row.waitFor();
  assert.match(await row.locator('.offer-accept').textContent(), /^接入 \d+秒$/);
  await row.click();
  await agent.waitForSelector('#offer-hint:has-text("秒内接入或回复")');
  await agent.screenshot({ path: join(shotsDir, 'offer-1366x768.png') });
  await row.locator('.offer-accept').click();
  await agent.waitForSelector('.conv:not(.offered):has-text("冰箱的安装预约")');
  await agent.waitForSelector('#offer-hint', { state: 'detached' });

  // The next one is left alone: after its 10 seconds it goes, and so does 接待中.
  const second = await shopperSays('订单还没发货');
  await agent.locator('.conv.offered', { hasText: '订单还没发货' }).waitFor();
  await agent.waitForSelector('#status.auto-offline', { timeout: 30_000 });
  assert.equal(await agent.inputValue('#status'), 'away');
  assert.match(await agent.getAttribute('#status', 'title'), /未在时限内接入/);
  await agent.waitForSelector('#kpis:has-text("漏接 1")');
  await agent.waitForSelector('.conv:has-text("订单还没发货")', { state: 'detached' });
  await agent.click('[data-tab=queue]');
  await agent.locator('.conv', { hasText: '订单还没发货' }).waitFor();
  // The accepted one stays.
  await agent.click('[data-tab=mine]');
  await agent.locator('.conv', { hasText: '冰箱的安装预约' }).waitFor();
  // Back 接待中: the queued shopper is offered again at once.
  await agent.selectOption('#status', 'online');
  await agent.locator('.conv.offered', { hasText: '订单还没发货' }).waitFor();
  for (const p of [first, second, agent]) await p.context().close();
});
