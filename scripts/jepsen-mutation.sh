#!/usr/bin/env bash
# The mutation check of the Jepsen test: run the kv test against skiff as it was before the
# restarted-leader fix (commit 9d8a6af) and succeed only if the test FAILS with a
# linearizability or change-log violation (a harness error, or a pass, fails this script).
# SKIFF_BIN_BEFORE names a pre-fix binary; without it, 9d8a6af is built in a temporary git
# worktree. Every 503 on a write counts as indeterminate (JEPSEN_AMBIGUOUS_503=1), since that
# binary answers "Unavailable" even when a write may have been applied.
#   SKIFF_BIN_BEFORE=/work/bin/skiff-before scripts/jepsen-mutation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE_COMMIT=9d8a6af
if [[ -z "${SKIFF_BIN_BEFORE:-}" ]]; then
    tree="$(mktemp -d -t skiff-before.XXXXXX)"
    trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || true' EXIT
    git worktree add --detach "$tree" "$BEFORE_COMMIT"
    target="${CARGO_TARGET_DIR:-$PWD/target}"
    (cd "$tree" && CARGO_TARGET_DIR="$target" cargo build --locked -p skiff)
    SKIFF_BIN_BEFORE="$tree/skiff-before"
    cp "$target/debug/skiff" "$SKIFF_BIN_BEFORE"
fi
log="$(mktemp -t jepsen-mutation.XXXXXX.log)"
echo "jepsen-mutation: kv test against $SKIFF_BIN_BEFORE; log in $log"
status=0
SKIFF_BIN="$SKIFF_BIN_BEFORE" JEPSEN_AMBIGUOUS_503=1 \
    cargo test --locked -p skiff-tests --test jepsen -- --nocapture --test-threads=1 \
    kv_registers_stay_linearizable 2>&1 | tee "$log" || status=$?
if [[ $status -eq 0 ]]; then
    echo "jepsen-mutation: FAILED: the test passed against the pre-fix binary"
    exit 1
fi
if ! grep -q '^JEPSEN VIOLATION' "$log"; then
    echo "jepsen-mutation: FAILED: the test failed without a violation (harness error?)"
    exit 1
fi
echo "jepsen-mutation: ok, the pre-fix binary is caught:"
grep -A25 '^JEPSEN VIOLATION' "$log" | head -60
