#!/usr/bin/env bash
# CDR-page benchmark: builds the console and a Yew hello-world (crates/hello),
# serves each from a fresh sandbox and runs tests/e2e/bench_cdr.mjs
# (BENCH_ROWS rows, default 10 000; then first paint of both and the ratio).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
scripts/setup.sh test >/dev/null
trap stop_sandboxes EXIT
cargo build -p agent-console-sandbox --bin sandbox 2>&1 | tail -1
[ -f dist/index.html ] || trunk build --release --offline
trunk build --release --offline=true --dist dist-hello crates/hello/index.html 2>&1 | tail -1
direct_www "${CARGO_TARGET_DIR:-target}/www-direct"
start_sandbox URL --port 0 --www "${CARGO_TARGET_DIR:-target}/www-direct"
start_sandbox HELLO --port 0 --www dist-hello
CONSOLE_URL=$URL HELLO_URL=$HELLO node tests/e2e/bench_cdr.mjs
