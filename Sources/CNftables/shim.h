// Debian's libnftables: nft commands from a buffer, errors captured in a buffer.
#ifndef BERTH_CNFTABLES_SHIM_H
#define BERTH_CNFTABLES_SHIM_H
#include <nftables/libnftables.h>
#endif
