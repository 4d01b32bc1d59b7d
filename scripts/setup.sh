#!/usr/bin/env bash
# Installs whatever this machine lacks for building, serving and testing agent-console.
# Idempotent: each step checks first, so a warm machine passes through in seconds.
# Usage: scripts/setup.sh [serve|test|pkg|all]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

TRUNK_VERSION=0.21.14
# The CLI must match the wasm-bindgen crate exactly; Cargo.lock is the source of truth.
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)

need_wasm() { [ "$what" != "native" ]; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The lint gate's tools (the default rustup profile has them; a minimal one does not).
if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
  log "adding rustup components clippy and rustfmt"
  rustup component add clippy rustfmt
fi

# Every crate Cargo.lock names, for every target, before any build: trunk builds
# with --offline, so on a fresh cargo home the console's crates (Yew and the rest)
# would otherwise never be downloaded. A no-op when they are cached.
if ! cargo fetch --locked --quiet; then
  log "cargo fetch failed: the crates in Cargo.lock could not be downloaded"; exit 1
fi

if [ "$what" = serve ] || [ "$what" = all ] || [ "$what" = test ]; then
  if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
    log "installing trunk $TRUNK_VERSION (compiles for ~17 min on 2 cores, once)"
    cargo install --locked trunk --version "$TRUNK_VERSION"
  fi
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ] \
   || ! command -v wasm-bindgen-test-runner >/dev/null; then
  log "installing wasm-bindgen-cli $WB_VERSION (compiles for ~9 min, once)"
  cargo install --locked wasm-bindgen-cli --version "$WB_VERSION" --force \
    || cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

# npm tools: wasm-opt (Debian's binaryen is too old) and playwright-core (no browser download).
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ]; then
  log "installing npm packages (binaryen, playwright-core)"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ "$what" = test ] || [ "$what" = all ]; then
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    log "installing Debian chromium and chromium-driver"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  # A CJK font, so the Chinese console renders in screenshots (not tofu).
  if ! fc-list 2>/dev/null | grep -qi -e wqy -e 'noto.*cjk'; then
    log "installing a CJK font (fonts-wqy-microhei)"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-wqy-microhei >/dev/null \
      || { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-wqy-microhei >/dev/null; }
  fi
fi
log "ready ($what)"
