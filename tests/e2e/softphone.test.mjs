// Two console pages as two app users against the sandbox: A calls B, B is
// rung by polling, answers, both heartbeat, A hangs up, both report, and the
// call record's webhook reaches a receiver with the events. Plus the robot,
// a rejection, and refused input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { launch } from './chromium.mjs';
import { URL, ART, sandbox, recordOf, freshUid, online } from './softphone_lib.mjs';

let browser;
let receiver;
const hooks = [];

before(async () => {
  browser = await launch();
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      try { hooks.push({ path: req.url, type: req.headers['content-type'], json: JSON.parse(body) }); } catch { hooks.push({ bad: body }); }
      res.end('ok');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${receiver.address().port}/dapi-hook`;
  // Heartbeats every 5 s so a short talk shows them.
  await sandbox('/sandbox/dapi/settings', { webhookUrl: hook, channelHeartbeat: 5 });
});

after(async () => {
  await sandbox('/sandbox/dapi/settings', { webhookUrl: '', channelHeartbeat: 30 });
  await browser?.close();
  await new Promise((r) => receiver?.close(r));
});

async function page() {
  const p = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  return { p, errors };
}

test('A calls B, B answers, both talk and heartbeat, A hangs up, the webhook has both sides\' events', async () => {
  const A = freshUid('a');
  const B = freshUid('b');
  const { p: a, errors: ea } = await page();
  const { p: b, errors: eb } = await page();
  await online(a, A);
  await online(b, B);
  await a.waitForSelector('#sp-conn[data-state="ok"]');

  await a.fill('#sp-dst', B);
  await a.fill('#sp-extra', `${A} 找你`);
  await a.click('#sp-call');
  await a.waitForSelector('#sp-call-panel[data-state="ringing"]');
  await a.screenshot({ path: `${ART}/softphone-a-ringing.png` });

  // B learns of the call by polling /dapi/call/msg.
  await b.waitForSelector('#sp-incoming .incoming', { timeout: 10000 });
  assert.match(await b.textContent('#sp-incoming'), new RegExp(`${A} 找你`));
  await b.screenshot({ path: `${ART}/softphone-b-incoming.png` });
  await b.click('.sp-answer');

  await a.waitForSelector('#sp-call-panel[data-state="talking"]', { timeout: 10000 });
  await b.waitForSelector('#sp-call-panel[data-state="talking"]', { timeout: 10000 });
  assert.equal(await a.textContent('#sp-with'), B);
  // Talk past one heartbeat period (5 s), with the timer running.
  await a.waitForTimeout(6500);
  assert.match(await a.textContent('#sp-timer'), /^00:0[5-9]$/);
  await a.screenshot({ path: `${ART}/softphone-a-talking.png` });

  const rec = await recordOf(A);
  const beats = new Set(rec.heartbeats.map((h) => h.uid));
  assert.ok(beats.has(A) && beats.has(B), `both heartbeat: ${JSON.stringify(rec.heartbeats)}`);

  await a.click('#sp-hangup');
  await a.waitForSelector('#sp-recent li[data-reason="hangup"]');
  await b.waitForSelector('#sp-recent li[data-reason="hangup"]', { timeout: 10000 });
  assert.match(await a.textContent('#sp-recent'), /您已挂断/);
  assert.match(await b.textContent('#sp-recent'), /对方已挂断/);
  await b.screenshot({ path: `${ART}/softphone-b-ended.png` });

  // Both reported, so the record ended and was pushed to the receiver.
  const deadline = Date.now() + 10000;
  let hook;
  while (!hook && Date.now() < deadline) {
    hook = hooks.find((h) => h.json?.callrecord?.channel === rec.channel);
    if (!hook) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(hook, 'the webhook arrived');
  assert.equal(hook.path, '/dapi-hook');
  assert.match(hook.type, /application\/json/);
  const cr = hook.json.callrecord;
  assert.equal(cr.src_uid, A);
  assert.deepEqual(cr.dst_uid, [B]);
  const codes = cr.event.map((e) => `${e.uid}:${e.code}`).sort();
  assert.deepEqual(codes, [`${A}:1`, `${A}:2`, `${B}:1`, `${B}:2`].sort(), 'each side reported 1 and 2 exactly once');
  assert.deepEqual(ea, []);
  assert.deepEqual(eb, []);
  await a.close();
  await b.close();
});

test('B rejects: A hears "rejected" in words, the record has 1003 and 1002', async () => {
  const A = freshUid('a');
  const B = freshUid('b');
  const { p: a } = await page();
  const { p: b } = await page();
  await online(a, A);
  await online(b, B);
  await a.fill('#sp-dst', B);
  await a.click('#sp-call');
  await b.waitForSelector('#sp-incoming .incoming', { timeout: 10000 });
  await b.click('.sp-reject');
  await b.waitForSelector('#sp-recent li[data-reason="rejectedByMe"]');
  // A learns it from its own call message turning 2 (polling).
  await a.waitForSelector('#sp-recent li[data-reason="rejected"]', { timeout: 10000 });
  assert.match(await a.textContent('#sp-recent'), /对方拒接/);
  const rec = await recordOf(A);
  const codes = rec.event.map((e) => `${e.uid}:${e.code}`).sort();
  assert.deepEqual(codes, [`${A}:1002`, `${B}:1003`].sort());
  await a.close();
  await b.close();
});

test('calling the robot: talking at once, its audio plays, hang up in English', async () => {
  const A = freshUid('r');
  const { p: a, errors } = await page();
  await online(a, A);
  await a.click('#lang-toggle');
  await a.click('#sp-call-robot');
  await a.waitForSelector('#sp-call-panel[data-state="talking"]', { timeout: 10000 });
  assert.match(await a.textContent('#sp-with'), /Robot/);
  // The loopback plays the robot's WAV from the sandbox.
  await a.waitForFunction(() => {
    const el = document.querySelector('#sp-robot-audio');
    return el && el.currentTime > 0.2;
  }, null, { timeout: 10000 });
  await a.screenshot({ path: `${ART}/softphone-robot.png` });
  await a.click('#sp-hangup');
  await a.waitForSelector('#sp-recent li[data-reason="hangup"]');
  assert.match(await a.textContent('#sp-recent'), /You hung up/);
  assert.equal(await a.locator('#sp-robot-audio').count(), 0, 'audio removed after leaving');
  const rec = await recordOf(A);
  assert.deepEqual(rec.event.filter((e) => e.uid === A).map((e) => e.code), [1, 2]);
  assert.deepEqual(errors, []);
  await a.close();
});

test('refused input is explained and nothing is sent; a double click places one call', async () => {
  const A = freshUid('x');
  const B = freshUid('y');
  const { p: a } = await page();
  await online(a, A);
  const before = (await sandbox('/sandbox/dapi/calls')).length;
  // Uids are the site's (UUIDs, e-mails): an absurd length is what is refused.
  await a.fill('#sp-dst', 'x'.repeat(257));
  await a.click('#sp-call');
  await a.waitForSelector('#sp-error[data-code="invalid_input"]');
  assert.match(await a.textContent('#sp-error'), /dstUids/);
  await a.fill('#sp-dst', A);
  await a.click('#sp-call');
  await a.waitForFunction(() => /dstUids/.test(document.querySelector('#sp-error')?.textContent ?? ''));
  assert.equal((await sandbox('/sandbox/dapi/calls')).length, before, 'nothing was sent');
  await a.fill('#sp-dst', B);
  await a.dblclick('#sp-call');
  await a.waitForSelector('#sp-call-panel[data-state="ringing"]');
  await a.waitForTimeout(500);
  const mine = (await sandbox('/sandbox/dapi/calls')).filter((c) => c.src_uid === A);
  assert.equal(mine.length, 1, 'one call for a double click');
  await a.click('#sp-hangup');
  await a.waitForSelector('#sp-recent li[data-reason="cancelled"]');
  await a.close();
});

test('scheduled calls: refused time, add, edit, paging; upload two files with progress and get them back', async () => {
  const A = freshUid('t');
  const { p: a, errors } = await page();
  await online(a, A);
  await a.click('#tab-tasks');
  await a.waitForSelector('#tasks-empty');
  // A bad time never reaches the server.
  await a.fill('#task-dst', '2001, 2002');
  await a.fill('#task-taskid', 'T-1');
  await a.click('#task-save');
  await a.waitForSelector('#task-error[data-code="invalid_input"]');
  assert.match(await a.textContent('#task-error'), /callTime/);
  for (let i = 1; i <= 11; i++) {
    await a.fill('#task-dst', i === 1 ? '2001, 2002' : `20${10 + i}`);
    await a.fill('#task-time', `2099-01-${String(i).padStart(2, '0')}T08:30:15`);
    await a.fill('#task-taskid', `T-${i}`);
    await a.click('#task-save');
    await a.waitForSelector(`#task-notice:has-text("#")`);
    await a.waitForFunction((n) => document.querySelector('#tasks-total')?.dataset.total === String(n), i);
  }
  assert.equal(await a.getAttribute('#tasks-page', 'data-pages'), '2');
  assert.equal(await a.locator('#tasks-table tr[data-task-id]').count(), 10);
  const first = a.locator('#tasks-table tr[data-task-id]').first();
  assert.match(await first.textContent(), /2099-01-01 08:30:15/);
  assert.match(await first.textContent(), /2001/);
  // Edit the first row: the form fills, the save updates in place.
  await first.locator('.task-edit').click();
  assert.equal(await a.inputValue('#task-time'), '2099-01-01T08:30:15');
  await a.fill('#task-dst', '2999');
  await a.click('#task-save');
  await a.waitForFunction(() => /2999/.test(document.querySelector('#tasks-table tr[data-task-id]')?.textContent ?? ''));
  assert.equal(await a.getAttribute('#tasks-total', 'data-total'), '11');
  await a.click('#tasks-next');
  await a.waitForFunction(() => document.querySelector('#tasks-page')?.dataset.page === '2');
  assert.equal(await a.locator('#tasks-table tr[data-task-id]').count(), 1);
  await a.screenshot({ path: `${ART}/scheduled-calls.png` });
  const tasks = (await sandbox('/sandbox/state')).dapi;
  assert.ok(tasks, 'the sandbox state has dapi');

  await a.click('#tab-phone');
  await a.setInputFiles('#upload-files', [
    { name: 'note.txt', mimeType: 'text/plain', buffer: Buffer.from('你好, agent-console') },
    { name: 'tone.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(300000, 7) },
  ]);
  await a.waitForSelector('#upload-chosen[data-count="2"]');
  await a.click('#upload-start');
  await a.waitForFunction(() => document.querySelectorAll('#upload-urls li').length === 2);
  assert.equal(await a.getAttribute('#upload-percent', 'data-percent'), '100');
  const urls = await a.$$eval('#upload-urls a', (els) => els.map((e) => e.href));
  assert.match(urls[0], /\/media\/general_upload\/[0-9a-f]{32}\.txt$/);
  assert.equal(await (await fetch(urls[0])).text(), '你好, agent-console');
  assert.equal((await (await fetch(urls[1])).arrayBuffer()).byteLength, 300000);
  await a.screenshot({ path: `${ART}/upload.png` });
  assert.deepEqual(errors, []);
  await a.close();
});
