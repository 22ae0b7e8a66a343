// Two real pages in Debian's chromium (through playwright-core) chat through the gateway's /ws to a BareRTC server:
// alice and bob log in, alice sends bob a DM that is censored, one that is shadow-dropped, and a clean one (so bob's
// page has certainly had the chance to receive everything before it). Prints one JSON line with what each page
// received (frames and the text each page shows); exits non-zero (never "skips") when anything fails.
// usage: node barertc.mjs --url URL --censored TEXT --dropped TEXT --clean TEXT
import { inChromium, requiredArgs } from './chromium.mjs';

const values = requiredArgs('barertc.mjs', ['url', 'censored', 'dropped', 'clean']);

await inChromium('barertc.mjs', {}, async (context) => {
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
});
