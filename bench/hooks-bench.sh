#!/usr/bin/env bash
# The cost of Lua hooks on `berth run --rm --network none busybox true`: ten loaded scripts that each handle
# every container event (create, prestart, poststart, stop, poststop, remove) against none.
#
# One berthd (release build, temporary root), switched between an empty hooks directory and the ten scripts
# with SIGHUP, in alternating blocks so that drift of this shared machine hits both sides alike. Reports:
#   - end-to-end medians of `berth run --rm` with and without the scripts, and their difference;
#   - what the daemon itself measured (debug log "hooks ran"): the time create and prestart hooks added to
#     the request path (thread hop included), and the CPU time of the observe-only events run after it.
# Writes bench/RESULTS-hooks.md.
#
#   bench/hooks-bench.sh [RUNS_PER_BLOCK] [BLOCKS]        (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-40}
blocks=${2:-4}
swift build -c release --product berthd >/dev/null
swift build -c release --product berth-shim >/dev/null
swift build -c release --product berth >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d /var/tmp/berth-hbench.XXXXXX)
run=$(mktemp -d /run/berth-hbench.XXXXXX)
sock=$run/berth.sock
mkdir -p "$work/none" "$work/ten"
for i in $(seq -w 1 10); do
  cat >"$work/ten/$i-bench.lua" <<LUA
-- Bench script $i: reads the object, keeps a count per event, checks a label, changes nothing.
local function seen(c)
  local key = "n." .. c.event
  berth.kv.set(key, (berth.kv.get(key) or 0) + 1)
  local owner = c.labels.owner
  if c.limits.memory and c.limits.memory < 0 then berth.log.warn("odd memory", { id = c.id }) end
  return nil
end
return {
  create = function(c) if c.labels["bench.refuse"] then return berth.refuse("asked") end; seen(c) end,
  prestart = seen, poststart = seen, stop = seen, poststop = seen, remove = seen,
}
LUA
done
printf 'return { hooks = { dir = "%s/hooks" } }\n' "$work" >"$work/config.lua"
ln -sfn "$work/none" "$work/hooks"
"$bin/berthd" --config "$work/config.lua" --root "$work/lib" --exec-root "$run" --log-level debug \
  >"$work/berthd.log" 2>&1 &
daemon=$!
cleanup() {
  kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null || true
  rm -rf "$work" "$run"
}
trap cleanup EXIT
for _ in $(seq 100); do "$bin/berth" -H "unix://$sock" version >/dev/null 2>&1 && break; sleep 0.1; done
contrib/mkimage-busybox.sh "$work/busybox.tar" >/dev/null
"$bin/berth" -H "unix://$sock" import "$work/busybox.tar" busybox:latest >/dev/null

python3 - "$runs" "$blocks" "$bin/berth" "$sock" "$work" "$daemon" <<'PY' | tee "$work/out.txt"
import os, re, signal, statistics, subprocess, sys, time
runs, blocks, berth, sock, work, daemon = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
argv = [berth, "-H", "unix://" + sock, "run", "--rm", "--network", "none", "busybox", "true"]
log = os.path.join(work, "berthd.log")

def switch(target, count):
    os.remove(os.path.join(work, "hooks"))
    os.symlink(os.path.join(work, target), os.path.join(work, "hooks"))
    os.kill(daemon, signal.SIGHUP)
    for _ in range(100):
        out = subprocess.run([berth, "-H", "unix://" + sock, "system", "hooks", "-q"], capture_output=True, text=True).stdout
        if len(out.split()) == count:
            return
        time.sleep(0.05)
    sys.exit(f"reload to {target} did not take")

times = {"none": [], "ten": []}
for b in range(blocks):
    for name, count in (("none", 0), ("ten", 10)) if b % 2 == 0 else (("ten", 10), ("none", 0)):
        switch(name, count)
        for _ in range(3):
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        mark = os.path.getsize(log)
        for _ in range(runs):
            s = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            times[name].append((time.perf_counter() - s) * 1000)
        if name == "ten":
            with open(log) as f:
                f.seek(mark)
                chunk = f.read()
time.sleep(0.5)
with open(log) as f:
    text = f.read()
path, observe, hops = [], [], []
for m in re.finditer(r'(?:back=(\d+) )?event=(\w+) micros=(\d+)( observe=true)?(?: wake=(\d+) work=(\d+))?', text):
    (observe if m.group(4) else path).append((m.group(2), int(m.group(3))))
    if m.group(1):
        hops.append((m.group(2), int(m.group(1)) + int(m.group(5))))
runs_ten = len(times["ten"]) + 3 * (blocks // 2 + blocks % 2)
def per_run(entries, events):
    total = sum(us for e, us in entries if e in events)
    return total / max(1, runs_ten) / 1000
med_none, med_ten = statistics.median(times["none"]), statistics.median(times["ten"])
print(f"berth run --rm, no hooks:        min {min(times['none']):.1f} ms, median {med_none:.1f} ms ({len(times['none'])} runs)")
print(f"berth run --rm, 10 hook scripts: min {min(times['ten']):.1f} ms, median {med_ten:.1f} ms ({len(times['ten'])} runs)")
print(f"difference of medians: {med_ten - med_none:+.2f} ms (end to end; this machine's run-to-run spread is several ms)")
print(f"measured in berthd, per run: create+prestart hooks on the request path {per_run(path, ('create', 'prestart')):.3f} ms; "
      f"observe-only hooks (poststart, poststop, remove) after it {per_run(observe, ('poststart', 'poststop', 'remove')):.3f} ms")
print(f"  of the request-path time, {per_run(hops, ('create', 'prestart')):.3f} ms is the two hops to the hook thread and back")
PY

{
  echo "# Hook benchmark"
  echo
  echo "Measured by \`bench/hooks-bench.sh $runs $blocks\` on $(date -u +%Y-%m-%d) ($(nproc) cores, kernel $(uname -r)); release build."
  echo "Ten scripts, each handling every container event, against an empty hooks directory, in alternating blocks."
  echo
  echo '```'
  cat "$work/out.txt"
  echo '```'
  echo
  echo "Target (issue 3): under 0.5 ms added to \`berth run --rm\` with ten scripts."
} >bench/RESULTS-hooks.md
echo "wrote bench/RESULTS-hooks.md"
