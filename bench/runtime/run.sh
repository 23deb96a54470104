#!/usr/bin/env bash
# Runtime benchmarks for skiff-runtime-wasm; results go to stdout (copy into README.md).
#   bench/runtime/run.sh                 # instantiate, start, density 1000 and 10000
#   HTTP=1 bench/runtime/run.sh          # also HTTP req/s vs `wasmtime serve` (installs tools)
# Scratch files (logs, caches) go to $TMPDIR; /dev/shm keeps other jobs' disk I/O out of the
# microsecond figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target-runtime}"
export TMPDIR="${TMPDIR:-/dev/shm}"
rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
# 10,000 pods hold 10,000 loopback listeners (log files hold no descriptor while idle).
ulimit -n 65536 2>/dev/null || true
bench() { cargo bench -q -p skiff-runtime-wasm --bench runtime -- "$@"; }

bench instantiate start density 1000
# 10,000 on-demand instances need ~7 memory mappings each, past vm.max_map_count (65,530);
# the pooling allocator (the dense-node setting) needs ~5.8.
POOLING="${POOLING_DENSITY:-10200}" bench density "${DENSITY_MAX:-10000}"

if [[ "${HTTP:-0}" == "1" ]]; then
  command -v wasmtime >/dev/null || cargo install wasmtime-cli --version 48.0.8 --locked
  command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
  hello=examples-wasm/target/wasm32-wasip2/release/http-hello.wasm
  # skiff with the pooling allocator, as `wasmtime serve` uses it by default.
  POOLING=1000 cargo bench -q -p skiff-runtime-wasm --bench runtime -- serve-http > /tmp/skiff-serve.out &
  skiff_pid=$!
  wasmtime serve -S cli=y --addr 127.0.0.1:18081 "$hello" 2>/dev/null &
  wt_pid=$!
  # SIGINT to the bench program itself (cargo does not forward it), then to cargo.
  trap 'pkill -INT -P $skiff_pid 2>/dev/null; kill $skiff_pid $wt_pid 2>/dev/null || true' EXIT
  for _ in $(seq 300); do grep -q LISTEN /tmp/skiff-serve.out 2>/dev/null && break; sleep 1; done
  skiff_addr=$(awk '/LISTEN/ {print $2}' /tmp/skiff-serve.out)
  rps() { wrk -t2 -c32 -d8s "$1" | awk '/Requests\/sec/ {print $2}'; }
  for round in 1 2 3; do
    s=$(rps "http://$skiff_addr/"); w=$(rps http://127.0.0.1:18081/)
    echo "http round $round: skiff $s req/s  wasmtime serve $w req/s  ratio $(awk -v s="$s" -v w="$w" 'BEGIN {printf "%.2f", s/w}')x (target >= 1x)"
  done
fi
