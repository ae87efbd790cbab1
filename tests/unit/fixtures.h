/* Test fixtures: tar archives built in memory with libarchive's writer,
 * gzip and zstd compression, temporary directories, and a logger that
 * records what the code under test said. */
#ifndef LAYERFS_TEST_FIXTURES_H
#define LAYERFS_TEST_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "layerfs/blob.h"
#include "layerfs/log.h"

/* The mtime fixtures use unless an entry says otherwise. */
#define FX_MTIME 1700000000

struct fx_entry {
	const char *path;
	int type;	      /* AE_IFREG (default), AE_IFDIR, AE_IFLNK, ... */
	unsigned int mode;    /* 0: 0644, or 0755 for directories */
	const char *data;     /* regular files: content */
	size_t len;	      /* 0: strlen(data) */
	const char *link;     /* AE_IFLNK: target */
	const char *hardlink; /* a hardlink to this path */
	unsigned int uid, gid;
	int64_t mtime;	      /* 0: FX_MTIME */
	long mtime_nsec;
	unsigned int rmajor, rminor;
	const char *xattr;    /* one xattr: name ... */
	const char *xattr_value; /* ... and value */
	const char *const *xattrs; /* more: name, value, ..., NULL */
	const uint64_t *sparse; /* pairs (offset, length), ends with 0, 0 */
};

struct fx_tar;

/* @format: ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, _USTAR or _GNUTAR. */
struct fx_tar *fx_tar_new(int format);
void fx_tar_add(struct fx_tar *t, const struct fx_entry *e);
/* Shorthands for the common cases. */
void fx_tar_file(struct fx_tar *t, const char *path, const char *data);
void fx_tar_dir(struct fx_tar *t, const char *path);
/* Finish the archive and return its bytes; frees @t. */
GBytes *fx_tar_finish(struct fx_tar *t);

/* Raw tar blocks, for what libarchive's writer will not produce (a NUL
 * inside a long name, say).  fx_raw_block() appends one ustar header of
 * @typeflag naming @name (at most 99 bytes), and @len bytes of @body
 * padded to a block; fx_raw_pax() an 'x' header of one record
 * "@key=@value" (@vlen bytes, NULs allowed); fx_raw_end() the two zero
 * blocks that end an archive. */
void fx_raw_block(GByteArray *t, const char *name, char typeflag,
		  const void *body, size_t len);
void fx_raw_pax(GByteArray *t, const char *key, const void *value,
		size_t vlen);
/* One pax record for fx_raw_paxv(): @key=@value, @vlen bytes of it (0:
 * strlen(@value)). */
struct fx_pax_rec {
	const char *key;
	const void *value;
	size_t vlen;
};

/* An 'x' header of the records @recs[0..@n), in that order. */
void fx_raw_paxv(GByteArray *t, const struct fx_pax_rec *recs, size_t n);
void fx_raw_end(GByteArray *t);
/* Make the header block at @t[@at] an old-GNU one ("ustar  " magic) and
 * set its GNU fields: "realsize" and the first sparse map entry (left
 * empty where 0); the checksum is made again. */
void fx_raw_oldgnu(GByteArray *t, size_t at, uint64_t realsize,
		   uint64_t sparse_off, uint64_t sparse_len);
/* Make the checksum of the header block at @h right again. */
void fx_raw_checksum(guint8 *h);
/* Set the mode field of the header block at @t[@at] (and its checksum). */
void fx_raw_mode(GByteArray *t, size_t at, unsigned int mode);

/* @len deterministic bytes (xorshift from @seed).  With @alphabet > 0 they
 * are letters from 'a' on, that many distinct: data that compresses some,
 * but not to nothing.  With 0, any byte: incompressible. */
GBytes *fx_noise(size_t len, uint32_t seed, unsigned int alphabet);

GBytes *fx_gzip(GBytes *data);
/* Level 0 gives stored blocks: a byte changed in them changes one byte of
 * output, which inflate cannot notice before the member's CRC. */
GBytes *fx_gzip_level(GBytes *data, int level);
/* Change the byte at @at of the file at @path in place (XOR @mask), as a
 * file rewritten under a mount would be. */
