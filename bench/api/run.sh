#!/usr/bin/env bash
# The API server benchmark (issue 3), on 127.0.0.1 only. For 1 and 3 replicas it starts a
# skiff cluster (fresh temp data dirs, free ports), measures how long a stored pod is, then
# for 1, 16 and 64 clients alternates pod creates through the Kubernetes API with same-sized
# creates through the store's /kv/v1/txn (api, store, api, store, ...), then measures watch
# delivery latency to 1,000 watchers, prints the tables and stops every process it started.
#
#   bash bench/api/run.sh
#
# Knobs (environment): DURATION=10 WARMUP=2 ROUNDS=2 REPLICAS="1 3" CLIENTS="1 16 64"
#   WATCH=1 WATCHERS=1000 (a list runs each) WATCH_CONNS=10 WATCH_RATE=10 WATCH_SECS=10
#   OUT=bench/out/api-<time>.jsonl  BENCH_TMPDIR=/tmp  KEEP=1 (keep data dirs and logs)
#   NO_BUILD=1 (use the release binaries already built)  CARGO_TARGET_DIR (default target-bench)
#   SKIFF_BIN (another skiff binary)  NICE=-10 (run servers and load generator at that priority,
#   so other work on a shared machine does not preempt them; needs root)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-2}
REPLICAS=${REPLICAS-"1 3"}
CLIENTS=${CLIENTS-"1 16 64"}
WATCH=${WATCH:-1}
WATCHERS=${WATCHERS:-1000}
WATCH_CONNS=${WATCH_CONNS:-10}
WATCH_RATE=${WATCH_RATE:-10}
WATCH_SECS=${WATCH_SECS:-10}
OUT=${OUT:-$ROOT/bench/out/api-$(date -u +%Y%m%dT%H%M%SZ).jsonl}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target-bench}

log() { printf '== %s\n' "$*" >&2; }

# Each watch is a stream, not a socket, but raise the limit anyway: the watchers' HTTP/2
# connections, the clients' sockets and the servers' files share it.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true
log "ulimit -n $(ulimit -n)"

if [[ -z "${NO_BUILD:-}" ]]; then
    log "cargo build --release -p skiff -p skiff-bench"
    (cd "$ROOT" && cargo build --release -p skiff -p skiff-bench)
fi
BIN=$CARGO_TARGET_DIR/release
SB=$BIN/store-bench
PRIO=()
if [[ -n "${NICE:-}" ]]; then PRIO=(nice -n "$NICE"); fi
AB=$BIN/api-bench
SKIFF=${SKIFF_BIN:-$BIN/skiff}

export RUST_LIB_BACKTRACE=0
mkdir -p "$(dirname "$OUT")"
WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/skiff-api-bench.XXXXXX")
PIDS=()
SEQ=0

stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}
cleanup() {
    stop_all
    if [[ -n "${KEEP:-}" ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_skiff N: N replicas on 127.0.0.1, the first bootstrapping, the others joining (as in
# bench/store/run.sh); sets URLS (leader first), CA and TOKEN.
start_skiff() {
    local n=$1 i ports d d1 urls=() dirs=() t leader id lead=0
    SEQ=$((SEQ + 1))
    read -r -a ports <<<"$("$SB" free-ports "$n")"
    for ((i = 1; i <= n; i++)); do
        d=$WORK/skiff-$SEQ-x$n-$i
        dirs+=("$d")
        urls+=("https://127.0.0.1:${ports[i - 1]}")
        if ((i == 1)); then
            "${PRIO[@]}" "$SKIFF" server --data-dir "$d" --listen "127.0.0.1:${ports[0]}" >"$d.log" 2>&1 &
            PIDS+=($!)
            d1=$d
            for ((t = 0; t < 600; t++)); do
                [[ -s $d1/admin-token && -s $d1/pki/ca.crt && -s $d1/token ]] && break
                sleep 0.1
            done
        else
            "${PRIO[@]}" "$SKIFF" server --data-dir "$d" --listen "127.0.0.1:${ports[i - 1]}" \
                --join "${urls[0]}" --token "$(cat "$d1/token")" >"$d.log" 2>&1 &
            PIDS+=($!)
        fi
        if ! "$SB" wait --target skiff --endpoint "${urls[i - 1]}" --ca "$d1/pki/ca.crt" \
            --token-file "$d1/admin-token" --timeout 60; then
            log "replica $i did not come up; end of $d.log:"
            tail -20 "$d.log" >&2
            return 1
        fi
    done
    CA=$d1/pki/ca.crt
    TOKEN=$d1/admin-token
    # /readyz answers "ok (leader <hex id>)"; each log says "replica <hex id> serving <url>".
    leader=$("$SB" get --target skiff --endpoint "${urls[0]}" --ca "$CA" /readyz |
        sed -n 's/.*leader \([0-9a-f]*\).*/\1/p')
    for ((i = 1; i <= n; i++)); do
        id=$(sed -n 's/.*replica \([0-9a-f]*\) serving.*/\1/p' "${dirs[i - 1]}.log" | head -1)
        if [[ -n $leader && -n $id ]] && ((16#$id == 16#$leader)); then lead=$((i - 1)); fi
    done
    URLS=("${urls[lead]}")
    for ((i = 0; i < n; i++)); do ((i == lead)) || URLS+=("${urls[i]}"); done
    log "skiff x$n up, leader ${URLS[0]}"
}

conn_args() { echo --endpoint "$1" --ca "$CA" --token-file "$TOKEN"; }

RUN=0
log "results: $OUT   data dirs: $WORK"
"$SB" fsync "$WORK" --secs 1 >&2
for n in $REPLICAS; do
    start_skiff "$n"
    # The store's values are as long as what skiff stores for one of these pods.
    read -r -a cargs <<<"$(conn_args "${URLS[0]}")"
    SIZE=$("$AB" pod-size "${cargs[@]}" --name "p-size-x$n")
    log "a stored pod is $SIZE bytes"
    for c in $CLIENTS; do
        for ((r = 1; r <= ROUNDS; r++)); do
            for t in api store; do
                RUN=$((RUN + 1))
                "${PRIO[@]}" "$AB" writes "${cargs[@]}" --target "$t" --replicas "$n" --clients "$c" \
                    --round "$r" --first-n $((RUN * 10000000)) --value-size "$SIZE" \
                    --duration "$DURATION" --warmup "$WARMUP" --fsync-dir "$WORK" --out "$OUT" ||
                    log "FAILED: $t x$n c=$c round $r"
            done
        done
    done
    if [[ $WATCH == 1 ]]; then
        all=$(IFS=,; echo "${URLS[*]}")
        for w in $WATCHERS; do
            "${PRIO[@]}" "$AB" watch "${cargs[@]}" --watch-endpoint "$all" --replicas "$n" \
                --watchers "$w" --conns "$WATCH_CONNS" --rate "$WATCH_RATE" \
                --duration "$WATCH_SECS" --name "bench-watch-x$n-$w" --fsync-dir "$WORK" \
                --out "$OUT" || log "FAILED: watch x$n, $w watchers"
        done
    fi
    stop_all
done

{
    echo "API server benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), skiff $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "DURATION=$DURATION WARMUP=$WARMUP ROUNDS=$ROUNDS, store values as long as the stored pod; watch: $WATCHERS watchers over $WATCH_CONNS HTTP/2 connections (spread over the replicas), $WATCH_RATE updates/s for $WATCH_SECS s"
    echo
    "$AB" table "$OUT"
} | tee "${OUT%.jsonl}.md"
