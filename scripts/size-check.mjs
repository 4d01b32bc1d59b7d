// Size check (like size-limit): brotli (quality 11) of what a browser loads,
// against the budgets and ceilings in scripts/size-budgets.json.
//   node scripts/size-check.mjs [dist] [pkg] [one-backend pkg dir …]
// - console first load: every .wasm, .js and .css trunk put in dist/ (the
//   page's own HTML aside, a few hundred bytes)
// - package: pkg/agent_console_bg.wasm + pkg/agent_console.js (+ its worker)
// - one backend: the same files of a package built with `--features js,<backend>`
//   (folders named `…-<backend>`, from `make size`)
// A figure over its budget is reported; over its ceiling (the size reached so
// far: a regression) the check fails. A budget is the goal of issue 15; the
// ceiling comes down as the code does, and rises only with a feature an issue
// asks for, by its measured size (README, "Size").
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const [dist = 'dist', pkg = 'pkg', ...backends] = process.argv.slice(2);
const limits = JSON.parse(fs.readFileSync(new URL('./size-budgets.json', import.meta.url)));
const brotli = (f) => zlib.brotliCompressSync(fs.readFileSync(f), {
  params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 },
}).length;
const files = (dir, keep) => {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p); else if (keep(p)) out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
};

const pkgFiles = (dir) => files(dir, (p) => /(agent_console_bg\.wasm|agent_console\.js|timer_worker\.js)$/.test(p));
const builds = {
  console: { list: files(dist, (p) => /\.(wasm|js|css)$/.test(p)), limit: limits.console, dir: dist },
  package: { list: pkgFiles(pkg), limit: limits.package, dir: pkg },
};
for (const dir of backends) {
  const name = path.basename(dir).replace(/^.*-/, '');
  builds[`${name} only`] = { list: pkgFiles(dir), limit: limits.backend?.[name], dir };
}
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
let failed = false;
console.log('size check (brotli 11)');
console.log(`${'build'.padEnd(14)}${'size'.padStart(11)}${'budget'.padStart(11)}${'ceiling'.padStart(11)}  verdict`);
for (const [name, { list, limit, dir }] of Object.entries(builds)) {
  if (!limit) {
    console.log(`${name.padEnd(14)}  no budget in size-budgets.json`);
    failed = true;
    continue;
  }
  if (list.length === 0) {
    console.log(`${name.padEnd(14)}  not built (no files in ${dir})`);
    failed = true;
    continue;
  }
  const size = list.reduce((a, f) => a + brotli(f), 0);
  const over = size > limit.ceiling_kb * 1024;
  const verdict = over ? 'FAIL: over the ceiling (a regression)'
    : size <= limit.budget_kb * 1024 ? 'within budget' : `over budget by ${kb(size - limit.budget_kb * 1024)}`;
  failed ||= over;
  console.log(`${name.padEnd(14)}${kb(size).padStart(11)}${`${limit.budget_kb} KB`.padStart(11)}${`${limit.ceiling_kb} KB`.padStart(11)}  ${verdict}`);
  for (const f of list) console.log(`${''.padEnd(14)}${kb(brotli(f)).padStart(11)}  ${path.relative('.', f)}`);
}
process.exit(failed ? 1 : 0);
