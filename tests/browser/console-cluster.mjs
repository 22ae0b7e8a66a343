// Drives the admin console's cluster panel in Debian's chromium through playwright-core: connect with the token,
// wait until the panel lists --members live members, take a screenshot. Prints one JSON line with what the panel
// showed; exits non-zero (never "skips") when anything fails.
// usage: node console-cluster.mjs --url URL --token TOKEN --members N --screenshot FILE
import { inChromium, requiredArgs, screenshot } from './chromium.mjs';

const values = requiredArgs('console-cluster.mjs', ['url', 'token', 'members', 'screenshot']);

await inChromium('console-cluster.mjs', { viewport: { width: 1280, height: 900 } }, async (context) => {
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
  await screenshot(page, values.screenshot);
  result.screenshot = values.screenshot;
  console.log(JSON.stringify(result));
});
