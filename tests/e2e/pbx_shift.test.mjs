// A PBX desk shift, clicked through in Debian's Chromium (playwright-core):
// sign in → the PBX's first queue as agent 1011 on 8001 → answer a waiting
// caller from the supervisor tab → hold/resume → attended transfer and
// cancel → park and take back → blind transfer → work break with a reason
// and ready without one → sign in to another queue already paused, sign out
// of all → play a recording on the call log (and on the desk phone, and
// export CSV) → the own mailbox's voicemail, another's by the supervisor's
// chooser, play one on the desk phone, mark it read → synthesise and play
// TTS. Plus the supervisor's pickup of a ringing extension. The sandbox is
// made deterministic with its /sandbox/pbx/ routes (no generated callers;
// callers and rings placed by the test).
// CONSOLE_URL: a sandbox serving the trunk-built console (`--www dist`);
// scripts/test.sh starts it with `--pbx-queues 610,620,630`: the queues are
// read from the sandbox, never assumed to be the seed's 200 and 300.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launch } from './chromium.mjs';

const URL = process.env.CONSOLE_URL ?? 'http://127.0.0.1:8081';
const ART = process.env.ARTIFACTS ?? 'test-artifacts';
const API = `${URL}/dscom-api/public/api/v1`;
let browser;
let savedSettings;
let token;

async function sandbox(path, body) {
  const init = body === undefined ? {} : {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  };
  const r = await fetch(`${URL}${path}`, init);
  assert.ok(r.ok, `${path}: HTTP ${r.status}`);
  return r.json();
}

async function api(path, body) {
  if (!token) {
    const t = await fetch(`${URL}/dscom-api/public/oauth/token`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'password', client_id: 4, client_secret: '0ruQRB2r0RtkGdRuVCoiIltF8MjESwghKP8xEwcr', username: 'api', password: '123456', scope: '*' }),
    }).then((r) => r.json());
    token = t.access_token;
  }
  const init = { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } };
  if (body !== undefined) Object.assign(init, { method: 'POST', body: JSON.stringify(body) });
  return fetch(`${API}/${path}`, init).then((r) => r.json());
}

const callsOf = async (ext) => (await sandbox('/sandbox/state')).pbx.calls.filter((c) => JSON.stringify(c).includes(`"${ext}"`));
/** The PBX's queue numbers (`--pbx-queues`), in the console's order. */
const pbxQueues = async () => (await sandbox('/sandbox/state')).pbx.queues
  .slice().sort((a, b) => a.length - b.length || a.localeCompare(b));
const member = async (ext, queue) => (await sandbox('/sandbox/state')).pbx.members.find((m) => m.extension === ext && m.queue === queue);
const optionsOf = (page, sel) => page.$$eval(`${sel} option`, (os) => os.map((o) => o.value));

/** A quiet PBX: nobody arrives by themselves or gives up into voicemail,
 * nobody waits, 8001 and 8004 (the transfer target) are free, 8001 is in no queue. */
async function quiet() {
  await sandbox('/sandbox/pbx/settings', { autoCallers: false, voicemailAfterMs: 3_600_000, failShare: 0 });
  for (const q of await pbxQueues()) {
    const w = await api(`status/wait?page=1&pageSize=100&queue_num=${q}`);
    for (const c of w.data ?? []) await api('call/hangup', { extension: c.callerid });
  }
  for (const ext of ['8001', '8004']) {
    if ((await callsOf(ext)).length > 0) await api('call/hangup', { extension: ext });
  }
  await api('agent/logout', { extension: '8001', queue: 'all' });
}

before(async () => {
  browser = await launch();
  savedSettings = await sandbox('/sandbox/pbx/settings');
  await quiet();
});

after(async () => {
  await api('agent/logout', { extension: '8001', queue: 'all' }).catch(() => {});
  if (savedSettings) {
    const { callerEveryMs, maxWaiting, ringMs, talkMs, voicemailAfterMs, autoCallers } = savedSettings;
    await sandbox('/sandbox/pbx/settings', { callerEveryMs, maxWaiting, ringMs, talkMs, voicemailAfterMs, autoCallers });
  }
  await browser?.close();
});

