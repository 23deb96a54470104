#!/usr/bin/env bash
# Builds skiff and runs `skiff up`: a whole single-node cluster in one process (a control-plane
# replica with its scheduler and controllers, and a node agent that runs Wasm pods), data in
# ./skiff-data. It prints the kubeconfig to use. Stop it with Ctrl-C; run again to bring the
# same cluster back.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked -p skiff
# The example guests (examples-wasm/target/wasm32-wasip2/release/*.wasm), to deploy as images.
(cd examples-wasm && CARGO_TARGET_DIR=target cargo build --release --target wasm32-wasip2 --quiet)
exec ./target/release/skiff up --data-dir "${SKIFF_DATA_DIR:-skiff-data}" --listen "${SKIFF_LISTEN:-127.0.0.1:6443}"
