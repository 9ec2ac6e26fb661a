// Starts the real kefu binary on a free port over a fresh demo data dir and
// launches Debian's Chromium; nothing is downloaded.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
export const shotsDir = join(root, 'target', 'e2e');

/// A desk in China: the pages show times in the browser's zone, the bot's
/// replies in China time, so a UTC browser (CI's) would show both 8 hours apart.
export const zhDesk = { locale: 'zh-CN', timezoneId: 'Asia/Shanghai' };
mkdirSync(shotsDir, { recursive: true });

async function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
    s.on('error', fail);
  });
}

export async function startKefu({ env = {} } = {}) {
  const bin = process.env.KEFU_BIN || join(root, 'target', 'release', 'kefu');
  const dataDir = mkdtempSync(join(tmpdir(), 'kefu-e2e-'));
  const port = await freePort();
  const child = spawn(bin, ['demo', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  child.stdout.on('data', d => { output += d; });
  child.stderr.on('data', d => { output += d; });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try { if ((await fetch(base + '/healthz')).ok) break; } catch { /* not up yet */ }
    if (child.exitCode !== null) throw new Error('kefu exited:\n' + output);
    await new Promise(r => setTimeout(r, 100));
  }
  return {
    base,
    dataDir,
    output: () => output,
    async stop() { child.kill('SIGTERM'); await new Promise(r => child.once('exit', r)); rmSync(dataDir, { recursive: true, force: true }); },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** Records every URL a page asks for, to prove nothing leaves the server. */
export function recordRequests(page, into) {
  page.on('request', r => into.push(r.url()));
}

export async function login(page, base, username) {
  await page.goto(base + '/agent');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', 'kefu-demo');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#app:not([hidden])');
  await page.selectOption('#status', 'online');
}

/** A new visitor's chat page on a demo shop, at phone width, once the shop's name shows. */
export async function chatPage(browser, base, slug, title) {
  const ctx = await browser.newContext({ viewport: { width: 420, height: 760 }, ...zhDesk });
  const page = await ctx.newPage();
  await page.goto(base + '/chat/' + slug);
  await page.waitForSelector(`#chat-title:has-text("${title}")`);
  return page;
}
