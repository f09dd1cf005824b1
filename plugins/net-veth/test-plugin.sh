#!/usr/bin/env bash
# test-plugin.sh: drives berth-net-veth.py through a network's whole life, as an engine would, on its own.
#
#   sudo plugins/net-veth/test-plugin.sh [CYCLES]
#
# It starts the plugin on a temporary socket and state directory, calls it with `curl --unix-socket`
# (IPAM pool and addresses, network, endpoints, Join), moves the returned interfaces into throwaway network
# namespaces (bnv-test-PID, bnv-test-PID-b), configures them as the engine does (eth0, address, default route
# via the gateway), pings host <-> namespace and namespace <-> namespace, restarts the plugin to see that it
# remembers, then tears everything down through the plugin and checks that nothing is left. Last, CYCLES
# (default 20) container-like lifecycles are timed per call (curl's time_total), as `run --rm` would make them.
# Needs root, iproute2, curl, python3 and ping (or busybox). Exits non-zero, saying what failed, on any failure;
# every link, namespace, route, socket and file it made is removed on exit, failed or not.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
plugin=$here/berth-net-veth.py
cycles=${1:-20}
ns=bnv-test-$$ ns2=bnv-test-$$-b ns3=bnv-test-$$-c
tmp=$(mktemp -d /tmp/bnv-test.XXXXXX)
sock=$tmp/vethnet.sock
pid= eps=() step=start calls=0

fail() { echo "FAIL ($step): $*" >&2; exit 1; }

