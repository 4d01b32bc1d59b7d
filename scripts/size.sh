#!/usr/bin/env bash
# Size report (issue 15's budgets): brotli of what a browser loads for the
# console (dist/) and for the JS package (pkg/, and one package a backend),
# against scripts/size-budgets.json; then what the code is made of (per crate
# and function, from the release wasm before wasm-opt, names kept).
# Fails when a build is over its ceiling (the size reached so far).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
scripts/setup.sh serve >/dev/null
T=${CARGO_TARGET_DIR:-target}
REL="$T/wasm32-unknown-unknown/release"
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
rc=0
# Each build's output goes to a log, shown when the build fails.
quiet() { "$@" >"$OUT/build.log" 2>&1 || { echo "size: failed: $*"; tail -40 "$OUT/build.log"; exit 1; }; }
# One package a backend first, measured and then kept aside.
for backend in pbx dapi callback sipcdr; do
  quiet env PKG_FEATURES="js,$backend" PKG_OUT="$OUT/pkg-$backend" scripts/pkg.sh
done
quiet scripts/pkg.sh
cp "$REL/agent_console.wasm" "$OUT/package.wasm"
quiet trunk build --release --offline
node scripts/size-check.mjs dist pkg "$OUT"/pkg-* || rc=$?
echo "(over budget: the 'suspects' lines below bound what removing each could save; README, \"Size\")"
echo
node scripts/wasm-top.mjs "$REL/agent_console_ui.wasm" 15
echo
node scripts/wasm-top.mjs "$OUT/package.wasm" 15
exit $rc
