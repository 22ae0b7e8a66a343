// Two real pages in Debian's chromium (through playwright-core) chat through the gateway's /ws to a BareRTC server:
// alice and bob log in, alice sends bob a DM that is censored, one that is shadow-dropped, and a clean one (so bob's
// page has certainly had the chance to receive everything before it). Prints one JSON line with what each page
// received (frames and the text each page shows); exits non-zero (never "skips") when anything fails.
// usage: node barertc.mjs --url URL --censored TEXT --dropped TEXT --clean TEXT
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    censored: { type: 'string' },
    dropped: { type: 'string' },
    clean: { type: 'string' },
  },
});
for (const key of ['url', 'censored', 'dropped', 'clean']) {
  if (!values[key]) {
    console.error(`barertc.mjs: --${key} is required`);
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
  const pageErrors = [];
  const open = async (user) => {
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`${values.url}/?user=${encodeURIComponent(user)}`, { waitUntil: 'load', timeout: 30_000 });
    await page.waitForFunction((u) => document.getElementById('me').textContent === u, user, { timeout: 15_000 });
    return page;
  };
  const alice = await open('alice');
  const bob = await open('bob');

  await alice.evaluate((t) => window.sendDm('bob', t), values.censored);
  await bob.waitForFunction(() => window.received.some((m) => m.action === 'message' && m.channel === '@alice'), null, { timeout: 15_000 });
  await alice.evaluate((t) => window.sendDm('bob', t), values.dropped);
  await alice.waitForFunction(() => window.received.some((m) => m.action === 'error' && m.username === 'ChatServer' && !/Welcome/.test(m.message)),
    null, { timeout: 15_000 });
  await alice.evaluate((t) => window.sendDm('bob', t), values.clean);
  await bob.waitForFunction(() => window.received.filter((m) => m.action === 'message' && m.channel === '@alice').length >= 2, null, { timeout: 15_000 });

  const seen = (page) => page.evaluate(() => ({
    frames: window.received,
    shown: [...document.querySelectorAll('#messages > div')].map((d) => ({
      kind: d.className, channel: d.dataset.channel, username: d.dataset.username, text: d.textContent,
      rule: d.querySelector('hr') !== null, emphasis: d.querySelector('em, strong') !== null,
    })),
  }));
  console.log(JSON.stringify({ alice: await seen(alice), bob: await seen(bob), pageErrors }));
} catch (e) {
  console.error(String(e && e.stack || e));
  process.exitCode = 1;
} finally {
  await context?.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
