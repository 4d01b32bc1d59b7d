// The console behind the gateway, in Debian's Chromium: the agent's own
// sign-in, pages by role, the PBX and click-to-call through the gateway
// (status from its event stream), sign-out, and no configured secret in any
// body the browser received.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch } from '../chromium.mjs';

const GW = process.env.GATEWAY_URL;
const SANDBOX = process.env.SANDBOX_URL;
const ART = process.env.ARTIFACTS ?? 'test-artifacts';
const CONFIG = readFileSync(process.env.GATEWAY_CONFIG ?? 'gateway/gateway.example.toml', 'utf8');
// Every secret the gateway's config holds: none may reach a browser.
const SECRETS = ['client_secret', 'password', 'app_secret', 'token', 'password_hash']
  .flatMap((k) => [...CONFIG.matchAll(new RegExp(`^${k}\\s*=\\s*"([^"]+)"`, 'gm'))].map((m) => m[1]));
let browser;

before(async () => {
  assert.ok(GW && SANDBOX, 'GATEWAY_URL and SANDBOX_URL are set');
  assert.ok(SECRETS.length >= 5, `secrets read from the config: ${SECRETS.length}`);
  browser = await launch();
  // The sandbox's callback platform reports call status to the gateway's webhook.
  const r = await fetch(`${SANDBOX}/sandbox/callback/settings`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ webhookUrl: `${GW}/hooks/callback` }),
  });
  assert.equal(r.status, 200);
});
after(async () => { await browser?.close(); });

/** A page whose every received body (but the endless event stream) is kept. */
async function openPage() {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const bodies = [];
  const errors = [];
  const streams = [];
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/events') streams.push(r.url()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('response', async (r) => {
    if ((r.headers()['content-type'] ?? '').includes('text/event-stream')) return;
    try { bodies.push({ url: r.url(), text: (await r.body()).toString('latin1'), headers: JSON.stringify(r.headers()) }); } catch { /* navigated away */ }
  });
  await page.goto(GW);
  await page.waitForSelector('#signin[data-mode="gateway"]');
  return { context, page, bodies, errors, streams };
}

async function signIn(page, login, password) {
  await page.fill('#login', login);
  await page.fill('#password', password);
  await page.click('#signin-submit');
}

function assertNoSecret(bodies, where) {
  assert.ok(bodies.length > 5, `${where}: bodies seen ${bodies.length}`);
  for (const b of bodies) {
    const code = /\.(wasm|js)$/.test(new URL(b.url).pathname);
    for (const s of SECRETS) {
      // A short demo password ("123456") is in every Rust binary's digit
      // table: the console's code is checked for the long secrets only.
      if (code && s.length < 12) continue;
      assert.ok(!b.text.includes(s) && !b.headers.includes(s), `${where}: a configured secret in ${b.url}`);
    }
  }
}

