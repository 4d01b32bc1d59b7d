# Shared by the scripts: PATH for the npm tools, and starting the sandbox.
# `cargo install` puts tools in $CARGO_HOME/bin (a fresh machine may set CARGO_HOME);
# rustup's proxies stay in ~/.cargo/bin.
export PATH="$PWD/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PATH"

# start_sandbox VAR [flags…]: starts the sandbox binary in the background,
# waits for its "listening" line and stores its base URL in VAR.
start_sandbox() {
  local var=$1; shift
  local log; log=$(mktemp)
  "${CARGO_TARGET_DIR:-target}/debug/sandbox" "$@" >"$log.out" 2>"$log.err" &
  local pid=$!
  SANDBOX_PIDS="${SANDBOX_PIDS:-} $pid"
  for _ in $(seq 1 100); do
    if grep -q 'sandbox listening on' "$log.out" 2>/dev/null; then
      printf -v "$var" '%s' "$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$log.out" | head -1)"
      SANDBOX_LOGS="${SANDBOX_LOGS:-} $log.err"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "sandbox did not start:"; cat "$log.out" "$log.err"; return 1
}

stop_sandboxes() {
  for p in ${SANDBOX_PIDS:-}; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
