#!/usr/bin/env bash
# Builds the embeddable package into pkg/: ES module agent_console.js, its
# .d.ts and the wasm (no Yew inside), optimised with wasm-opt -Oz.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
scripts/setup.sh pkg
T=${CARGO_TARGET_DIR:-target}
cargo build --release --lib --target wasm32-unknown-unknown --features browser
rm -rf pkg
wasm-bindgen --target web --out-dir pkg --out-name agent_console "$T/wasm32-unknown-unknown/release/agent_console.wasm"
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  pkg/agent_console_bg.wasm -o pkg/agent_console_bg.wasm
ls -l pkg
