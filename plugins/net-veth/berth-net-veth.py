#!/usr/bin/env python3
"""berth-net-veth: a network driver and IPAM plugin that wires each container to the host by a veth pair.

There is no bridge. Each endpoint gets a veth pair: the host end `bnv<id>` stays in the host's namespace with the
network's gateway address (/32) on it, proxy ARP on, and a /32 route to the container's address through it; the
container end `bnc<id>` is handed to the engine, which moves it into the container as eth0, gives it its address
and a default route via the gateway. So traffic is routed, not bridged (as Calico does it).

It speaks Docker's remote network driver protocol (POST /NetworkDriver.*) and remote IPAM protocol
(POST /IpamDriver.*) on a unix socket, with JSON bodies and {"Err"} errors ({"Error"} too for IPAM), so Berth
(and Docker) find it by the socket's name:

    berth-net-veth.py --socket /run/berth/plugins/vethnet.sock --state-dir /run/berth-net-veth

    berth network create -d vethnet --ipam-driver vethnet [--subnet 10.213.7.0/24] [-o mtu=1400] NAME

Networks, endpoints, pools and addresses are kept in STATE_DIR/state.jsonl, so a restarted plugin still knows
them. IPv4 only. Join makes its pair with a few rtnetlink messages of its own (no `ip` process, which would cost
more than the kernel's work) and writes its sysctls to /proc; Leave deletes the pair in the background (the
kernel takes some 15 ms) unless the container's namespace, going away, took it already. Written with Python's
standard library only; `ip -j route` (iproute2) is run only to pick a free pool.
"""
import argparse
import errno
import http.server
import ipaddress
import json
import os
import queue
import re
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time

ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
LOCAL_SPACE, GLOBAL_SPACE = "vethlocal", "vethglobal"
AUTO_POOLS = ipaddress.ip_network("10.213.0.0/16")  # where a pool is picked when none is asked for
GATEWAY_REQUEST = "com.docker.network.gateway"
IN_SANDBOX = "io.berth.link-in-sandbox"  # Join option: the engine takes SrcName inside SandboxKey


class ProtocolError(Exception):
    """A request the plugin refuses; its text goes back as Err (and Error)."""


def host_name(endpoint):
    return "bnv" + endpoint[:10]


def peer_name(endpoint):
    return "bnc" + endpoint[:10]


def link_exists(name):
    return os.path.exists("/sys/class/net/" + name)


# Links, addresses and routes are made by speaking rtnetlink directly: starting `ip` would take longer (3 to 8 ms
# a call) than all the kernel's work (about 1 ms). The numbers are from <linux/netlink.h>, <linux/rtnetlink.h>,
# <linux/if_link.h>, <linux/veth.h> and <linux/if_addr.h>.
NLM_F_REQUEST, NLM_F_ACK, NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x100, 0x200, 0x400
NLMSG_ERROR, RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_NEWROUTE = 2, 16, 17, 20, 24
IFLA_IFNAME, IFLA_MTU, IFLA_LINKINFO, IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 3, 4, 18, 1, 2, 1
IFLA_NET_NS_FD = 28
IFA_ADDRESS, IFA_LOCAL, RTA_DST, RTA_OIF = 1, 2, 1, 4
IFF_UP, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_LINK, RTN_UNICAST = 0x1, 254, 3, 253, 1


def rtattr(kind, data):
    if isinstance(data, str):
        data = data.encode() + b"\0"
    elif isinstance(data, int):
        data = struct.pack("=I", data)
    return struct.pack("=HH", 4 + len(data), kind) + data + b"\0" * (-len(data) % 4)


def ifinfomsg(flags=0, change=0):
    return struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, flags, change)


class NetlinkError(OSError):
    def __str__(self):
        return self.strerror  # "creating veth …: File exists", without "[Errno 17]"


