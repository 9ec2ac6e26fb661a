// The self-service bot in a real browser: an anonymous shopper on the demo
// store's chat page is greeted, asks for a person, and the conversation
// reaches the agents' queue with the bot's hand-off note.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startKefu, launchBrowser, login, shotsDir } from './harness.mjs';

let kefu, browser;

before(async () => {
  kefu = await startKefu();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await kefu?.stop();
});

test('the bot greets, hands off on request, and the agent sees why', async () => {
  const shopperCtx = await browser.newContext({ viewport: { width: 420, height: 760 }, locale: 'zh-CN' });
  const agentCtx = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
  const shopper = await shopperCtx.newPage();
  const agent = await agentCtx.newPage();

  await shopper.goto(kefu.base + '/chat/youpin-home');
  await shopper.waitForSelector('#chat-title:has-text("优品家电旗舰店")');
  await shopper.fill('#input', '在吗');
  await shopper.press('#input', 'Enter');
  await shopper.waitForSelector('.msg.them .meta:has-text("智能客服")');
  assert.match(await shopper.locator('.msg.them .bubble').first().textContent(), /智能客服|查订单/);

  await shopper.fill('#input', '转人工');
  await shopper.press('#input', 'Enter');
  await shopper.waitForSelector('.msg.them .bubble:has-text("转接")');
  await shopper.screenshot({ path: join(shotsDir, 'bot-shopper-420.png') });
  assert.equal(await shopper.locator('text=转人工原因').count(), 0, 'the hand-off note stays internal');

  await login(agent, kefu.base, 'zhangsan');
  await agent.click('[data-tab=queue]');
  const row = agent.locator('.conv', { hasText: '机器人转人工' });
  await row.waitFor();
  await row.click();
  await agent.waitForSelector('.msg.note .bubble:has-text("转人工原因")');
  await agent.screenshot({ path: join(shotsDir, 'bot-handoff-agent-1366.png') });
});
