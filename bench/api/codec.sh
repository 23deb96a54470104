#!/usr/bin/env bash
# Issue 18's benchmark: the API server's Pod create and list throughput with Kubernetes
# protobuf against JSON, through one load generator (codec-bench), on 127.0.0.1 only. Starts
# one skiff replica (fresh temp data dir, a free port, no scheduler or controller manager, so
# only the API server works), runs codec-bench, prints its tables and stops the replica.
#
#   bash bench/api/codec.sh
#
# Knobs (environment): CLIENTS=1,16 ROUNDS=3 DURATION=5 WARMUP=1 LIST_SIZE=100
#   OPS=create,list CODECS=json,protobuf (one alone: to profile the server on it)
#   NO_BUILD=1 (use the release binaries already built)  CARGO_TARGET_DIR (default target-bench)
#   SKIFF_BIN (another skiff binary)  BENCH_BIN_DIR (where codec-bench and store-bench are)
#   BENCH_TMPDIR=/tmp  KEEP=1 (keep the data dir and log)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target-bench}
log() { printf '== %s\n' "$*" >&2; }

if [[ -z "${NO_BUILD:-}" ]]; then
    log "cargo build --release -p skiff -p skiff-bench"
    (cd "$ROOT" && cargo build --release -p skiff -p skiff-bench)
fi
BIN=${BENCH_BIN_DIR:-$CARGO_TARGET_DIR/release}
SKIFF=${SKIFF_BIN:-$BIN/skiff}
WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/skiff-codec-bench.XXXXXX")
PID=
cleanup() {
    if [[ -n $PID ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    if [[ -n "${KEEP:-}" ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$("$BIN/store-bench" free-ports 1)
"$SKIFF" server --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" \
    --disable-scheduler --disable-controller-manager >"$WORK/server.log" 2>&1 &
PID=$!
for ((t = 0; t < 600; t++)); do
    [[ -s $WORK/data/admin-token && -s $WORK/data/pki/ca.crt ]] && break
    sleep 0.1
done
"$BIN/store-bench" wait --target skiff --endpoint "https://127.0.0.1:$PORT" \
    --ca "$WORK/data/pki/ca.crt" --token-file "$WORK/data/admin-token" --timeout 60
log "skiff up on 127.0.0.1:$PORT; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN/codec-bench" --endpoint "https://127.0.0.1:$PORT" --ca "$WORK/data/pki/ca.crt" \
    --token-file "$WORK/data/admin-token" --clients "${CLIENTS:-1,16}" \
    --rounds "${ROUNDS:-3}" --duration "${DURATION:-5}" --warmup "${WARMUP:-1}" \
    --list-size "${LIST_SIZE:-100}" --ops "${OPS:-create,list}" \
    --codecs "${CODECS:-json,protobuf}" --server-pid "$PID"
log "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