def netlink(*requests):
    """Sends rtnetlink requests, (what, type, flags, payload) each, in one datagram and reads their acks;
    raises NetlinkError (an OSError), saying what, for the first that failed."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as s:
        s.settimeout(10)
        s.bind((0, 0))
        s.send(b"".join(struct.pack("=IHHII", 16 + len(payload), kind, flags | NLM_F_REQUEST | NLM_F_ACK, seq, 0)
                        + payload for seq, (_, kind, flags, payload) in enumerate(requests, 1)))
        errors = {}
        while len(errors) < len(requests):
            data, offset = s.recv(65536), 0
            while offset + 20 <= len(data):
                length, kind, _, seq, _ = struct.unpack_from("=IHHII", data, offset)
                if kind == NLMSG_ERROR:
                    errors[seq] = -struct.unpack_from("=i", data, offset + 16)[0]
                offset += max(16, (length + 3) & ~3)
    for seq, code in sorted(errors.items()):
        if code:
            raise NetlinkError(code, "%s: %s" % (requests[seq - 1][0], os.strerror(code)))


def make_veth(host, peer, mtu, gateway, address, sandbox_fd=None):
    """The pair, up on the host's side, with the gateway's address and the route to the container on it; the
    peer is made in the namespace `sandbox_fd` when given.

    The route goes on while the peer is still down here: it is marked linkdown until the engine brings the
    container's end up, and works then. The address is needed on the host end anyway: the kernel flushes a
    device's routes when its last IPv4 address goes.
    """
    peer_info = ifinfomsg() + rtattr(IFLA_IFNAME, peer) + rtattr(IFLA_MTU, mtu)
    if sandbox_fd is not None:
        peer_info += rtattr(IFLA_NET_NS_FD, sandbox_fd)
    link_info = rtattr(IFLA_INFO_KIND, "veth") + rtattr(IFLA_INFO_DATA, rtattr(VETH_INFO_PEER, peer_info))
    link = ifinfomsg(IFF_UP, IFF_UP) + rtattr(IFLA_IFNAME, host) + rtattr(IFLA_MTU, mtu)
    netlink(("creating veth %s/%s" % (host, peer), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
             link + rtattr(IFLA_LINKINFO, link_info)))
    index = socket.if_nametoindex(host)
    gw, dst = socket.inet_aton(gateway), socket.inet_aton(address)
    ifaddrmsg = struct.pack("=BBBBI", socket.AF_INET, 32, 0, 0, index)
    rtmsg = struct.pack("=BBBBBBBBI", socket.AF_INET, 32, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_LINK,
                        RTN_UNICAST, 0)
    netlink(("adding %s/32 to %s" % (gateway, host), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
             ifaddrmsg + rtattr(IFA_LOCAL, gw) + rtattr(IFA_ADDRESS, gw)),
            # Replacing: the address may have been handed out again while the pair of the endpoint that had it
            # is still being deleted in the background (its route goes with it, not this one).
            ("adding the route to %s/32 through %s" % (address, host), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE,
             rtmsg + rtattr(RTA_DST, dst) + rtattr(RTA_OIF, index)))


def delete_link(name):
    """Deletes a veth (both ends, and the routes through it); one already gone is not an error."""
    try:
        netlink(("deleting %s" % name, RTM_DELLINK, 0, ifinfomsg() + rtattr(IFLA_IFNAME, name)))
    except OSError as e:
        if e.errno != errno.ENODEV:
            raise


def log(text):
    sys.stderr.write("berth-net-veth: %s\n" % text)  # one write: the threads' lines do not mix
    sys.stderr.flush()


class State:
    """What the plugin knows, in memory and in STATE_DIR/state.jsonl. Change it only with `lock` held.

    The file is JSON lines: save() appends the whole state as one line (a plain append, some microseconds;
    writing a new file and renaming it over the old would cost milliseconds on ext4, which writes the new one
    out first), and a start reads the last whole line, then rewrites the file with only that line, as save()
    does too when the file has grown past COMPACT_AT. No fsync: a power cut may lose the last changes.
    """
    COMPACT_AT = 1 << 20

    def __init__(self, state_dir):
        self.file = os.path.join(state_dir, "state.jsonl")
        self.lock = threading.Lock()
        self.networks = {}   # NetworkID -> {"pool": "10.213.3.0/24", "gateway": "10.213.3.1", "mtu": 1500}
        self.endpoints = {}  # EndpointID -> {"network": NetworkID, "address": "10.213.3.5/24", "joined": bool}
        self.pools = {}      # PoolID -> {"pool": cidr, "range": cidr addresses come from, "used": set of str}
        self.host_links = False  # --host-links: never make the container's end inside the sandbox
        self.deleting = set()  # host ends queued for the deleter thread (Leave)
        self.deleted = threading.Condition(self.lock)
        self.doomed = queue.SimpleQueue()
        threading.Thread(target=self.deleter, name="deleter", daemon=True).start()
        os.makedirs(state_dir, exist_ok=True)
        try:
            with open(self.file, "rb") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        data = None
        for line in reversed(lines):  # the last line may be cut short by a stop in the middle of a save
            try:
                data = json.loads(line)
                break
            except ValueError:
                continue
        if lines and not isinstance(data, dict):
            raise SystemExit("berth-net-veth: %s holds no state that can be read; move it away to start afresh"
                             % self.file)
        data = data or {}
        self.networks = data.get("networks", {})
        self.endpoints = data.get("endpoints", {})
        self.pools = {k: dict(v, used=set(v.get("used", []))) for k, v in data.get("pools", {}).items()}
        self.fd, self.size = -1, 0
        self.save(compact=True)

    def save(self, compact=False):
        pools = {k: dict(v, used=sorted(v["used"], key=socket.inet_aton)) for k, v in self.pools.items()}
        state = {"networks": self.networks, "endpoints": self.endpoints, "pools": pools}
        line = json.dumps(state).encode() + b"\n"
        if compact or self.size + len(line) > self.COMPACT_AT:
            with open(self.file + ".new", "wb") as f:
                f.write(line)
            os.replace(self.file + ".new", self.file)
            if self.fd >= 0:
                os.close(self.fd)
            self.fd, self.size = os.open(self.file, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC), len(line)
        else:
            if os.write(self.fd, line) != len(line):
                raise OSError("short write to %s" % self.file)
            self.size += len(line)

    def network(self, network_id):
        net = self.networks.get(network_id or "")
        if net is None:
            raise ProtocolError("no such network: %s" % network_id)
        return net

    def endpoint(self, endpoint_id):
        ep = self.endpoints.get(endpoint_id or "")
        if ep is None:
            raise ProtocolError("no such endpoint: %s" % endpoint_id)
        return ep

    def pool(self, pool_id):
        pool = self.pools.get(pool_id or "")
        if pool is None:
            raise ProtocolError("no such pool: %s" % pool_id)
        return pool

    def delete_later(self, name):
        """Has the deleter thread delete a host end; a Join that needs the name waits for it (wait_deleted)."""
        with self.lock:
            if name not in self.deleting:
                self.deleting.add(name)
                self.doomed.put(name)

    def deleter(self):
        while True:
            name = self.doomed.get()
            try:
                delete_link(name)
            except Exception as e:
                log("deleting %s: %s" % (name, e))
            with self.lock:
                self.deleting.discard(name)
                self.deleted.notify_all()

    def wait_deleted(self, name=None, timeout=10):
        """Waits until `name` (or, without one, every host end queued) is deleted."""
        with self.lock:
            self.deleted.wait_for(lambda: name not in self.deleting if name else not self.deleting, timeout)

    def sweep(self):
        """At start: the host ends of endpoints that have left but whose deletion a stop cut short."""
        for eid, ep in self.endpoints.items():
            if not ep.get("joined") and link_exists(host_name(eid)):
                log("deleting %s, left over from endpoint %s" % (host_name(eid), eid))
                try:
                    delete_link(host_name(eid))
                except OSError as e:
                    log(str(e))


def generic_options(req):
    opts = (req.get("Options") or {}).get("com.docker.network.generic") or {}
    mtu = 1500
    for key, value in opts.items():
        if key in ("mtu", "com.docker.network.driver.mtu"):
            try:
                mtu = int(value)
            except (TypeError, ValueError):
                raise ProtocolError("mtu must be a number, not %r" % value)
            if not 68 <= mtu <= 65535:
                raise ProtocolError("mtu must be between 68 and 65535, not %d" % mtu)
        elif not key.startswith("com.docker."):  # the engine's own keys pass; an operator's typo does not
            raise ProtocolError("unknown option %r (this driver knows: mtu)" % key)
    return {"mtu": mtu}


def network_handlers(state):
    def capabilities(_):
        return {"Scope": "local", "ConnectivityScope": "local"}

    def create_network(req):
        nid = req.get("NetworkID") or ""
        if not ID.match(nid):
            raise ProtocolError("invalid network ID %r" % nid)
        opts = generic_options(req)
        if req.get("IPv6Data"):
            raise ProtocolError("IPv6 is not supported by this driver")
        v4 = req.get("IPv4Data") or []
        if len(v4) != 1:
            raise ProtocolError("this driver needs exactly one IPv4 pool, not %d" % len(v4))
        pool = ipaddress.ip_network(v4[0].get("Pool") or "", strict=False)
        if not v4[0].get("Gateway"):
            raise ProtocolError("this driver needs a gateway address (the address the host answers on)")
        gateway = ipaddress.ip_interface(v4[0]["Gateway"]).ip
        if pool.version != 4 or gateway not in pool:
            raise ProtocolError("gateway %s is not in IPv4 pool %s" % (gateway, pool))
        with state.lock:
            state.networks[nid] = {"pool": str(pool), "gateway": str(gateway), "mtu": opts["mtu"]}
            state.save()
        return {}

    def delete_network(req):
        nid = req.get("NetworkID") or ""
        with state.lock:
            if nid not in state.networks:
                return {}  # teardown of what is already gone succeeds
            left = sorted(e for e, ep in state.endpoints.items() if ep["network"] == nid)
            if left:
                raise ProtocolError("network %s still has endpoints: %s" % (nid, ", ".join(left)))
            del state.networks[nid]
            state.save()
        return {}

    def create_endpoint(req):
        nid, eid = req.get("NetworkID") or "", req.get("EndpointID") or ""
        if not ID.match(eid):
            raise ProtocolError("invalid endpoint ID %r" % eid)
        iface = req.get("Interface") or {}
        if iface.get("AddressIPv6"):
            raise ProtocolError("IPv6 is not supported by this driver")
        if not iface.get("Address"):
            raise ProtocolError("this driver needs an address from IPAM (the engine gave none)")
        address = ipaddress.ip_interface(iface["Address"])
        with state.lock:
            net = state.network(nid)
            if address.ip not in ipaddress.ip_network(net["pool"]) or str(address.ip) == net["gateway"]:
                raise ProtocolError("address %s is not a host address of network %s (%s)"
                                    % (address, nid, net["pool"]))
            for other, ep in state.endpoints.items():
                if other != eid and host_name(other) == host_name(eid):
                    raise ProtocolError("endpoint %s would share interface %s with endpoint %s"
                                        % (eid, host_name(eid), other))
            old = state.endpoints.get(eid)
            if old is not None and (old["network"] != nid or old["address"] != str(address)):
                raise ProtocolError("endpoint %s exists already" % eid)
            joined = bool(old and old.get("joined"))
            state.endpoints[eid] = {"network": nid, "address": str(address), "joined": joined}
            state.save()
        return {"Interface": {}}  # empty: the engine supplied the address, and the MAC is the veth's own

    def delete_endpoint(req):
        eid = req.get("EndpointID") or ""
        with state.lock:
            ep = state.endpoints.pop(eid, None)
            if ep is None:
                return {}
            state.save()
        if link_exists(host_name(eid)):
            state.delete_later(host_name(eid))  # deleted without a Leave
        return {}

    def oper_info(req):
        with state.lock:
            state.endpoint(req.get("EndpointID"))
        return {"Value": {}}

    def join(req):
        eid = req.get("EndpointID") or ""
        with state.lock:
            ep = state.endpoint(eid)
            if ep["network"] != req.get("NetworkID"):
                raise ProtocolError("endpoint %s is not on network %s" % (eid, req.get("NetworkID")))
            net = state.network(ep["network"])
            joined = ep.get("joined")
        host, peer = host_name(eid), peer_name(eid)
        state.wait_deleted(host)
        if link_exists(host):
            if joined:
                raise ProtocolError("endpoint %s has joined already (%s exists)" % (eid, host))
            delete_link(host)  # left over by a plugin that stopped before deleting it
        # Berth offers to take the container's end inside the sandbox (its namespace exists already): made there,
        # it need not be moved, which costs the engine an RCU wait of some 20 ms. Docker does not offer it, and
        # gets the end on the host, as the protocol has it.
        options = req.get("Options") or {}
        sandbox = req.get("SandboxKey") or ""
        sandbox_fd = None
        if options.get(IN_SANDBOX) is True and sandbox and not state.host_links:
            sandbox_fd = os.open(sandbox, os.O_RDONLY | os.O_CLOEXEC)
        try:
            make_veth(host, peer, net["mtu"], net["gateway"], str(ipaddress.ip_interface(ep["address"]).ip),
                      sandbox_fd)
            # The gateway's address on the host end answers the container's ARP for its default route. Proxy ARP
            # answers for the network's other containers (the network's prefix is on-link in a container);
            # per-interface forwarding lets the kernel answer for them and route what comes in here; proxy_delay
            # 0 drops the random wait (up to 0.8 s) before a proxied answer.
            for kind, key, value in (("conf", "proxy_arp", "1"), ("conf", "forwarding", "1"),
                                     ("neigh", "proxy_delay", "0")):
                with open("/proc/sys/net/ipv4/%s/%s/%s" % (kind, host, key), "w") as f:
                    f.write(value)
        except Exception:
            try:
                delete_link(host)  # nothing half-made stays
            except Exception as e:
                log("cleaning up %s: %s" % (host, e))
            raise
        finally:
            if sandbox_fd is not None:
                os.close(sandbox_fd)
        with state.lock:
            if eid in state.endpoints:
                state.endpoints[eid]["joined"] = True
                state.save()
        return {"InterfaceName": {"SrcName": peer, "DstPrefix": "eth"}, "Gateway": net["gateway"]}

    def leave(req):
        eid = req.get("EndpointID") or ""
        with state.lock:
            ep = state.endpoints.get(eid)
            if ep is not None and ep.get("joined"):
                ep["joined"] = False
                state.save()
        # When the container's namespace is gone, the kernel has deleted the pair (and the route with it).
        if link_exists(host_name(eid)):
            state.delete_later(host_name(eid))
        return {}

    def nothing(_):
        return {}

    routes = {
        "GetCapabilities": capabilities, "CreateNetwork": create_network, "DeleteNetwork": delete_network,
        "CreateEndpoint": create_endpoint, "DeleteEndpoint": delete_endpoint, "EndpointOperInfo": oper_info,
        "Join": join, "Leave": leave,
        "ProgramExternalConnectivity": nothing, "RevokeExternalConnectivity": nothing,
        "DiscoverNew": nothing, "DiscoverDelete": nothing,
    }
    return {"/NetworkDriver." + k: v for k, v in routes.items()}


def host_routes():
    """The IPv4 destinations of the host's routes, in every table (addresses are in the local one)."""
    p = subprocess.run(["ip", "-j", "-4", "route", "show", "table", "all"], capture_output=True)
    if p.returncode:
        raise RuntimeError("ip route: %s" % p.stderr.decode(errors="replace").strip())
    nets = []
    for route in json.loads(p.stdout or b"[]"):
        dst = route.get("dst", "default")
        if dst != "default":
            nets.append(ipaddress.ip_network(dst, strict=False))
    return nets


