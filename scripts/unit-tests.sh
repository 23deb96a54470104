#!/usr/bin/env bash
# Runs every test binary of the workspace except the end-to-end binaries of `skiff-tests`
# (scripts/e2e-lanes.sh runs those), one after another, each from its package's directory as
# `cargo test` would. Usage: scripts/unit-tests.sh LIST, LIST from scripts/test-binaries.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
list=${1:?list of test binaries from scripts/test-binaries.sh}
failed=""
while IFS=$'\t' read -r package kind target executable dir; do
  [ "$kind" = exe ] && continue
  [ "$package" = skiff-tests ] && [ "$kind" = test ] && continue
  echo "=== unit $package ($kind $target) ==="
  if ! (cd "$dir" && CARGO_MANIFEST_DIR="$dir" "$executable" --test-threads=2) </dev/null; then
    failed+="$package/$target "
  fi
done <"$list"
if [ -n "$failed" ]; then
  echo "unit tests: failed: $failed" >&2
  exit 1
fi
