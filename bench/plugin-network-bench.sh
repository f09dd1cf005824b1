#!/usr/bin/env bash
# What a network driver plugin costs on a container's start: `berth run --rm busybox true` on the built-in
# bridge against a network of plugins/net-veth (the Python veth-to-host plugin), with Berth's IPAM and with
# the plugin's own IPAM (two more plugin calls per run), in alternating blocks on one daemon.
# Writes bench/RESULTS-plugins.md.
#
#   bench/plugin-network-bench.sh [RUNS_PER_BLOCK] [BLOCKS]        (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
blocks=${2:-4}
source bench/lib.sh
plugdir=$(mktemp -d /run/berth-pbench-plugins.XXXXXX)
bench_daemon pbench "plugins = { dirs = { \"$plugdir\" } },"
python3 plugins/net-veth/berth-net-veth.py --socket "$plugdir/vethnet.sock" --state-dir "$work/vethnet" \
  2>"$work/vethnet.log" &
plugin_pid=$!
# The same plugin making the container's end on the host, as Docker's protocol has it (berthd moves it in).
python3 plugins/net-veth/berth-net-veth.py --socket "$plugdir/vethmove.sock" --state-dir "$work/vethmove" \
  --host-links 2>"$work/vethmove.log" &
move_pid=$!
trap 'kill $plugin_pid $move_pid 2>/dev/null; wait $plugin_pid $move_pid 2>/dev/null || true; bench_cleanup; rm -rf "$plugdir"' EXIT
for _ in $(seq 100); do [ -S "$plugdir/vethnet.sock" ] && [ -S "$plugdir/vethmove.sock" ] && break; sleep 0.05; done
$berth network create -d vethnet pbench-net >/dev/null
$berth network create -d vethnet --ipam-driver vethnet pbench-ipam >/dev/null
$berth network create -d vethmove pbench-move >/dev/null

python3 - "$runs" "$blocks" "$bin/berth" "$sock" <<'PY' | tee "$work/out.txt"
import statistics, subprocess, sys, time
runs, blocks, berth, sock = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
base = [berth, "-H", "unix://" + sock, "run", "--rm", "--network"]
cases = {"bridge": "bridge", "plugin (Berth's IPAM)": "pbench-net", "plugin (plugin's IPAM)": "pbench-ipam",
         "plugin, link moved in (Docker's way)": "pbench-move"}
times = {k: [] for k in cases}
order = list(cases)
for b in range(blocks):
    for name in (order if b % 2 == 0 else list(reversed(order))):
        cmd = base + [cases[name], "busybox", "true"]
        for _ in range(3):
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        for _ in range(runs):
            s = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            times[name].append((time.perf_counter() - s) * 1000)
for name, t in times.items():
    print(f"berth run --rm on {name}: min {min(t):.1f} ms, median {statistics.median(t):.1f} ms ({len(t)} runs)")
bridge = statistics.median(times["bridge"])
for name in order[1:]:
    print(f"{name} adds (difference of medians): {statistics.median(times[name]) - bridge:+.2f} ms")
PY
$berth network rm pbench-net pbench-ipam pbench-move >/dev/null

# Reference: Debian's dockerd 20.10 (when installed) with the same plugin, which it finds in /run/docker/plugins
# (not configurable): `docker run --rm` on a network of it against `--network none` (this dockerd runs with no
# bridge). Docker makes no in-sandbox offer, so the plugin's link is moved in, as the protocol has it.
bench_dockerd
dplug=/run/docker/plugins/berthbench-veth.sock
if [ -n "$docker_sock" ] && [ ! -e "$dplug" ]; then
  mkdir -p /run/docker/plugins
  python3 plugins/net-veth/berth-net-veth.py --socket "$dplug" --state-dir "$work/vethdocker" 2>"$work/vethdocker.log" &
  dplug_pid=$!
  trap 'kill $plugin_pid $move_pid $dplug_pid 2>/dev/null; wait $plugin_pid $move_pid $dplug_pid 2>/dev/null || true; rm -f "$dplug"; bench_cleanup; rm -rf "$plugdir"' EXIT
  for _ in $(seq 100); do [ -S "$dplug" ] && break; sleep 0.05; done
  dk="docker -H unix://$docker_sock"
  $dk import "$work/busybox.tar" busybox:latest >/dev/null
  $dk network create -d berthbench-veth --subnet 10.213.99.0/24 dbench-net >/dev/null
  python3 - "$runs" "$blocks" "$docker_sock" <<'PY' | tee -a "$work/out.txt"
import statistics, subprocess, sys, time
runs, blocks, sock = max(5, int(sys.argv[1]) // 3), max(2, int(sys.argv[2]) // 2), sys.argv[3]
base = ["docker", "-H", "unix://" + sock, "run", "--rm", "--network"]
cases = {"none": "none", "plugin (link moved in)": "dbench-net"}
times = {k: [] for k in cases}
for b in range(blocks):
    for name in (list(cases) if b % 2 == 0 else list(reversed(cases))):
        cmd = base + [cases[name], "busybox", "true"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        for _ in range(runs):
            s = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            times[name].append((time.perf_counter() - s) * 1000)
for name, t in times.items():
    print(f"dockerd 20.10 docker run --rm on {name}: min {min(t):.1f} ms, median {statistics.median(t):.1f} ms ({len(t)} runs)")
print(f"dockerd: plugin (link moved in) adds over none: {statistics.median(times['plugin (link moved in)']) - statistics.median(times['none']):+.2f} ms")
PY
  $dk network rm dbench-net >/dev/null
else
  echo "dockerd: not measured (docker.io not installed, or $dplug in use)" | tee -a "$work/out.txt"
fi

{
  echo "# Plugin network benchmark"
  echo
  echo "Measured by \`bench/plugin-network-bench.sh $runs $blocks\` on $(date -u +%Y-%m-%d) ($(nproc) cores, kernel $(uname -r)); release build."
  echo "The plugin is plugins/net-veth (Python, standard library; a veth pair per container made over rtnetlink)."
  echo
  echo '```'
  cat "$work/out.txt"
  echo '```'
  echo
  echo "Target (issue 8): a plugin network driver adds less than 10 ms to \`run --rm\` against the built-in bridge."
  echo "Per run the plugin gets CreateEndpoint, Join, Leave and DeleteEndpoint (and RequestAddress and"
  echo "ReleaseAddress with its own IPAM), each an HTTP request on a unix socket, and berthd makes the container's"
  echo "network namespace before Join (the SandboxKey). Berth offers the plugin, in Join's options, to make the"
  echo "container's end of its veth inside that namespace: net-veth takes the offer, so nothing is moved. The last"
  echo "case is the plugin declining it (--host-links), as every plugin written for Docker does: berthd then moves"
  echo "the link into the namespace, and the kernel's move (an RCU wait) costs some 20 ms on this machine."
  echo "The dockerd lines are the reference: Debian's dockerd 20.10 (overlay2, run with no bridge, so against"
  echo "--network none) with the same plugin, whose link it moves in as the protocol has it."
} >bench/RESULTS-plugins.md
