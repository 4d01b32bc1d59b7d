// Click-through of the click-to-call and call-records pages in Debian's
// Chromium (playwright-core) against the sandbox serving the console.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './chromium.mjs';

const URL = process.env.CONSOLE_URL ?? 'http://127.0.0.1:8081';
const ART = process.env.ARTIFACTS ?? 'test-artifacts';
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const sandboxState = async () => (await fetch(`${URL}/sandbox/state`)).json();
const callbackCalls = async () => (await sandboxState()).callback.calls.length;

async function openTab(tab) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(URL);
  await page.waitForFunction(() => document.querySelector('#username')?.value === 'api');
  await page.click('#signin-submit');
  await page.waitForSelector('#agent-extension');
  await page.click(`#tab-${tab}`);
  return { page, errors };
}

test('click to call: signed by the signer URL, both legs, end, reason in words, recording plays', async () => {
  const { page, errors } = await openTab('callback');
  // The safe way is the default: a signer URL, no secret field at all.
  await page.waitForFunction(() => document.querySelector('#cb-app-id')?.value === '1696054309969104898');
  assert.equal(await page.isChecked('#cb-mode-signer'), true);
  assert.equal(await page.locator('#cb-secret').count(), 0);
  assert.equal(await page.inputValue('#cb-caller'), '13800138000');

  const before = await callbackCalls();
  await page.fill('#cb-callee', '139 1234 5678');
  await page.dblclick('#cb-call-btn');
  await page.waitForSelector('#cb-call');
  await page.waitForSelector('#cb-call[data-phase="talking"]', { timeout: 15000 });
  assert.equal(await callbackCalls(), before + 1, 'a double click places one call');
  assert.match(await page.textContent('#cb-progress'), /通话中/);
  await page.screenshot({ path: `${ART}/callback-talking.png` });

  await page.click('#cb-end');
  await page.waitForSelector('#cb-call[data-phase="ended"]', { timeout: 15000 });
  assert.equal(await page.getAttribute('#cb-reason', 'data-reason'), 'HangUp');
  assert.match(await page.textContent('#cb-reason'), /正常挂机/);

  await page.click('#cb-play');
  await page.waitForSelector('#cb-audio');
  const audio = await page.evaluate(() => new Promise((resolve) => {
    const a = document.querySelector('#cb-audio');
    const done = () => resolve({ duration: a.duration, src: a.currentSrc, error: a.error?.code ?? null });
    if (a.readyState >= 1) done(); else { a.addEventListener('loadedmetadata', done); a.addEventListener('error', done); }
  }));
  assert.equal(audio.error, null, 'the WAV loads');
  assert.ok(audio.duration > 0.5, `a real recording: ${audio.duration}s`);
  assert.match(audio.src, /\/sandbox\/callback\/recordings\//);
  await page.screenshot({ path: `${ART}/callback-ended.png` });
  assert.deepEqual(errors, []);
  await page.close();
});

test('click to call: a busy customer ends with the reason; a bad number never leaves the page', async () => {
  const { page } = await openTab('callback');
  await page.waitForFunction(() => document.querySelector('#cb-app-id')?.value !== '');
  await page.click('#lang-toggle');
  const before = await callbackCalls();
  await page.fill('#cb-callee', '12');
  await page.click('#cb-call-btn');
  await page.waitForSelector('#cb-error[data-code="invalid_input"]');
  assert.match(await page.textContent('#cb-error'), /callee/);
  assert.equal(await callbackCalls(), before, 'nothing placed');

  await page.fill('#cb-callee', '13900000001');
  await page.click('#cb-call-btn');
  await page.waitForSelector('#cb-call[data-phase="ended"]', { timeout: 15000 });
  assert.equal(await page.getAttribute('#cb-reason', 'data-reason'), 'CalleeBusy');
  assert.match(await page.textContent('#cb-reason'), /customer was busy/);
  assert.equal(await page.locator('#cb-play').count(), 0, 'no recording to play');
  await page.close();
});

test('click to call: a secret typed in stays in memory, never in browser storage', async () => {
  const { page } = await openTab('callback');
  await page.waitForFunction(() => document.querySelector('#cb-app-id')?.value !== '');
  await page.check('#cb-mode-secret');
  await page.fill('#cb-secret', 'sandbox-demo-app-secret-7c4a8d09');
  await page.fill('#cb-callee', '13912345678');
  await page.click('#cb-call-btn');
  await page.waitForSelector('#cb-call[data-phase="talking"]', { timeout: 15000 });
  await page.click('#cb-end');
  await page.waitForSelector('#cb-call[data-phase="ended"]', { timeout: 15000 });
  const stored = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie]));
  assert.ok(!stored.includes('sandbox-demo-app-secret'), stored);
  assert.equal(stored, '[{},{},""]');
  // A wrong secret is refused by the server's verifier, in words.
  await page.fill('#cb-secret', 'wrong-secret');
  await page.fill('#cb-callee', '13912345678');
  await page.click('#cb-call-btn');
  await page.waitForSelector('#cb-error[data-code="401"]');
  await page.close();
});

test('call records: search, page, sync new records once, then only what is new', async () => {
  const { page, errors } = await openTab('records');
  await page.click('#cdr-search');
  await page.waitForSelector('#cdr-table tbody tr');
  const total = Number(await page.getAttribute('#cdr-total', 'data-total'));
  assert.ok(total > 50, `two days of history: ${total}`);
  assert.equal(await page.locator('#cdr-table tbody tr').count(), 50);
  const firstId = await page.getAttribute('#cdr-table tbody tr >> nth=0', 'data-bill');
  await page.click('#cdr-next');
  await page.waitForFunction((id) => document.querySelector('#cdr-table tbody tr')?.dataset.bill !== id, firstId);
  assert.match(await page.textContent('#cdr-total'), /第 2 \//);

  await page.click('#cdr-sync');
  await page.waitForSelector('#cdr-sync-result');
  const first = Number(await page.getAttribute('#cdr-sync-result', 'data-count'));
  assert.ok(first >= total, `the first sync brings every unsynced record: ${first} of ${total}`);
  await page.screenshot({ path: `${ART}/records-synced.png` });
  await page.click('#cdr-sync');
  // Only what arrived since: the sandbox writes a record every 30 s, so at most one.
  await page.waitForFunction((n) => document.querySelector('#cdr-sync-result')?.dataset.count !== String(n), first);
  assert.ok(Number(await page.getAttribute('#cdr-sync-result', 'data-count')) <= 1);

  // Two minutes later on the sandbox clock, new records have arrived.
  await fetch(`${URL}/sandbox/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"advance_secs":120}' });
  await page.click('#cdr-sync');
  await page.waitForFunction(() => Number(document.querySelector('#cdr-sync-result')?.dataset.count) > 0);
  // A bad filter is refused in words before any request.
  await page.fill('#cdr-per-page', '5000');
  await page.click('#cdr-search');
  await page.waitForSelector('#cdr-error[data-code="invalid_input"]');
  assert.match(await page.textContent('#cdr-error'), /itemsperpage/);
  assert.deepEqual(errors, []);
  await page.close();
});