test('an agent signs in with the own login, has no Supervisor tab, dials and calls back through the gateway', async () => {
  const { context, page, bodies, errors, streams } = await openPage();
  // Nothing of the PBX account is asked for, and no page shows before the sign-in.
  assert.equal(await page.locator('#clientSecret').count(), 0);
  assert.equal(await page.locator('#tab-desk').count(), 0);
  await signIn(page, 'agent', 'wrong-pass');
  await page.waitForSelector('#notice.error');
  assert.match(await page.textContent('#notice'), /登录名或密码错误/);
  await signIn(page, 'agent', 'agent-pass');
  await page.waitForSelector('#agent-extension');
  assert.equal(await page.textContent('#agent-extension'), '8001');
  assert.equal(await page.locator('#tab-supervisor').count(), 0, 'no Supervisor tab for an agent');
  const cookie = (await context.cookies()).find((c) => c.name === 'agc_session');
  assert.ok(cookie?.httpOnly && cookie.sameSite === 'Strict', 'an HttpOnly, SameSite=Strict session cookie');
  assert.equal(await page.evaluate(() => document.cookie.includes('agc_session')), false);

  // The PBX through the gateway: a call from the agent's own extension.
  await page.fill('#dial-number', '8002');
  await page.dblclick('#call');
  await page.waitForSelector('#current-call[data-active="true"]');
  assert.equal((await (await fetch(`${SANDBOX}/sandbox/state`)).json()).pbx.calls.length, 1, 'one call');
  const uniqueid = (await page.textContent('#call-uniqueid')).trim();
  await page.click('#hangup');
  await page.waitForSelector('#current-call[data-active="false"]');
  // Its CDR comes back on the gateway's one billing socket, through /events.
  await page.click('#tab-cdr');
  await page.waitForSelector(`#billing-rows li[data-uniqueid="${uniqueid}"]`, { timeout: 20000 });
  assert.equal(await page.getAttribute('#billing-list', 'data-state'), 'open');

  // Click to call: the gateway signs; the caller is the agent's number;
  // the end arrives on /events from the platform's webhook.
  await page.click('#tab-callback');
  await page.waitForSelector('#cb-gateway');
  assert.equal(await page.locator('#cb-secret').count(), 0);
  await page.waitForFunction(() => document.querySelector('#cb-caller')?.value === '13800138000');
  await page.fill('#cb-callee', '13912345678');
  await page.dblclick('#cb-call-btn');
  await page.waitForSelector('#cb-call');
  assert.equal((await (await fetch(`${SANDBOX}/sandbox/state`)).json()).callback.calls.length, 1, 'one callback call');
  await page.click('#cb-end');
  await page.waitForSelector('#cb-call[data-phase="ended"]', { timeout: 15000 });
  // Ended before or after the customer answered: the platform's reason, from its webhook.
  assert.match(await page.getAttribute('#cb-reason', 'data-reason'), /^(HangUp|CallerAbandon)$/);
  await page.screenshot({ path: `${ART}/gateway-agent-callback.png`, fullPage: true });

  // SIP call records from the gateway's store: the agent's own extension only;
  // the agent's sync takes each bill once.
  await page.click('#tab-records');
  await page.click('#cdr-search');
  await page.waitForSelector('#cdr-table tbody tr', { timeout: 15000 });
  const exts = await page.$$eval('#cdr-table tbody tr', (rows) => rows.map((r) => r.children[2]?.textContent));
  assert.ok(exts.length > 0 && exts.every((e) => e === '8001'), `only 8001's bills: ${[...new Set(exts)]}`);
  await page.click('#cdr-sync');
  await page.waitForSelector('#cdr-sync-result');
  const synced = Number(await page.getAttribute('#cdr-sync-result', 'data-count'));
  assert.ok(synced > 0, `the first sync brings the agent's bills: ${synced}`);
  await page.click('#cdr-sync');
  await page.waitForFunction((n) => document.querySelector('#cdr-sync-result')?.dataset.count !== String(n), synced);
  assert.ok(Number(await page.getAttribute('#cdr-sync-result', 'data-count')) <= 1, 'then only what is new');

  // Every page shares one event stream (a browser allows six connections a host).
  assert.equal(streams.length, 1, `one /events stream: ${streams}`);

  // A reload keeps the session (the cookie): no form.
  await page.reload();
  await page.waitForSelector('#agent-extension');
  assert.equal(await page.locator('#tab-supervisor').count(), 0);

  // The event stream, replayed from its start, holds no secret either.
  const events = await readEvents(cookie.value);
  assert.match(events, /event: ?callback_status/);
  bodies.push({ url: `${GW}/events`, text: events, headers: '' });
  assertNoSecret(bodies, 'agent');

  // Signing out ends the gateway's session.
  await page.click('#signout');
  await page.waitForSelector('#signin[data-mode="gateway"]');
  const after = await fetch(`${GW}/session`, { headers: { cookie: `agc_session=${cookie.value}` } });
  assert.equal(after.status, 401, 'the old cookie no longer works');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a supervisor has the Supervisor tab', async () => {
  const { context, page, bodies, errors } = await openPage();
  await signIn(page, 'supervisor', 'supervisor-pass');
  await page.waitForSelector('#agent-extension');
  assert.equal(await page.textContent('#agent-extension'), '8002');
  await page.click('#tab-supervisor');
  await page.screenshot({ path: `${ART}/gateway-supervisor.png`, fullPage: true });
  assertNoSecret(bodies, 'supervisor');
  assert.deepEqual(errors, []);
  await context.close();
});

/** `/events?after=0` for a few seconds: every event kept for this agent. */
async function readEvents(session) {
  const ctl = new AbortController();
  const r = await fetch(`${GW}/events?after=0`, { headers: { cookie: `agc_session=${session}` }, signal: ctl.signal });
  assert.equal(r.status, 200);
  let text = '';
  const reader = r.body.getReader();
  const stop = setTimeout(() => ctl.abort(), 1500);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('latin1');
    }
  } catch { /* aborted: enough read */ }
  clearTimeout(stop);
  return text;
}
