#!/usr/bin/env bash
# exec latency into a running container and json-file logging throughput (issue 5). Writes
# bench/RESULTS-exec-logs.md.
#
#   bench/exec-logs-bench.sh [EXECS] [LOG_MB] [ROUNDS]        (as root)
#
# exec: `POST /containers/{id}/exec` + `POST /exec/{id}/start` (hijacked, read to its end) + `GET /exec/{id}/json`
# for `true`, as docker-py and the docker CLI do it, over the unix socket; and `berth exec C true` as a command.
# logs: a container writes LOG_MB of 100-byte lines (the json-file log grows by 1.7 times that: each line gets its
# stream and a timestamp); the time from its start to its exit being recorded (the shim records the exit only
# after the last line is in the log), the same seen from the CLI, and `berth logs` reading all of it back, with
# every line counted.
set -euo pipefail
cd "$(dirname "$0")/.."
execs=${1:-200}
logmb=${2:-100}
rounds=${3:-5}
source bench/lib.sh
bench_daemon xbench

python3 - "$execs" "$logmb" "$bin/berth" "$sock" "$rounds" <<'PY' | tee "$work/out.txt"
import os, socket, statistics, subprocess, sys, time
execs, logmb, berth, sock, rounds = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
cli = [berth, "-H", "unix://" + sock]
sys.path.insert(0, "bench")
import engine_api
def api(method, path, body=None): return engine_api.api(sock, method, path, body)
def exec_once(cid):
    eid = api("POST", f"/containers/{cid}/exec", {"Cmd": ["true"], "AttachStdout": True, "AttachStderr": True})["Id"]
    s = socket.socket(socket.AF_UNIX); s.connect(sock)
    body = b'{"Detach":false,"Tty":false}'
    s.sendall(b"POST /v1.44/exec/" + eid.encode() + b"/start HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    while s.recv(65536): pass
    s.close()
    code = api("GET", f"/exec/{eid}/json")["ExitCode"]
    if code != 0: raise SystemExit(f"exec exit code {code}")
cid = subprocess.run(cli + ["run", "-d", "busybox", "sleep", "600"], check=True, capture_output=True, text=True).stdout.strip()
for _ in range(10): exec_once(cid)
t = []
for _ in range(execs):
    s = time.perf_counter(); exec_once(cid); t.append((time.perf_counter() - s) * 1000)
print(f"exec true through the API (create, hijacked start, inspect): min {min(t):.1f} ms, median {statistics.median(t):.1f} ms, p90 {sorted(t)[int(len(t)*0.9)]:.1f} ms ({execs} runs)")
t = []
for _ in range(max(20, execs // 4)):
    s = time.perf_counter(); subprocess.run(cli + ["exec", cid, "true"], check=True); t.append((time.perf_counter() - s) * 1000)
print(f"berth exec C true (the command, process start included): median {statistics.median(t):.1f} ms ({len(t)} runs)")
subprocess.run(cli + ["rm", "-f", cid], check=True, capture_output=True)

lines = logmb * 1024 * 1024 // 100
# The output is prepared on the host and bind-mounted, so the container's `cat` is not what is measured.
data = f"/var/tmp/berth-xbench-{lines}.txt"
with open(data, "wb") as f:
    line = b"0123456789" * 9 + b"012345678\n"
    f.write(line * lines)
os.sync()  # its writeback is not part of what is measured
def nanos(t):  # RFC 3339 with nanoseconds, UTC
    import calendar
    day, frac = t.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(day, "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(frac.ljust(9, "0"))
mb = lines * 100 / 1e6
runs = []  # (ran, end to end, read, MB read, lines read) per round; the medians are reported
for _ in range(rounds):
    s = time.perf_counter()
    cid = subprocess.run(cli + ["run", "-d", "-v", data + ":/data.txt:ro", "busybox", "cat", "/data.txt"], check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run(cli + ["wait", cid], check=True, capture_output=True)
    write = time.perf_counter() - s
    state = api("GET", f"/containers/{cid}/json")["State"]
    ran = (nanos(state["FinishedAt"]) - nanos(state["StartedAt"])) / 1e9
    s = time.perf_counter()
    p = subprocess.Popen(cli + ["logs", cid], stdout=subprocess.PIPE)
    got = 0; count = 0
    while True:
        chunk = p.stdout.read(1 << 20)
        if not chunk: break
        got += len(chunk); count += chunk.count(b"\n")
    p.wait()
    read = time.perf_counter() - s
    if count != lines: raise SystemExit(f"LOST LINES: {count} of {lines}")
    runs.append((ran, write, read, got / 1e6))
    subprocess.run(cli + ["rm", "-f", cid], check=True, capture_output=True)
def med(i): return statistics.median(r[i] for r in runs)
def spread(i): return f"{mb / max(r[i] for r in runs):.0f}-{mb / min(r[i] for r in runs):.0f}"
print(f"logging {mb:.0f} MB ({lines} lines) from a container to its json-file log, median of {rounds} containers: {med(0):.2f} s from its start to its exit being recorded (every line logged by then), {mb / med(0):.0f} MB/s (range {spread(0)})")
print(f"  the same end to end, with the `berth run -d` and `berth wait` processes: {med(1):.2f} s, {mb / med(1):.0f} MB/s (range {spread(1)})")
print(f"berth logs reading them back: {med(2):.2f} s, {med(3) / med(2):.0f} MB/s (range {spread(2)}); every line of every round read back, none lost")
import os; os.unlink(data)
PY

{
  echo "# exec and logs benchmark"
  echo
  echo "Measured by \`bench/exec-logs-bench.sh $execs $logmb $rounds\` on $(date -u +%Y-%m-%d) ($(nproc) cores, kernel $(uname -r)); release build."
  echo
  echo '```'
  cat "$work/out.txt"
  echo '```'
  echo
  echo "Targets (issue 5): exec under 10 ms median (Docker: about 60-100 ms); logs of a container writing 100 MB: none lost, at least 200 MB/s."
} >bench/RESULTS-exec-logs.md
echo "wrote bench/RESULTS-exec-logs.md"
