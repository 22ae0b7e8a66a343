// Drives the admin console's cluster panel in Debian's chromium through playwright-core: connect with the token,
// wait until the panel lists --members live members, take a screenshot. Prints one JSON line with what the panel
// showed; exits non-zero (never "skips") when anything fails.
// usage: node console-cluster.mjs --url URL --token TOKEN --members N --screenshot FILE
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    token: { type: 'string' },
    members: { type: 'string' },
    screenshot: { type: 'string' },
  },
});
for (const key of ['url', 'token', 'members', 'screenshot']) {
  if (!values[key]) {
    console.error(`console-cluster.mjs: --${key} is required`);
    process.exit(2);
  }
}

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
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
  const wanted = Number(values.members);
  await page.waitForFunction((n) => document.querySelectorAll('#cluster-members tbody tr').length === n, wanted, { timeout: 15_000 });

  const result = await page.evaluate(() => ({
    visible: !document.getElementById('cluster-section').hidden,
    summary: Object.fromEntries([...document.querySelectorAll('#cluster dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])),
    members: [...document.querySelectorAll('#cluster-members tbody tr')].map((r) => [...r.cells].map((c) => c.textContent)),
  }));
  result.consoleErrors = consoleErrors;
  fs.mkdirSync(path.dirname(values.screenshot), { recursive: true });
  await page.screenshot({ path: values.screenshot, fullPage: true });
  result.screenshot = values.screenshot;
  console.log(JSON.stringify(result));
} catch (error) {
  console.error(`console-cluster.mjs: ${error && error.stack ? error.stack : error}`);
  process.exitCode = 1;
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
