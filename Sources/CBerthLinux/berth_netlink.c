// rtnetlink for the bridge network driver: links (bridge, veth), addresses, routes, moving a link into a
// container's network namespace. Plain NETLINK_ROUTE requests, one acknowledged message at a time; no
// shell commands. berth_net_attach_veth switches network namespaces and so must only run in a
// single-threaded process (berth-shim); the other functions work in the caller's namespace from any thread.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "CBerthLinux.h"

struct nl_req {
    struct nlmsghdr n;
    union {
        struct ifinfomsg i;
        struct ifaddrmsg a;
        struct rtmsg r;
    } u;
    char buf[1024];
};

static struct rtattr *nl_tail(struct nlmsghdr *n) {
    return (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
}

static int nl_attr(struct nlmsghdr *n, size_t max, int type, const void *data, size_t len) {
    size_t rta_len = RTA_LENGTH(len);
    if (NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(rta_len) > max) return -ENOBUFS;
    struct rtattr *rta = nl_tail(n);
    rta->rta_type = (unsigned short)type;
    rta->rta_len = (unsigned short)rta_len;
    if (len) memcpy(RTA_DATA(rta), data, len);
    n->nlmsg_len = (unsigned)(NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(rta_len));
    return 0;
}

static struct rtattr *nl_nest(struct nlmsghdr *n, size_t max, int type) {
    struct rtattr *nest = nl_tail(n);
    if (nl_attr(n, max, type, NULL, 0) < 0) return NULL;
    return nest;
}

static void nl_nest_end(struct nlmsghdr *n, struct rtattr *nest) {
    nest->rta_len = (unsigned short)((char *)nl_tail(n) - (char *)nest);
}

/// Sends one request and waits for its acknowledgement. Returns 0 or -errno.
static int nl_talk(struct nlmsghdr *n) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -errno;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    n->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    n->nlmsg_seq = 1;
    int rc = 0;
    if (sendto(fd, n, n->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
        rc = -errno;
        goto out;
    }
    char buf[4096];
    for (;;) {
        ssize_t len = recv(fd, buf, sizeof buf, 0);
        if (len < 0) {
            if (errno == EINTR) continue;
            rc = -errno;
            goto out;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                rc = e->error;  // 0 is the acknowledgement
                goto out;
            }
        }
    }
out:
    close(fd);
    return rc;
}

/// A zeroed request of `type` whose fixed header (ifinfomsg, ifaddrmsg or rtmsg) is `header` bytes.
static void nl_req_init(struct nl_req *r, int type, int flags, size_t header) {
    memset(r, 0, sizeof *r);
    r->n.nlmsg_len = NLMSG_LENGTH(header);
    r->n.nlmsg_type = (unsigned short)type;
    r->n.nlmsg_flags = (unsigned short)flags;
}

static void link_req(struct nl_req *r, int type, int flags) {
    nl_req_init(r, type, flags, sizeof(struct ifinfomsg));
    r->u.i.ifi_family = AF_UNSPEC;
}

