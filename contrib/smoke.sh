#!/usr/bin/env bash
# The real docker CLI against berthd: starts a daemon on a temporary root, imports busybox:latest, runs
# ../shared/tools/docker-cli-smoke.sh for the groups Berth implements (core, network, tty, exec, volumes, registry, build),
# stops the daemon, removes the root. The registry group runs twice: against Debian's docker-registry and against
# Berth's own berth-registry, each on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=../shared/tools/docker-cli-smoke.sh
if ! command -v docker >/dev/null; then
  echo "docker CLI not installed: skipping the docker CLI smoke check is not allowed" >&2; exit 1
fi
[ -x "$smoke" ] || [ -f "$smoke" ] || { echo "$smoke not found" >&2; exit 1; }
bin=$(swift build --show-bin-path)
root=$(mktemp -d /var/tmp/berth-smoke.XXXXXX)
# The built-in defaults (whatever /etc/berth/config.lua says), with a bridge and nftables table of its own.
tag=$(basename "$root" | tail -c 7 | tr -cd 'a-zA-Z0-9')
printf 'return { network = { bridge = { name = "bs%s" }, nft_table = "bs_%s", dns_upstream = {} } }\n' "$tag" "$tag" >"$root/config.lua"
"$bin/berthd" --config "$root/config.lua" --root "$root/lib" --exec-root "$root/run" >"$root/berthd.log" 2>&1 &
daemon=$!
cleanup() {
  DOCKER_HOST=unix://$root/run/berth.sock docker rm -f $(DOCKER_HOST=unix://$root/run/berth.sock docker ps -aq) >/dev/null 2>&1 || true
  kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null || true
  ip link del "bs$tag" 2>/dev/null || true
  nft delete table ip "bs_$tag" 2>/dev/null || true
  [ -n "${registry:-}" ] && { kill -TERM "$registry" 2>/dev/null; wait "$registry" 2>/dev/null || true; }
  [ -n "${own_registry:-}" ] && { kill -TERM "$own_registry" 2>/dev/null; wait "$own_registry" 2>/dev/null || true; }
  rm -rf "$root"
}
trap cleanup EXIT
export DOCKER_HOST=unix://$root/run/berth.sock
for _ in $(seq 100); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
contrib/mkimage-busybox.sh "$root/busybox.tar" >/dev/null
docker import -c 'CMD ["sh"]' "$root/busybox.tar" busybox:latest >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$root/registry"
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
  "$root/registry" "$port" >"$root/registry.yml"
docker-registry serve "$root/registry.yml" >"$root/registry.log" 2>&1 &
registry=$!
for _ in $(seq 100); do python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/v2/')" 2>/dev/null && break; sleep 0.1; done
groups=${SMOKE_GROUPS:-core network tty exec volumes registry build}
REGISTRY=127.0.0.1:$port bash "$smoke" $groups
case " $groups " in
*" registry "*)
  own=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$bin/berth-registry" serve --addr "127.0.0.1:$own" --root "$root/own-registry" >"$root/own-registry.log" 2>&1 &
  own_registry=$!
  for _ in $(seq 100); do python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$own/v2/')" 2>/dev/null && break; sleep 0.1; done
  echo "registry group against berth-registry:"
  REGISTRY=127.0.0.1:$own bash "$smoke" registry
  ;;
esac
