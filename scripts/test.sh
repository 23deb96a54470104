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
# `--tests`: every test target (libraries' and binaries' unit tests, integration tests); no
# doc tests (there are none) and no test harness for the bench programs (`test = false`).
# Every phase below runs binaries from this one build, listed by scripts/test-binaries.sh:
# cargo commands with another package selection would unify features differently and
# compile ~100 crates again.
phase "compiling every test"
cargo test --workspace --locked --tests --no-run
binaries=$(mktemp /tmp/skiff-test-binaries-XXXXXX)
trap 'rm -f "$binaries"' EXIT
bash scripts/test-binaries.sh >"$binaries"
# End-to-end tests start real skiff processes from the `skiff` binary this build made (for
# cli's integration test): no second build of it with other features.
SKIFF_BIN=$(awk -F '\t' '$2 == "exe" && $3 == "skiff" { print $4 }' "$binaries")
[ -x "$SKIFF_BIN" ] || { echo "test.sh: the build made no skiff binary" >&2; exit 1; }
export SKIFF_BIN
phase "unit tests"
bash scripts/unit-tests.sh "$binaries"
# The dashboard's page logic (kubectl's pod status, rollout status, YAML) by table, in node.
node --test control/dashboard/tests/
# The end-to-end binaries mostly wait on real processes, so two run side by side.
phase "end-to-end tests"
bash scripts/e2e-lanes.sh "$binaries"
phase "done"
