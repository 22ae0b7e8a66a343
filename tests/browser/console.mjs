// Drives the admin console in Debian's chromium through playwright-core (no browser download): connect with the
// token, type a message into the rule-test console, click Check, wait for the verdict, take a screenshot.
// Prints one JSON line with what the page showed; exits non-zero (never "skips") when anything fails.
// usage: node console.mjs --url URL --token TOKEN --text TEXT --screenshot FILE
import { inChromium, requiredArgs, screenshot } from './chromium.mjs';

const values = requiredArgs('console.mjs', ['url', 'token', 'text', 'screenshot']);

await inChromium('console.mjs', { viewport: { width: 1280, height: 900 } }, async (context) => {
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

  await screenshot(page, values.screenshot);
  result.screenshot = values.screenshot;
  console.log(JSON.stringify(result));
});
