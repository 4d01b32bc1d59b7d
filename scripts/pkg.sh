#!/usr/bin/env bash
# Builds the embeddable package into pkg/: ES module agent_console.js, its
# .d.ts and the wasm (no Yew inside), optimised with wasm-opt -Oz.
# PKG_FEATURES picks the backends (default `browser`, all four; for one:
# `PKG_FEATURES=js,pbx`), PKG_OUT the folder (default pkg).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
scripts/setup.sh pkg
T=${CARGO_TARGET_DIR:-target}
FEATURES=${PKG_FEATURES:-browser}
OUT=${PKG_OUT:-pkg}
cargo build --release --lib --target wasm32-unknown-unknown --features "$FEATURES"
rm -rf "$OUT"
wasm-bindgen --target web --out-dir "$OUT" --out-name agent_console "$T/wasm32-unknown-unknown/release/agent_console.wasm"
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  "$OUT/agent_console_bg.wasm" -o "$OUT/agent_console_bg.wasm"
ls -l "$OUT"