def ipam_handlers(state):
    def capabilities(_):
        return {"RequiresMACAddress": False}

    def address_spaces(_):
        return {"LocalDefaultAddressSpace": LOCAL_SPACE, "GlobalDefaultAddressSpace": GLOBAL_SPACE}

    def request_pool(req):
        if req.get("V6"):
            raise ProtocolError("IPv6 is not supported by this IPAM driver")
        unknown = [k for k in (req.get("Options") or {}) if not k.startswith("com.docker.")]
        if unknown:
            raise ProtocolError("unknown IPAM option(s): %s" % ", ".join(sorted(unknown)))
        space = req.get("AddressSpace") or LOCAL_SPACE
        with state.lock:
            mine = [ipaddress.ip_network(p["pool"]) for p in state.pools.values()]
        if req.get("Pool"):
            pool = ipaddress.ip_network(req["Pool"])  # strict: "10.1.2.3/24" has host bits set
            if pool.version != 4:
                raise ProtocolError("IPv6 is not supported by this IPAM driver")
            if pool.prefixlen > 30:
                raise ProtocolError("pool %s is too small (/30 at most)" % pool)
        else:
            if req.get("SubPool"):
                raise ProtocolError("a sub-pool needs a pool")
            taken = mine + host_routes()
            free = (n for n in AUTO_POOLS.subnets(new_prefix=24) if not any(n.overlaps(t) for t in taken))
            pool = next(free, None)
            if pool is None:
                raise ProtocolError("no free /24 left in %s; give the network a --subnet" % AUTO_POOLS)
        rng = pool
        if req.get("SubPool"):
            rng = ipaddress.ip_network(req["SubPool"])
            if rng.version != 4 or not rng.subnet_of(pool):
                raise ProtocolError("sub-pool %s is not inside pool %s" % (rng, pool))
        pool_id = "%s/%s" % (space, pool)
        with state.lock:
            for other_id, other in state.pools.items():
                if pool.overlaps(ipaddress.ip_network(other["pool"])):
                    raise ProtocolError("pool %s overlaps pool %s of this plugin" % (pool, other_id))
            state.pools[pool_id] = {"pool": str(pool), "range": str(rng), "used": set()}
            state.save()
        return {"PoolID": pool_id, "Pool": str(pool), "Data": {}}

    def release_pool(req):
        with state.lock:
            if state.pools.pop(req.get("PoolID") or "", None) is not None:
                state.save()
        return {}

    def request_address(req):
        opts = req.get("Options") or {}
        wanted = (req.get("Address") or "").split("/")[0]
        with state.lock:
            pool = state.pool(req.get("PoolID"))
            net = ipaddress.ip_network(pool["pool"])
            used = pool["used"]
            if wanted or opts.get("RequestAddressType") == GATEWAY_REQUEST:
                address = ipaddress.ip_address(wanted) if wanted else net.network_address + 1
                if address not in net or address in (net.network_address, net.broadcast_address):
                    raise ProtocolError("%s is not a host address of pool %s" % (address, net))
                if str(address) in used:
                    raise ProtocolError("address %s is in use" % address)
            else:
                rng = ipaddress.ip_network(pool["range"])
                skip = (net.network_address, net.broadcast_address)
                address = next((a for a in rng if a not in skip and str(a) not in used), None)
                if address is None:
                    raise ProtocolError("no free address left in %s" % rng)
            used.add(str(address))
            state.save()
        return {"Address": "%s/%d" % (address, net.prefixlen), "Data": {}}

    def release_address(req):
        address = str(ipaddress.ip_address((req.get("Address") or "").split("/")[0]))
        with state.lock:
            pool = state.pools.get(req.get("PoolID") or "")
            if pool is not None and address in pool["used"]:
                pool["used"].discard(address)
                state.save()
        return {}

    routes = {
        "GetCapabilities": capabilities, "GetDefaultAddressSpaces": address_spaces, "RequestPool": request_pool,
        "ReleasePool": release_pool, "RequestAddress": request_address, "ReleaseAddress": release_address,
    }
    return {"/IpamDriver." + k: v for k, v in routes.items()}


