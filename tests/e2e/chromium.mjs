// Debian's Chromium through playwright-core (downloading a browser fails
// here). The background-networking flags keep it off the closed network.
//
// Every page opened through `launch()` records Content-Security-Policy
// violations (the sandbox serves the console with a strict CSP), and under
// `node --test` every test fails if one occurred while it ran.
import { chromium } from 'playwright-core';
import { afterEach } from 'node:test';

/** Violation reports not yet checked: { directive, blocked, sample, source, url } (`console`: a log line). */
const violations = [];
const pages = new Set();

// Runs in the page before any of its scripts (CDP, so the CSP does not apply to it).
function detector() {
  window.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolation?.({
      directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample,
      source: e.sourceFile ? `${e.sourceFile}:${e.lineNumber}` : '', url: location.href,
    });
  }, true);
}

async function guard(target) {
  await target.exposeBinding('__cspViolation', (_source, v) => violations.push(v));
  await target.addInitScript(detector);
  // Chromium also logs violations a worker or the parser met before any listener.
  target.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/.test(m.text())) {
      violations.push({ directive: 'console', blocked: '', sample: m.text().slice(0, 300), source: '', url: '' });
    }
  });
}

export async function launch() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // `browser.newPage()` opens its page in a fresh `browser.newContext()`: this one.
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => {
    const context = await newContext(options);
    await guard(context);
    context.on('page', (page) => { pages.add(page); page.on('close', () => pages.delete(page)); });
    return context;
  };
  return browser;
}

/** The violations recorded so far (after a round trip to every open page). */
export async function cspViolations() {
  // The event is a queued task: let it run, then the binding call made in
  // it arrives before this evaluate's answer.
  await Promise.all([...pages].map((p) => p.evaluate(() => new Promise((r) => setTimeout(r, 50))).catch(() => {})));
  return [...violations];
}

/** Forgets the recorded violations (the detector's own test makes some on purpose). */
export function clearCspViolations() {
  violations.length = 0;
}

// Only under the test runner: the benchmarks import this file too.
if (process.env.NODE_TEST_CONTEXT || process.execArgv.includes('--test')) {
  afterEach(async () => {
    const seen = await cspViolations();
    clearCspViolations();
    if (seen.length) {
      // One violation usually gives two reports: the event and Chromium's console line.
      throw new Error(`Content-Security-Policy violated (${seen.length} reports): ${JSON.stringify(seen, null, 1)}`);
    }
  });
}
