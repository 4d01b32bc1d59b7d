// Click-through of the console in Debian's Chromium (playwright-core):
// sign in → dial 8002 → see the call → hang up → see the extension idle.
// CONSOLE_URL: a sandbox serving the trunk-built console (`--www dist`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './chromium.mjs';

const URL = process.env.CONSOLE_URL ?? 'http://127.0.0.1:8081';
const ART = process.env.ARTIFACTS ?? 'test-artifacts';
let browser;

before(async () => {
  browser = await launch();
});
after(async () => { await browser?.close(); });

async function sandboxState() {
  const r = await fetch(`${URL}/sandbox/state`);
  return r.json();
}

async function openConsole() {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(URL);
  // The sign-in form is pre-filled from config.json with the sandbox's demo account.
  await page.waitForFunction(() => document.querySelector('#username')?.value === 'api');
  return { page, errors };
}

async function signIn(page) {
  await page.click('#signin-submit');
  await page.waitForSelector('#agent-extension');
  assert.equal(await page.textContent('#agent-extension'), '8001');
}

const rowState = (page, ext) => page.locator(`#endpoints tr[data-endpoint="${ext}"] .state`);

test('sign in, dial 8002, see the call, hang up, see 8001 idle again', async () => {
  const { page, errors } = await openConsole();
  assert.equal(await page.inputValue('#baseUrl'), '/dscom-api/public');
  await signIn(page);
  await rowState(page, '8001').filter({ hasText: '空闲' }).waitFor();

  const callsBefore = (await sandboxState()).pbx.cdr.length;
  await page.fill('#dial-number', '8002');
  // A double click makes one call: the button is disabled while in flight.
  await page.dblclick('#call');
  await page.waitForSelector('#current-call[data-active="true"]');
  assert.equal(await page.textContent('#call-dest'), '8002');
  assert.match(await page.textContent('#call-uniqueid'), /^hwd-\d+\.\d+$/);
  const live = (await sandboxState()).pbx.calls;
  assert.equal(live.length, 1, `exactly one call placed, got ${JSON.stringify(live)}`);

  // The status panel sees both ends busy; the call timer runs.
  await rowState(page, '8001').filter({ hasText: '忙线中' }).waitFor();
  await rowState(page, '8002').filter({ hasText: '忙线中' }).waitFor();
  await page.waitForFunction(() => document.querySelector('#call-timer')?.textContent !== '0:00', null, { timeout: 5000 });
  await page.waitForSelector('#call-phase:has-text("进行中")');
  await page.screenshot({ path: `${ART}/console-in-call.png`, fullPage: true });

  await page.click('#hangup');
  await page.waitForSelector('#current-call[data-active="false"]');
  await rowState(page, '8001').filter({ hasText: '空闲' }).waitFor();
  await rowState(page, '8002').filter({ hasText: '空闲' }).waitFor();
  const after = await sandboxState();
  assert.equal(after.pbx.calls.length, 0);
  assert.equal(after.pbx.cdr.length, callsBefore + 1, 'the hang-up wrote one CDR row');
  await page.screenshot({ path: `${ART}/console-after-hangup.png`, fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a bad number is refused with a message and no request; English by the switch', async () => {
  const { page } = await openConsole();
  await signIn(page);
  await page.fill('#dial-number', '80a2');
  await page.click('#call');
  await page.waitForSelector('#notice.error');
  assert.match(await page.textContent('#notice'), /不是有效的号码/);
  assert.equal((await sandboxState()).pbx.calls.length, 0);
  assert.equal(await page.getAttribute('#current-call', 'data-active'), 'false');

  await page.click('#lang-toggle');
  assert.match(await page.textContent('#notice'), /is not a phone number/);
  assert.equal((await page.textContent('#call')).trim(), 'Call');
  await page.screenshot({ path: `${ART}/console-refused-en.png`, fullPage: true });
  await page.close();
});

test('a wrong password shows the server\'s refusal and stays on the form', async () => {
  const { page } = await openConsole();
  await page.fill('#password', 'wrong');
  await page.click('#signin-submit');
  await page.waitForSelector('#notice.error');
  assert.match(await page.textContent('#notice'), /HTTP 400/);
  assert.equal(await page.isVisible('#signin'), true);
  assert.equal(await page.isEnabled('#signin-submit'), true);
  await page.close();
});

test('the far end hanging up ends the call in the console', async () => {
  const { page } = await openConsole();
  await signIn(page);
  await page.fill('#dial-number', '8003');
  await page.click('#call');
  await rowState(page, '8001').filter({ hasText: '忙线中' }).waitFor();
  await page.waitForSelector('#call-phase:has-text("进行中")');
  // Hang up from the other side, outside the console.
  const login = await fetch(`${URL}/dscom-api/public/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'password', client_id: 4, client_secret: '0ruQRB2r0RtkGdRuVCoiIltF8MjESwghKP8xEwcr', username: 'api', password: '123456', scope: '*' }),
  }).then((r) => r.json());
  const r = await fetch(`${URL}/dscom-api/public/api/v1/call/hangup`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${login.access_token}` },
    body: JSON.stringify({ extension: '8003' }),
  }).then((r) => r.json());
  assert.equal(r.code, '200');
  await page.waitForSelector('#current-call[data-active="false"]');
  await page.waitForSelector('#notice.info');
  await page.close();
});

test('signing out stops the status panel\'s timer', async () => {
  const { page } = await openConsole();
  let polls = 0;
  page.on('request', (r) => { if (r.url().includes('/status/endpoint')) polls += 1; });
  await signIn(page);
  await page.waitForRequest((r) => r.url().includes('/status/endpoint'));
  await page.waitForRequest((r) => r.url().includes('/status/endpoint'));
  assert.ok(polls >= 2, 'the panel refreshes on a timer');
  await page.click('#signout');
  await page.waitForSelector('#signin');
  const atSignOut = polls;
  await page.waitForTimeout(4500); // more than two refresh periods
  assert.equal(polls, atSignOut, 'no status request after the panel went away');
  await page.close();
});

test('credentials refused mid-shift: back to the sign-in form with the reason, no login storm', async () => {
  const account = (body) => fetch(`${URL}/sandbox/pbx/account`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  }).then((r) => r.json());
  const { page } = await openConsole();
  try {
    await signIn(page);
    await rowState(page, '8001').filter({ hasText: '空闲' }).waitFor();
    // The admin changes the API user's password and revokes its tokens; a strict site
    // also locks the account after 5 refusals.
    const before = await account({ reset: true, password: 'changed-by-admin', lockoutAfter: 5, revokeTokens: true });
    assert.equal(before.passwordGrants, 0);
    await page.waitForSelector('#signin', { timeout: 15000 });
    await page.waitForSelector('#notice.error');
    assert.match(await page.textContent('#notice'), /登录凭据被服务器拒绝/);
    // The pollers have stopped: over 10 s, at most the one refused password grant.
    await page.waitForTimeout(10000);
    const after = await account({});
    assert.ok(after.passwordGrants <= 1, `password grants after the refusal: ${after.passwordGrants}`);
    assert.equal(after.locked, false, 'the console did not lock the account');
    await page.screenshot({ path: `${ART}/console-credentials-rejected.png`, fullPage: true });
  } finally {
    await account({ reset: true, password: '123456', lockoutAfter: 0 });
    await page.close();
  }
});
