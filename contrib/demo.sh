#!/usr/bin/env bash
# The main job on the embedded defaults: build, start berthd (default root, exec-root and socket), import
# busybox:latest made from busybox-static, run a container, list containers, stop the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product berthd >/dev/null
swift build -c release --product berth-shim >/dev/null
swift build -c release --product berth >/dev/null
bin=$(swift build -c release --show-bin-path)
log=$(mktemp /tmp/berthd.XXXXXX.log)
"$bin/berthd" >"$log" 2>&1 &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT
for _ in $(seq 100); do "$bin/berth" version >/dev/null 2>&1 && break; sleep 0.1; done
if ! "$bin/berth" images --format '{{.Repository}}:{{.Tag}}' | grep -qx 'busybox:latest'; then
  tar=$(mktemp /tmp/busybox.XXXXXX.tar)
  contrib/mkimage-busybox.sh "$tar" >/dev/null
  "$bin/berth" import -c 'CMD ["sh"]' "$tar" busybox:latest
  rm -f "$tar"
fi
"$bin/berth" run --rm busybox echo hello
"$bin/berth" ps -a
kill -TERM $daemon
wait $daemon || true
trap - EXIT
echo "berthd stopped (log: $log)"
