#!/usr/bin/env bash
# The gateway under load on loopback (gateway/examples/load.rs): CONSOLES consoles
# (default 1000) for SECS seconds (default 30), each with /events open and the
# desk's 2 s status poll; prints the latency the gateway adds, its memory per
# console and the events delivered (fails if one is lost or sent twice).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
# A console holds two sockets (events, polls): more than the default 1024 descriptors.
ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cargo build --release -p agent-console-gateway --bin gateway --example load
# The sandbox logs each request on stderr: kept in a file, not on the screen.
err="${CARGO_TARGET_DIR:-target}/load-gateway.err"
"${CARGO_TARGET_DIR:-target}/release/examples/load" "${CONSOLES:-1000}" "${SECS:-30}" 2>"$err" \
  || { echo "load-gateway failed; stderr (sandbox and gateway) in $err"; tail -5 "$err"; exit 1; }