int berth_nl_bridge_add(const char *name, int mtu) {
    struct nl_req r;
    link_req(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    nl_attr(&r.n, sizeof r, IFLA_IFNAME, name, strlen(name) + 1);
    if (mtu > 0) nl_attr(&r.n, sizeof r, IFLA_MTU, &mtu, sizeof mtu);
    struct rtattr *info = nl_nest(&r.n, sizeof r, IFLA_LINKINFO);
    if (!info) return -ENOBUFS;
    nl_attr(&r.n, sizeof r, IFLA_INFO_KIND, "bridge", 6);
    nl_nest_end(&r.n, info);
    return nl_talk(&r.n);
}

int berth_nl_veth_add(const char *name, const char *peer, int mtu) {
    return berth_nl_veth_add_into(name, peer, mtu, -1, NULL);
}

int berth_nl_veth_add_into(const char *name, const char *peer, int mtu, int peer_netns_fd, const uint8_t *peer_mac) {
    struct nl_req r;
    link_req(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    nl_attr(&r.n, sizeof r, IFLA_IFNAME, name, strlen(name) + 1);
    if (mtu > 0) nl_attr(&r.n, sizeof r, IFLA_MTU, &mtu, sizeof mtu);
    struct rtattr *info = nl_nest(&r.n, sizeof r, IFLA_LINKINFO);
    if (!info) return -ENOBUFS;
    nl_attr(&r.n, sizeof r, IFLA_INFO_KIND, "veth", 4);
    struct rtattr *data = nl_nest(&r.n, sizeof r, IFLA_INFO_DATA);
    struct rtattr *peer_info = nl_nest(&r.n, sizeof r, VETH_INFO_PEER);
    if (!data || !peer_info) return -ENOBUFS;
    // VETH_INFO_PEER carries an ifinfomsg before its attributes.
    if (NLMSG_ALIGN(r.n.nlmsg_len) + sizeof(struct ifinfomsg) > sizeof r) return -ENOBUFS;
    memset(nl_tail(&r.n), 0, sizeof(struct ifinfomsg));
    r.n.nlmsg_len += sizeof(struct ifinfomsg);
    nl_attr(&r.n, sizeof r, IFLA_IFNAME, peer, strlen(peer) + 1);
    if (mtu > 0) nl_attr(&r.n, sizeof r, IFLA_MTU, &mtu, sizeof mtu);
    if (peer_netns_fd >= 0) nl_attr(&r.n, sizeof r, IFLA_NET_NS_FD, &peer_netns_fd, sizeof peer_netns_fd);
    if (peer_mac) nl_attr(&r.n, sizeof r, IFLA_ADDRESS, peer_mac, 6);
    nl_nest_end(&r.n, peer_info);
    nl_nest_end(&r.n, data);
    nl_nest_end(&r.n, info);
    return nl_talk(&r.n);
}

int berth_nl_link_del(const char *name) {
    unsigned idx = if_nametoindex(name);
    if (!idx) return -ENODEV;
    struct nl_req r;
    link_req(&r, RTM_DELLINK, 0);
    r.u.i.ifi_index = (int)idx;
    return nl_talk(&r.n);
}

int berth_nl_link_set(const char *name, const struct berth_link_settings *s) {
    unsigned idx = if_nametoindex(name);
    if (!idx) return -ENODEV;
    struct nl_req r;
    link_req(&r, RTM_NEWLINK, 0);
    r.u.i.ifi_index = (int)idx;
    if (s->up) {
        r.u.i.ifi_flags = IFF_UP;
        r.u.i.ifi_change = IFF_UP;
    }
    if (s->master) {
        unsigned m = if_nametoindex(s->master);
        if (!m) return -ENODEV;
        nl_attr(&r.n, sizeof r, IFLA_MASTER, &m, sizeof m);
    }
    if (s->netns_fd >= 0) nl_attr(&r.n, sizeof r, IFLA_NET_NS_FD, &s->netns_fd, sizeof s->netns_fd);
    if (s->new_name) nl_attr(&r.n, sizeof r, IFLA_IFNAME, s->new_name, strlen(s->new_name) + 1);
    if (s->mac) nl_attr(&r.n, sizeof r, IFLA_ADDRESS, s->mac, 6);
    if (s->mtu > 0) nl_attr(&r.n, sizeof r, IFLA_MTU, &s->mtu, sizeof s->mtu);
    return nl_talk(&r.n);
}

int berth_nl_addr_add(const char *name, const uint8_t addr[4], int prefix) {
    unsigned idx = if_nametoindex(name);
    if (!idx) return -ENODEV;
    struct nl_req r;
    nl_req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, sizeof(struct ifaddrmsg));
    r.u.a.ifa_family = AF_INET;
    r.u.a.ifa_prefixlen = (unsigned char)prefix;
    r.u.a.ifa_index = idx;
    nl_attr(&r.n, sizeof r, IFA_LOCAL, addr, 4);
    nl_attr(&r.n, sizeof r, IFA_ADDRESS, addr, 4);
    if (prefix < 31) {
        uint8_t bcast[4];
        uint32_t a = ((uint32_t)addr[0] << 24) | ((uint32_t)addr[1] << 16) | ((uint32_t)addr[2] << 8) | addr[3];
        uint32_t host = prefix == 0 ? 0xffffffffu : (0xffffffffu >> prefix);
        uint32_t b = a | host;
        bcast[0] = (uint8_t)(b >> 24);
        bcast[1] = (uint8_t)(b >> 16);
        bcast[2] = (uint8_t)(b >> 8);
        bcast[3] = (uint8_t)b;
        nl_attr(&r.n, sizeof r, IFA_BROADCAST, bcast, 4);
    }
    return nl_talk(&r.n);
}

int berth_nl_route_add(const uint8_t dst[4], int prefix, const uint8_t *gateway, const char *dev) {
    unsigned idx = if_nametoindex(dev);
    if (!idx) return -ENODEV;
    struct nl_req r;
    nl_req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct rtmsg));
    r.u.r.rtm_family = AF_INET;
    r.u.r.rtm_dst_len = (unsigned char)prefix;
    r.u.r.rtm_table = RT_TABLE_MAIN;
    r.u.r.rtm_protocol = RTPROT_BOOT;
    r.u.r.rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    r.u.r.rtm_type = RTN_UNICAST;
    if (prefix > 0) nl_attr(&r.n, sizeof r, RTA_DST, dst, 4);
    if (gateway) nl_attr(&r.n, sizeof r, RTA_GATEWAY, gateway, 4);
    nl_attr(&r.n, sizeof r, RTA_OIF, &idx, sizeof idx);
    return nl_talk(&r.n);
}

