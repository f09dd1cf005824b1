#!/usr/bin/env bash
# test-plugin.sh: drives berth-storage-copy.py through its GraphDriver protocol with curl on a temporary socket and
# home, and checks what lands on disk. Needs root (file owners, setuid, device nodes), python3 and curl; touches
# nothing outside a temporary directory. Exits non-zero with a message at the first failure.
#
#   sudo plugins/storage-copy/test-plugin.sh      # KEEP=1 keeps the temporary directory and the plugin log
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
plugin=${PLUGIN:-$here/berth-storage-copy.py}  # PLUGIN=... tests another copy
work=$(mktemp -d /tmp/berth-storage-copy-test.XXXXXX)
sock=$work/run/copyfs.sock
home=$work/home
out=$work/outside          # the escape attempts aim here
log=$work/plugin.log
pid=""

cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    if [ -s "$log" ]; then echo "--- last lines of the plugin's log:" >&2; tail -n 15 "$log" >&2; fi
    exit 1
}
pass() { echo "ok   $*"; }

[ "$(id -u)" = 0 ] || fail "must run as root (it checks file owners, setuid bits and device nodes)"
command -v curl >/dev/null || fail "curl is needed"
mkdir -p "$out" "$work/run"
echo secret > "$out/victim"

start_plugin() {
    rm -f "$sock"
    python3 "$plugin" --socket "$sock" 2>>"$log" &
    pid=$!
    for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.05; done
    fail "the plugin did not create $sock"
}

