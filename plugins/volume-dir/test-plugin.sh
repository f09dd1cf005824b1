#!/usr/bin/env bash
# test-plugin.sh: drives berth-volume-dir.py through its VolumeDriver protocol with curl on a temporary socket and
# root, and checks what lands on disk. Needs python3 and curl (root for the uid/gid options); touches nothing
# outside a temporary directory. Exits non-zero with a message at the first failure.
#
#   sudo plugins/volume-dir/test-plugin.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/berth-volume-dir-test.XXXXXX)
sock=$work/run/dirvol.sock
root=$work/volumes
log=$work/plugin.log
pid=""

cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    if [ -s "$log" ]; then echo "--- last lines of the plugin's log:" >&2; tail -n 15 "$log" >&2; fi
    exit 1
}
pass() { echo "ok   $*"; }

command -v curl >/dev/null || fail "curl is needed"
mkdir -p "$work/run"

start_plugin() {
    rm -f "$sock"
    python3 "$here/berth-volume-dir.py" --socket "$sock" --root "$root" 2>>"$log" &
    pid=$!
    for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.05; done
    fail "the plugin did not create $sock"
}

# call PATH JSON: POSTs PATH; the reply body goes to $work/reply, the HTTP status to $code.
call() {
    code=$(curl -sS --unix-socket "$sock" -o "$work/reply" -w '%{http_code}' -X POST \
        -H 'Accept: application/vnd.docker.plugins.v1.2+json' --data-binary "$2" "http://plugin.moby.localhost$1") \
        || fail "curl failed on $1"
}
# field EXPR: a Python expression over the reply `r`, printed.
field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($1)" "$work/reply"; }
ok() {
    call "$@"
    [ "$code" = 200 ] && [ -z "$(field "r.get('Err', '')")" ] || fail "$1 $2: expected success, got $code $(cat "$work/reply")"
}
refused() {
    call "$1" "$2"
    [ "$code" != 200 ] || fail "$1 $2: expected an error, got 200 $(cat "$work/reply")"
    field "r.get('Err', '')" | grep -q -- "$3" || fail "$1 $2: Err does not say '$3': $(cat "$work/reply")"
}

start_plugin
ok /Plugin.Activate ''
[ "$(field "r['Implements']")" = "['VolumeDriver']" ] || fail "Implements: $(cat "$work/reply")"
pass "Plugin.Activate (an empty body) implements VolumeDriver"
ok /VolumeDriver.Capabilities '{}'
[ "$(field "r['Capabilities']['Scope']")" = local ] || fail "Capabilities: $(cat "$work/reply")"
call /VolumeDriver.Nonsense '{}'
[ "$code" = 404 ] || fail "an unknown call answered $code"
pass "Capabilities; an unknown call is a 404"

ok /VolumeDriver.Create '{"Name":"data","Opts":{"mode":"0750","uid":"1234","gid":"5678"}}'
[ "$(stat -c '%a %u %g' "$root/data")" = "750 1234 5678" ] || fail "data: $(stat -c '%a %u %g' "$root/data")"
refused /VolumeDriver.Create '{"Name":"bad","Opts":{"bogus":"1"}}' bogus
[ ! -e "$root/bad" ] || fail "a refused create left $root/bad"
refused /VolumeDriver.Create '{"Name":"../escape"}' invalid
[ ! -e "$work/escape" ] || fail "a name reached outside the root"
pass "Create with mode/uid/gid; unknown options and bad names refused, nothing made"

ok /VolumeDriver.Mount '{"Name":"data","ID":"c1"}'
[ "$(field "r['Mountpoint']")" = "$root/data" ] || fail "Mount: $(cat "$work/reply")"
ok /VolumeDriver.Path '{"Name":"data"}'
[ "$(field "r['Mountpoint']")" = "$root/data" ] || fail "Path: $(cat "$work/reply")"
ok /VolumeDriver.Get '{"Name":"data"}'
[ "$(field "r['Volume']['Name']")" = data ] || fail "Get: $(cat "$work/reply")"
ok /VolumeDriver.List '{}'
[ "$(field "[v['Name'] for v in r['Volumes']]")" = "['data']" ] || fail "List: $(cat "$work/reply")"
refused /VolumeDriver.Remove '{"Name":"data"}' "in use"
[ -d "$root/data" ] || fail "a volume in use was removed"
pass "Mount, Path, Get, List; Remove refused while mounted"

echo kept > "$root/data/file"
kill "$pid"; wait "$pid" 2>/dev/null || true
start_plugin
ok /VolumeDriver.Get '{"Name":"data"}'
[ "$(cat "$root/data/file")" = kept ] || fail "the volume's data did not survive a restart"
pass "a restarted plugin still has its volumes and their data"

ok /VolumeDriver.Unmount '{"Name":"data","ID":"c1"}'
ok /VolumeDriver.Remove '{"Name":"data"}'
[ ! -e "$root/data" ] || fail "Remove left $root/data"
refused /VolumeDriver.Get '{"Name":"data"}' "no such volume"
refused /VolumeDriver.Remove '{"Name":"data"}' "no such volume"
pass "Unmount, Remove; a removed volume is gone"
echo "all volume-dir plugin checks passed"
