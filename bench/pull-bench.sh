#!/usr/bin/env bash
# Pull from a local registry (issue 6): a ~1 MB image (busybox, one gzipped layer) and a ~200 MB image of 5
# layers (incompressible data), from Debian's docker-registry on 127.0.0.1, through the API as `docker pull` does
# it (`berth pull`, the command, is timed too), side by side with Debian's dockerd when docker.io is installed.
# Each round removes the image first. Writes bench/RESULTS-pull.md.
#
#   bench/pull-bench.sh [ROUNDS]        (as root; needs docker-registry and skopeo)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
source bench/lib.sh
bench_daemon xpull
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/registry"
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
  "$work/registry" "$port" >"$work/registry.yml"
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null; bench_cleanup' EXIT
for _ in $(seq 100); do python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/v2/')" 2>/dev/null && break; sleep 0.1; done

# The small image: busybox. The large one: 5 layers of 40 MB of random bytes each.
contrib/mkimage-oci.py "$work/oci" small "$work/busybox.tar" >/dev/null
layers=()
for i in 1 2 3 4 5; do
  mkdir -p "$work/l$i"
  head -c $((40 * 1024 * 1024)) /dev/urandom >"$work/l$i/data$i"
  tar -C "$work/l$i" -cf "$work/l$i.tar" "data$i"
  rm -rf "$work/l$i"
  layers+=("$work/l$i.tar")
done
contrib/mkimage-oci.py "$work/oci" large "${layers[@]}" >/dev/null
rm -f "${layers[@]}"
skopeo copy --quiet --dest-tls-verify=false "oci:$work/oci:small" "docker://127.0.0.1:$port/bench/small:v1"
skopeo copy --quiet --dest-tls-verify=false "oci:$work/oci:large" "docker://127.0.0.1:$port/bench/large:v1"
rm -rf "$work/oci"
sync

# Debian's docker.io, when installed: its own dockerd (overlay2, Docker's default) on a private socket and roots,
# pulling the same images from the same registry.
bench_dockerd

python3 - "$rounds" "$bin/berth" "$sock" "127.0.0.1:$port" "$docker_sock" <<'PY' | tee "$work/out.txt"
import os, socket, statistics, subprocess, sys, time, json
rounds, berth, sock, reg, docker_sock = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
def http(path, sock, method="GET", headers=""):
    s = socket.socket(socket.AF_UNIX); s.connect(sock)
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(1 << 16)
        if not chunk: break
        data += chunk
    s.close()
    return data
engines = [("berthd", sock, "v1.44", [berth, "-H", "unix://" + sock])]
if docker_sock:
    engines.append(("dockerd", docker_sock, "v1.41", ["docker", "-H", "unix://" + docker_sock]))
def pull_api(engine, name, tag):
    # POST /images/create?fromImage=…&tag=… read to its end, as the docker CLI does it.
    _, s, v, _ = engine
    data = http(f"/{v}/images/create?fromImage={name}&tag={tag}", s, "POST", "X-Registry-Auth: e30=\r\n")
    if b"errorDetail" in data or b" 200 " not in data.split(b"\r\n", 1)[0]: raise SystemExit("pull failed: " + data[-300:].decode(errors="replace"))
def rmi(engine, ref): subprocess.run(engine[3] + ["rmi", ref], capture_output=True)
def size(engine, ref): return int(subprocess.run(engine[3] + ["inspect", "--format", "{{.Size}}", ref], check=True, capture_output=True, text=True).stdout)
for label, repo in (("1 MB image (busybox, 1 layer)", "bench/small"), ("200 MB image (5 layers of 40 MB)", "bench/large")):
    name = f"{reg}/{repo}"
    print(label + ":")
    for engine in engines:
        api, cmd = [], []
        for i in range(rounds):
            rmi(engine, f"{name}:v1")
            subprocess.run(["sync"])
            t = time.perf_counter(); pull_api(engine, name, "v1"); api.append(time.perf_counter() - t)
            rmi(engine, f"{name}:v1")
            subprocess.run(["sync"])
            t = time.perf_counter(); subprocess.run(engine[3] + ["pull", "-q", f"{name}:v1"], check=True, capture_output=True); cmd.append(time.perf_counter() - t)
        mb = size(engine, f"{name}:v1") / 1e6
        command = "berth pull" if engine[0] == "berthd" else "docker pull"
        line = f"  {engine[0]:8} through the API median {statistics.median(api)*1000:.0f} ms (min {min(api)*1000:.0f}), `{command}` median {statistics.median(cmd)*1000:.0f} ms; {mb:.1f} MB unpacked"
        if mb > 50: line += f", {mb / statistics.median(api):.0f} MB/s"
        print(line)
PY

{
  echo "# pull benchmark"
  echo
  echo "Measured by \`bench/pull-bench.sh $rounds\` on $(date -u +%Y-%m-%d) ($(nproc) cores, kernel $(uname -r)); release build;"
  echo "Debian's docker-registry on 127.0.0.1, filesystem storage; the image removed before each pull."
  echo
  echo '```'
  cat "$work/out.txt"
  echo '```'
  echo
  echo "Targets (issue 6): the small pull at most half Docker's time (about 130-260 ms here), the large one limited"
  if [ -n "$docker_sock" ]; then
    echo "by disk and loopback, not by Berth. dockerd is Debian's docker.io $(dockerd --version | cut -d' ' -f3 | tr -d ,) with overlay2, on"
    echo "a private socket and roots, pulling the same images from the same registry (the docker CLI is $(docker --version | cut -d' ' -f3 | tr -d ,))."
  else
    echo "by disk and loopback, not by Berth. Docker's own pull was not measured: Debian's docker.io is not installed."
  fi
} >bench/RESULTS-pull.md
echo "wrote bench/RESULTS-pull.md"
