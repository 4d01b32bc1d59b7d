#!/usr/bin/env bash
# `make fuzz`: tests/fuzz.rs at full budget. Every decoder of outside input
# (replies, push frames, webhooks, settings) gets its share of FUZZ_TOTAL
# (default 10^7 inputs in all) in the `fuzz` profile: optimised, overflow
# checks and debug assertions on. Prints inputs, inputs/s and findings per
# decoder; inputs that panicked are saved under $CARGO_TARGET_DIR/tmp/fuzz-findings/.
#   FUZZ_TOTAL=N     inputs in all (or FUZZ_INPUTS=N per decoder)
#   FUZZ_SEED=N      the generator's seed (default: the time, printed)
#   FUZZ_ONLY=text   only decoders whose name holds it
#   FUZZ_REPLAY=file one saved input through the chosen decoders
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
if [ -z "${FUZZ_INPUTS:-}" ]; then export FUZZ_TOTAL="${FUZZ_TOTAL:-10000000}"; fi
export FUZZ_SEED="${FUZZ_SEED:-$(date +%s)}"
echo "fuzz: seed $FUZZ_SEED (FUZZ_SEED=$FUZZ_SEED replays this run)"
start=$(date +%s)
FUZZ_PROFILE="fuzz profile: opt-level 3, overflow checks on" cargo test --profile fuzz --test fuzz every_decoder_survives_hostile_input -- --nocapture
echo "fuzz: done in $(( $(date +%s) - start )) s"