# call METHOD JSON: POSTs /GraphDriver.METHOD; the reply body goes to $work/reply, the HTTP status to $code.
call() {
    code=$(curl -sS --unix-socket "$sock" -o "$work/reply" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' --data-binary "$2" "http://plugin.moby.localhost/GraphDriver.$1") \
        || fail "curl failed on $1"
}
# ok METHOD JSON: the call must succeed (200, no Err).
ok() {
    call "$@"
    [ "$code" = 200 ] && ! grep -q '"Err": *"[^"]' "$work/reply" \
        || fail "$1 $2: expected success, got $code $(cat "$work/reply")"
}
# refused METHOD JSON REGEX: the call must fail with an Err matching REGEX.
refused() {
    call "$1" "$2"
    [ "$code" != 200 ] || fail "$1 $2: expected an error, got 200 $(cat "$work/reply")"
    reply_is "re.search(r'''$3''', r.get('Err', ''))" || fail "$1 $2: Err does not match /$3/: $(cat "$work/reply")"
}
# reply_is PY_EXPR: evaluates a Python expression over the parsed reply `r`.
reply_is() {
    python3 -c 'import json, re, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
        "$work/reply" "$1"
}
reply_get() {
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$work/reply" "$1"
}
# apply ID TARFILE [curl options]: ApplyDiff with the tar as the body (Content-Length unless options say otherwise).
apply() {
    local id=$1 tar=$2; shift 2
    code=$(curl -sS --unix-socket "$sock" -o "$work/reply" -w '%{http_code}' -X POST "$@" \
        "http://plugin.moby.localhost/GraphDriver.ApplyDiff?id=$id&parent=") || fail "curl failed on ApplyDiff $id"
}
apply_ok() {
    apply "$@" --data-binary "@$2"
    [ "$code" = 200 ] || fail "ApplyDiff $1 $(basename "$2"): expected success, got $code $(cat "$work/reply")"
}
apply_refused() {
    apply "$1" "$2" --data-binary "@$2"
    [ "$code" != 200 ] || fail "ApplyDiff $1 $(basename "$2"): expected an error, got 200 $(cat "$work/reply")"
    reply_is "re.search(r'''$3''', r.get('Err', ''))" \
        || fail "ApplyDiff $(basename "$2"): Err does not match /$3/: $(cat "$work/reply")"
}
# is_ STAT_FORMAT PATH EXPECTED
is_() {
    local got
    got=$(stat -c "$1" "$2" 2>/dev/null) || fail "$2 is missing"
    [ "$got" = "$3" ] || fail "$2: stat $1 is '$got', expected '$3'"
}
absent() { [ ! -e "$1" ] && [ ! -L "$1" ] || fail "$1 should not exist"; }
content() { [ "$(cat "$1" 2>/dev/null)" = "$2" ] || fail "$1 holds '$(cat "$1" 2>/dev/null)', expected '$2'"; }

devices=1
if mknod "$work/devtest" c 1 3 2>/dev/null; then rm -f "$work/devtest"; else
    devices=0; echo "note: mknod is not permitted here; device node checks skipped"
fi

# ---- the tars, made with Python's tarfile (names tar(1) would refuse to write) ---------------------------------
python3 - "$work" "$out" "$devices" <<'EOF'
import gzip, io, os, sys, tarfile
work, out, devices = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
T = 1600000000

def make(name, entries, gz=False):
    with tarfile.open(os.path.join(work, name), "w:gz" if gz else "w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.type = e.get("type", tarfile.REGTYPE)
            ti.mode = e.get("mode", 0o755 if ti.type == tarfile.DIRTYPE else 0o644)
            ti.uid, ti.gid = e.get("owner", (0, 0))
            ti.mtime = e.get("mtime", T)
            ti.linkname = e.get("link", "")
            ti.devmajor, ti.devminor = e.get("dev", (0, 0))
            data = e.get("data", b"")
            ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if ti.size else None)

D, S, H = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
FIFO, CHR = tarfile.FIFOTYPE, tarfile.CHRTYPE
l1 = [
    {"name": "./", "type": D},
    {"name": "bin", "type": D, "mtime": T + 5},
    {"name": "bin/tool", "data": b"#!/bin/sh\necho tool\n", "mode": 0o4755},
    {"name": "bin/tool-link", "type": S, "link": "tool"},
    {"name": "bin/tool-hard", "type": H, "link": "bin/tool"},
    {"name": "etc", "type": D, "mtime": T + 7},
    {"name": "etc/hello", "data": b"hello\n", "mtime": T + 1},
    {"name": "etc/abs-link", "type": S, "link": "/etc/hello"},
    {"name": "owned", "data": b"mine\n", "owner": (1234, 5678), "mode": 0o640},
    {"name": "dev", "type": D},
    {"name": "dev/fifo", "type": FIFO, "mode": 0o600},
    {"name": "gone", "data": b"to be deleted\n"},
    {"name": "gonedir", "type": D},
    {"name": "gonedir/x", "data": b"x\n"},
    {"name": "opq", "type": D},
    {"name": "opq/old1", "data": b"old1\n"},
    {"name": "opq/sub", "type": D},
    {"name": "opq/sub/old2", "data": b"old2\n"},
    {"name": "deep/er/path/file", "data": b"parents made on the way\n"},  # no directory entries before it
]
if devices:
    l1.append({"name": "dev/null", "type": CHR, "dev": (1, 3), "mode": 0o666})
make("l1.tar", l1)
make("l1.tar.gz", l1, gz=True)

make("l2.tar", [
    {"name": ".wh.gone"},
    {"name": ".wh.gonedir"},
    {"name": "etc", "type": D, "mtime": T + 7},
    {"name": "etc/hello", "data": b"hello again\n", "mtime": T + 100},
    {"name": "added", "data": b"new in L2\n", "mtime": T + 100},
    {"name": "opq", "type": D},
    {"name": "opq/early", "data": b"written before the marker\n", "mtime": T + 100},
    {"name": "opq/.wh..wh..opq"},
    {"name": "opq/new", "data": b"written after the marker\n", "mtime": T + 100},
])

make("big.tar", [{"name": "big", "data": os.urandom(3 * 1024 * 1024 + 123), "mode": 0o600}])

make("evil-dotdot.tar", [{"name": "../x", "data": b"escaped\n"}])
make("evil-dotdot-inner.tar", [{"name": "a/../../x", "data": b"escaped\n"}])
make("evil-abs.tar", [{"name": out + "/abs", "data": b"escaped\n"}])
make("evil-symlink-dir.tar", [{"name": "evil", "type": S, "link": out}, {"name": "evil/x", "data": b"escaped\n"}])
make("evil-hardlink-abs.tar", [{"name": "h", "type": H, "link": out + "/victim"}])
make("evil-hardlink-dotdot.tar", [{"name": "h", "type": H, "link": "../../../../../../" + out + "/victim"}])
make("evil-hardlink-via-symlink.tar", [
    {"name": "e2", "type": S, "link": out}, {"name": "h2", "type": H, "link": "e2/victim"}])
make("evil-whiteout-via-symlink.tar", [{"name": "e3", "type": S, "link": out}, {"name": "e3/.wh.victim"}])
make("evil-opaque-via-symlink.tar", [{"name": "e4", "type": S, "link": out}, {"name": "e4/.wh..wh..opq"}])
# Allowed, but must not touch what the symlinks name: a file replacing a symlink, a hard link to a symlink.
make("symlink-replaced.tar", [
    {"name": "s", "type": S, "link": out + "/victim"},
    {"name": "s", "data": b"a file now\n"},
    {"name": "sl", "type": S, "link": out + "/victim"},
    {"name": "hl", "type": H, "link": "sl"},
])
EOF
pass "test tars made"

# ---- before Init ------------------------------------------------------------------------------------------------
start_plugin
code=$(curl -sS --unix-socket "$sock" -o "$work/reply" -w '%{http_code}' -X POST http://plugin/Plugin.Activate)
[ "$code" = 200 ] && reply_is 'r == {"Implements": ["GraphDriver"]}' || fail "Activate: $code $(cat "$work/reply")"
pass "Plugin.Activate implements GraphDriver"
refused Status '' 'not initialised'
refused Create '{"ID":"L1"}' 'not initialised'
pass "calls before Init are refused"
code=$(curl -sS --unix-socket "$sock" -o "$work/reply" -w '%{http_code}' -X POST http://plugin/GraphDriver.Frobnicate)
[ "$code" = 404 ] && reply_is "'unknown call' in r['Err']" || fail "unknown call: $code $(cat "$work/reply")"
pass "an unknown call is a 404 with Err"

# ---- Init ---------------------------------------------------------------------------------------------------------
refused Init "{\"Home\":\"$home\",\"Opts\":[\"size=10G\"]}" 'unknown option'
ok Init "{\"Home\":\"$home\",\"Opts\":[],\"UIDMaps\":[],\"GIDMaps\":[]}"
[ -d "$home/layers" ] && [ -d "$home/meta" ] || fail "Init did not make $home/layers and meta"
ok Init "{\"Home\":\"$home\",\"Opts\":[\"reflink=auto\"]}"
pass "Init makes the home and may be called again"
ok Capabilities ''
reply_is 'r == {"Capabilities": {"ReproducesExactDiffs": False}}' || fail "Capabilities: $(cat "$work/reply")"
ok Cleanup ''
refused Create '{"ID":"../x"}' 'invalid layer ID'
refused Create '{"ID":""}' 'invalid layer ID'
refused Create '{"ID":".hidden"}' 'invalid layer ID'
refused Create '{"ID":"X","Parent":"nope"}' 'no such layer'
[ -z "$(ls -A "$home/layers")" ] || fail "a refused Create left $(ls -A "$home/layers")"
pass "bad IDs and a missing parent are refused, leaving nothing"

# ---- L1: a base layer with every kind of file -------------------------------------------------------------------
ok Create '{"ID":"L1","Parent":"","MountLabel":"","StorageOpt":{}}'
refused Create '{"ID":"L1"}' 'already exists'
is_ '%a %F' "$home/layers/L1" "755 directory"
apply_ok L1 "$work/l1.tar"
reply_is "r == {'Size': $((20 + 6 + 5 + 14 + 2 + 5 + 5 + 24))}" || fail "ApplyDiff L1 Size: $(cat "$work/reply")"
L1=$home/layers/L1
is_ '%a %u:%g %F' "$L1/bin/tool" "4755 0:0 regular file"
content "$L1/bin/tool" $'#!/bin/sh\necho tool'
is_ '%F' "$L1/bin/tool-link" "symbolic link"
[ "$(readlink "$L1/bin/tool-link")" = tool ] || fail "bin/tool-link -> $(readlink "$L1/bin/tool-link")"
[ "$(readlink "$L1/etc/abs-link")" = /etc/hello ] || fail "etc/abs-link -> $(readlink "$L1/etc/abs-link")"
[ "$(stat -c %i "$L1/bin/tool-hard")" = "$(stat -c %i "$L1/bin/tool")" ] || fail "bin/tool-hard is not a hard link"
is_ '%h' "$L1/bin/tool" 2
is_ '%a %u:%g' "$L1/owned" "640 1234:5678"
is_ '%a %F' "$L1/dev/fifo" "600 fifo"
if [ "$devices" = 1 ]; then is_ '%a %F %t:%T' "$L1/dev/null" "666 character special file 1:3"; fi
is_ '%Y' "$L1/etc/hello" 1600000001
is_ '%Y' "$L1/etc" 1600000007     # a directory's mtime is set after its files were written
is_ '%Y' "$L1/bin" 1600000005
content "$L1/deep/er/path/file" "parents made on the way"
is_ '%a %F' "$L1/deep/er" "755 directory"
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])))' "$home/meta/L1.json")" = "{'parent': ''}" ] \
    || fail "meta/L1.json: $(cat "$home/meta/L1.json")"
