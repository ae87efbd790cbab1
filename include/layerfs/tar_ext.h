/* Checks on a tar member's extension headers that libarchive cannot make
 * for us.  libarchive hands names over as C strings, so a pax "path" or
 * "linkpath" record, or a GNU long name ('L') or long link ('K') body,
 * that holds a NUL byte arrives cut short at the NUL: "a\0/../../x"
 * silently becomes "a", naming another file, perhaps one a lower layer
 * has.  Go's archive/tar (docker, containerd, umoci) refuses such a pax
 * record; layerfs skips the member with a warning.
 *
 * The input is the raw bytes of one member's headers, from its first
 * header block up to its data, as the tar scanner captured them. */
#ifndef LAYERFS_TAR_EXT_H
#define LAYERFS_TAR_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LFS_TAR_BLOCK 512

/* NULL if every name in @hdrs[0..@len) is whole, else a short reason the
 * member must be skipped ("name holds a NUL byte", ...).  Headers are
 * walked the way libarchive reads them: pax 'x'/'X', GNU 'L'/'K', pax
 * global 'g' and Solaris 'A' carry a body, a GNU volume header 'V' does
 * not, and the first other type flag is the member's own header. */
const char *lfs_tar_ext_problem(const uint8_t *hdrs, size_t len);

/* Whether the last pax "mtime" record in a member's headers @hdrs[0..@len)
 * is a negative time with a fraction: libarchive 3.6 reads "-1.25" as
 * -1 s and +0.25 s; it is -2 s and +0.75 s, as GNU tar and Go extract
 * it. */
bool lfs_tar_ext_mtime_late(const uint8_t *hdrs, size_t len);

/* One SCHILY.xattr.NAME=VALUE pax record: NAME and VALUE as the record
 * holds them, raw bytes (NAME is not NUL-terminated, and may hold a NUL,
 * which no xattr name can). */
struct lfs_tar_xattr {
	const uint8_t *name;
	size_t name_len;
	const uint8_t *value;
	size_t value_len;
};

/* Calls @fn(@ctx, x) for every SCHILY.xattr.* record in the pax headers
 * ('x', 'X') of a member's headers @hdrs[0..@len), in the order they
 * come.  These are the only xattr records Go's archive/tar reads (its
 * Header.Xattrs), so the only ones umoci unpacks: libarchive also reads
 * LIBARCHIVE.xattr.* (URL-encoded name, base64 value) and
 * RHT.security.selinux, which these leave out. */
void lfs_tar_ext_xattrs(const uint8_t *hdrs, size_t len,
			void (*fn)(void *ctx, const struct lfs_tar_xattr *x),
			void *ctx);

/* Whether @hdr, a member's own header block, is an old-GNU (or GNU) one
 * of a member that is not sparse (type flag other than 'S'); its size
 * field in *size then.  libarchive applies such a header's "realsize"
 * and sparse map fields whatever the type, where GNU tar reads them for
 * sparse members alone: for these members they are junk. */
bool lfs_tar_plain_gnu(const uint8_t *hdr, uint64_t *size);

/* What a member's headers say of the stream bytes its data takes. */
struct lfs_tar_member {
	size_t own;	 /* where its own header starts in the headers */
	uint64_t stored; /* bytes of data: the pax "size" record, else the
			  * size field of its own header */
	bool sparse;	 /* GNU sparse: an old-GNU 'S' header, or pax
			  * GNU.sparse.* records */
	bool old_sparse; /* 'S': the extension blocks after its header
			  * come before the data and are not counted */
};

/* Fill *@m from a member's headers @hdrs[0..@len) (the member's own
 * header and whatever follows it may be there too).  false where the
 * chain cannot be walked or its pax "size" records disagree or are not
 * numbers: then nothing can be said of where the member ends. */
bool lfs_tar_ext_member(const uint8_t *hdrs, size_t len,
			struct lfs_tar_member *m);

/* The permission bits of @hdr's mode field (a member's own header). */
uint32_t lfs_tar_header_mode(const uint8_t *hdr);

/* How a tar stream ends that libarchive calls damaged at a header:
 * libarchive wants a member after extension headers, while GNU tar and
 * Go's archive/tar (so umoci) take the end-of-archive there for the end,
 * of an empty archive if nothing came before. */
enum lfs_tar_end {
	LFS_TAR_DAMAGED, /* not that: the stream is damaged */
	LFS_TAR_END,	 /* extension headers, then an all-zero block */
	LFS_TAR_END_CUT, /* extension headers, then no more bytes */
};

/* How @hdrs[0..@len), the bytes from the headers libarchive was reading
 * to the last byte read, end: whole extension headers (the types
 * lfs_tar_ext_problem() walks, each with its checksum right), then a
 * zero block, or nothing more. */
enum lfs_tar_end lfs_tar_ext_end(const uint8_t *hdrs, size_t len);

#endif
