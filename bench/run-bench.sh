#!/usr/bin/env bash
# Container start-up and memory, side by side in one run:
#   berth run --rm --network none busybox true      (release build, berthd on a temporary root)
#   runc run on the same busybox rootfs             (Debian's runc; installed if missing)
#   docker run --rm --network none busybox true     (only where a Docker daemon is running)
# plus berthd's idle RSS and one shim's RSS. Prints min/median/max and ratios and writes bench/RESULTS.md.
#
#   bench/run-bench.sh [RUNS]        (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
command -v runc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runc >/dev/null; }
swift build -c release --product berthd >/dev/null
swift build -c release --product berth-shim >/dev/null
swift build -c release --product berth >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d /var/tmp/berth-bench.XXXXXX)
run=$(mktemp -d /run/berth-bench.XXXXXX)   # volatile state under /run, as /run/berth
sock=$run/berth.sock
# Built-in defaults (no hooks, whatever /etc/berth/config.lua says) but its own bridge and nftables table.
suffix=$(basename "$work" | tail -c 7)
printf 'return { network = { bridge = { name = "br%s" }, nft_table = "br_%s" } }\n' "$suffix" "$suffix" >"$work/config.lua"
"$bin/berthd" --config "$work/config.lua" --root "$work/lib" --exec-root "$run" >"$work/berthd.log" 2>&1 &
daemon=$!
cleanup() {
  "$bin/berth" -H "unix://$sock" rm -f benchsleep >/dev/null 2>&1 || true
  kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null || true
  runc delete -f berthbench >/dev/null 2>&1 || true
  ip link del "br$suffix" 2>/dev/null || true
  nft delete table ip "br_$suffix" 2>/dev/null || true
  rm -rf "$work" "$run"
}
trap cleanup EXIT
for _ in $(seq 100); do "$bin/berth" -H "unix://$sock" version >/dev/null 2>&1 && break; sleep 0.1; done
contrib/mkimage-busybox.sh "$work/busybox.tar" >/dev/null
"$bin/berth" -H "unix://$sock" import "$work/busybox.tar" busybox:latest >/dev/null

# runc bundle on the same rootfs.
mkdir -p "$work/bundle/rootfs"
tar -C "$work/bundle/rootfs" -xf "$work/busybox.tar"
(cd "$work/bundle" && runc spec && python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"]["readonly"] = False
json.dump(c, open("config.json", "w"))
PY
)

docker_cmd=""
if command -v docker >/dev/null && DOCKER_HOST=unix:///var/run/docker.sock docker info >/dev/null 2>&1; then
  if ! DOCKER_HOST=unix:///var/run/docker.sock docker image inspect busybox:latest >/dev/null 2>&1; then
    DOCKER_HOST=unix:///var/run/docker.sock docker import "$work/busybox.tar" busybox:latest >/dev/null
  fi
  docker_cmd="env DOCKER_HOST=unix:///var/run/docker.sock docker run --rm --network none busybox true"
fi

python3 - "$runs" "$bin/berth -H unix://$sock run --rm --network none busybox true" \
  "runc run --bundle $work/bundle berthbench" "$docker_cmd" <<'PY' | tee "$work/times.txt"
import statistics, subprocess, sys, time
runs = int(sys.argv[1])
cases = [("berth run --rm --network none busybox true", sys.argv[2]),
         ("runc run (same rootfs)", sys.argv[3]),
         ("docker run --rm --network none busybox true", sys.argv[4])]
results = {}
for name, cmd in cases:
    if not cmd:
        print(f"{name}: not measured (no Docker daemon on this machine)")
        continue
    argv = cmd.split()
    for _ in range(3):
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    t = []
    for _ in range(runs):
        s = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        t.append((time.perf_counter() - s) * 1000)
    results[name] = t
    print(f"{name}: min {min(t):.1f} ms, median {statistics.median(t):.1f} ms, max {max(t):.1f} ms ({runs} runs)")
base = results.get("berth run --rm --network none busybox true")
for name, t in results.items():
    if base and t is not base:
        print(f"ratio {name} / berth (median): {statistics.median(t) / statistics.median(base):.2f}")
PY

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
sleep 1
daemon_rss=$(rss $daemon)
"$bin/berth" -H "unix://$sock" run -d --name benchsleep busybox sleep 300 >/dev/null
sleep 0.5
shim=$(cat "$run/containers/$("$bin/berth" -H "unix://$sock" inspect -f '{{.Id}}' benchsleep)/shim.pid")
shim_rss=$(rss "$shim")
echo "berthd idle RSS: $((daemon_rss / 1024)).$(( (daemon_rss % 1024) * 10 / 1024 )) MB; one shim RSS: $((shim_rss / 1024)).$(( (shim_rss % 1024) * 10 / 1024 )) MB" | tee -a "$work/times.txt"

{
  echo "# Benchmark results"
  echo
  echo "Measured by \`bench/run-bench.sh $runs\` on $(date -u +%Y-%m-%d) ($(nproc) cores, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)); release build."
  echo "Wall time of one whole command, spawned from Python; minimums are the most trustworthy numbers on a shared machine."
  echo
  echo '```'
  cat "$work/times.txt"
  echo '```'
  echo
  echo "Targets (issue 2): Berth's median at most 30 ms; berthd idle RSS under 30 MB; each shim under 3 MB RSS."
} > bench/RESULTS.md
echo "wrote bench/RESULTS.md"
