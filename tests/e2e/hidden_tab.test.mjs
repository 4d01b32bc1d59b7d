// The softphone's heartbeat in a hidden tab, for real: Chromium with its
// background throttling on (no disabling switch), the console in a CDP
// background target that is never brought to the front, run past the 60 s
// grace period. A main-thread
// setInterval in the same page is the control (it shows the throttling).
// Then a frozen page must heartbeat within 2 s of being made active again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freshUid } from './softphone_lib.mjs';
import {
  URL, sandbox, stats, launchThrottled, robotCall, startControlTimer,
  heartbeatTimes, intervalsAfter, freezeAndRecover, sandboxNow,
} from './hidden_lib.mjs';

const HB_SECS = 5;
const RUN_SECS = Number(process.env.HIDDEN_RUN_SECS ?? 100);
const GRACE_SECS = 65;
let chrome;

before(async () => { chrome = await launchThrottled(); });
after(async () => {
  await sandbox('/sandbox/dapi/settings', { channelHeartbeat: 30 });
  await chrome?.close();
});

test(`hidden past the grace period, heartbeats keep their ${HB_SECS} s period`, { timeout: (RUN_SECS + 60) * 1000 }, async () => {
  await sandbox('/sandbox/dapi/settings', { channelHeartbeat: HB_SECS });
  const uid = freshUid('h');
  const page = await chrome.openInBackground(`${URL}/?uid=${uid}`);
  await robotCall(page, uid);
  assert.equal(await page.evaluate('document.visibilityState'), 'hidden', 'a background target, never brought to the front');
  await startControlTimer(page, HB_SECS * 1000);
  const t0 = await sandboxNow();
  const pageT0 = await page.evaluate('Date.now()');
  await new Promise((r) => setTimeout(r, RUN_SECS * 1000));

  const beats = await heartbeatTimes(uid);
  const afterGrace = intervalsAfter(beats, t0 + GRACE_SECS * 1000);
  const control = await page.evaluate('window.__controlBeats');
  console.log(`heartbeats hidden (${RUN_SECS} s, period ${HB_SECS} s): all ${JSON.stringify(stats(intervalsAfter(beats, t0)))}, after grace ${JSON.stringify(stats(afterGrace))}`);
  const controlBeats = control.filter((t) => t >= pageT0 + GRACE_SECS * 1000).length;
  const beatsAfterGrace = beats.filter((t) => t >= t0 + GRACE_SECS * 1000).length;
  console.log(`control main-thread setInterval(${HB_SECS} s): all ${JSON.stringify(stats(intervalsAfter(control, pageT0)))}, ${controlBeats} beats after grace (heartbeat: ${beatsAfterGrace})`);

  // The control proves the page really is throttled; otherwise this test would prove nothing.
  assert.ok(controlBeats < beatsAfterGrace - 2, `the hidden page is throttled: control ${controlBeats} vs heartbeat ${beatsAfterGrace} beats`);
  // Beats every HB_SECS in the window after the grace period, give or take the edges.
  const expected = Math.floor((RUN_SECS - GRACE_SECS) / HB_SECS) - 2;
  assert.ok(afterGrace.length >= expected, `${afterGrace.length} intervals after the grace period, want ≥ ${expected}`);
  assert.ok(Math.max(...afterGrace) <= HB_SECS * 1000 * 1.5, `max gap ${Math.max(...afterGrace)} ms`);
  assert.equal(await page.evaluate(`document.querySelector('#sp-call-panel')?.dataset.state`), 'talking',
    'the server never ended the call for a missing heartbeat');
  await page.click('#sp-hangup');
  assert.deepEqual(await page.cspViolations(), [], 'no CSP violation (the sandbox serves the strict policy)');
});

test('after a freeze the page heartbeats within 2 s of becoming active', { timeout: 120000 }, async () => {
  // A long period, so the next beat is not due anyway when the page resumes.
  const HB = 20;
  await sandbox('/sandbox/dapi/settings', { channelHeartbeat: HB });
  const uid = freshUid('f');
  const page = await chrome.openInBackground(`${URL}/?uid=${uid}`);
  await robotCall(page, uid);
  // Freeze just after a beat (the wake on join counts as none; wait for the first).
  const first = Date.now() + 30000;
  while ((await heartbeatTimes(uid)).length === 0 && Date.now() < first) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const beatsBefore = await heartbeatTimes(uid);
  assert.ok(beatsBefore.length >= 1, 'a first heartbeat arrived');
  const recovery = await freezeAndRecover(page, uid, 5000);
  console.log(`recovery after frozen → active: ${recovery} ms (period ${HB} s)`);
  assert.ok(recovery < 2000, `recovered in ${recovery} ms`);
  await page.click('#sp-hangup');
  assert.deepEqual(await page.cspViolations(), [], 'no CSP violation (the sandbox serves the strict policy)');
});