pass "L1: dirs, file, symlinks, hard link, setuid, fifo, device, owner 1234:5678, mtimes, meta"

# ---- L2 on L1: whiteouts and an opaque directory ----------------------------------------------------------------
ok Create '{"ID":"L2","Parent":"L1"}'
L2=$home/layers/L2
is_ '%a %u:%g' "$L2/bin/tool" "4755 0:0"
is_ '%a %u:%g' "$L2/owned" "640 1234:5678"
[ "$(stat -c %i "$L2/bin/tool-hard")" = "$(stat -c %i "$L2/bin/tool")" ] || fail "the copy lost the hard link"
apply_ok L2 "$work/l2.tar"
absent "$L2/gone"
absent "$L2/gonedir"
absent "$L2/.wh.gone"
content "$L2/etc/hello" "hello again"
content "$L2/added" "new in L2"
[ "$(cd "$L2/opq" && ls -A | tr '\n' ' ')" = "early new " ] || fail "L2/opq holds $(ls -A "$L2/opq")"
content "$L2/opq/early" "written before the marker"
content "$L1/gone" "to be deleted"          # L1 untouched
content "$L1/gonedir/x" "x"
content "$L1/opq/old1" "old1"
content "$L1/opq/sub/old2" "old2"
content "$L1/etc/hello" "hello"
pass "L2: whiteouts and opaque dir applied (entries of L2 before the marker kept), L1 untouched"

