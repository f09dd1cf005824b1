#ifndef CArchive_SHIM_H
#define CArchive_SHIM_H
#include <archive.h>
#include <archive_entry.h>

// libarchive's AE_IF* constants are cast macros ((__LA_MODE_T)0100000) that Swift cannot import.
static const unsigned BERTH_AE_IFMT = AE_IFMT;
static const unsigned BERTH_AE_IFREG = AE_IFREG;
static const unsigned BERTH_AE_IFLNK = AE_IFLNK;
static const unsigned BERTH_AE_IFDIR = AE_IFDIR;
static const unsigned BERTH_AE_IFCHR = AE_IFCHR;
static const unsigned BERTH_AE_IFBLK = AE_IFBLK;
static const unsigned BERTH_AE_IFIFO = AE_IFIFO;
static const unsigned BERTH_AE_IFSOCK = AE_IFSOCK;

#endif
