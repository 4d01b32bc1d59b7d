// A Chromium with background throttling left ON (Playwright's defaults turn
// it off), and a page opened as a background target that is never brought
// to the front, as the hidden-tab test and the heartbeat benchmark need.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { URL, sandbox, recordOf, online, gaps, stats } from './softphone_lib.mjs';

export const THROTTLING_SWITCHES = [
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding',
];

export async function launchThrottled() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-console-hidden-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ignoreDefaultArgs: THROTTLING_SWITCHES,
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Opens `url` in a background target (CDP `Target.createTarget`, `background: true`). */
export async function openInBackground(context, url) {
  const front = context.pages()[0] ?? await context.newPage();
  await front.goto('about:blank');
  const cdp = await context.newCDPSession(front);
  const opened = context.waitForEvent('page');
  await cdp.send('Target.createTarget', { url, background: true });
  const page = await opened;
  await page.waitForLoadState('domcontentloaded');
  return { front, page };
}

/** Opens a visible page (the front tab). */
export async function openInFront(context, url) {
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(url);
  return page;
}

const poll = { polling: 100, timeout: 20000 };

/** Goes online as `uid`, calls the robot and waits until talking (script clicks: no focus). */
export async function robotCall(page, uid) {
  await online(page, uid, { clickWithScript: true });
  await page.evaluate(() => document.querySelector('#sp-call-robot').click());
  await page.waitForFunction(() => document.querySelector('#sp-call-panel')?.dataset.state === 'talking', null, poll);
}

/** Starts a main-thread `setInterval` in the page as the control measurement. */
export async function startControlTimer(page, periodMs) {
  await page.evaluate((ms) => {
    window.__controlBeats = [];
    setInterval(() => window.__controlBeats.push(Date.now()), ms);
  }, periodMs);
}

/** Heartbeat arrival times (sandbox clock, ms) of `uid`'s newest call. */
export async function heartbeatTimes(uid) {
  const rec = await recordOf(uid);
  return (rec?.heartbeats ?? []).filter((h) => h.uid === uid).map((h) => h.atMs);
}

export async function sandboxNow() {
  return (await sandbox('/sandbox/clock')).now_ms;
}

/** Intervals of beats at or after `from` (ms, same clock as `times`). */
export function intervalsAfter(times, from) {
  return gaps(times.filter((t) => t >= from));
}

/**
 * Freezes the page (`Page.setWebLifecycleState`), waits `frozenMs`, makes it
 * active again and returns how long until the server got the next heartbeat.
 */
export async function freezeAndRecover(context, page, uid, frozenMs) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
  await new Promise((r) => setTimeout(r, frozenMs));
  const activeAt = await sandboxNow();
  await cdp.send('Page.setWebLifecycleState', { state: 'active' });
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    const next = (await heartbeatTimes(uid)).find((t) => t > activeAt);
    if (next !== undefined) return next - activeAt;
    await new Promise((r) => setTimeout(r, 50));
  }
  return Infinity;
}

export { URL, sandbox, stats };
