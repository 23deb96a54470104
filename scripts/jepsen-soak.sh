#!/usr/bin/env bash
# A long Jepsen run: the kv and kube linearizability tests with their faults running for
# JEPSEN_SECONDS (default 900) each, against SKIFF_BIN (built from this checkout if unset).
# Prints the nemesis seed, the ops, and the faults survived. Extra arguments go to the test
# binary (e.g. a test name to run only one).
#   JEPSEN_SECONDS=1800 scripts/jepsen-soak.sh
#   SKIFF_BIN=/path/to/skiff JEPSEN_SEED=42 scripts/jepsen-soak.sh kv_
set -euo pipefail
cd "$(dirname "$0")/.."
export JEPSEN_SECONDS="${JEPSEN_SECONDS:-900}"
if [[ -z "${SKIFF_BIN:-}" ]]; then
    cargo build --locked -p skiff
    SKIFF_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/skiff"
fi
export SKIFF_BIN
log="$(mktemp -t jepsen-soak.XXXXXX.log)"
echo "jepsen-soak: $SKIFF_BIN, faults for ${JEPSEN_SECONDS}s per test; log in $log"
status=0
cargo test --locked -p skiff-tests --test jepsen -- --nocapture --test-threads=1 "$@" \
    2>&1 | tee "$log" || status=$?
survived="$(grep -o '[0-9]* faults survived' "$log" | awk '{s += $1} END {print s + 0}')"
echo "jepsen-soak: $survived faults survived; $(grep -c 'faults survived' "$log" || true) test(s) passed"
if [[ $status -ne 0 ]]; then
    echo "jepsen-soak: FAILED (exit $status)"
    grep -A30 'JEPSEN VIOLATION' "$log" | head -60 || true
fi
exit "$status"