void fx_flip_byte(const char *path, long at, guint8 mask);
GBytes *fx_zstd(GBytes *data);
GBytes *fx_gunzip(GBytes *data);

/* A new empty temporary directory; remove with fx_rmtree(). */
char *fx_tmpdir(void);
void fx_rmtree(const char *dir);
/* Write @data to DIR/NAME (parents created); returns the path. */
char *fx_write(const char *dir, const char *name, GBytes *data);
char *fx_write_str(const char *dir, const char *name, const char *data);
/* Sparse files for GNU tar to archive, in each of its sparse formats
 * (libarchive's writer knows pax 1.0 only).  A file is @size bytes, with
 * data only in its @runs, sorted: 512-byte aligned, a multiple of 512
 * long (the last may end at @size instead) and 512 bytes apart at least,
 * so GNU tar's map is exactly @runs.  The data byte at offset x is
 * fx_sparse_byte(x), never 0. */
struct fx_run {
	uint64_t off, len;
};

struct fx_sparse {
	const char *name;
	uint64_t size;
	const struct fx_run *runs;
	size_t nruns;
};

enum fx_gnu_sparse {
	FX_GNU_OLD,    /* --format=gnu: an 'S' header, extension blocks */
	FX_GNU_PAX_00, /* pax, GNU.sparse.offset/numbytes per run */
	FX_GNU_PAX_01, /* pax, one GNU.sparse.map record */
	FX_GNU_PAX_10, /* pax, the map at the start of the data */
};

/* The files the GNU tar fixtures hold: "sp", a hole first and 30 runs,
 * the last to its end (the old format needs two extension blocks for
 * them); "sp-hole", 9 runs from offset 0 and a hole at its end. */
const struct fx_sparse *fx_sparse_files(size_t *n);
uint8_t fx_sparse_byte(uint64_t off);
/* The whole content of @sp (g_free). */
guint8 *fx_sparse_content(const struct fx_sparse *sp);
const char *fx_gnu_sparse_name(enum fx_gnu_sparse kind);
/* GNU tar's archive, in @kind's format, of the @n files @sps and then
 * "plain" holding "plain\n"; NULL when GNU tar is not there or the temp
 * file system cannot store the files with holes (the caller skips).  GNU tar finds holes by
 * reading for zero blocks, so its map is @runs whatever the file system,
 * or with @seek by SEEK_HOLE, which huge files need (runs then should be
 * 2 MiB aligned, the largest block a file system maps holes by).  Owners,
 * mode, mtime, locale and time zone are fixed, so the archive is the same
 * every time, but for the stand-in name pax 0.1 and 1.0 give a sparse
 * member ("GNUSparseFile.PID/NAME"; GNU.sparse.name holds the real one). */
GBytes *fx_gnu_sparse_tar(enum fx_gnu_sparse kind, const struct fx_sparse *sps,
			  size_t n, bool seek);

/* "sha256:<hex>" of @data (g_free). */
char *fx_sha256(GBytes *data);

/* Store @data as a blob of the OCI layout @layout (blobs/sha256/<hex>)
 * and return its "sha256:<hex>" digest (g_free). */
char *fx_oci_blob(const char *layout, GBytes *data);
char *fx_oci_blob_str(const char *layout, const char *data);

/* A failing disk under a blob: reads of @inner that touch bytes [off,
 * off + len) fail with EIO while @on is set (atomically: a worker thread
 * may be reading), as reads of a disk's bad blocks do; clear it and the
 * disk has recovered.  @hits counts the reads that failed.  The fault
 * blob takes @inner over (closes it) and has no map op: its bytes are in
 * no plain file. */
struct fx_fault {
	uint64_t off, len;
	gint on;
	gint hits;
};

struct lfs_blob *fx_fault_blob(struct lfs_blob *inner, struct fx_fault *f);

/* A logger that keeps every message; fx_log_has() checks for a substring
 * in any of them. */
struct fx_log {
	struct lfs_logger lg;
	GPtrArray *msgs;
};

void fx_log_init(struct fx_log *l);
void fx_log_clear(struct fx_log *l);
bool fx_log_has(const struct fx_log *l, const char *needle);

#endif
