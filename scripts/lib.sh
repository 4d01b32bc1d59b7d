# Shared by the scripts: PATH for the npm tools, and starting the sandbox.
# `cargo install` puts tools in $CARGO_HOME/bin (a fresh machine may set CARGO_HOME);
# rustup's proxies stay in ~/.cargo/bin.
export PATH="$PWD/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PATH"

# await_listening VAR PID OUT ERR NAME: waits for NAME's "NAME listening on URL"
# line in OUT and stores URL in VAR (the process is stopped by stop_sandboxes).
await_listening() {
  local var=$1 pid=$2 out=$3 err=$4 name=$5
  SANDBOX_PIDS="${SANDBOX_PIDS:-} $pid"
  for _ in $(seq 1 100); do
    if grep -q "$name listening on" "$out" 2>/dev/null; then
      printf -v "$var" '%s' "$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$out" | head -1)"
      SANDBOX_LOGS="${SANDBOX_LOGS:-} $err"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start:"; cat "$out" "$err"; return 1
}

# start_sandbox VAR [flags…]: starts the sandbox binary in the background,
# waits for its "listening" line and stores its base URL in VAR.
start_sandbox() {
  local var=$1; shift
  local log; log=$(mktemp)
  "${CARGO_TARGET_DIR:-target}/debug/sandbox" "$@" >"$log.out" 2>"$log.err" &
  await_listening "$var" $! "$log.out" "$log.err" sandbox
}

stop_sandboxes() {
  for p in ${SANDBOX_PIDS:-}; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# direct_www DIR: a copy of dist/ whose config.json is www/config.direct.json
# (direct mode: the sandbox's demo PBX account in the page, for trusted machines
# and the click-through tests that drive the PBX form); dist/ keeps the gateway's.
direct_www() {
  rm -rf "$1"; cp -r dist "$1"; cp www/config.direct.json "$1/config.json"
}

# start_gateway VAR SANDBOX_URL WWW: the gateway (gateway/gateway.example.toml's
# demo accounts) on a free port in front of the sandbox at SANDBOX_URL, serving
# WWW; stores its base URL in VAR. The database lives in a fresh temp folder.
start_gateway() {
  local var=$1 vendors=$2 www=$3
  local dir; dir=$(mktemp -d)
  sed -e "s#127.0.0.1:8081#${vendors#http://}#g" gateway/gateway.example.toml >"$dir/gateway.toml"
  "${CARGO_TARGET_DIR:-target}/debug/gateway" --config "$dir/gateway.toml" --listen 127.0.0.1:0 \
    --www "$www" --data "$dir/data" >"$dir/out" 2>"$dir/err" &
  await_listening "$var" $! "$dir/out" "$dir/err" gateway
}
