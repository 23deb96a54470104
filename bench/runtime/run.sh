#!/usr/bin/env bash
# Runtime benchmarks for skiff-runtime-wasm; results go to stdout (copy into README.md).
#   bench/runtime/run.sh                 # instantiate, start, density 1000 and 10000
#   HTTP=1 bench/runtime/run.sh          # also HTTP req/s vs `wasmtime serve` (installs tools)
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target-runtime}"
rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
# 10,000 pods hold 10,000 loopback listeners.
ulimit -n 65536 || true

cargo bench -p skiff-runtime-wasm --bench runtime -- instantiate start density 1000 density "${DENSITY_MAX:-10000}"

if [[ "${HTTP:-0}" == "1" ]]; then
  command -v wasmtime >/dev/null || cargo install wasmtime-cli --version 48.0.8 --locked
  command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
  (cd examples-wasm && cargo build --release --target wasm32-wasip2 --quiet)
  hello=examples-wasm/target/wasm32-wasip2/release/http-hello.wasm
  cargo bench -p skiff-runtime-wasm --bench runtime -- serve-http > /tmp/skiff-serve.out &
  skiff_pid=$!
  wasmtime serve -S cli=y --addr 127.0.0.1:18081 "$hello" &
  wt_pid=$!
  trap 'kill -INT $skiff_pid 2>/dev/null; kill $wt_pid 2>/dev/null || true' EXIT
  for _ in $(seq 300); do grep -q LISTEN /tmp/skiff-serve.out 2>/dev/null && break; sleep 1; done
  skiff_addr=$(awk '/LISTEN/ {print $2}' /tmp/skiff-serve.out)
  echo "== skiff ($skiff_addr)"; wrk -t2 -c32 -d10s "http://$skiff_addr/" | grep -E "Requests/sec|Latency"
  echo "== wasmtime serve"; wrk -t2 -c32 -d10s http://127.0.0.1:18081/ | grep -E "Requests/sec|Latency"
fi
