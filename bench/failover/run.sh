#!/usr/bin/env bash
# Write availability across faults, two skiff binaries alternated (A, B, A, B, ...): each run
# of failover-bench starts a fresh 3-replica cluster from its binary, kills and pauses the
# leader and pauses a follower RUNS_PER times each, and prints one JSON line per fault. Then
# the table: per scenario and binary, the median/min/max gap and B's median over A's.
#
#   A=path/to/old/skiff B=path/to/new/skiff bash bench/failover/run.sh
#
# Knobs (environment): ROUNDS=2 (A/B pairs) RUNS_PER=4 (faults of each kind per run)
#   WRITERS=6 LABEL_A=before LABEL_B=after OUT=bench/out/failover-<time>.jsonl NO_BUILD=1
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${A:?set A to the first skiff binary}" "${B:?set B to the second skiff binary}"
ROUNDS=${ROUNDS:-2}
RUNS_PER=${RUNS_PER:-4}
WRITERS=${WRITERS:-6}
LABEL_A=${LABEL_A:-before}
LABEL_B=${LABEL_B:-after}
OUT=${OUT:-$ROOT/bench/out/failover-$(date -u +%Y%m%dT%H%M%SZ).jsonl}
mkdir -p "$(dirname "$OUT")"

if [[ -z "${NO_BUILD:-}" ]]; then
    (cd "$ROOT" && cargo build --release --locked -p skiff-bench --bin failover-bench)
fi
FB=${CARGO_TARGET_DIR:-$ROOT/target}/release/failover-bench
for ((r = 1; r <= ROUNDS; r++)); do
    for side in A B; do
        if [[ $side == A ]]; then bin=$A label=$LABEL_A; else bin=$B label=$LABEL_B; fi
        printf '== round %d: %s (%s)\n' "$r" "$label" "$bin" >&2
        SKIFF_BIN=$bin "$FB" run --rounds "$RUNS_PER" --writers "$WRITERS" --label "$label" --out "$OUT"
    done
done
"$FB" table "$OUT" | tee "${OUT%.jsonl}.md"