def handlers(state):
    def activate(_):
        return {"Implements": ["NetworkDriver", "IpamDriver"]}

    return {"/Plugin.Activate": activate, **network_handlers(state), **ipam_handlers(state)}


def server(socket_path, state):
    routes = handlers(state)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            start = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            route = routes.get(self.path)
            if route is None:
                return self.reply(404, {"Err": "unknown call %s" % self.path}, start)
            try:
                req = json.loads(raw) if raw.strip() else {}
                if not isinstance(req, dict):
                    raise ProtocolError("the request is not a JSON object")
                self.reply(200, route(req), start)
            except Exception as e:  # every failure goes back as the protocol's {"Err"} (IPAM reads "Error")
                text = str(e) or type(e).__name__
                body = {"Err": text, "Error": text} if self.path.startswith("/IpamDriver.") else {"Err": text}
                self.reply(500, body, start)

        def reply(self, status, body, start):
            data = json.dumps(body).encode()
            # One write, status line, headers and body: the caller wakes once.
            head = "HTTP/1.1 %d %s\r\nContent-Type: application/vnd.docker.plugins.v1+json\r\n" \
                   "Content-Length: %d\r\n\r\n"
            self.wfile.write((head % (status, self.responses[status][0], len(data))).encode() + data)
            outcome = "ok %s" % data.decode() if status == 200 else "failed %d: %s" % (status, body["Err"])
            log("%s %s (%.2f ms)" % (self.path, outcome, (time.monotonic() - start) * 1000))

        def address_string(self):
            return "unix"

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    if os.path.exists(socket_path):
        os.unlink(socket_path)
    os.makedirs(os.path.dirname(socket_path) or ".", exist_ok=True)
    return Server(socket_path, Handler)


def main():
    parser = argparse.ArgumentParser(
        description="Berth network driver and IPAM plugin: a veth pair to the host per container, routed.")
    parser.add_argument("--socket", default="/run/berth/plugins/vethnet.sock")
    parser.add_argument("--state-dir", default="/run/berth-net-veth")
    parser.add_argument("--host-links", action="store_true",
                        help="always make the container's end on the host, even when the engine offers to take it "
                             "inside the sandbox (as Docker's protocol has it; for comparison)")
    args = parser.parse_args()
    state = State(args.state_dir)
    state.host_links = args.host_links
    state.sweep()
    srv = server(args.socket, state)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # berthd stops its plugins with SIGTERM
    log("serving %d network(s), %d endpoint(s), %d pool(s) from %s on %s"
        % (len(state.networks), len(state.endpoints), len(state.pools), state.file, args.socket))
    try:
        srv.serve_forever()
    finally:
        os.unlink(args.socket)
        state.wait_deleted(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
