#!/usr/bin/env bash
# Opens the console against the sandbox: installs what is missing, starts the
# sandbox on 127.0.0.1:8081 and runs `trunk serve` on 127.0.0.1:8080 with the
# sandbox behind trunk's proxy (Trunk.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
scripts/setup.sh serve
cargo build -p agent-console-sandbox --bin sandbox
trap stop_sandboxes EXIT INT TERM
start_sandbox SANDBOX_URL --port "${SANDBOX_PORT:-8081}"
echo "sandbox: $SANDBOX_URL (demo account: client 4, user api; see www/config.json)"
echo
echo "  Console: http://127.0.0.1:8080/   (ready once trunk says it is serving)"
echo
trunk serve --offline
