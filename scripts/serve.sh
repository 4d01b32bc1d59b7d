#!/usr/bin/env bash
# Opens the console against the sandbox, as deployed: installs what is
# missing, builds the console (trunk), starts the sandbox on 127.0.0.1:8081
# (the four vendors) and the gateway on 127.0.0.1:8080 (gateway/gateway.example.toml:
# the vendor secrets, the demo accounts), which serves the console.
# No vendor secret reaches the browser: www/config.json has none.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
scripts/setup.sh serve
cargo build -p agent-console-sandbox --bin sandbox -p agent-console-gateway --bin gateway
trunk build --offline
trap stop_sandboxes EXIT INT TERM
GW_PORT="${GATEWAY_PORT:-8080}"
start_sandbox SANDBOX_URL --port "${SANDBOX_PORT:-8081}" \
  --callback-webhook-url "http://127.0.0.1:$GW_PORT/hooks/callback" \
  --dapi-webhook-url "http://127.0.0.1:$GW_PORT/hooks/dapi"
# A fresh database each run: the sandbox's simulated vendors start afresh too
# (their ids restart), so yesterday's rows would clash with today's.
data=$(mktemp -d)
sed -e "s#127.0.0.1:8081#${SANDBOX_URL#http://}#g" gateway/gateway.example.toml >"$data/gateway.toml"
chmod 600 "$data/gateway.toml"
"${CARGO_TARGET_DIR:-target}/debug/gateway" --config "$data/gateway.toml" \
  --listen "127.0.0.1:$GW_PORT" --www dist --data "$data/data" >"$data/out" 2>"$data/err" &
await_listening GATEWAY_URL $! "$data/out" "$data/err" gateway
echo "sandbox: $SANDBOX_URL · gateway: $GATEWAY_URL (database and log in $data)"
echo
echo "  Console: $GATEWAY_URL/"
echo "  Sign in as agent / agent-pass (extension 8001) or supervisor / supervisor-pass (8002)."
echo
wait
