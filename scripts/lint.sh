#!/usr/bin/env bash
# The lint gate: rustfmt, and clippy with -D warnings on every crate and target
# (native, the JS package and its wasm tests, the console). Library and server
# code also deny unwrap/expect/panic/indexing and RefCell borrows across an await
# (the attributes at the top of src/lib.rs, crates/*/src/lib.rs and sandbox/src/{lib,main}.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
step() { printf '\033[1m[lint]\033[0m %s\n' "$*"; }
step "cargo fmt --check"
cargo fmt --all -- --check
step "clippy: native, every crate and target"
cargo clippy --workspace --all-targets --quiet -- -D warnings
step "clippy: wasm, the JS package and its browser tests"
cargo clippy --target wasm32-unknown-unknown --features browser --lib --tests --quiet -- -D warnings
step "clippy: wasm, the console (and the hello-world yardstick)"
cargo clippy --target wasm32-unknown-unknown -p agent-console-ui -p agent-console-hello --lib --quiet -- -D warnings
step "clean"
