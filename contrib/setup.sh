#!/usr/bin/env bash
# Berth set-up on a fresh Debian machine (run as root).
#
#   contrib/setup.sh demo   install packages, build, start berthd with the default configuration, make the
#                           busybox:latest image from the host's busybox-static, run a container, show
#                           `berth ps -a`, stop the daemon cleanly
#   contrib/setup.sh test   install packages, build, run every test (unit, real-container integration, and the
#                           real docker CLI smoke check against berthd)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in demo|test) ;; *) echo "usage: $0 demo|test" >&2; exit 2 ;; esac

# C libraries from Debian, busybox-static for the base image, iproute2/bsdutils for tests, procps (ps, for
# top), gcc and libc6-dev (static libc) for the tests' small C helpers in Tests/Fixtures, python3 for the tests'
# tar fixtures and the API trace tool, tar for berth cp; docker-registry, skopeo, openssl and curl as real peers
# and tools of the registry tests.
packages=(pkg-config gcc libc6-dev procps libarchive-dev libseccomp-dev liblua5.4-dev libcurl4-openssl-dev libnftables-dev nftables busybox-static
          libssl-dev libcrypt-dev openssl curl docker-registry skopeo docker.io
          iproute2 bsdutils python3 tar ca-certificates)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift 6 toolchain not found on PATH" >&2; exit 1; }

if [ "$mode" = demo ]; then
  exec contrib/demo.sh
fi
exec contrib/test.sh
