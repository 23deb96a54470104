#!/usr/bin/env bash
# Builds skiff and runs a single-replica control plane with its data in ./skiff-data,
# printing where it serves. Stop it with Ctrl-C; run again to restart on the same data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked -p skiff
exec ./target/release/skiff server --data-dir "${SKIFF_DATA_DIR:-skiff-data}" --listen "${SKIFF_LISTEN:-127.0.0.1:6443}"
