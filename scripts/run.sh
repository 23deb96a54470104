#!/usr/bin/env bash
# README command 1: builds skiff and the example guests, starts `skiff up` in the background (a
# whole single-node cluster in one process, data in ./skiff-data, its context written into your
# kubeconfig), deploys the HTTP example with `skiff run` (the .wasm goes to the cluster's built-in
# registry), prints its URL and asks it with curl. Stop the cluster with
# `./target/release/skiff down`; run this again to bring the same cluster back.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# SKIFF_BIN names an already built skiff (the test suite runs this script with its own build).
if [ -z "${SKIFF_BIN:-}" ]; then
  cargo build --release --locked -p skiff
fi
# The example guests (examples-wasm/target/wasm32-wasip2/release/*.wasm).
(cd examples-wasm && CARGO_TARGET_DIR=target cargo build --release --target wasm32-wasip2 --quiet)
skiff=${SKIFF_BIN:-./target/release/skiff}
data=${SKIFF_DATA_DIR:-skiff-data}
if [ -f "$data/skiff.pid" ] && kill -0 "$(cat "$data/skiff.pid")" 2>/dev/null; then
  echo "skiff up is already running (pid $(cat "$data/skiff.pid"))"
else
  "$skiff" up --detach --data-dir "$data" --listen "${SKIFF_LISTEN:-127.0.0.1:6443}"
fi
out=$("$skiff" run hello --image examples-wasm/target/wasm32-wasip2/release/http-hello.wasm \
  --port 8080 --expose --wait | tee /dev/stderr)
url=$(grep -o 'http://[^ ]*' <<<"$out" | head -1)
if [ -z "$url" ]; then
  echo "run.sh: skiff run printed no URL" >&2
  exit 1
fi
echo "curl $url"
curl -sS --fail --retry 10 --retry-connrefused --retry-delay 1 "$url"
echo
echo "skiff is running in the background (log: $data/skiff.log); kubectl and skiff both reach it."
echo "Stop it with: $skiff down --data-dir $data"
