#!/usr/bin/env bash
# Heartbeat benchmark: builds the console, serves it from a sandbox, and runs
# tests/e2e/bench_heartbeat.mjs (BENCH_MINUTES per run, default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
scripts/setup.sh test >/dev/null
trap stop_sandboxes EXIT
cargo build -p agent-console-sandbox --bin sandbox 2>&1 | tail -1
[ -f dist/index.html ] || trunk build --release --offline
direct_www "${CARGO_TARGET_DIR:-target}/www-direct"
start_sandbox URL --port 0 --www "${CARGO_TARGET_DIR:-target}/www-direct"
CONSOLE_URL=$URL node tests/e2e/bench_heartbeat.mjs
