#!/usr/bin/env bash
# What the bridge network adds to a container's start: `berth run --rm busybox true` on the default bridge
# against `--network none` (alternating blocks, one daemon), and 20 containers started in parallel on one
# bridge; `docker run` side by side where a Docker daemon runs. Writes bench/RESULTS-network.md.
#
#   bench/network-bench.sh [RUNS_PER_BLOCK] [BLOCKS]        (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-40}
blocks=${2:-4}
source bench/lib.sh
bench_daemon nbench

docker_cmd=""
if command -v docker >/dev/null && DOCKER_HOST=unix:///var/run/docker.sock docker info >/dev/null 2>&1; then
  docker_cmd="env DOCKER_HOST=unix:///var/run/docker.sock docker"
fi

python3 - "$runs" "$blocks" "$bin/berth" "$sock" "$docker_cmd" <<'PY' | tee "$work/out.txt"
import statistics, subprocess, sys, time
runs, blocks, berth, sock, docker = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
base = [berth, "-H", "unix://" + sock, "run", "--rm"]
cases = {"none": base + ["--network", "none", "busybox", "true"], "bridge": base + ["--network", "bridge", "busybox", "true"]}
times = {k: [] for k in cases}
for b in range(blocks):
    for name in (("none", "bridge") if b % 2 == 0 else ("bridge", "none")):
        for _ in range(3):
            subprocess.run(cases[name], check=True, stdout=subprocess.DEVNULL)
        for _ in range(runs):
            s = time.perf_counter()
            subprocess.run(cases[name], check=True, stdout=subprocess.DEVNULL)
            times[name].append((time.perf_counter() - s) * 1000)
for name, t in times.items():
    print(f"berth run --rm --network {name}: min {min(t):.1f} ms, median {statistics.median(t):.1f} ms ({len(t)} runs)")
print(f"bridge adds (difference of medians): {statistics.median(times['bridge']) - statistics.median(times['none']):+.2f} ms")
# 20 containers in parallel on the bridge, started (not yet removed): through the API as SDKs and compose
# start them (20 threads, create + start each), and through 20 `berth run -d` processes.
import threading
sys.path.insert(0, "bench")
import engine_api
def api(method, path, body=None): return engine_api.api(sock, method, path, body)
def remove_all():
    for c in api("GET", "/containers/json?all=1"): api("DELETE", f"/containers/{c['Id']}?force=1")
    time.sleep(1)
def start_one(ids, errors):
    try:
        cid = api("POST", "/containers/create", {"Image": "busybox", "Cmd": ["sleep", "60"], "HostConfig": {"NetworkMode": "bridge"}})["Id"]
        api("POST", f"/containers/{cid}/start"); ids.append(cid)
    except Exception as e: errors.append(e)
par = []
for _ in range(7):
    ids, errors = [], []
    threads = [threading.Thread(target=start_one, args=(ids, errors)) for _ in range(20)]
    s = time.perf_counter(); [t.start() for t in threads]; [t.join() for t in threads]
    par.append((time.perf_counter() - s) * 1000)
    if errors: sys.exit(f"a parallel start failed: {errors[0]}")
    remove_all()
print(f"20 x create+start through the API in parallel (bridge): min {min(par):.0f} ms, median {statistics.median(par):.0f} ms (7 rounds)")
par = []
for _ in range(7):
    s = time.perf_counter()
    procs = [subprocess.Popen([berth, "-H", "unix://" + sock, "run", "-d", "--network", "bridge", "busybox", "sleep", "60"], stdout=subprocess.DEVNULL) for _ in range(20)]
    codes = [p.wait() for p in procs]
    par.append((time.perf_counter() - s) * 1000)
    if any(codes): sys.exit(f"a parallel run -d failed: {codes}")
    remove_all()
print(f"20 x berth run -d --network bridge in parallel: min {min(par):.0f} ms, median {statistics.median(par):.0f} ms (7 rounds)")
# 20 containers in parallel: wall time until all 20 have run and exited, on the bridge and, for scale, on none.
for name in ("none", "bridge"):
    par = []
    for _ in range(5):
        s = time.perf_counter()
        procs = [subprocess.Popen(cases[name], stdout=subprocess.DEVNULL) for _ in range(20)]
        codes = [p.wait() for p in procs]
        par.append((time.perf_counter() - s) * 1000)
        if any(codes):
            sys.exit(f"a parallel run failed: {codes}")
    print(f"20 x berth run --rm --network {name} in parallel: min {min(par):.0f} ms, median {statistics.median(par):.0f} ms (5 rounds)")
if docker:
    d = docker.split() + ["run", "--rm"]
    for name in ("none", "bridge"):
        t = []
        for _ in range(runs):
            s = time.perf_counter()
            subprocess.run(d + ["--network", name, "busybox", "true"], check=True, stdout=subprocess.DEVNULL)
            t.append((time.perf_counter() - s) * 1000)
        print(f"docker run --rm --network {name}: median {statistics.median(t):.1f} ms")
else:
    print("docker run: not measured (no Docker daemon on this machine)")
PY

{
  echo "# Network benchmark"
  echo
  echo "Measured by \`bench/network-bench.sh $runs $blocks\` on $(date -u +%Y-%m-%d) ($(nproc) cores, kernel $(uname -r)); release build."
  echo
  echo '```'
  cat "$work/out.txt"
  echo '```'
  echo
  echo "Targets (issue 4): the bridge adds at most 5 ms to a run; 20 containers on one bridge start in parallel in under 400 ms."
} >bench/RESULTS-network.md
echo "wrote bench/RESULTS-network.md"