int berth_nl_route_add_default(const uint8_t gateway[4], const char *dev) {
    static const uint8_t any[4] = {0, 0, 0, 0};
    return berth_nl_route_add(any, 0, gateway, dev);
}

static int fail(char *err, size_t err_len, const char *step, int rc) {
    if (err && err_len) snprintf(err, err_len, "%s: %s", step, strerror(-rc));
    return rc;
}

int berth_net_attach_veth(const struct berth_veth_config *c, char *err, size_t err_len) {
    // The container end is made directly in the container's namespace under its final name: moving a
    // link between namespaces waits for an RCU grace period (tens of milliseconds on a busy host).
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)c->pid);
    int target = open(path, O_RDONLY | O_CLOEXEC);
    if (target < 0) return fail(err, err_len, "open the container's network namespace", -errno);
    int rc = berth_nl_veth_add_into(c->host_name, c->container_name, c->mtu, target, c->has_mac ? c->mac : NULL);
    if (rc == -EEXIST && berth_nl_link_del(c->host_name) == 0) {
        // The host end of this endpoint's previous pair: its container stopped, but the kernel tears a network
        // namespace (and the pair in it) down asynchronously, so a quick restart can find it still there.
        rc = berth_nl_veth_add_into(c->host_name, c->container_name, c->mtu, target, c->has_mac ? c->mac : NULL);
    }
    close(target);
    if (rc < 0) return fail(err, err_len, "create the veth pair", rc);
    struct berth_link_settings host = {.up = 1, .master = c->bridge, .netns_fd = -1};
    if ((rc = berth_nl_link_set(c->host_name, &host)) < 0) {
        berth_nl_link_del(c->host_name);
        return fail(err, err_len, "attach the veth to the bridge", rc);
    }
    return 0;
}