cleanup() {
    local rc=$?
    set +e
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
    # Deleting a host end deletes its peer and the /32 route through it; deleting a namespace deletes the
    # pairs whose peer is inside.
    for e in "${eps[@]}"; do [ -e "/sys/class/net/bnv${e:0:10}" ] && ip link del "bnv${e:0:10}"; done
    for n in "$ns" "$ns2" "$ns3"; do ip netns del "$n" 2>/dev/null; done
    if [ "$rc" -ne 0 ] && [ -f "$tmp/plugin.log" ]; then
        echo "--- the plugin's log (last 30 lines):" >&2
        tail -n 30 "$tmp/plugin.log" >&2
        echo "FAILED" >&2
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap "exit 130" INT TERM

[ "$(id -u)" = 0 ] || fail "needs root (it makes veth pairs and network namespaces)"
for c in ip curl python3; do command -v "$c" >/dev/null || fail "needs $c"; done
if command -v ping >/dev/null; then
    PING=(ping)
elif command -v busybox >/dev/null && busybox --list | grep -x ping >/dev/null; then
    PING=(busybox ping)
else
    fail "needs ping (iputils-ping or busybox)"
fi

start_plugin() {
    local started
    started=$(grep -c "serving" "$tmp/plugin.log" 2>/dev/null || true)
    rm -f "$sock"
    python3 "$plugin" --socket "$sock" --state-dir "$tmp/state" 2>>"$tmp/plugin.log" &
    pid=$!
    for _ in $(seq 100); do
        [ -S "$sock" ] && [ "$(grep -c "serving" "$tmp/plugin.log")" -gt "${started:-0}" ] && return 0
        kill -0 "$pid" 2>/dev/null || fail "the plugin exited at start"
        sleep 0.05
    done
    fail "the plugin's socket did not appear"
}

stop_plugin() {
    kill "$pid"
    wait "$pid" || true
    pid=
    [ ! -e "$sock" ] || fail "the plugin left its socket behind after SIGTERM"
}

# call PATH [JSON]: POSTs like the engine (no body when JSON is not given); sets body, code, secs.
call() {
    local out args=(-sS --max-time 10 --unix-socket "$sock" -X POST -w '\n%{http_code} %{time_total}')
    [ $# -ge 2 ] && args+=(-H 'Content-Type: application/json' --data-binary "$2")
    calls=$((calls + 1))
    out=$(curl "${args[@]}" "http://plugin.moby.localhost$1") || fail "curl $1 failed"
    body=${out%$'\n'*}
    local last=${out##*$'\n'}
    code=${last% *} secs=${last#* }
}

# ok PATH [JSON]: the call must succeed.
ok() {
    call "$@"
    [ "$code" = 200 ] || fail "$1 answered $code: $body"
}

# refused PATH JSON WORDS: the call must fail with an error message containing WORDS.
refused() {
    call "$1" "$2"
    [ "$code" != 200 ] || fail "$1 $2 succeeded, it must not: $body"
    local field=Err
    case $1 in /IpamDriver.*) field=Error ;; esac
    [[ "$(get "$field")" == *"$3"* ]] || fail "$1 $2: $field is not about '$3': $body"
}

# get KEY.PATH: a field of the last answer (strings bare, the rest as JSON; empty when missing).
get() {
    python3 -c '
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v.get(k, "") if isinstance(v, dict) else (v[int(k)] if isinstance(v, list) else "")
print(v if isinstance(v, str) else json.dumps(v))' "$body" "$1"
}

expect() { [ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"; }

newid() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

waitgone() {  # waitgone LINK: Leave deletes in the background
    for _ in $(seq 100); do [ -e "/sys/class/net/$1" ] || return 0; sleep 0.02; done
    fail "$1 is still there"
}

pingok() {  # pingok [NETNS] ADDRESS
    local where="the host" cmd=()
    if [ $# -eq 2 ]; then where="netns $1" cmd=(ip netns exec "$1"); shift; fi
    if ! "${cmd[@]}" "${PING[@]}" -c 1 -W 2 "$1" >"$tmp/ping" 2>&1; then
        cat "$tmp/ping" >&2
        fail "ping $1 from $where got no answer"
    fi
    echo "  ping $1 from $where: ok"
}

# engine_wire NETNS SRCNAME ADDRESS GATEWAY: what the engine does with Join's answer.
engine_wire() {
    [ -e "/run/netns/$1" ] || ip netns add "$1"
    ip link set "$2" netns "$1"
    ip -n "$1" -batch - <<EOF
link set $2 name eth0
addr add $3 dev eth0
link set eth0 up
link set lo up
route add default via $4
EOF
}

start_plugin

step=activate
ok /Plugin.Activate
expect "$(get Implements)" '["NetworkDriver", "IpamDriver"]' Implements
ok /NetworkDriver.GetCapabilities
expect "$(get Scope)/$(get ConnectivityScope)" local/local "network capabilities"
ok /IpamDriver.GetCapabilities '{}'
expect "$(get RequiresMACAddress)" false RequiresMACAddress
ok /IpamDriver.GetDefaultAddressSpaces
expect "$(get LocalDefaultAddressSpace)" vethlocal LocalDefaultAddressSpace
call /NetworkDriver.NoSuchThing '{}'
expect "$code" 404 "an unknown call's status"
call /NetworkDriver.CreateNetwork 'this is not JSON'
[ "$code" = 500 ] && [ -n "$(get Err)" ] || fail "a body that is not JSON: $code $body"

step=ipam
ok /IpamDriver.RequestPool '{"AddressSpace":"vethlocal","Pool":"","SubPool":"","Options":{},"V6":false}'
pool=$(get Pool) poolid=$(get PoolID)
[[ "$pool" == 10.213.*.0/24 ]] || fail "the picked pool is $pool, not a /24 of 10.213.0.0/16"
expect "$poolid" "vethlocal/$pool" PoolID
net=${pool%.0/24}
ip -4 route show table all | grep -q "^\(local \|broadcast \)\?$net\." && fail "picked $pool, which the host routes already"
echo "  pool $pool"
refused /IpamDriver.RequestPool '{"V6":true}' "IPv6"
refused /IpamDriver.RequestPool "{\"Pool\":\"$net.128/25\"}" "overlaps"
refused /IpamDriver.RequestPool '{"Pool":"10.214.1.7/24"}' "host bits"
ok /IpamDriver.RequestAddress \
    "{\"PoolID\":\"$poolid\",\"Address\":\"\",\"Options\":{\"RequestAddressType\":\"com.docker.network.gateway\"}}"
expect "$(get Address)" "$net.1/24" "the gateway's address"
gw=$net.1

step=network
nid=$(newid)
v4="[{\"AddressSpace\":\"vethlocal\",\"Pool\":\"$pool\",\"Gateway\":\"$gw/24\",\"AuxAddresses\":{}}]"
refused /NetworkDriver.CreateNetwork \
    "{\"NetworkID\":\"$nid\",\"Options\":{\"com.docker.network.generic\":{\"colour\":\"blue\"}},\"IPv4Data\":$v4}" \
    "unknown option"
ok /NetworkDriver.CreateNetwork \
    "{\"NetworkID\":\"$nid\",\"Options\":{\"com.docker.network.generic\":{\"mtu\":\"1400\"}},\"IPv4Data\":$v4,\"IPv6Data\":[]}"

step=endpoints
ok /IpamDriver.RequestAddress "{\"PoolID\":\"$poolid\",\"Address\":\"\",\"Options\":{}}"
addr1=$(get Address)
expect "$addr1" "$net.2/24" "the first container's address"
refused /IpamDriver.RequestAddress "{\"PoolID\":\"$poolid\",\"Address\":\"$net.2\",\"Options\":{}}" "in use"
ok /IpamDriver.RequestAddress "{\"PoolID\":\"$poolid\",\"Address\":\"$net.77\",\"Options\":{}}"
addr2=$(get Address)
expect "$addr2" "$net.77/24" "an address asked for"
ep1=$(newid) ep2=$(newid)
eps=("$ep1" "$ep2")
refused /NetworkDriver.CreateEndpoint \
    "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep1\",\"Interface\":{\"Address\":\"\",\"MacAddress\":\"\"}}" \
    "needs an address from IPAM"
ok /NetworkDriver.CreateEndpoint "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep1\",
    \"Interface\":{\"Address\":\"$addr1\",\"AddressIPv6\":\"\",\"MacAddress\":\"\"},\"Options\":{}}"
expect "$(get Interface)" "{}" "CreateEndpoint's Interface"
ok /NetworkDriver.CreateEndpoint "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep2\",\"Interface\":{\"Address\":\"$addr2\"}}"
ok /NetworkDriver.EndpointOperInfo "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep1\"}"
expect "$(get Value)" "{}" "EndpointOperInfo's Value"

step=join
h1=bnv${ep1:0:10} h2=bnv${ep2:0:10}
ok /NetworkDriver.Join "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep1\",\"SandboxKey\":\"/proc/1/ns/net\",\"Options\":{}}"
expect "$(get InterfaceName.SrcName)/$(get InterfaceName.DstPrefix)" "bnc${ep1:0:10}/eth" InterfaceName
expect "$(get Gateway)" "$gw" Gateway
src1=$(get InterfaceName.SrcName)
ip -o link show "$h1" | grep -q "mtu 1400 " || fail "$h1: $(ip -o link show "$h1" 2>&1)"
ip -o link show "$src1" | grep -q "mtu 1400 " || fail "$src1: $(ip -o link show "$src1" 2>&1)"
expect "$(cat /proc/sys/net/ipv4/conf/$h1/proxy_arp)" 1 "$h1 proxy_arp"
ip route show "${addr1%/*}/32" | grep -q "dev $h1" || fail "no route to ${addr1%/*} via $h1: $(ip route show "${addr1%/*}/32")"
ok /NetworkDriver.Join "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep2\",\"SandboxKey\":\"\",\"Options\":{}}"
src2=$(get InterfaceName.SrcName)
ok /NetworkDriver.ProgramExternalConnectivity "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep1\",\"Options\":{}}"

step=ping
engine_wire "$ns" "$src1" "$addr1" "$gw"
engine_wire "$ns2" "$src2" "$addr2" "$gw"
pingok "${addr1%/*}"
pingok "$ns" "$gw"
hostip=$(ip -4 -o addr show scope global | awk 'NR == 1 { split($4, a, "/"); print a[1] }')
if [ -n "$hostip" ]; then pingok "$ns" "$hostip"; else echo "  (the host has no global IPv4 address to ping)"; fi
pingok "$ns" "${addr2%/*}"
pingok "$ns2" "${addr1%/*}"

step=restart
stop_plugin
printf '{"networks": {"cut-short' >>"$tmp/state/state.jsonl"  # as if stopped in the middle of a save
start_plugin
grep -q "serving 1 network(s), 2 endpoint(s), 1 pool(s)" "$tmp/plugin.log" || fail "the restarted plugin forgot its state"
ok /Plugin.Activate
ok /NetworkDriver.EndpointOperInfo "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep2\"}"
ok /IpamDriver.RequestAddress "{\"PoolID\":\"$poolid\",\"Address\":\"\",\"Options\":{}}"
expect "$(get Address)" "$net.3/24" "the next address after a restart"
ok /IpamDriver.ReleaseAddress "{\"PoolID\":\"$poolid\",\"Address\":\"$net.3\"}"

step=leave
# ep1 leaves with its namespace still there: the plugin deletes the pair.
ok /NetworkDriver.Leave "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep1\"}"
waitgone "$h1"
ip -n "$ns" link show eth0 >/dev/null 2>&1 && fail "eth0 is still in $ns after Leave"
[ -z "$(ip route show "${addr1%/*}/32")" ] || fail "the route to ${addr1%/*} outlived Leave"
# It joins again (a restarted container keeps its endpoint) and leaves again.
ok /NetworkDriver.Join "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep1\",\"SandboxKey\":\"\",\"Options\":{}}"
ip link set "$src1" netns "$ns"
ok /NetworkDriver.Leave "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep1\"}"
waitgone "$h1"
# ep2's namespace goes first (the container exited); the kernel took the pair, Leave finds nothing to do.
ip netns del "$ns2"
ok /NetworkDriver.Leave "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep2\"}"
waitgone "$h2"
[ -z "$(ip route show "${addr2%/*}/32")" ] || fail "the route to ${addr2%/*} outlived its link"
ok /NetworkDriver.RevokeExternalConnectivity "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep1\"}"

step=teardown
refused /NetworkDriver.DeleteNetwork "{\"NetworkID\":\"$nid\"}" "still has endpoints"
ok /NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep1\"}"
ok /NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$ep2\"}"
ok /IpamDriver.ReleaseAddress "{\"PoolID\":\"$poolid\",\"Address\":\"$addr1\"}"
ok /IpamDriver.ReleaseAddress "{\"PoolID\":\"$poolid\",\"Address\":\"${addr2%/*}\"}"
ok /NetworkDriver.DiscoverNew '{"DiscoveryType":1,"DiscoveryData":{}}'
ok /NetworkDriver.DiscoverDelete '{"DiscoveryType":1,"DiscoveryData":{}}'

step="timed cycles"
# Like `run --rm`: address, endpoint, Join, the engine wires the container, the container exits (its
# namespace goes), Leave, DeleteEndpoint, address released. Only the plugin's calls are timed.
: >"$tmp/times"
mark=$(wc -l <"$tmp/plugin.log")
for i in $(seq "$cycles"); do
    e=$(newid)
    eps+=("$e")
    ok /IpamDriver.RequestAddress "{\"PoolID\":\"$poolid\",\"Address\":\"\",\"Options\":{}}"
    a=$(get Address); echo "RequestAddress $secs" >>"$tmp/times"
    ok /NetworkDriver.CreateEndpoint "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$e\",\"Interface\":{\"Address\":\"$a\"}}"
    echo "CreateEndpoint $secs" >>"$tmp/times"
    ok /NetworkDriver.Join "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$e\",\"SandboxKey\":\"\",\"Options\":{}}"
    echo "Join $secs" >>"$tmp/times"
    engine_wire "$ns3" "$(get InterfaceName.SrcName)" "$a" "$gw"
    ip netns del "$ns3"
    ok /NetworkDriver.Leave "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$e\"}"
    echo "Leave $secs" >>"$tmp/times"
    ok /NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$e\"}"
    echo "DeleteEndpoint $secs" >>"$tmp/times"
    ok /IpamDriver.ReleaseAddress "{\"PoolID\":\"$poolid\",\"Address\":\"$a\"}"
    echo "ReleaseAddress $secs" >>"$tmp/times"
done
for e in "${eps[@]}"; do waitgone "bnv${e:0:10}"; done

step="network deleted"
ok /NetworkDriver.DeleteNetwork "{\"NetworkID\":\"$nid\"}"
ok /IpamDriver.ReleaseAddress "{\"PoolID\":\"$poolid\",\"Address\":\"$gw\"}"
ok /IpamDriver.ReleasePool "{\"PoolID\":\"$poolid\"}"
python3 - "$tmp/state/state.jsonl" <<'EOF' || fail "the state is not empty at the end: $(tail -n 1 "$tmp/state/state.jsonl")"
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
sys.exit(0 if s == {"networks": {}, "endpoints": {}, "pools": {}} else 1)
EOF
left=$(ip -4 route show table all | grep "^\(local \|broadcast \)\?$net\." || true)
[ -z "$left" ] || fail "routes in $pool are left: $left"
for e in "${eps[@]}"; do
    [ ! -e "/sys/class/net/bnv${e:0:10}" ] && [ ! -e "/sys/class/net/bnc${e:0:10}" ] || fail "links of $e are left"
done
lines=$(grep -c '^berth-net-veth: /' "$tmp/plugin.log")
[ "$lines" = "$calls" ] || fail "the plugin logged $lines lines for $calls calls"
stop_plugin

step=report
# The plugin's own time per call is at the end of its log lines: "(0.4 ms)".
tail -n +"$((mark + 1))" "$tmp/plugin.log" |
    sed -nE 's/^berth-net-veth: \/[A-Za-z]+\.([A-Za-z]+) ok .*\(([0-9.]+) ms\)$/\1 \2/p' >"$tmp/inside"
echo "Per-call times over $cycles cycles, in ms (curl: time_total as the client sees it; plugin: from its log):"
awk 'FNR == NR { n[$1]++; s[$1] += $2 * 1000; if ($2 * 1000 > m[$1]) m[$1] = $2 * 1000; next }
     { ni[$1]++; si[$1] += $2 }
     END { k = split("RequestAddress CreateEndpoint Join Leave DeleteEndpoint ReleaseAddress", o, " ")
           printf "  %-15s %9s %9s %11s\n", "call", "curl avg", "curl max", "plugin avg"
           for (i = 1; i <= k; i++) {
               c = o[i]; printf "  %-15s %9.2f %9.2f %11.2f\n", c, s[c] / n[c], m[c], si[c] / ni[c]
               t += s[c] / n[c]; ti += si[c] / ni[c]
           }
           printf "  %-15s %9.2f %9s %11.2f\n", "total", t, "", ti }' "$tmp/times" "$tmp/inside"
echo "ok: berth-net-veth passed its lifecycle test"
