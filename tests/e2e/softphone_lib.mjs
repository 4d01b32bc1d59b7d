// Shared by the softphone click-throughs, the hidden-tab test and the
// heartbeat benchmark: sandbox knobs and "go online as uid".
export const URL = process.env.CONSOLE_URL ?? 'http://127.0.0.1:8081';
export const ART = process.env.ARTIFACTS ?? 'test-artifacts';

export async function sandbox(path, body) {
  const init = body === undefined ? {} : {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  };
  const r = await fetch(`${URL}${path}`, init);
  return r.json();
}

/** The sandbox's dapi call record whose caller is `uid` (the newest). */
export async function recordOf(uid) {
  const calls = await sandbox('/sandbox/dapi/calls');
  return calls.filter((c) => c.src_uid === uid).pop();
}

/** A fresh uid: the sandbox is shared by every test file. */
export function freshUid(prefix) {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/** Opens the console's softphone tab and goes online as `uid`. */
export async function online(page, uid, { clickWithScript = false } = {}) {
  await page.goto(`${URL}/?uid=${uid}`);
  const click = (sel) => clickWithScript
    ? page.evaluate((s) => document.querySelector(s).click(), sel)
    : page.click(sel);
  await page.waitForSelector('#tab-phone');
  await click('#tab-phone');
  await page.waitForFunction((u) => document.querySelector('#sp-uid')?.value === u, uid);
  await click('#sp-online');
  await page.waitForSelector('#sp-online-as');
}

export function gaps(times) {
  const out = [];
  for (let i = 1; i < times.length; i++) out.push(times[i] - times[i - 1]);
  return out;
}

export function stats(values) {
  if (values.length === 0) return { count: 0, min: null, median: null, max: null };
  const s = [...values].sort((a, b) => a - b);
  return { count: s.length, min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
}
