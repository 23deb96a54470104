#!/usr/bin/env bash
# The store benchmark (issue 2): skiff's replicated store against etcd 3.4,
# both on 127.0.0.1 only, driven by one load generator (store-bench) with the
# same kind of request. For 1 and 3 replicas it starts an etcd cluster and a
# skiff cluster, then for every configuration alternates the runs
# (etcd, skiff, etcd, skiff, ...), then runs the snapshot/purge stall check,
# prints the tables and stops every process it started.
#
#   bash bench/store/run.sh
#
# Knobs (environment): DURATION=10 WARMUP=2 ROUNDS=2 REPLICAS="1 3"
#   WRITE_CLIENTS="1 16 64 256" READ_CLIENTS="1 16 64 256" TARGETS="etcd skiff"
#   STALL=1 STALL_SECS=30 STALL_CLIENTS=16 SNAPSHOT_EVERY=20000
#   OUT=bench/out/store-<time>.jsonl  BENCH_TMPDIR=/tmp  KEEP=1 (keep data dirs)
#   NO_BUILD=1 (use the release binaries already built)  SKIFF_BIN=path (another skiff)
#   ETCD_TLS=1 (default: etcd serves clients and peers over TLS, as kubeadm
#   runs it and as skiff always does; ETCD_TLS=0 for plain HTTP)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-2}
REPLICAS=${REPLICAS-"1 3"}
WRITE_CLIENTS=${WRITE_CLIENTS-"1 16 64 256"}
READ_CLIENTS=${READ_CLIENTS-"1 16 64 256"}
TARGETS=${TARGETS:-"etcd skiff"}
STALL=${STALL:-1}
STALL_SECS=${STALL_SECS:-30}
STALL_CLIENTS=${STALL_CLIENTS:-16}
SNAPSHOT_EVERY=${SNAPSHOT_EVERY:-20000}
ETCD_TLS=${ETCD_TLS:-1}
OUT=${OUT:-$ROOT/bench/out/store-$(date -u +%Y%m%dT%H%M%SZ).jsonl}

has() { [[ " $TARGETS " == *" $1 "* ]]; }
log() { printf '== %s\n' "$*" >&2; }

# --- set-up: etcd from Debian, release builds --------------------------------
if has etcd && ! command -v etcd >/dev/null; then
    log "installing etcd-server (Debian)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
fi
if has etcd && [[ $ETCD_TLS == 1 ]] && ! command -v openssl >/dev/null; then
    log "installing openssl (etcd's test certificates)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
fi
packages=(-p skiff-bench)
has skiff && packages+=(-p skiff)
if [[ -z "${NO_BUILD:-}" ]]; then
    log "cargo build --release ${packages[*]}"
    (cd "$ROOT" && cargo build --release "${packages[@]}")
fi
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
SB=$BIN/store-bench
SKIFF=${SKIFF_BIN:-$BIN/skiff}

export RUST_LIB_BACKTRACE=0
mkdir -p "$(dirname "$OUT")"
WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/skiff-store-bench.XXXXXX")
PIDS=()
SEQ=0 # each cluster gets fresh data dirs

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

# etcd_pki: a CA and one certificate for 127.0.0.1 (server and client use),
# ECDSA P-256 like skiff's own; sets ETCD_SCHEME, ETCD_CA and ETCD_TLS_FLAGS.
etcd_pki() {
    ETCD_SCHEME=http ETCD_CA="" ETCD_TLS_FLAGS=()
    [[ $ETCD_TLS == 1 ]] || return 0
    local d=$WORK/etcd-pki
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=bench-etcd-ca -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj /CN=etcd -keyout "$d/etcd.key" -out "$d/etcd.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$d/ext"
    openssl x509 -req -in "$d/etcd.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -days 2 -extfile "$d/ext" -out "$d/etcd.crt" 2>/dev/null
    ETCD_SCHEME=https ETCD_CA=$d/ca.crt
    ETCD_TLS_FLAGS=(--cert-file "$d/etcd.crt" --key-file "$d/etcd.key"
        --peer-cert-file "$d/etcd.crt" --peer-key-file "$d/etcd.key"
        --peer-trusted-ca-file "$d/ca.crt" --peer-client-cert-auth)
}

