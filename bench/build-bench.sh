#!/usr/bin/env bash
# Build benchmark (issue 7): a cold (--no-cache) and a fully cached build of a small Dockerfile (FROM busybox,
# ARG/ENV/WORKDIR/COPY/RUN/CMD), timed as the command a user runs: `berth build` against berthd, side by side
# with Debian's dockerd (docker.io) through `DOCKER_BUILDKIT=0 docker build` (the classic builder) and through
# BuildKit (docker.io's own 20.10 client, which has BuildKit built in; the docker 28 CLI here would need buildx).
# Writes bench/RESULTS-build.md.
#
#   bench/build-bench.sh [ROUNDS]        (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
source bench/lib.sh
bench_daemon xbuild

ctx=$work/ctx
mkdir -p "$ctx"
printf 'hello from the context\n' >"$ctx/msg.txt"
cat >"$ctx/Dockerfile" <<'EOF'
FROM busybox
ARG GREETING=hi
ENV APP_HOME=/app
WORKDIR $APP_HOME
COPY msg.txt .
RUN echo "$GREETING built" > built.txt
CMD ["sh", "-c", "cat msg.txt built.txt"]
EOF

bench_dockerd
[ -n "$docker_sock" ] && DOCKER_HOST=unix://$docker_sock docker import -c 'CMD ["sh"]' "$work/busybox.tar" busybox:latest >/dev/null

python3 - "$rounds" "$bin/berth" "$sock" "$docker_sock" "$ctx" <<'PY' | tee "$work/out.txt"
import os, statistics, subprocess, sys, time
rounds, berth, sock, docker_sock, ctx = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
tools = [("berth build", [berth, "-H", "unix://" + sock, "build"], {})]
if docker_sock:
    env = dict(os.environ, DOCKER_HOST="unix://" + docker_sock)
    tools.append(("docker build (classic)", ["docker", "build"], dict(env, DOCKER_BUILDKIT="0")))
    if os.path.exists("/usr/bin/docker"):
        # dockerd runs without its bridge here (no iptables rules on the host): BuildKit's RUN uses the host's
        # network, the classic builder's the default (none without a bridge), Berth's its default bridge.
        tools.append(("docker build (BuildKit)", ["/usr/bin/docker", "build", "--network", "host"], dict(env, DOCKER_BUILDKIT="1")))
def timed(cmd, env):
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env or None, capture_output=True, text=True)
    if r.returncode != 0: raise SystemExit(f"{cmd}: {r.stderr[-400:]}")
    return time.perf_counter() - t, r.stdout + r.stderr
for label, cmd, env in tools:
    cold, cached = [], []
    timed(cmd + ["-q", "-t", "bench:warm", ctx], env)  # base image, caches warm
    for _ in range(rounds):
        d, _ = timed(cmd + ["--no-cache", "-q", "-t", "bench:cold", ctx], env); cold.append(d)
        d, out = timed(cmd + ["-t", "bench:cached", ctx], env); cached.append(d)
    print(f"{label:26} cold median {statistics.median(cold)*1000:4.0f} ms (min {min(cold)*1000:.0f}), "
          f"cached median {statistics.median(cached)*1000:4.0f} ms (min {min(cached)*1000:.0f})")
PY

{
  echo "# build benchmark"
  echo
  echo "Measured by \`bench/build-bench.sh $rounds\` on $(date -u +%Y-%m-%d) ($(nproc) cores, kernel $(uname -r)); release build."
  echo "The Dockerfile: FROM busybox, ARG, ENV, WORKDIR, COPY, RUN, CMD; cold is \`--no-cache\` with the base image"
  echo "present, cached is an unchanged rebuild; each time is the whole command, context upload included. dockerd"
  echo "runs without its bridge (no host iptables rules): BuildKit's RUN uses --network host."
  echo
  echo '```'
  cat "$work/out.txt"
  echo '```'
  echo
  echo "Targets (issue 7): cold at most half of Docker's classic builder (about 420 ms here), cached under 50 ms."
  if [ -n "$docker_sock" ]; then
    echo "dockerd is Debian's docker.io $(dockerd --version | cut -d' ' -f3 | tr -d ,) with overlay2 on a private socket and roots."
  else
    echo "Docker was not measured: Debian's docker.io is not installed."
  fi
} >bench/RESULTS-build.md
echo "wrote bench/RESULTS-build.md"
