#!/usr/bin/env bash
# CDR-page benchmark: builds the console, serves it from a fresh sandbox and
# runs tests/e2e/bench_cdr.mjs (BENCH_ROWS rows, default 10 000).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
scripts/setup.sh test >/dev/null
trap stop_sandboxes EXIT
cargo build -p agent-console-sandbox --bin sandbox 2>&1 | tail -1
[ -f dist/index.html ] || trunk build --release --offline
start_sandbox URL --port 0 --www dist
CONSOLE_URL=$URL node tests/e2e/bench_cdr.mjs
