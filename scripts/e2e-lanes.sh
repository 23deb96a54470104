#!/usr/bin/env bash
# Runs the end-to-end test binaries of `skiff-tests` side by side, in LANES parallel lanes
# (2 by default), longest first. Each binary's output goes to a log that is printed whole when
# the binary ends, so lanes never interleave. Exits non-zero if any binary failed.
# Usage: scripts/e2e-lanes.sh LIST   (LIST from scripts/test-binaries.sh; SKIFF_BIN set)
set -euo pipefail
cd "$(dirname "$0")/.."
lanes="${LANES:-2}"
logs=$(mktemp -d /tmp/skiff-e2e-logs-XXXXXX)
trap 'rm -rf "$logs"' EXIT

# Longest first (seconds measured on 2 cores), so the lanes finish together.
order=(jepsen agent control api workloads store_faults registry cli network fleet logs architecture)

# name<TAB>path of every integration test binary of skiff-tests, from the list
# scripts/test-binaries.sh made (same package selection as the build: nothing recompiles).
list=${1:?list of test binaries from scripts/test-binaries.sh}
awk -F '\t' '$1 == "skiff-tests" && $2 == "test" { print $3 "\t" $4 }' "$list" >"$logs/binaries"

declare -A path_of
while IFS=$'\t' read -r name path; do path_of[$name]=$path; done <"$logs/binaries"
queue=()
for name in "${order[@]}"; do
  [ -n "${path_of[$name]:-}" ] && queue+=("$name") && unset "path_of[$name]"
done
# Binaries added since the list above was written run last, so none is ever skipped.
for name in "${!path_of[@]}"; do queue+=("$name"); done
while IFS=$'\t' read -r name path; do path_of[$name]=$path; done <"$logs/binaries"

run_one() {
  local name=$1 start=$SECONDS status=0
  (cd tests && CARGO_MANIFEST_DIR="$PWD" "${path_of[$name]}" --test-threads=2) \
    >"$logs/$name.log" 2>&1 || status=$?
  {
    echo "=== e2e $name: exit $status after $((SECONDS - start)) s ==="
    cat "$logs/$name.log"
  } | flock "$logs/print.lock" cat
  [ "$status" = 0 ] || touch "$logs/$name.failed"
}

running=0
for name in "${queue[@]}"; do
  if [ "$running" -ge "$lanes" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$name" &
  running=$((running + 1))
done
wait || true

failed=""
for marker in "$logs"/*.failed; do
  [ -e "$marker" ] && failed+="$(basename "$marker" .failed) "
done
if [ -n "$failed" ]; then
  echo "e2e: failed: $failed" >&2
  exit 1
fi
echo "e2e: all ${#queue[@]} binaries passed"
