/* The indexing pass's own reader of the common tar members.
 *
 * libarchive reads every tar dialect, but its per-member cost (a wide-char
 * copy of every name, allocations, charset conversion) was half of the
 * index pass on a layer of a million small files.  Most members of real
 * layers are a plain ustar, GNU or v7 header, perhaps after one pax 'x'
 * header or GNU long-name 'L'/'K' headers.  lfs_tar_fast_parse() reads
 * exactly those, and gives up (LFS_TAR_FAST_NO) on anything else, so
 * that libarchive reads it: sparse members, ACLs, header charsets,
 * unknown types and keywords, malformed records, bad checksums.
 *
 * Where it does read a member, the result is what libarchive 3.6 gives
 * for it (numbers parsed as libarchive parses them; the same types and
 * sizes), so the scanner treats both the same way; the differential fuzz
 * target (tests/fuzz/fuzz_tar.c) holds it to that. */
#ifndef LAYERFS_TAR_FAST_H
#define LAYERFS_TAR_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layerfs/index.h"

/* Longest name or link target the fast reader takes: a GNU long name or
 * pax record can be longer; such members go to libarchive. */
#define LFS_TAR_FAST_NAME_MAX 4096

enum lfs_tar_fast_result {
	LFS_TAR_FAST_OK,   /* a member: *m filled */
	LFS_TAR_FAST_MORE, /* the member's headers need *need bytes */
	LFS_TAR_FAST_END,  /* an all-zero block: the end of the archive */
	LFS_TAR_FAST_NO,   /* not one for the fast reader */
};

/* What libarchive carries from one member to the next that changes how it
 * reads a later one.  Both start false. */
struct lfs_tar_state {
	/* It reads the archive as pax: a pax header came, and no GNU or v7
	 * header since.  A ustar hardlink's size is then data. */
	bool pax;
	/* It has read a member of type '0': pax GNU.sparse records are
	 * then allowed on members of any type (it refuses them on a member
	 * that is not a file before). */
	bool sparse_allowed;
};

/* One member, as libarchive would give it. */
struct lfs_tar_fast {
	size_t hdr_len;	     /* its headers' bytes: its data follows */
	enum lfs_etype type; /* REG, DIR, LNK, HARDLINK, CHR, BLK, FIFO */
	uint32_t perm;	     /* the mode field, less the type bits */
	int64_t uid, gid;
	int64_t mtime_sec;
	long mtime_nsec;
	uint64_t size;	     /* the entry's size */
	uint64_t data_len;   /* data bytes after the headers (no padding) */
	uint64_t rdev_major, rdev_minor;
	bool pax;	     /* it had a pax 'x' header */
	/* NUL-terminated, in the caller's buffers. */
	char *name;
	char *link; /* HARDLINK and LNK: the target; "" otherwise */
};

/* Parse the member whose first header is at @p (@len bytes there), read
 * after @st.  @name and @link are LFS_TAR_FAST_NAME_MAX + 1 bytes each.
 * On LFS_TAR_FAST_OK, *st is the state after the member. */
enum lfs_tar_fast_result lfs_tar_fast_parse(const uint8_t *p, size_t len,
					    struct lfs_tar_state *st,
					    struct lfs_tar_fast *m,
					    char *name, char *link,
					    size_t *need);

/* Whether libarchive's format check takes the block @h (512 bytes) at a
 * stream's start for tar: it checks that header more strictly than the
 * ones after it (every number field octal or base-256), and refuses the
 * stream where it fails. */
bool lfs_tar_fast_starts_tar(const uint8_t *h);

/* Longest lead (lfs_tar_fast_lead()). */
#define LFS_TAR_FAST_LEAD_MAX 1024

/* An entry that puts a new libarchive reader, at the start of what it is
 * given, in state @st, and that its format check takes: an empty member
 * of type '0' where sparse records are allowed (a file allows them), else
 * a directory; behind a pax global header ('g') with no records for
 * @st->pax (which makes it read the archive as pax).  The scanner puts it
 * in front of the member where it hands the rest of a stream to
 * libarchive, and drops the entry libarchive makes of it.  It is an entry
 * of its own, not a header the member's chain would count (libarchive
 * takes 32 at most).  Returns its length, at most LFS_TAR_FAST_LEAD_MAX. */
size_t lfs_tar_fast_lead(const struct lfs_tar_state *st,
			 uint8_t out[LFS_TAR_FAST_LEAD_MAX]);

#endif
