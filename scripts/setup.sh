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
# The CNCF distribution server, which the registry tests pull from through imagePullSecrets.
command -v docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
# The dashboard test (issue 19): Debian's Chromium, driven by playwright-core on node.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
# Prometheus, which the monitoring test runs to scrape a cluster with deploy/prometheus.yml.
command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
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
# The ORAS Python client, the registry tests' second OCI client (push and pull), and bcrypt
# for the htpasswd file of the docker-registry they pull from with basic auth.
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import oras, bcrypt" >/dev/null 2>&1; then
  python3 -m pip install -q oras bcrypt
fi

# playwright-core (pinned by tests/dashboard/package-lock.json) for the dashboard test and bench.
if [ ! -d tests/dashboard/node_modules/playwright-core ]; then
  (cd tests/dashboard && npm ci --no-audit --no-fund --loglevel=error)
fi

# --- kubectl 1.20 (Debian's kubernetes-client) for the older-client tests (issue 18 item 4) ---
# Extracted into /opt/kubectl-1.20, never installed: the package's /usr/bin/kubectl would
# replace the current kubectl the other tests use. tests/tests/api/old_kubectl.rs runs it.
old_kubectl_dir=/opt/kubectl-1.20
if [ ! -x "$old_kubectl_dir/kubectl" ] && command -v apt-get >/dev/null 2>&1; then
  sudo_=""
  [ "$(id -u)" = 0 ] || sudo_="sudo"
  deb_dir=$(mktemp -d)
  fetch_old_kubectl() { (cd "$deb_dir" && apt-get download kubernetes-client >/dev/null 2>&1); }
  if fetch_old_kubectl || { $sudo_ apt-get update -qq && fetch_old_kubectl; }; then
    dpkg -x "$deb_dir"/kubernetes-client_*.deb "$deb_dir/x"
    $sudo_ install -D -m 0755 "$deb_dir/x/usr/bin/kubectl" "$old_kubectl_dir/kubectl"
  else
    echo "setup: could not download kubernetes-client; the kubectl 1.20 test will fail" >&2
  fi
  rm -rf "$deb_dir"
fi
# --- end kubectl 1.20 ---
