#!/usr/bin/env bash
# Size report: the release wasm of the embeddable package (feature browser)
# and of the console (feature ui): raw wasm-bindgen output, after
# wasm-opt -Oz, and gzip -9 / brotli (max quality) of the optimised file.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
scripts/setup.sh pkg >/dev/null
T=${CARGO_TARGET_DIR:-target}
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
row() { # name, file
  local raw=$1 name=$2
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals "$raw" -o "$OUT/$name.opt.wasm"
  node -e '
    const fs = require("fs"), zlib = require("zlib");
    const [raw, opt, name] = process.argv.slice(1);
    const o = fs.readFileSync(opt);
    const gz = zlib.gzipSync(o, { level: 9 }).length;
    const br = zlib.brotliCompressSync(o, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    const kb = (n) => (n / 1024).toFixed(1).padStart(8) + " KB";
    console.log(name.padEnd(10) + kb(fs.statSync(raw).size) + kb(o.length) + kb(gz) + kb(br));
  ' "$raw" "$OUT/$name.opt.wasm" "$name"
}
for feat in browser ui; do
  cargo build --release --lib --target wasm32-unknown-unknown --features "$feat" >&2
  wasm-bindgen --target web --out-dir "$OUT/$feat" --out-name agent_console "$T/wasm32-unknown-unknown/release/agent_console.wasm"
done
echo
echo "size report (release, opt-level z, lto)"
printf '%-10s%11s%11s%11s%11s\n' build raw wasm-opt gzip brotli
row "$OUT/browser/agent_console_bg.wasm" pkg
row "$OUT/ui/agent_console_bg.wasm" console