/** Opens the console; `config` (if any) is merged into its config.json. */
async function openConsole(config) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  if (config) {
    await page.route('**/config.json', async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, json: { ...(await response.json()), ...config } });
    });
  }
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(URL);
  await page.waitForFunction(() => document.querySelector('#username')?.value === 'api');
  await page.click('#signin-submit');
  await page.waitForSelector('#agent-extension');
  assert.equal(await page.textContent('#agent-extension'), '8001');
  return { page, errors };
}

let step = 0;
const shot = (page, name) => page.screenshot({ path: `${ART}/pbx-shift-${String(++step).padStart(2, '0')}-${name}.png`, fullPage: true });
const phase = (page, p) => page.waitForSelector(`#call-controls[data-phase="${p}"]`, { timeout: 10_000 });
const count = (page, part) => { const box = { n: 0 }; page.on('request', (r) => { if (r.url().includes(part)) box.n += 1; }); return box; };
/** Waits until the <audio> matching `sel` has played past `secs`. */
async function playsPast(page, sel, secs) {
  await page.waitForFunction(([s, t]) => {
    const a = document.querySelector(s);
    return a && !a.paused && a.currentTime > t;
  }, [sel, secs], { timeout: 10_000 });
  return page.$eval(sel, (a) => a.currentTime);
}

