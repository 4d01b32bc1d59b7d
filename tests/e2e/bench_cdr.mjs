// CDR-page benchmark (not a test: it prints figures). Seeds BENCH_ROWS
// (default 10 000) historic rows into the sandbox, opens the console's
// PBX call log and measures, in the page (requestAnimationFrame-based):
//   - time from opening the tab to the first rows painted, and until every
//     page (1000 rows each) is loaded;
//   - per scroll step (BENCH_STEPS, default 20, of scrollTop += 2000 px):
//     time until the rows of the new position are in the DOM and painted;
//   - how many rows are in the DOM (the list is virtual).
// Then first paint: the console's sign-in form against a Yew hello-world
// (crates/hello, built the same way, served by HELLO_URL), each loaded
// BENCH_LOADS times (default 7) in a fresh page, and the ratio.
// Run with `make bench-cdr`.
import { launch } from './chromium.mjs';

const URL = process.env.CONSOLE_URL ?? 'http://127.0.0.1:8081';
const HELLO_URL = process.env.HELLO_URL;
const LOADS = Number(process.env.BENCH_LOADS ?? 7);
const ROWS = Number(process.env.BENCH_ROWS ?? 10000);
const STEPS = Number(process.env.BENCH_STEPS ?? 20);
const STEP_PX = 2000;

async function sandbox(path, body) {
  const r = await fetch(`${URL}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
  return r.json();
}

const stats = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `min ${s[0].toFixed(1)} ms, median ${q(0.5).toFixed(1)} ms, p90 ${q(0.9).toFixed(1)} ms, max ${s[s.length - 1].toFixed(1)} ms`;
};

const browser = await launch();
try {
  // Quiet sandbox: no generated calls while measuring.
  await sandbox('/sandbox/pbx/settings', { autoCallers: false, cdrEveryMs: 0 });
  await sandbox('/sandbox/pbx/cdr/bulk', { count: ROWS, days: 7 });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(URL);
  await page.waitForFunction(() => document.querySelector('#username')?.value === 'api');
  await page.click('#signin-submit');
  await page.waitForSelector('#agent-extension');

  // Open the tab (which starts the load) and time the first painted rows.
  const open = await page.evaluate(() => new Promise((resolve) => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    const t0 = performance.now();
    document.querySelector('#tab-cdr').click();
    let first = null;
    (async () => {
      for (;;) {
        await frame();
        const rows = document.querySelectorAll('#cdr-rows .cdr-row').length;
        if (first === null && rows > 0) {
          await frame(); // the frame that shows them
          first = performance.now() - t0;
        }
        const p = document.querySelector('#cdr-progress');
        if (first !== null && p?.dataset.loading === 'false') {
          await frame();
          resolve({ first, all: performance.now() - t0, loaded: Number(p.dataset.loaded), total: Number(p.dataset.total) });
          return;
        }
        if (performance.now() - t0 > 120000) { resolve({ first, all: null }); return; }
      }
    })();
  }));
  console.log(`CDR page: ${open.loaded} of ${open.total} rows loaded (seeded ${ROWS} + the sandbox's own)`);
  console.log(`time to first rows painted after opening the tab: ${open.first?.toFixed(1)} ms`);
  console.log(`time until every page is loaded and painted: ${open.all?.toFixed(1)} ms`);

  // Scroll steps: scrollTop += 2000, until the window's first row matches and a frame has shown it.
  const scroll = await page.evaluate(async ([steps, px]) => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    const vp = document.querySelector('#cdr-rows');
    const rowH = 36, overscan = 8;
    const out = [];
    const dom = [];
    for (let i = 0; i < steps; i++) {
      await frame();
      const t0 = performance.now();
      vp.scrollTop += px;
      const want = Math.max(0, Math.floor(vp.scrollTop / rowH) - overscan);
      for (let k = 0; k < 600; k++) {
        await frame();
        if (Number(vp.dataset.first) === want) break;
      }
      const first = vp.querySelector('.cdr-row');
      await frame();
      out.push(performance.now() - t0);
      dom.push(vp.querySelectorAll('.cdr-row').length);
      if (Number(first?.dataset.index) !== want) out[out.length - 1] = NaN;
    }
    return { times: out, dom, top: vp.scrollTop, count: Number(vp.dataset.count), allNodes: document.getElementsByTagName('*').length };
  }, [STEPS, STEP_PX]);
  const ok = scroll.times.filter((t) => Number.isFinite(t));
  console.log(`scroll: ${STEPS} steps of scrollTop += ${STEP_PX} px (to ${scroll.top} px): per step until painted ${stats(ok)}${ok.length < STEPS ? ` (${STEPS - ok.length} steps never matched)` : ''}`);
  console.log(`DOM: ${Math.min(...scroll.dom)}-${Math.max(...scroll.dom)} row elements for ${scroll.count} rows; ${scroll.allNodes} elements in the whole page`);
  if (errors.length) console.log(`page errors: ${errors.join('; ')}`);
  await page.close();

  // First paint: from navigation start to the frame that shows the first
  // element the app renders (read in the page, on performance's clock).
  const firstPaint = async (url, selector) => {
    const times = [];
    for (let i = 0; i < LOADS; i++) {
      const p = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await p.addInitScript((sel) => {
        window.__painted = new Promise((resolve) => {
          const seen = () => {
            if (!document.querySelector(sel)) return false;
            requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())));
            return true;
          };
          const watch = () => {
            if (seen()) return;
            new MutationObserver((_, o) => { if (seen()) o.disconnect(); })
              .observe(document.documentElement, { childList: true, subtree: true });
          };
          if (document.documentElement) watch(); else addEventListener('DOMContentLoaded', watch);
        });
      }, selector);
      await p.goto(url);
      times.push(await p.evaluate(() => window.__painted));
      await p.close();
    }
    return times;
  };
  if (HELLO_URL) {
    const consoleTimes = await firstPaint(URL, '#username');
    const helloTimes = await firstPaint(HELLO_URL, '#hello');
    const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
    console.log(`first paint, console sign-in form (${LOADS} loads): ${stats(consoleTimes)}`);
    console.log(`first paint, Yew hello-world (${LOADS} loads): ${stats(helloTimes)}`);
    console.log(`first paint ratio console / hello-world (medians): ${(median(consoleTimes) / median(helloTimes)).toFixed(2)}`);
  } else {
    console.log('first paint: HELLO_URL not set (make bench-cdr sets it)');
  }
} finally {
  await browser.close();
}
