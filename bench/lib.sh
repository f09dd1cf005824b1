# Shared by the bench scripts: a release build and one berthd on a temporary root, with its own bridge and
# nftables table, the busybox image imported, and everything removed on exit.
#
#   source bench/lib.sh; bench_daemon PREFIX [EXTRA_CONFIG_LUA]
# sets bin, work, run, sock and berth (the CLI with -H); EXTRA_CONFIG_LUA goes inside `return { ... }`.
bench_daemon() {
  local prefix=$1 extra=${2:-}
  swift build -c release --product berthd >/dev/null
  swift build -c release --product berth-shim >/dev/null
  swift build -c release --product berth >/dev/null
  bin=$(swift build -c release --show-bin-path)
  work=$(mktemp -d "/var/tmp/berth-$prefix.XXXXXX")
  run=$(mktemp -d "/run/berth-$prefix.XXXXXX")
  sock=$run/berth.sock
  local suffix
  suffix=$(basename "$work" | tail -c 7)
  bench_bridge="b${prefix:0:2}$suffix"
  bench_table="b${prefix:0:2}_$suffix"
  printf 'return { network = { bridge = { name = "%s" }, nft_table = "%s" }, %s }\n' \
    "$bench_bridge" "$bench_table" "$extra" >"$work/config.lua"
  "$bin/berthd" --config "$work/config.lua" --root "$work/lib" --exec-root "$run" ${BENCH_DAEMON_FLAGS:-} \
    >"$work/berthd.log" 2>&1 &
  bench_pid=$!
  berth="$bin/berth -H unix://$sock"
  trap bench_cleanup EXIT
  for _ in $(seq 100); do $berth version >/dev/null 2>&1 && break; sleep 0.1; done
  contrib/mkimage-busybox.sh "$work/busybox.tar" >/dev/null
  $berth import "$work/busybox.tar" busybox:latest >/dev/null
}

bench_cleanup() {
  if [ -n "${dockerd_pid:-}" ]; then kill -TERM "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null || true; fi
  $berth rm -f $($berth ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  kill -TERM "$bench_pid" 2>/dev/null; wait "$bench_pid" 2>/dev/null || true
  ip link del "$bench_bridge" 2>/dev/null || true
  nft delete table ip "$bench_table" 2>/dev/null || true
  rm -rf "$work" "$run"
}

# Debian's dockerd (docker.io) for side-by-side numbers, when installed: its own socket and roots under $work,
# overlay2, no bridge and no iptables rules. Sets docker_sock ("" when dockerd is not installed) and
# dockerd_pid; bench_cleanup stops it.
bench_dockerd() {
  docker_sock=""
  command -v dockerd >/dev/null || return 0
  mkdir -p "$work/dockerd"
  dockerd --data-root "$work/dockerd/data" --exec-root "$work/dockerd/exec" --pidfile "$work/dockerd/pid" \
    -H "unix://$work/dockerd/docker.sock" --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    --storage-driver overlay2 --log-level error >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 100); do DOCKER_HOST=unix://$work/dockerd/docker.sock docker version >/dev/null 2>&1 && break; sleep 0.1; done
  docker_sock=$work/dockerd/docker.sock
}