# ---- a container layer on L2 --------------------------------------------------------------------------------------
ok CreateReadWrite '{"ID":"C1","Parent":"L2","MountLabel":"","StorageOpt":{}}'
ok Get '{"ID":"C1","MountLabel":""}'
reply_is "r == {'Dir': '$home/layers/C1'}" || fail "Get C1: $(cat "$work/reply")"
dir=$(reply_get "r['Dir']")
content "$dir/etc/hello" "hello again"
content "$dir/added" "new in L2"
absent "$dir/gone"
is_ '%a' "$dir/bin/tool" 4755
ok Get '{"ID":"C1"}'
ok Put '{"ID":"C1"}'
ok Put '{"ID":"C1"}'
refused Get '{"ID":"nope"}' 'no such layer'
ok Exists '{"ID":"C1"}'; reply_is 'r == {"Exists": True}' || fail "Exists C1: $(cat "$work/reply")"
ok Exists '{"ID":"nope"}'; reply_is 'r == {"Exists": False}' || fail "Exists nope: $(cat "$work/reply")"
ok GetMetadata '{"ID":"C1"}'
reply_is "r == {'Metadata': {'Dir': '$home/layers/C1'}}" || fail "GetMetadata: $(cat "$work/reply")"
ok Status ''
reply_is "r == {'Status': [['Home', '$home'], ['Layers', '3']]}" || fail "Status: $(cat "$work/reply")"
pass "C1: Get returns the merged tree, Put, Exists, GetMetadata, Status"

# ---- Changes, DiffSize, Diff between L2 and L1 -----------------------------------------------------------------
ok Changes '{"ID":"L2","Parent":"L1"}'
# 0 modified, 1 added, 2 deleted; a directory holding changes counts as modified and comes before them.
expected='[("/added",1),("/etc",0),("/etc/hello",0),("/gone",2),("/gonedir",2),("/opq",0),
          ("/opq/early",1),("/opq/new",1),("/opq/old1",2),("/opq/sub",2)]'
reply_is "[(c['Path'], c['Kind']) for c in r['Changes']] == $expected" || fail "Changes L2/L1: $(cat "$work/reply")"
ok Changes '{"ID":"C1","Parent":"L2"}'
reply_is 'r["Changes"] == []' || fail "Changes C1/L2 should be empty: $(cat "$work/reply")"
ok DiffSize '{"ID":"L2","Parent":"L1"}'
reply_is "r == {'Size': $((12 + 10 + 26 + 25))}" || fail "DiffSize L2/L1: $(cat "$work/reply")"
ok DiffSize '{"ID":"L1"}'
reply_is "r == {'Size': $((20 + 6 + 5 + 14 + 2 + 5 + 5 + 24))}" \
    || fail "DiffSize L1 (a hard link counts once): $(cat "$work/reply")"
