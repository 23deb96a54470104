#!/usr/bin/env bash
# The whole test suite: set-up, lints, the skiff binary the end-to-end tests drive, then every
# test in the workspace. This is what CI runs (.ci/run) and what README.md tells you to run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# A clean build gains nothing from incremental compilation's caches, only their cost.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi

SECONDS=0
phase() { echo "=== test.sh: $1 at $SECONDS s ==="; }
phase "lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# End-to-end tests start real skiff processes from this binary.
phase "building skiff"
cargo build --locked -p skiff
export SKIFF_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/skiff"
# `--lib --bins --tests`: every test target but doc tests (there are none; rustdoc would
# still start once per crate) and the runtime's benchmark (a program, run from bench/).
phase "compiling every test"
cargo test --workspace --locked --lib --bins --tests --no-run
phase "unit tests"
cargo test --workspace --locked --exclude skiff-tests --lib --bins --tests -- --test-threads=2
cargo test -p skiff-tests --locked --lib -- --test-threads=2
# The dashboard's page logic (kubectl's pod status, rollout status, YAML) by table, in node.
node --test control/dashboard/tests/
# The end-to-end binaries mostly wait on real processes, so two run side by side.
phase "end-to-end tests"
bash scripts/e2e-lanes.sh
phase "done"
