// A Chromium with background throttling left on, driven over raw CDP, and a
// console page opened as a background target that is never brought to the
// front: what the hidden-tab test and the heartbeat benchmark need.
//
// Not Playwright: its launch switches turn throttling off, and even with
// `ignoreDefaultArgs` a page it attaches to reports `visibilityState`
// "visible" (checked with Chromium 156 and playwright-core 1.65). Plain CDP
// keeps a `background: true` target hidden.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ws as WebSocket } from 'playwright-core/lib/utilsBundle';
import { URL, sandbox, recordOf, gaps, stats } from './softphone_lib.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Launches headless Chromium without any throttling-disabling switch. */
export async function launchThrottled() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-console-hidden-'));
  const proc = spawn('/usr/bin/chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--remote-debugging-port=0', `--user-data-dir=${dir}`, 'about:blank',
  ], { stdio: 'ignore' });
  let port;
  for (let i = 0; i < 200 && !port; i++) {
    try { port = fs.readFileSync(path.join(dir, 'DevToolsActivePort'), 'utf8').split('\n'); } catch { await sleep(100); }
  }
  if (!port) throw new Error('Chromium did not start');
  const socket = new WebSocket(`ws://127.0.0.1:${port[0]}${port[1]}`);
  await new Promise((ok, fail) => { socket.on('open', ok); socket.on('error', fail); });
  let next = 0;
  const waiting = new Map();
  socket.on('message', (data) => {
    const m = JSON.parse(String(data));
    const w = m.id && waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.fail(new Error(`${w.method}: ${m.error.message}`)); else w.ok(m.result);
  });
  const send = (method, params = {}, sessionId) => new Promise((ok, fail) => {
    const id = ++next;
    waiting.set(id, { ok, fail, method });
    socket.send(JSON.stringify({ id, method, params, sessionId }));
  });
  const open = async (url, background) => {
    // Blank first, so the CSP violation recorder is in place before the console loads.
    const { targetId } = await send('Target.createTarget', { url: 'about:blank', background });
    const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
    await send('Page.enable', {}, sessionId);
    await send('Page.addScriptToEvaluateOnNewDocument', { source: RECORD_VIOLATIONS }, sessionId);
    await send('Page.navigate', { url }, sessionId);
    return new RawPage(send, sessionId);
  };
  return {
    openInBackground: (url) => open(url, true),
    openInFront: (url) => open(url, false),
    async close() {
      socket.close();
      proc.kill();
      await sleep(200);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// What chromium.mjs records for Playwright pages: every securitypolicyviolation.
const RECORD_VIOLATIONS = `window.__cspViolations = [];
window.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(
  { directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile + ':' + e.lineNumber }), true);`;

/** One page over CDP: evaluate, poll from Node (never throttled), click by script. */
class RawPage {
  constructor(send, sessionId) {
    this.send = send;
    this.sessionId = sessionId;
  }

  async evaluate(expression) {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, this.sessionId);
    if (r.exceptionDetails) throw new Error(`${expression}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result?.value;
  }

  async waitFor(expression, timeoutMs = 20000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try { if (await this.evaluate(expression)) return; } catch { /* not loaded yet */ }
      if (Date.now() > until) throw new Error(`timed out waiting for ${expression}`);
      await sleep(100);
    }
  }

  /** The page's Content-Security-Policy violations so far. */
  cspViolations() {
    return this.evaluate('window.__cspViolations');
  }

  click(selector) {
    return this.evaluate(`document.querySelector(${JSON.stringify(selector)}).click()`);
  }

  setLifecycle(state) {
    return this.send('Page.setWebLifecycleState', { state }, this.sessionId);
  }
}

/** Goes online as `uid` (the page was opened at `?uid=`), calls the robot, waits for talking. */
export async function robotCall(page, uid) {
  await page.waitFor(`document.querySelector('#tab-phone') !== null`);
  await page.click('#tab-phone');
  await page.waitFor(`document.querySelector('#sp-uid')?.value === ${JSON.stringify(uid)}`);
  await page.click('#sp-online');
  await page.waitFor(`document.querySelector('#sp-online-as') !== null && !document.querySelector('#sp-call-robot').disabled`);
  await page.click('#sp-call-robot');
  await page.waitFor(`document.querySelector('#sp-call-panel')?.dataset.state === 'talking'`);
}

/** Starts a main-thread `setInterval` in the page as the control measurement. */
export function startControlTimer(page, periodMs) {
  return page.evaluate(`(() => { window.__controlBeats = []; setInterval(() => window.__controlBeats.push(Date.now()), ${periodMs}); })()`);
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
 * Freezes the page, waits `frozenMs`, makes it active again and returns how
 * long until the server got its next heartbeat (ms).
 */
export async function freezeAndRecover(page, uid, frozenMs) {
  await page.setLifecycle('frozen');
  await sleep(frozenMs);
  const activeAt = await sandboxNow();
  await page.setLifecycle('active');
  const until = Date.now() + 30000;
  while (Date.now() < until) {
    const next = (await heartbeatTimes(uid)).find((t) => t > activeAt);
    if (next !== undefined) return next - activeAt;
    await sleep(50);
  }
  return Infinity;
}

export { URL, sandbox, stats };
