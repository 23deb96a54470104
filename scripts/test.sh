#!/usr/bin/env bash
# The whole test suite: set-up, lints, the skiff binary the end-to-end tests drive, then every
# test in the workspace. This is what CI runs (.ci/run) and what README.md tells you to run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# End-to-end tests start real skiff processes from this binary.
cargo build --locked -p skiff
export SKIFF_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/skiff"
cargo test --workspace --locked -- --test-threads=2
