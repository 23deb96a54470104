#!/usr/bin/env bash
# Lists the workspace's test executables as `package<TAB>kind<TAB>target<TAB>executable<TAB>dir`
# (dir: the package's directory, where cargo would run it; kind `exe`: a binary built for an
# integration test, such as `skiff` itself, not a test harness), from the same build as
# `cargo test --workspace --tests --no-run`. Every phase of scripts/test.sh takes
# its binaries from here: a cargo command with another package selection (`-p`, `--exclude`)
# unifies dependency features differently and compiles ~100 crates a second time.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked --tests --no-run --message-format=json 2>/dev/null |
  python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    kind = m["target"]["kind"][0] if m["profile"]["test"] else "exe"
    package = m["package_id"].split("#")[0].rstrip("/").split("/")[-1]
    name = m["package_id"].split("#")[-1].split("@")[0]
    if "@" not in m["package_id"].split("#")[-1]:
        name = package
    print("\t".join([name, kind, m["target"]["name"], m["executable"],
                     os.path.dirname(m["manifest_path"])]))
'
