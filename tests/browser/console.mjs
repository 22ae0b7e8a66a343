// Drives the admin console in Debian's chromium through playwright-core (no browser download): connect with the
// token, type a message into the rule-test console, click Check, wait for the verdict, take a screenshot.
// Prints one JSON line with what the page showed; exits non-zero (never "skips") when anything fails.
// usage: node console.mjs --url URL --token TOKEN --text TEXT --screenshot FILE
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    token: { type: 'string' },
    text: { type: 'string' },
    screenshot: { type: 'string' },
  },
});
for (const key of ['url', 'token', 'text', 'screenshot']) {
  if (!values[key]) {
    console.error(`console.mjs: --${key} is required`);
    process.exit(2);
  }
}

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// A fresh profile each run; without the background-networking flags chromium tries to reach Google's services,
// which this machine's closed network refuses.
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  await page.goto(values.url, { waitUntil: 'load', timeout: 30_000 });
  await page.fill('#token', values.token);
  await page.click('#connect');
  await page.waitForFunction(() => document.getElementById('connection').textContent === 'connected', null, { timeout: 15_000 });
  await page.waitForSelector('#recent tbody tr', { timeout: 15_000 });

  await page.click('#check-text');
  await page.keyboard.type(values.text);
  await page.click('#check-button');
  await page.waitForSelector('#verdict:not([hidden])', { timeout: 15_000 });

  await page.fill('#block-sender', 'mallory');
  await page.fill('#block-reason', 'console test');
  await page.click('#block-button');
  await page.waitForSelector('#blocks tbody tr', { timeout: 15_000 });
  await page.waitForFunction(() => [...document.querySelectorAll('#rules tbody tr')].some((r) => r.cells[5].textContent === '1'), null, { timeout: 15_000 });

  const result = await page.evaluate(() => ({
    blocks: [...document.querySelectorAll('#blocks tbody tr')].map((r) => [...r.cells].map((c) => c.textContent)),
    rules: [...document.querySelectorAll('#rules tbody tr')].map((r) => [...r.cells].map((c) => c.textContent)),
    action: document.getElementById('verdict-action').textContent,
    filter: document.getElementById('verdict-filter').textContent,
    delivered: document.getElementById('verdict-text').textContent,
    normalized: document.getElementById('verdict-normalized').textContent,
    matches: [...document.querySelectorAll('#verdict-matches tbody tr')].map((r) => [...r.cells].map((c) => c.textContent)),
    counters: Object.fromEntries([...document.querySelectorAll('#counters dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])),
    recent: [...document.querySelectorAll('#recent tbody tr')].map((r) => [...r.cells].map((c) => c.textContent)),
    tokenInputEmpty: document.getElementById('token').value === '',
    stored: JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie, url: location.href }),
  }));
  result.tokenStored = result.stored.includes(values.token);
  delete result.stored;
  result.consoleErrors = consoleErrors;

  fs.mkdirSync(path.dirname(values.screenshot), { recursive: true });
  await page.screenshot({ path: values.screenshot, fullPage: true });
  result.screenshot = values.screenshot;
  console.log(JSON.stringify(result));
} catch (error) {
  console.error(`console.mjs: ${error && error.stack ? error.stack : error}`);
  process.exitCode = 1;
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
