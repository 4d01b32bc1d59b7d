// Heartbeat benchmark (not a test: it prints figures). For BENCH_MINUTES
// (default 10) each: a visible page (the front target) and a hidden one (a
// CDP background target never brought to the front), both in a robot call
// with the sandbox's real 30 s period; the hidden page also runs a
// main-thread setInterval as the control. Then three frozen → active
// recoveries. Chromium runs with its background throttling on. Run with
// `make bench-heartbeat`.
import { freshUid } from './softphone_lib.mjs';
import {
  URL, sandbox, stats, launchThrottled, robotCall, startControlTimer,
  heartbeatTimes, intervalsAfter, freezeAndRecover, sandboxNow,
} from './hidden_lib.mjs';

const MINUTES = Number(process.env.BENCH_MINUTES ?? 10);
const HB = Number(process.env.BENCH_HEARTBEAT_SECS ?? 30);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (s) => `count ${s.count}, min ${s.min} ms, median ${s.median} ms, max ${s.max} ms`;

const chrome = await launchThrottled();
try {
  await sandbox('/sandbox/dapi/settings', { channelHeartbeat: HB });
  console.log(`heartbeat benchmark: period ${HB} s, ${MINUTES} min per run, Chromium with background throttling on`);

  // Both pages run at the same time: one in front, one in the background.
  const vUid = freshUid('bv');
  const hUid = freshUid('bh');
  const visible = await chrome.openInFront(`${URL}/?uid=${vUid}`);
  const hidden = await chrome.openInBackground(`${URL}/?uid=${hUid}`);
  await robotCall(visible, vUid);
  await robotCall(hidden, hUid);
  const states = [await visible.evaluate('document.visibilityState'), await hidden.evaluate('document.visibilityState')];
  await startControlTimer(hidden, HB * 1000);
  const t0 = await sandboxNow();
  const pt0 = await hidden.evaluate('Date.now()');
  await sleep(MINUTES * 60000);
  const vBeats = await heartbeatTimes(vUid);
  const hBeats = await heartbeatTimes(hUid);
  const control = await hidden.evaluate('window.__controlBeats');
  console.log(`visible (visibilityState ${states[0]}): heartbeat intervals ${fmt(stats(intervalsAfter(vBeats, t0)))}`);
  console.log(`hidden (visibilityState ${states[1]}): heartbeat intervals ${fmt(stats(intervalsAfter(hBeats, t0)))}`);
  console.log(`hidden, control main-thread setInterval(${HB} s): intervals ${fmt(stats(intervalsAfter(control, pt0)))}`);
  await visible.click('#sp-hangup');

  // Frozen → active, three times, each just after a beat.
  const recoveries = [];
  for (let i = 0; i < 3; i++) {
    const n = (await heartbeatTimes(hUid)).length;
    const until = Date.now() + (HB + 5) * 1000;
    while ((await heartbeatTimes(hUid)).length === n && Date.now() < until) await sleep(100);
    recoveries.push(await freezeAndRecover(hidden, hUid, 10000));
  }
  console.log(`recovery after Page.setWebLifecycleState frozen (10 s) → active: ${recoveries.map((r) => `${r} ms`).join(', ')}`);
  await hidden.click('#sp-hangup');
} finally {
  await sandbox('/sandbox/dapi/settings', { channelHeartbeat: 30 });
  await chrome.close();
}
