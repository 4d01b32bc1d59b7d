// The embeddable package (`make pkg`) loaded with a plain ES-module import
// by www/embed.html, against the sandbox. PKG_URL: a sandbox serving the
// repository root (`--www .`), so /pkg/ and /www/ are both reachable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch } from './chromium.mjs';

const URL = process.env.PKG_URL;
let browser;

before(async () => {
  browser = await launch();
});
after(async () => { await browser?.close(); });

test('pkg/ has the ES module, the wasm and TypeScript types without Yew', () => {
  const dts = readFileSync('pkg/agent_console.d.ts', 'utf8');
  assert.match(dts, /export class PbxClient/);
  assert.match(dts, /dial\(req: DialRequest\): Promise<DialResult>/);
  assert.match(dts, /endpointStatus\(req: EndpointStatusRequest\): Promise<EndpointStatusPage>/);
  assert.match(dts, /export interface AgentConsoleError extends Error/);
  const js = readFileSync('pkg/agent_console.js', 'utf8');
  assert.match(js, /export \{[^}]*__wbg_init as default[^}]*\}/, "a default init export");
  assert.doesNotMatch(js, /yew/i, 'no Yew inside the package');
});

test('www/embed.html imports the package and drives the sandbox', { skip: !URL }, async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${URL}/www/embed.html`);
  await page.waitForFunction(() => document.querySelector('#out')?.textContent.includes('"ready"'));
  await page.click('#dial');
  await page.waitForFunction(() => /hwd-\d+\.\d+/.test(document.querySelector('#out').textContent));
  const second = await page.evaluate(() => window.pbx.dial({ extension: '8001', dest: '8002' }).catch((e) => ({ code: e.code, isError: e instanceof Error })));
  assert.deepEqual(second, { code: '600001', isError: true }, 'busy extension: vendor code 600001');
  await page.click('#hangup');
  const again = await page.evaluate(() => window.pbx.hangup({ extension: '8001' }).catch((e) => e.code));
  assert.equal(again, '600002');
  const refused = await page.evaluate(() => window.pbx.dial({ extension: '8001', dest: 'javascript:alert(1)' }).catch((e) => [e.code, e.field]));
  assert.deepEqual(refused, ['invalid_input', 'dest']);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the package keeps its timer worker under the strict CSP (served with `--www .`)', { skip: !URL }, async () => {
  const r = await fetch(`${URL}/www/embed.html`);
  assert.match(r.headers.get('content-security-policy') ?? '', /worker-src 'self'/, 'served strictly');
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${URL}/www/embed.html`);
  await page.waitForFunction(() => document.querySelector('#out')?.textContent.includes('"ready"'));
  // A Softphone (not started: no requests) builds its timer at once; the worker
  // is pkg/snippets/…/timer_worker.js, since a Blob worker is refused here.
  await page.evaluate(async () => {
    const { DapiClient, Softphone } = await import('/pkg/agent_console.js');
    const dapi = new DapiClient({ baseUrl: '/', uid: 'csp-timer' });
    window.phone = new Softphone(dapi, { join: async () => {}, leave: async () => {} });
  });
  await page.waitForFunction(() => window.phone.timerInWorker, null, { timeout: 5000 });
  assert.deepEqual(errors, []);
  await page.close();
});

