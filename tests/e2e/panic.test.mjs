// No silent death: a panic in the console's wasm shows the bilingual
// "console stopped" banner with the panic's words and a reload link, and
// logs it; the reload brings the console back. The panic is forced through
// the test-only export `__test_force_panic` of the console's wasm module
// (crates/console/src/fatal.rs), taken from the loader's `TrunkApplicationStarted` event.
// CONSOLE_URL: a sandbox serving the trunk-built console (`--www dist`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './chromium.mjs';

const URL = process.env.CONSOLE_URL ?? 'http://127.0.0.1:8081';
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// Runs before the page's scripts: keeps the wasm module's exports for the test.
function keepExports() {
  addEventListener('TrunkApplicationStarted', (e) => { window.__consoleWasm = e.detail?.wasm; });
}

test('a panic shows the "console stopped" banner with its message; reload brings the console back', async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  const logged = [];
  page.on('console', (m) => { if (m.type() === 'error') logged.push(m.text()); });
  await page.addInitScript(keepExports);
  await page.goto(URL);
  await page.waitForFunction(() => document.querySelector('#username')?.value === 'api');
  assert.equal(await page.locator('#console-stopped').count(), 0, 'no banner while the console runs');

  const thrown = await page.evaluate(() => {
    const force = window.__consoleWasm?.__test_force_panic;
    if (typeof force !== 'function') return 'no export';
    try { force(); return 'returned'; } catch (e) { return `threw ${e?.name}`; }
  });
  // The instance aborts: the call throws (a wasm trap), it does not return.
  assert.match(thrown, /^threw /, thrown);

  const banner = page.locator('#console-stopped');
  await banner.waitFor({ state: 'visible', timeout: 5000 });
  assert.equal(await banner.getAttribute('role'), 'alert');
  assert.equal(await page.textContent('#console-stopped .console-stopped-title'),
    '控制台已停止，请重新加载 / The console stopped; reload the page');
  const detail = await page.textContent('#console-stopped .console-stopped-detail');
  assert.match(detail, /forced panic for the click-through test/, detail);
  assert.match(detail, /fatal\.rs/, 'the panic says where it happened');
  // Text, not markup: the detail has no element children.
  assert.equal(await page.locator('#console-stopped .console-stopped-detail *').count(), 0);
  // Styled by the stylesheet (fixed over the page), not by a style attribute.
  assert.equal(await banner.getAttribute('style'), null);
  assert.equal(await banner.evaluate((el) => getComputedStyle(el).position), 'fixed');
  assert.ok(logged.some((l) => /console stopped/.test(l) && /forced panic/.test(l)),
    `console.error has the message: ${JSON.stringify(logged)}`);

  // A second panic does not stack another banner.
  await page.evaluate(() => { try { window.__consoleWasm.__test_force_panic(); } catch { /* aborts again */ } });
  assert.equal(await page.locator('#console-stopped').count(), 1);

  // The reload link needs no wasm: the page loads again, the console runs.
  await Promise.all([page.waitForNavigation(), page.click('#console-stopped-reload')]);
  await page.waitForFunction(() => document.querySelector('#username')?.value === 'api');
  assert.equal(await page.locator('#console-stopped').count(), 0, 'a fresh console, no banner');
  await page.close();
});
