// Heartbeat benchmark (not a test: it prints figures). For BENCH_MINUTES
// (default 4) each: a visible page and a hidden background page, both in a
// robot call with the sandbox's real 30 s period; the hidden page also runs
// a main-thread setInterval as the control. Then three freeze → active
// recoveries. Run with `make bench-heartbeat`.
import { freshUid } from './softphone_lib.mjs';
import {
  URL, sandbox, stats, launchThrottled, openInBackground, robotCall, startControlTimer,
  heartbeatTimes, intervalsAfter, freezeAndRecover, sandboxNow,
} from './hidden_lib.mjs';
import { online } from './softphone_lib.mjs';

const MINUTES = Number(process.env.BENCH_MINUTES ?? 4);
const HB = Number(process.env.BENCH_HEARTBEAT_SECS ?? 30);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (s) => `count ${s.count}, min ${s.min} ms, median ${s.median} ms, max ${s.max} ms`;

const chrome = await launchThrottled();
try {
  await sandbox('/sandbox/dapi/settings', { channelHeartbeat: HB });
  console.log(`heartbeat benchmark: period ${HB} s, ${MINUTES} min per run, Chromium with background throttling on`);

  // Visible: the front tab.
  const vUid = freshUid('bv');
  const visible = chrome.context.pages()[0] ?? await chrome.context.newPage();
  await online(visible, vUid);
  await visible.click('#sp-call-robot');
  await visible.waitForSelector('#sp-call-panel[data-state="talking"]');
  const vt0 = await sandboxNow();
  await sleep(MINUTES * 60000);
  const vBeats = await heartbeatTimes(vUid);
  await visible.click('#sp-hangup');
  console.log(`visible: heartbeat intervals ${fmt(stats(intervalsAfter(vBeats, vt0)))}`);

  // Hidden: a background target never brought to the front.
  const hUid = freshUid('bh');
  const { page: hidden } = await openInBackground(chrome.context, `${URL}/?uid=${hUid}`);
  const state = await hidden.evaluate(() => document.visibilityState);
  await robotCall(hidden, hUid);
  await startControlTimer(hidden, HB * 1000);
  const ht0 = await sandboxNow();
  const pt0 = await hidden.evaluate(() => Date.now());
  await sleep(MINUTES * 60000);
  const hBeats = await heartbeatTimes(hUid);
  const control = await hidden.evaluate(() => window.__controlBeats);
  console.log(`hidden (visibilityState ${state}): heartbeat intervals ${fmt(stats(intervalsAfter(hBeats, ht0)))}`);
  console.log(`hidden, control main-thread setInterval(${HB} s): intervals ${fmt(stats(intervalsAfter(control, pt0)))}`);

  // Frozen → active, three times, each just after a beat.
  const recoveries = [];
  for (let i = 0; i < 3; i++) {
    const n = (await heartbeatTimes(hUid)).length;
    const until = Date.now() + (HB + 5) * 1000;
    while ((await heartbeatTimes(hUid)).length === n && Date.now() < until) await sleep(100);
    recoveries.push(await freezeAndRecover(chrome.context, hidden, hUid, 10000));
  }
  console.log(`recovery after Page.setWebLifecycleState frozen (10 s) → active: ${recoveries.map((r) => `${r} ms`).join(', ')}`);
  await hidden.evaluate(() => document.querySelector('#sp-hangup')?.click());
} finally {
  await sandbox('/sandbox/dapi/settings', { channelHeartbeat: 30 });
  await chrome.close();
}