# etcd_args: store-bench's target flags for etcd (with the CA under TLS).
etcd_ca_args() { [[ -n $ETCD_CA ]] && printf '%s\n' --ca "$ETCD_CA"; return 0; }

# start_etcd N [extra flags...]: an N-member cluster on 127.0.0.1; sets ETCD_EP
# to the leader's client URL.
start_etcd() {
    local n=$1 i cluster="" eps=() ports token base ca_args
    shift
    mapfile -t ca_args < <(etcd_ca_args)
    token="bench-$n-$RANDOM"
    SEQ=$((SEQ + 1))
    base=$WORK/etcd-$SEQ-x$n
    read -r -a ports <<<"$("$SB" free-ports $((2 * n)))"
    for ((i = 1; i <= n; i++)); do
        cluster+="e$i=$ETCD_SCHEME://127.0.0.1:${ports[2 * i - 1]},"
        eps+=("$ETCD_SCHEME://127.0.0.1:${ports[2 * i - 2]}")
    done
    for ((i = 1; i <= n; i++)); do
        etcd --name "e$i" --data-dir "$base-$i" \
            --listen-client-urls "${eps[i - 1]}" --advertise-client-urls "${eps[i - 1]}" \
            --listen-peer-urls "$ETCD_SCHEME://127.0.0.1:${ports[2 * i - 1]}" \
            --initial-advertise-peer-urls "$ETCD_SCHEME://127.0.0.1:${ports[2 * i - 1]}" \
            --initial-cluster "${cluster%,}" --initial-cluster-state new \
            --initial-cluster-token "$token" "${ETCD_TLS_FLAGS[@]}" "$@" \
            >"$base-$i.log" 2>&1 &
        PIDS+=($!)
    done
    local all
    all=$(IFS=,; echo "${eps[*]}")
    "$SB" wait --target etcd --endpoint "$all" "${ca_args[@]}" --timeout 60
    ETCD_EP=${eps[$("$SB" etcd-leader --target etcd --endpoint "$all" "${ca_args[@]}")]}
    log "etcd x$n up, leader $ETCD_EP ($(etcd --version | head -1))"
}