int berth_net_move_link(const char *name, const char *netns_path, const char *container_name, const uint8_t *mac,
                        int mtu, char *err, size_t err_len) {
    int target = open(netns_path, O_RDONLY | O_CLOEXEC);
    if (target < 0) return fail(err, err_len, "open the container's network namespace", -errno);
    // One request: the kernel moves the link and gives it its new name in the target namespace.
    struct berth_link_settings s = {.netns_fd = target, .new_name = container_name, .mac = mac, .mtu = mtu};
    int rc = berth_nl_link_set(name, &s);
    close(target);
    if (rc < 0) return fail(err, err_len, rc == -ENODEV ? "find the plugin's interface" : "move the interface", rc);
    return 0;
}

static int same_subnet(const uint8_t a[4], const uint8_t b[4], int prefix) {
    uint32_t x = ((uint32_t)a[0] << 24) | ((uint32_t)a[1] << 16) | ((uint32_t)a[2] << 8) | a[3];
    uint32_t y = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    uint32_t mask = prefix <= 0 ? 0 : 0xffffffffu << (32 - prefix);
    return (x & mask) == (y & mask);
}

int berth_netns_create(const char *path, char *err, size_t err_len) {
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) return fail(err, err_len, "open this thread's network namespace", -errno);
    int file = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (file < 0) {
        int e = errno;
        close(self);
        return fail(err, err_len, "create the namespace file", -e);
    }
    close(file);
    int rc = 0;
    const char *step = "";
    if (unshare(CLONE_NEWNET) < 0) {
        rc = -errno;
        step = "create the network namespace";
    } else {
        if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0) {
            rc = -errno;
            step = "bind the network namespace";
        } else {
            struct berth_link_settings up = {.up = 1, .netns_fd = -1};
            if ((rc = berth_nl_link_set("lo", &up)) < 0) {
                step = "bring up lo";
                umount2(path, MNT_DETACH);
            }
        }
        // Back to the thread's own namespace, whatever happened.
        if (setns(self, CLONE_NEWNET) < 0) abort();
    }
    close(self);
    if (rc < 0) {
        unlink(path);
        return fail(err, err_len, step, rc);
    }
    return 0;
}

int berth_netns_remove(const char *path) {
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) return -errno;
    if (unlink(path) < 0 && errno != ENOENT) return -errno;
    return 0;
}

int berth_net_configure_inside(const struct berth_net_inside *i, char *err, size_t err_len) {
    int rc;
    if (i->rename_from && i->rename_from[0] && if_nametoindex(i->rename_from) > 0 && if_nametoindex(i->name) == 0) {
        struct berth_link_settings rename = {.netns_fd = -1, .new_name = i->name, .mac = i->has_mac ? i->mac : NULL};
        if ((rc = berth_nl_link_set(i->rename_from, &rename)) < 0) return fail(err, err_len, "name the interface", rc);
    }
    struct berth_link_settings up = {.up = 1, .netns_fd = -1};
    rc = berth_nl_link_set(i->name, &up);
    if (rc < 0) return fail(err, err_len, "bring up the interface", rc);
    // Idempotent: configuring an interface again (a new default route) keeps its address.
    if ((rc = berth_nl_addr_add(i->name, i->address, i->prefix)) < 0 && rc != -EEXIST) {
        return fail(err, err_len, "add the address", rc);
    }
    // On-link routes first: a route through a next hop needs the hop reachable.
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < i->n_routes; k++) {
            const struct berth_net_route *route = &i->routes[k];
            if (route->has_gateway != pass) continue;
            rc = berth_nl_route_add(route->dst, route->prefix, route->has_gateway ? route->gateway : NULL, i->name);
            if (rc < 0 && rc != -EEXIST) return fail(err, err_len, "add a static route", rc);
        }
    }
    if (i->has_gateway) {
        if (!same_subnet(i->gateway, i->address, i->prefix) &&
            (rc = berth_nl_route_add(i->gateway, 32, NULL, i->name)) < 0 && rc != -EEXIST) {
            return fail(err, err_len, "add the route to the gateway", rc);
        }
        if ((rc = berth_nl_route_add_default(i->gateway, i->name)) < 0) {
            return fail(err, err_len, "add the default route", rc);
        }
    }
    return 0;
}
