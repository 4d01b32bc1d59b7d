// Not a test file of its own (no .test.mjs): csp.test.mjs runs it under
// `node --test` to prove that a violation nobody clears fails the test.
import { test, after } from 'node:test';
import { launch } from './chromium.mjs';

const URL = process.env.CONSOLE_URL ?? 'http://127.0.0.1:8081';
let browser;
after(async () => { await browser?.close(); });

test('makes an inline-style violation and leaves it', async () => {
  browser = await launch();
  const page = await browser.newPage();
  await page.goto(`${URL}/`);
  await page.waitForSelector('#username');
  // Left open: the shared afterEach hook reads its violations.
  await page.evaluate(() => document.body.setAttribute('style', 'color: red'));
});