pass "Changes and DiffSize of L2 against L1"

code=$(curl -sS --unix-socket "$sock" -o "$work/diff.tar" -w '%{http_code} %{content_type}' -X POST \
    --data-binary '{"ID":"L2","Parent":"L1"}' http://plugin/GraphDriver.Diff) || fail "curl failed on Diff"
[ "$code" = "200 application/x-tar" ] || fail "Diff: $code $(head -c 300 "$work/diff.tar")"
python3 - "$work/diff.tar" <<'EOF' || fail "Diff L2/L1 tar is wrong"
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    members = {m.name: m for m in t.getmembers()}
    want = {"added", "etc", "etc/hello", ".wh.gone", ".wh.gonedir", "opq", "opq/early", "opq/new", "opq/.wh.old1",
            "opq/.wh.sub"}
    if set(members) != want:
        sys.exit("Diff entries %s, expected %s" % (sorted(members), sorted(want)))
    if t.extractfile(members["etc/hello"]).read() != b"hello again\n" or members["etc/hello"].mtime != 1600000100:
        sys.exit("etc/hello in the diff is wrong")
    if not members["opq"].isdir() or members[".wh.gone"].size != 0:
        sys.exit("entry types in the diff are wrong")
EOF
refused Diff '{"ID":"nope","Parent":"L1"}' 'no such layer'
# The diff applied to a copy of L1 gives L2 again.
ok Create '{"ID":"L3","Parent":"L1"}'
apply_ok L3 "$work/diff.tar"
ok Changes '{"ID":"L3","Parent":"L2"}'
reply_is 'r["Changes"] == []' || fail "L1 + Diff(L2, L1) differs from L2: $(cat "$work/reply")"
pass "Diff of L2 against L1 is a tar with whiteouts; applied to L1 it gives L2"

# ---- Remove refused while a child exists; and across a plugin restart --------------------------------------------
refused Remove '{"ID":"L1"}' 'parent of L2, L3'
refused Remove '{"ID":"L2"}' 'parent of C1'
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
start_plugin
refused Exists '{"ID":"L1"}' 'not initialised'
ok Init "{\"Home\":\"$home\",\"Opts\":[],\"UIDMaps\":[],\"GIDMaps\":[]}"
ok Exists '{"ID":"L2"}'; reply_is 'r == {"Exists": True}' || fail "L2 lost across a restart"
refused Remove '{"ID":"L1"}' 'parent of L2, L3'
pass "Remove of a parent is refused, also after the plugin restarts and is initialised again"

# ---- ApplyDiff: chunked, gzip, empty ----------------------------------------------------------------------------
ok Create '{"ID":"B1"}'
apply B1 "$work/big.tar" -H 'Transfer-Encoding: chunked' -T "$work/big.tar" -v --stderr "$work/curl.err"
[ "$code" = 200 ] || fail "chunked ApplyDiff: $code $(cat "$work/reply")"
grep -qi '^> Transfer-Encoding: chunked' "$work/curl.err" || fail "curl did not send a chunked body"
! grep -qi '^> Content-Length' "$work/curl.err" || fail "curl sent a Content-Length with the chunked body"
reply_is "r == {'Size': $((3 * 1024 * 1024 + 123))}" || fail "chunked ApplyDiff Size: $(cat "$work/reply")"
want=$(python3 -c 'import hashlib, sys, tarfile
print(hashlib.sha256(tarfile.open(sys.argv[1]).extractfile("big").read()).hexdigest())' "$work/big.tar")
[ "$(sha256sum < "$home/layers/B1/big" | cut -d' ' -f1)" = "$want" ] || fail "B1/big differs from the tar's"
is_ '%a' "$home/layers/B1/big" 600
pass "ApplyDiff with a chunked body (3 MiB)"
# A second call on the same connection after a chunked one: the body was read exactly.
code=$(curl -sS --unix-socket "$sock" -o /dev/null -w '%{http_code}' -X POST -H 'Transfer-Encoding: chunked' \
    -T "$work/l2.tar" "http://plugin/GraphDriver.ApplyDiff?id=nope" \
    --next -sS --unix-socket "$sock" -o "$work/reply" -X POST -d '{"ID":"B1"}' http://plugin/GraphDriver.Exists \
    -w ' %{http_code} %{num_connects}') || fail "curl failed on the keep-alive check"
[ "$code" = "500 200 0" ] && reply_is 'r == {"Exists": True}' \
    || fail "keep-alive after a refused chunked body: $code $(cat "$work/reply")"
pass "a refused chunked ApplyDiff leaves the connection usable"

ok Create '{"ID":"G1"}'
apply_ok G1 "$work/l1.tar.gz"
reply_is "r == {'Size': $((20 + 6 + 5 + 14 + 2 + 5 + 5 + 24))}" || fail "gzip ApplyDiff Size: $(cat "$work/reply")"
content "$home/layers/G1/etc/hello" "hello"
is_ '%a' "$home/layers/G1/bin/tool" 4755
ok Changes '{"ID":"G1","Parent":"L1"}'
reply_is 'r["Changes"] == []' || fail "G1 (from the gzip tar) differs from L1: $(cat "$work/reply")"
pass "ApplyDiff of a gzip-compressed tar"
: > "$work/empty"
ok Create '{"ID":"E0"}'
apply_ok E0 "$work/empty"
reply_is 'r == {"Size": 0}' || fail "empty ApplyDiff: $(cat "$work/reply")"
refused Remove '{"ID":"nope"}' 'no such layer'
apply nope "$work/l2.tar" --data-binary "@$work/l2.tar"
[ "$code" = 500 ] && reply_is "'no such layer' in r['Err']" \
    || fail "ApplyDiff to a missing layer: $code $(cat "$work/reply")"
pass "an empty body is an empty layer; ApplyDiff to a missing layer is refused"

# ---- escape attempts --------------------------------------------------------------------------------------------
ok Create '{"ID":"E1"}'
apply_refused E1 "$work/evil-dotdot.tar" "'\.\.' is refused"
apply_refused E1 "$work/evil-dotdot-inner.tar" "'\.\.' is refused"
apply_refused E1 "$work/evil-abs.tar" 'absolute paths are refused'
apply_refused E1 "$work/evil-symlink-dir.tar" 'parent evil is a symlink'
apply_refused E1 "$work/evil-hardlink-abs.tar" 'absolute paths are refused'
apply_refused E1 "$work/evil-hardlink-dotdot.tar" "'\.\.' is refused"
apply_refused E1 "$work/evil-hardlink-via-symlink.tar" 'parent e2 is a symlink'
apply_refused E1 "$work/evil-whiteout-via-symlink.tar" 'parent e3 is a symlink'
apply_refused E1 "$work/evil-opaque-via-symlink.tar" 'not a directory'
apply_ok E1 "$work/symlink-replaced.tar"
content "$out/victim" secret
is_ '%h %F' "$out/victim" "1 regular file"
[ "$(ls -A "$out")" = victim ] || fail "something was written outside the layer: $(ls -A "$out")"
absent "$home/layers/x"
absent "$home/x"
absent "$work/x"
content "$home/layers/E1/s" "a file now"
is_ '%F' "$home/layers/E1/hl" "symbolic link"
[ "$(stat -c %i "$home/layers/E1/hl")" = "$(stat -c %i "$home/layers/E1/sl")" ] \
    || fail "hl is not a hard link to the symlink sl"
pass "escapes refused (../, /abs, symlinked parents for files, hard links, whiteouts, opaque); nothing outside"

# ---- removal ----------------------------------------------------------------------------------------------------
for id in C1 L3 L2 L1 B1 G1 E0 E1; do ok Remove "{\"ID\":\"$id\"}"; done
for id in C1 L2 L1; do
    ok Exists "{\"ID\":\"$id\"}"
    reply_is 'r == {"Exists": False}' || fail "Exists $id after Remove: $(cat "$work/reply")"
done
[ -z "$(ls -A "$home/layers")" ] || fail "layers/ is not empty: $(ls -A "$home/layers")"
[ -z "$(ls -A "$home/meta")" ] || fail "meta/ is not empty: $(ls -A "$home/meta")"
ok Status ''
reply_is "r['Status'][1] == ['Layers', '0']" || fail "Status after removal: $(cat "$work/reply")"
pass "Remove of C1, L2, L1 and the rest; Exists false; home empty"

lines=$(grep -c 'GraphDriver\.' "$log" || true)
[ "$lines" -gt 50 ] || fail "expected one log line per call, found $lines"
echo "PASS: berth-storage-copy ($lines calls logged)"