# start_skiff N [extra flags...]: N replicas on 127.0.0.1, the first
# bootstrapping, the others joining; sets SKIFF_EP (the leader), SKIFF_CA,
# SKIFF_TOKEN and SKIFF_DIRS.
start_skiff() {
    local n=$1 i ports d1 urls=() t
    shift
    SEQ=$((SEQ + 1))
    read -r -a ports <<<"$("$SB" free-ports "$n")"
    SKIFF_DIRS=()
    for ((i = 1; i <= n; i++)); do
        local d=$WORK/skiff-$SEQ-x$n-$i url="https://127.0.0.1:${ports[i - 1]}"
        SKIFF_DIRS+=("$d")
        urls+=("$url")
        if ((i == 1)); then
            "$SKIFF" server --data-dir "$d" --listen "127.0.0.1:${ports[0]}" "$@" >"$d.log" 2>&1 &
            PIDS+=($!)
            d1=$d
            for ((t = 0; t < 600; t++)); do
                [[ -s $d1/admin-token && -s $d1/pki/ca.crt && -s $d1/token ]] && break
                sleep 0.1
            done
        else
            "$SKIFF" server --data-dir "$d" --listen "127.0.0.1:${ports[i - 1]}" \
                --join "${urls[0]}" --token "$(cat "$d1/token")" "$@" >"$d.log" 2>&1 &
            PIDS+=($!)
        fi
        "$SB" wait --target skiff --endpoint "$url" --ca "$d1/pki/ca.crt" \
            --token-file "$d1/admin-token" --timeout 60
    done
    SKIFF_CA=$d1/pki/ca.crt
    SKIFF_TOKEN=$d1/admin-token
    # /readyz answers "ok (leader <hex id>)"; each log says "replica <hex id> serving <url>".
    local leader id
    leader=$("$SB" get --target skiff --endpoint "${urls[0]}" --ca "$SKIFF_CA" /readyz |
        sed -n 's/.*leader \([0-9a-f]*\).*/\1/p')
    SKIFF_EP=${urls[0]}
    for ((i = 1; i <= n; i++)); do
        id=$(sed -n 's/.*replica \([0-9a-f]*\) serving.*/\1/p' "${SKIFF_DIRS[i - 1]}.log" | head -1)
        if [[ -n $leader && -n $id ]] && ((16#$id == 16#$leader)); then SKIFF_EP=${urls[i - 1]}; fi
    done
    log "skiff x$n up, leader $SKIFF_EP"
}

# bench TARGET REPLICAS MODE CLIENTS ROUND [extra store-bench flags...]
bench() {
    local target=$1 replicas=$2 mode=$3 clients=$4 round=$5 args
    shift 5
    case $target in
        etcd) mapfile -t args < <(etcd_ca_args); args=(--target etcd --endpoint "$ETCD_EP" "${args[@]}") ;;
        skiff) args=(--target skiff --endpoint "$SKIFF_EP" --ca "$SKIFF_CA" --token-file "$SKIFF_TOKEN") ;;
    esac
    "$SB" run "${args[@]}" --replicas "$replicas" --mode "$mode" --clients "$clients" \
        --round "$round" --duration "${RUN_SECS:-$DURATION}" --warmup "$WARMUP" \
        --fsync-dir "$WORK" --out "$OUT" "$@" ||
        log "FAILED: $target x$replicas $mode c=$clients round $round"
}

log "results: $OUT   data dirs: $WORK"
has etcd && etcd_pki
"$SB" fsync "$WORK" --secs 1 >&2
for n in $REPLICAS; do
    has etcd && start_etcd "$n"
    has skiff && start_skiff "$n"
    for mode in write read; do
        if [[ $mode == write ]]; then clients=$WRITE_CLIENTS; else clients=$READ_CLIENTS; fi
        for c in $clients; do
            for ((r = 1; r <= ROUNDS; r++)); do
                for t in $TARGETS; do bench "$t" "$n" "$mode" "$c" "$r"; done
            done
        done
    done
    stop_all
done

# --- writes while snapshots and purges run -----------------------------------
if [[ $STALL == 1 ]] && has skiff; then
    if "$SKIFF" server --help | grep -q -- '--snapshot-every'; then
        RUN_SECS=$STALL_SECS
        # etcd alongside for reference, snapshotting as often (--snapshot-count).
        if has etcd; then
            start_etcd 3 --snapshot-count "$SNAPSHOT_EVERY"
            bench etcd 3 stall "$STALL_CLIENTS" 1 --note "snapshot-count $SNAPSHOT_EVERY"
            stop_all
        fi
        start_skiff 3 --snapshot-every "$SNAPSHOT_EVERY"
        snapdirs=()
        for d in "${SKIFF_DIRS[@]}"; do snapdirs+=(--snapshot-dir "$d"); done
        bench skiff 3 stall "$STALL_CLIENTS" 1 "${snapdirs[@]}" --note "snapshot-every $SNAPSHOT_EVERY"
        stop_all
    else
        log "skiff server has no --snapshot-every flag: stall check skipped"
    fi
fi

{
    echo "Store benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(etcd --version 2>/dev/null | head -1 || true), skiff $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "DURATION=$DURATION WARMUP=$WARMUP ROUNDS=$ROUNDS, 256-byte values, etcd over ${ETCD_SCHEME:-http} (ETCD_TLS=$ETCD_TLS), skiff over https"
    echo
    "$SB" table "$OUT"
} | tee "${OUT%.jsonl}.md"