/** Runs `body` with a page; a failure leaves a screenshot. */
async function withPage(name, body, config) {
  const { page, errors } = await openConsole(config);
  try {
    await body(page, errors);
  } catch (e) {
    await page.screenshot({ path: `${ART}/pbx-${name}-failure.png`, fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await page.close();
  }
}

// The PBX's queues: Q1 (the robots answer there), Q2 (8001 and 8004 may sign
// in, nobody is in it); the last one comes to the console from config.json
// too (with `--pbx-queues 610,620,630`, 630 has no roster: only config.json names it).
let QUEUES, Q1, Q2, QLAST;
test('an agent\'s shift at the PBX desk', async () => {
  QUEUES = await pbxQueues();
  [Q1, Q2] = QUEUES;
  QLAST = QUEUES[QUEUES.length - 1];
  console.log(`the sandbox's queues: ${QUEUES}`);
  await withPage('shift', shift, { queues: [QLAST] });
});

async function shift(page, errors) {
  await shot(page, 'signed-in');

  // Queue sign-in: agent id from config.json, extension 8001, the PBX's first queue.
  assert.equal(await page.inputValue('#agent-id'), '1011');
  assert.equal(await page.inputValue('#agent-ext'), '8001');
  // The queues offered are the PBX's (getAgentStatus) and config.json's, nothing else.
  await page.waitForFunction((want) => [...document.querySelectorAll('#agent-queue-select option')].map((o) => o.value).join() === want,
    QUEUES.join(), { timeout: 10_000 }).catch(() => {});
  assert.deepEqual(await optionsOf(page, '#agent-queue-select'), QUEUES, 'the PBX\'s queues');
  await page.selectOption('#agent-queue-select', Q1);
  await page.fill('#agent-penalty', '1');
  const logins = count(page, '/agent/login');
  await page.dblclick('#agent-login');
  await page.waitForSelector(`#agent-status li[data-queue="${Q1}"][data-status="0"]`);
  assert.equal(logins.n, 1, 'a double click signs in once');
  assert.match(await page.textContent(`#agent-status li[data-queue="${Q1}"]`), /就绪/);
  await page.waitForSelector('#agent-pause-5');
  await shot(page, 'queue-ready');

  // A caller waits in the second queue (nobody signed in there): answer it from the supervisor tab.
  const caller = '18300000001';
  await sandbox('/sandbox/pbx/callers', { number: caller, queue: Q2 });
  await page.click('#tab-supervisor');
  await page.waitForSelector(`#sup-wait-list li[data-caller="${caller}"]`);
  await page.waitForSelector(`#sup-queue-${Q1} tr[data-ext="8001"]`);
  for (const q of QUEUES) await page.waitForSelector(`#sup-queue-${q}`);
  await page.waitForSelector('#sup-trunks tr[data-trunk="trunkHWD"]');
  await shot(page, 'supervisor-waiting');
  const redirects = count(page, '/call/redirect');
  await page.dblclick(`#sup-wait-list li[data-caller="${caller}"] .sup-redirect`);
  await page.waitForSelector(`#sup-done[data-action="redirect"][data-dest="${caller}"]`);
  assert.equal(redirects.n, 1, 'a double click answers once');
  await page.waitForSelector(`#sup-wait-list li[data-caller="${caller}"]`, { state: 'detached' });

  // Back at the desk: in a call with the caller; only what applies is offered.
  await page.click('#tab-desk');
  await phase(page, 'talking');
  for (const id of ['#cc-hold', '#cc-park', '#cc-transfer-blind', '#cc-transfer-attended', '#cc-transfer-ivr', '#cc-transfer-queue', '#cc-hangup']) {
    assert.ok(await page.isVisible(id), `${id} offered in a call`);
  }
  assert.deepEqual(await optionsOf(page, '#cc-queue'), QUEUES, 'transfer to the PBX\'s queues');
  assert.equal(await page.$('#cc-unhold'), null, 'no resume without hold');
  assert.equal(await page.$('#cc-cancel-attended'), null);
  await shot(page, 'talking');

  // Hold and resume.
  await page.click('#cc-hold');
  await phase(page, 'held');
  assert.equal(await page.$('#cc-hold'), null);
  assert.ok((await callsOf('8001')).some((c) => c.held), 'the sandbox holds the call');
  await shot(page, 'held');
  await page.click('#cc-unhold');
  await phase(page, 'talking');

  // Attended transfer to 8004, then cancel it.
  await page.fill('#cc-transfer-number', '8004');
  await page.click('#cc-transfer-attended');
  await phase(page, 'consulting');
  assert.ok(await page.isVisible('#cc-cancel-attended'));
  assert.equal(await page.$('#cc-park'), null, 'no park while consulting');
  await shot(page, 'consulting');
  await page.click('#cc-cancel-attended');
  await phase(page, 'talking');

  // Park, see it in the list, take it back.
  await page.click('#cc-park');
  const parked = `#parked-list li[data-caller="${caller}"]`;
  await page.waitForSelector(parked);
  await phase(page, 'idle');
  assert.match(await page.textContent(parked), /70\d/);
  await shot(page, 'parked');
  const unparks = count(page, '/call/unpark');
  await page.dblclick(`${parked} .unpark`);
  await phase(page, 'talking');
  await page.waitForSelector(parked, { state: 'detached' });
  assert.equal(unparks.n, 1, 'a double click takes back once');

  // Blind transfer to 8004: the call leaves this desk.
  await page.fill('#cc-transfer-number', '8004');
  await page.click('#cc-transfer-blind');
  await phase(page, 'idle');
  const left = await callsOf(caller);
  assert.ok(left.length === 1 && JSON.stringify(left[0]).includes('"8004"'), `the caller is with 8004: ${JSON.stringify(left)}`);
  assert.ok(!JSON.stringify(left[0]).includes('"8001"'), '8001 left the call');
  await shot(page, 'transferred');

  // Work break with a typed reason, its duration ticking, then ready again
  // without one: no reason word is sent (the seed makes it optional).
  await page.fill('#agent-pause-reason', '培训');
  const [breakReq] = await Promise.all([page.waitForRequest((r) => r.url().endsWith('/agent/pause')), page.click('#agent-pause-5')]);
  assert.equal(JSON.parse(breakReq.postData()).reason, '培训');
  const onBreak = `#agent-status li[data-queue="${Q1}"][data-status="5"]`;
  await page.waitForSelector(onBreak);
  assert.match(await page.textContent(onBreak), /公事暂休/);
  assert.equal((await member('8001', Q1)).reason, '培训');
  const d0 = await page.textContent(`${onBreak} .agent-status-duration`);
  await page.waitForFunction(([s, d]) => document.querySelector(s)?.textContent !== d, [`${onBreak} .agent-status-duration`, d0], { timeout: 5000 });
  await shot(page, 'work-break');
  assert.equal(await page.inputValue('#agent-pause-reason'), '', 'the reason went with that break');
  const [readyReq] = await Promise.all([page.waitForRequest((r) => r.url().endsWith('/agent/pause')), page.click('#agent-ready')]);
  assert.ok(!('reason' in JSON.parse(readyReq.postData())), `no invented reason: ${readyReq.postData()}`);
  await page.waitForSelector(`#agent-status li[data-queue="${Q1}"][data-status="0"]`);
  assert.equal((await member('8001', Q1)).reason, '');

  // Sign in to the last queue already on a private break; then out of all queues at once.
  await page.selectOption('#agent-queue-select', QLAST);
  await page.selectOption('#agent-login-paused', '4');
  const [loginReq] = await Promise.all([page.waitForRequest((r) => r.url().endsWith('/agent/login')), page.click('#agent-login')]);
  assert.equal(JSON.parse(loginReq.postData()).paused, 4);
  await page.waitForSelector(`#agent-status li[data-queue="${QLAST}"][data-status="4"]`);
  await shot(page, 'signed-in-paused');
  const [outReq] = await Promise.all([page.waitForRequest((r) => r.url().endsWith('/agent/logout')), page.click('#agent-logout-all')]);
  assert.equal(JSON.parse(outReq.postData()).queue, 'all');
  await page.waitForSelector('#agent-status-none');
  assert.ok(!(await sandbox('/sandbox/state')).pbx.members.some((m) => m.extension === '8001' && m.signed_in), 'out of every queue');

  // The call log: every row loaded, a recording played in the page, on the desk phone, CSV.
  await page.click('#tab-cdr');
  await page.waitForSelector('#cdr-progress[data-loading="false"]', { timeout: 15_000 });
  const loaded = Number(await page.getAttribute('#cdr-progress', 'data-loaded'));
  const total = Number(await page.getAttribute('#cdr-progress', 'data-total'));
  assert.ok(loaded > 0 && loaded === total, `loaded ${loaded} of ${total}`);
  const withRec = '#cdr-rows .cdr-row[data-recording^="monitor/"]';
  await page.waitForSelector(withRec);
  await page.click(`${withRec} .cdr-play`);
  const played = await playsPast(page, '#cdr-audio', 0.3);
  assert.ok(played > 0.3, `the recording plays (${played} s)`);
  assert.match(await page.getAttribute('#cdr-audio', 'src'), /\/monitor\/.+\.wav$/);
  await shot(page, 'cdr-playing');
  await page.click(`${withRec} .cdr-handset`);
  await page.waitForSelector('#cdr-handset-done');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#cdr-export')]);
  const csv = await readFile(await download.path(), 'utf8');
  assert.ok(csv.startsWith('\uFEFF时间,主叫,被叫'), 'BOM and Chinese headers');
  assert.equal(csv.split('\r\n').length, loaded + 2, 'a header, every row, a final line end');
  // Every documented column: shown on demand, and then exported.
  await page.click('#pcdr-columns summary');
  await page.click('#pcdr-cols-all');
  await page.waitForSelector('.cdr-table[data-columns="40"] #cdr-rows .cdr-row .c-x[data-col="hangupcause"]');
  // Sizes come through CSSOM (no style= attribute under the strict CSP): rows and head share the
  // 8 + 40 column grid, the table is as wide as they need, the spacer as tall as every row.
  const layout = () => page.evaluate(() => {
    const cols = (el) => getComputedStyle(el).gridTemplateColumns.split(' ').length;
    return {
      head: cols(document.querySelector('.cdr-head')), row: cols(document.querySelector('#cdr-rows .cdr-row')),
      minWidth: getComputedStyle(document.querySelector('.cdr-table')).minWidth,
      spacer: document.querySelector('.cdr-spacer').getBoundingClientRect().height,
    };
  });
  assert.deepEqual(await layout(), { head: 48, row: 48, minWidth: `${860 + 40 * 146}px`, spacer: loaded * 36 });
  const [wide] = await Promise.all([page.waitForEvent('download'), page.click('#cdr-export')]);
  const wideCsv = await readFile(await wide.path(), 'utf8');
  const head = wideCsv.slice(1, wideCsv.indexOf('\r\n')).split(',');
  assert.equal(head.length, 50, `the seed's 50 columns: ${head}`);
  assert.ok(head.includes('挂断原因') && head.includes('记录主键'), `extra headers: ${head}`);
  assert.equal(wideCsv.split('\r\n').length, loaded + 2, 'the same rows, wider');
  await shot(page, 'cdr-all-columns');
  await page.click('#pcdr-cols-base');
  await page.waitForSelector('.cdr-table[data-columns="0"]');
  assert.deepEqual(await layout(), { head: 8, row: 8, minWidth: '0px', spacer: loaded * 36 });
  // Scrolled to the end, the rendered window is moved to its first row (a CSSOM transform).
  await page.evaluate(() => { const v = document.querySelector('#cdr-rows'); v.scrollTop = v.scrollHeight; });
  await page.waitForFunction(() => Number(document.querySelector('#cdr-rows').dataset.first) > 0);
  const moved = await page.evaluate(() => ({
    first: Number(document.querySelector('#cdr-rows').dataset.first),
    y: new DOMMatrix(getComputedStyle(document.querySelector('.cdr-window')).transform).m42,
  }));
  assert.equal(moved.y, moved.first * 36, `window at row ${moved.first}`);

  // Voicemail: the PBX lists every mailbox; the desk shows its own (dst 8001)
  // unless the supervisor chooses another. Unread first; mark the first unread one read.
  const other = await sandbox('/sandbox/pbx/voicemail', { mailbox: '8002', callerid: '13900000007' });
  await page.click('#tab-voicemail');
  await page.waitForSelector('#vm-list li');
  const dsts = await page.$$eval('#vm-list li', (lis) => lis.map((l) => l.dataset.dst));
  assert.ok(dsts.length > 0 && dsts.every((d) => d === '8001'), `own mailbox only: ${dsts}`);
  assert.deepEqual(await optionsOf(page, '#vm-mailbox'), ['8001', '8002', '*']);
  await page.selectOption('#vm-mailbox', '8002');
  await page.waitForSelector(`#vm-list li[data-id="${other.id}"][data-dst="8002"]`);
  assert.deepEqual(await page.$$eval('#vm-list li', (lis) => lis.map((l) => l.dataset.dst)), ['8002']);
  await shot(page, 'voicemail-other-mailbox');
  await page.selectOption('#vm-mailbox', '*');
  await page.waitForFunction((n) => document.querySelectorAll('#vm-list li').length === n, dsts.length + 1);
  await page.selectOption('#vm-mailbox', '8001');
  await page.waitForSelector(`#vm-list li[data-id="${other.id}"]`, { state: 'detached' });
  const reads = await page.$$eval('#vm-list li', (lis) => lis.map((l) => l.dataset.read));
  assert.deepEqual(reads, [...reads].sort(), `unread first: ${reads}`);
  const first = await page.getAttribute('#vm-list li[data-read="false"]', 'data-id');
  await page.click(`#vm-list li[data-id="${first}"] .vm-play`);
  await playsPast(page, '#vm-audio', 0.2);
  // On the desk phone, as the call log does for recordings (8001 may still play the CDR one).
  for (let i = 0; i < 100 && (await callsOf('8001')).length > 0; i++) await page.waitForTimeout(200);
  await page.click(`#vm-list li[data-id="${first}"] .vm-handset`);
  await page.waitForSelector('#vm-handset-done, #vm-error');
  assert.equal(await page.$('#vm-error'), null, await page.$eval('#vm-error', (e) => e.textContent).catch(() => ''));
  const recording = (await api('voicemail?page=1&pageSize=100&start=2000-01-01%2000:00:00&end=2100-01-01%2000:00:00'))
    .data.find((m) => String(m.id) === first)?.recording ?? '?';
  const playbacks = (await callsOf('8001')).filter((c) => c.origin === 'playback');
  assert.ok(playbacks.some((c) => JSON.stringify(c).includes(recording.replace(/\.wav$/, ''))), `the message plays on 8001: ${JSON.stringify(playbacks)}`);
  await page.click(`#vm-list li[data-id="${first}"] .vm-mark`);
  await page.waitForSelector(`#vm-list li[data-id="${first}"][data-read="true"]`);
  const vm = await api('voicemail?page=1&pageSize=100&start=2000-01-01%2000:00:00&end=2100-01-01%2000:00:00');
  assert.equal(vm.data.find((m) => String(m.id) === first)?.is_read, 'yes');
  await shot(page, 'voicemail-read');

  // TTS: synthesise and play; a second clip frees the first one's Blob URL.
  const synths = count(page, '/tts/synthesize');
  await page.fill('#tts-text', '您好，欢迎致电');
  await page.dblclick('#tts-go');
  await page.waitForSelector('#tts-info');
  assert.equal(synths.n, 1, 'a double click synthesises once');
  const firstUrl = await page.getAttribute('#tts-audio', 'src');
  assert.match(firstUrl, /^blob:/);
  await playsPast(page, '#tts-audio', 0.2);
  await shot(page, 'tts');
  await page.fill('#tts-text', '请稍候');
  await page.click('#tts-go');
  await page.waitForFunction((u) => document.querySelector('#tts-audio')?.getAttribute('src') !== u, firstUrl);
  assert.deepEqual(errors, []);
  // A revoked Blob URL no longer loads. Probed as media, not fetch: the CSP
  // allows `media-src blob:` but not `connect-src blob:` (a fetch always fails).
  const loads = (u) => page.evaluate((src) => new Promise((ok) => {
    const a = new Audio();
    a.onloadedmetadata = () => ok(true);
    a.onerror = () => ok(false);
    a.src = src;
  }), u);
  assert.equal(await loads(await page.getAttribute('#tts-audio', 'src')), true, 'the current clip loads');
  assert.equal(await loads(firstUrl), false, 'the old Blob URL is revoked');
}

test('the supervisor picks up a ringing extension; English words; errors in the table\'s words', () => withPage('supervisor', async (page, errors) => {
  // 8001 may still be playing a recording from the shift (the desk phone is busy meanwhile).
  for (let i = 0; i < 100 && (await callsOf('8001')).length > 0; i++) await page.waitForTimeout(200);
  await quiet();
  await page.click('#tab-supervisor');
  await sandbox('/sandbox/pbx/ring', { from: '13900000002', to: '8004' });
  await page.waitForFunction(() => {
    const s = document.querySelector('#sup-target');
    return s?.value === '8004' && /振铃/.test(s.selectedOptions[0]?.textContent ?? '');
  }, null, { timeout: 10_000 });
  await page.click('#sup-pickup');
  await page.waitForSelector('#sup-done[data-action="pickup"][data-dest="8004"], #sup-error');
  await shot(page, 'supervisor-pickup');
  assert.equal(await page.$('#sup-error'), null, await page.$eval('#sup-error', (e) => e.textContent).catch(() => ''));
  await page.click('#tab-desk');
  await phase(page, 'talking');
  await page.click('#lang-toggle');
  assert.equal((await page.textContent('#cc-hangup')).trim(), 'Hang up');
  await page.click('#cc-hangup');
  await phase(page, 'idle');
  // Monitoring an idle extension: the vendor's refusal, in the table's words.
  await page.click('#tab-supervisor');
  await page.selectOption('#sup-target', '8005');
  await page.click('#sup-monitor');
  await page.waitForSelector('#sup-error[data-code="600013"]');
  assert.match(await page.textContent('#sup-error'), /Monitoring failed \(code 600013\)/);
  await page.click('#lang-toggle');
  assert.match(await page.textContent('#sup-error'), /监听失败（错误码 600013）/);
  await shot(page, 'supervisor-error');
  assert.deepEqual(errors, []);
}));
