// What the browser drivers share: their required --options, and Debian's chromium (through playwright-core, no browser
// download) with a fresh profile, removed afterwards. Without the background-networking flags chromium tries to reach
// Google's services, which this machine's closed network refuses. A failure prints the stack and exits non-zero
// (never "skips").
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

export function requiredArgs(script, names) {
  const { values } = parseArgs({ options: Object.fromEntries(names.map((n) => [n, { type: 'string' }])) });
  for (const key of names) {
    if (!values[key]) {
      console.error(`${script}: --${key} is required`);
      process.exit(2);
    }
  }
  return values;
}

export async function inChromium(script, launchOptions, body) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
      timeout: 60_000,
      ...launchOptions,
    });
    await body(context);
  } catch (error) {
    console.error(`${script}: ${error && error.stack ? error.stack : error}`);
    process.exitCode = 1;
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

/** Writes a full-page screenshot to file (creating its folder). */
export async function screenshot(page, file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file, fullPage: true });
}
