#!/usr/bin/env bash
# A/B of two skiff binaries on the store benchmark, alternating them on a noisy machine:
# A, B, A, B, ... (PAIRS pairs), each a fresh cluster per replica count, through
# bench/store/run.sh with TARGETS=skiff. Prints median ops/s and p50/p99 per configuration
# and label, and B's median over A's.
#
#   A=path/to/old/skiff B=path/to/new/skiff bash bench/store/ab.sh
#
# Knobs (environment): PAIRS=3 REPLICAS="1 3" CLIENTS="1 64" DURATION=10 WARMUP=2
#   LABEL_A=before LABEL_B=after OUT_DIR=bench/out/ab-<time>
# The load generator is bench's own release build (built unless NO_BUILD=1).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${A:?set A to the first skiff binary}" "${B:?set B to the second skiff binary}"
PAIRS=${PAIRS:-3}
CLIENTS=${CLIENTS:-"1 64"}
LABEL_A=${LABEL_A:-before}
LABEL_B=${LABEL_B:-after}
OUT_DIR=${OUT_DIR:-$ROOT/bench/out/ab-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT_DIR"

if [[ -z "${NO_BUILD:-}" ]]; then
    (cd "$ROOT" && cargo build --release --locked -p skiff-bench)
fi
export NO_BUILD=1 TARGETS=skiff STALL=0 ROUNDS=1 REPLICAS=${REPLICAS-"1 3"}
export WRITE_CLIENTS=$CLIENTS READ_CLIENTS=$CLIENTS
for ((r = 1; r <= PAIRS; r++)); do
    for side in A B; do
        if [[ $side == A ]]; then bin=$A label=$LABEL_A; else bin=$B label=$LABEL_B; fi
        printf '== round %d: %s (%s)\n' "$r" "$label" "$bin" >&2
        SKIFF_BIN=$bin OUT="$OUT_DIR/$label-$r.jsonl" bash "$ROOT/bench/store/run.sh" >/dev/null
    done
done

python3 - "$OUT_DIR" "$LABEL_A" "$LABEL_B" <<'PY' | tee "$OUT_DIR/summary.md"
import json, pathlib, statistics, sys
out, a, b = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
runs = {}
for label in (a, b):
    for path in sorted(out.glob(f"{label}-*.jsonl")):
        for line in path.read_text().splitlines():
            r = json.loads(line)
            key = (r["replicas"], r["mode"], r["clients"])
            runs.setdefault(key, {}).setdefault(label, []).append(r)
print(f"| replicas | mode | clients | {a} ops/s | {b} ops/s | {b}/{a} | {a} p50/p99 ms | {b} p50/p99 ms | {b} per round |")
print("|--:|---|--:|--:|--:|--:|--:|--:|---|")
def lat(rs, k):
    return statistics.median(r["latency"][k] for r in rs)
for key in sorted(runs):
    side = runs[key]
    if a not in side or b not in side:
        continue
    ma = statistics.median(r["ops_per_s"] for r in side[a])
    mb = statistics.median(r["ops_per_s"] for r in side[b])
    rounds = ", ".join(f"{x['ops_per_s']:.0f}" for x in side[b])
    print(f"| {key[0]} | {key[1]} | {key[2]} | {ma:.0f} | {mb:.0f} | {mb / ma:.2f}x | "
          f"{lat(side[a], 'p50_ms'):.2f}/{lat(side[a], 'p99_ms'):.2f} | "
          f"{lat(side[b], 'p50_ms'):.2f}/{lat(side[b], 'p99_ms'):.2f} | {rounds} |")
PY
