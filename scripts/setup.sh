#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and test skiff: the pinned toolchain with the
# wasm32-wasip2 target, and the Debian packages tests use. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v rustup >/dev/null 2>&1; then
  echo "setup: rustup is required (https://rustup.rs)" >&2
  exit 1
fi
# rust-toolchain.toml pins the version; make sure it and the guest target are installed.
rustup show active-toolchain >/dev/null
rustup target add wasm32-wasip2 >/dev/null

need_apt=()
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  fi
fi

# The official Kubernetes Python client, which the end-to-end tests drive skiff with.
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import kubernetes" >/dev/null 2>&1; then
  python3 -m pip install -q kubernetes
fi
