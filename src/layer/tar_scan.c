/* The indexing pass over a tar stream (see tar_scan.h). */
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <archive.h>
#include <archive_entry.h>

#include "layerfs/error.h"
#include "layerfs/path.h"
#include "layerfs/tar_ext.h"
#include "layerfs/tar_fast.h"
#include "layerfs/tar_scan.h"
#include "layerfs/whiteout.h"

/* Owner ids that do not fit a uid_t become the kernel's overflow id. */
#define OVERFLOW_ID 65534

/* Per-member warnings a layer may print; a hostile layer could otherwise
 * write one line per member, millions of them.  The rest are counted. */
#define MAX_WARNINGS 100

/* add_member() and friends: the member was left out (and warned about). */
#define SKIPPED 1

/* Most bytes kept from chunks already given back (see keep_unread()).
 * libarchive refuses a special header body over 1 MiB; a member with
 * more than this in headers is skipped, its names unchecked. */
#define MAX_KEPT_BYTES (4u << 20)

struct scan {
	const struct lfs_tar_source *src;
	struct lfs_index_builder *b;
	const struct lfs_logger *lg;
	const char *layer;
	struct archive *a;
	uint64_t base; /* where the stream stood when @a was opened */
	bool src_failed;
	bool src_eof; /* the source said it has no more */
	bool ended;   /* the stream ended with the last member's data */
	unsigned long warnings;
	/* Scratch for one member at a time, reused: a layer may have
	 * millions. */
	GArray *xattrs; /* struct lfs_scan_xattr */
	GArray *ext;	/* struct lfs_index_extent */
	/* The member's SCHILY.xattr records, copied from its headers: each
	 * name (with a NUL added) and value in @xattr_bytes, where
	 * @xattr_recs (struct xattr_rec) says. */
	GByteArray *xattr_bytes;
	GArray *xattr_recs;
	/* The chunk the source handed out last, and where it starts in the
	 * stream: the source may reuse a chunk once the next is asked for. */
	const uint8_t *chunk;
	uint64_t chunk_off;
	size_t chunk_len;
	/* Stream bytes [kept_off, chunk_off) from earlier chunks, kept
	 * because libarchive had not consumed them yet or they belong to
	 * the headers being read (see keep_unread()). */
	GByteArray *kept;
	uint64_t kept_off;
	GByteArray *scratch; /* for kept_bytes() */
	/* Stream bytes from @base on, for a reader opened there (resync()),
	 * handed out before the source's next chunk. */
	GByteArray *replay;
	bool replay_pending;
	/* Set while libarchive reads a member's headers, which start at
	 * @hdr_start. */
	bool capturing;
	uint64_t hdr_start;
	/* The member's own header, read: its mode field says @hdr_mode;
	 * an old-GNU one of a member that is not sparse, its size field
	 * @gnu_size (lfs_tar_plain_gnu()). */
	bool have_hdr;
	uint32_t hdr_mode;
	bool plain_gnu;
	uint64_t gnu_size;
	bool mtime_late; /* lfs_tar_ext_mtime_late() of its headers */
	/* A GNU sparse member: where its data ends in the stream by its
	 * headers, and where the member ends (its padding too); 0 for
	 * other members, and where its headers do not say. */
	uint64_t sparse_data_end;
	uint64_t sparse_end;
	/* The fast reader (fast_scan()): the next stream byte it reads,
	 * and, where the bytes from there span chunks, a copy of them and
	 * of the chunks after (@in_hold: @hold, from @hold_off, holds them
	 * up to the end of the source's chunk). */
	uint64_t pos;
	GByteArray *hold;
	uint64_t hold_off;
	bool in_hold;
	struct lfs_tar_state tar_state; /* libarchive's, as it would be */
	bool fast_data; /* the member's data was taken as a file's */
	/* Where libarchive took over behind a lead (hand_over()): its
	 * first member's headers start here; the lead's entry is still to
	 * be dropped. */
	uint64_t lead_end;
	bool lead_entry;
	char *fast_name, *fast_link;
};

/* libarchive's reason for its last failure, or @fallback: some of its
 * failures set none (a pax sparse map it cannot parse, say), and a
 * message must still say what went wrong. */
static const char *archive_why(struct archive *a, const char *fallback)
{
	const char *why = archive_error_string(a);

	return why && *why ? why : fallback;
}

static uint64_t stream_offset(struct scan *s)
{
	return s->base + (uint64_t)archive_filter_bytes(s->a, 0);
}

/* Called before the source hands out its next chunk.  libarchive may ask
 * for it while bytes of this one are still unread (a header straddling
 * the two; its format check before the first header), and those are the
 * bytes check_headers() needs: keep every byte from the first one
 * libarchive has not consumed, or from the start of the headers being
 * read, to the end of this chunk.  Afterwards @kept holds exactly
 * [kept_off, end of this chunk). */
static void keep_unread(struct scan *s)
{
	uint64_t end = s->chunk_off + s->chunk_len;
	uint64_t from = s->capturing ? s->hdr_start : stream_offset(s);
	uint64_t first;

	from = MAX(from, s->kept_off); /* what is gone stays gone */
	if (from >= s->chunk_off)
		g_byte_array_set_size(s->kept, 0);
	else
		g_byte_array_remove_range(s->kept, 0,
					  (guint)(from - s->kept_off));
	s->kept_off = from;
	first = MAX(from, s->chunk_off);
	if (first >= end)
		return;
	if (s->kept->len + (end - first) > MAX_KEPT_BYTES) {
		g_byte_array_set_size(s->kept, 0);
		s->kept_off = end;
		return;
	}
	g_byte_array_append(s->kept, s->chunk + (first - s->chunk_off),
			    (guint)(end - first));
}

static la_ssize_t read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct scan *s = ctx;
	ssize_t n;

	keep_unread(s);
	if (s->replay_pending && s->replay->len > 0) {
		s->replay_pending = false;
		*buf = s->replay->data;
		s->chunk_off += s->chunk_len;
		s->chunk = s->replay->data;
		s->chunk_len = s->replay->len;
		return (la_ssize_t)s->replay->len;
	}
	s->replay_pending = false;
	/* A reader opened again (resync()) may ask past the end the source
	 * already gave. */
	if (s->src_eof) {
		s->chunk_off += s->chunk_len;
		s->chunk_len = 0;
		*buf = NULL;
		return 0;
	}
	n = s->src->read(s->src->ctx, buf);
	if (n < 0) {
		s->src_failed = true;
		archive_set_error(a, (int)-n, "%s", s->src->error(s->src->ctx));
		return ARCHIVE_FATAL;
	}
	s->chunk_off += s->chunk_len;
	s->chunk = *buf;
	s->chunk_len = (size_t)n;
	s->src_eof = n == 0;
	return n;
}

/* Stream bytes [@start, @end) in one piece: in this chunk, or copied from
 * the kept bytes and this chunk into s->scratch.  NULL where some are not
 * kept (any more) or not read yet. */
static const uint8_t *kept_bytes(struct scan *s, uint64_t start,
				 uint64_t end)
{
	if (end > s->chunk_off + s->chunk_len || start < s->kept_off ||
	    start > end)
		return NULL;
	if (start >= s->chunk_off)
		return s->chunk + (start - s->chunk_off);
	g_byte_array_set_size(s->scratch, 0);
	g_byte_array_append(s->scratch, s->kept->data + (start - s->kept_off),
			    (guint)(MIN(end, s->chunk_off) - start));
	if (end > s->chunk_off)
		g_byte_array_append(s->scratch, s->chunk,
				    (guint)(end - s->chunk_off));
	return s->scratch->data;
}

/* Start capturing a member's headers: the stream stands at its first
 * header block. */
static void begin_headers(struct scan *s)
{
	s->capturing = true;
	s->hdr_start = MAX(stream_offset(s), s->lead_end);
}

/* Right after archive_read_next_header(): read what libarchive misreads
 * from the member's own header, the block before its data: its mode, and
 * whether it is an old-GNU one of a member that is not sparse.  Its bytes
 * are still kept (capturing). */
static void note_member_header(struct scan *s)
{
	uint64_t end = stream_offset(s);
	const uint8_t *hdr = end >= LFS_TAR_BLOCK
				     ? kept_bytes(s, end - LFS_TAR_BLOCK, end)
				     : NULL;

	s->have_hdr = hdr != NULL;
	s->plain_gnu = false;
	if (!hdr)
		return;
	s->hdr_mode = lfs_tar_header_mode(hdr);
	s->plain_gnu = lfs_tar_plain_gnu(hdr, &s->gnu_size);
}

/* Where one SCHILY.xattr record of the member lies in s->xattr_bytes. */
struct xattr_rec {
	guint name, name_len, value, value_len;
};

/* lfs_tar_ext_xattrs() callback.  The headers are kept whole, so they
 * are far below 4 GiB (MAX_KEPT_BYTES): guint offsets hold. */
static void keep_xattr(void *ctx, const struct lfs_tar_xattr *x)
{
	struct scan *s = ctx;
	struct xattr_rec r = {
		.name = s->xattr_bytes->len,
		.name_len = (guint)x->name_len,
		.value = s->xattr_bytes->len + (guint)x->name_len + 1,
		.value_len = (guint)x->value_len,
	};

	g_byte_array_append(s->xattr_bytes, x->name, (guint)x->name_len);
	g_byte_array_append(s->xattr_bytes, (const guint8 *)"", 1);
	g_byte_array_append(s->xattr_bytes, x->value, (guint)x->value_len);
	g_array_append_val(s->xattr_recs, r);
}

/* Right after archive_read_next_header(), for a GNU sparse member: where
 * its data and the member end by its headers [hdr_start, data offset),
 * for sparse_tail() and resync(). */
static void note_sparse_end(struct scan *s)
{
	uint64_t end = stream_offset(s), data_end;
	const uint8_t *hdrs = kept_bytes(s, s->hdr_start, end);
	struct lfs_tar_member m;

	s->sparse_data_end = 0;
	s->sparse_end = 0;
	if (!hdrs ||
	    !lfs_tar_ext_member(hdrs, (size_t)(end - s->hdr_start), &m) ||
	    !m.sparse)
		return;
	/* An old-GNU member's data follows its extension blocks, which
	 * libarchive has read; a pax one's follows its own header (pax 1.0
	 * counts the map, which libarchive has read, in the data). */
	data_end = m.old_sparse ? end : s->hdr_start + m.own + LFS_TAR_BLOCK;
	if (__builtin_add_overflow(data_end, m.stored, &data_end) ||
	    data_end > UINT64_MAX - LFS_TAR_BLOCK)
		return;
	s->sparse_data_end = data_end;
	s->sparse_end = (data_end + LFS_TAR_BLOCK - 1) / LFS_TAR_BLOCK *
			LFS_TAR_BLOCK;
}

/* What the member's extension headers @hdrs[0..@len) say that libarchive
 * does not: whether their names are whole (NULL, else why the member
 * must be skipped), whether its mtime reads a second late, and which of
 * its xattr records are the ones umoci reads (keep_xattr()). */
static const char *read_ext(struct scan *s, const uint8_t *hdrs, size_t len)
{
	const char *why = lfs_tar_ext_problem(hdrs, len);

	s->mtime_late = lfs_tar_ext_mtime_late(hdrs, len);
	if (!why)
		lfs_tar_ext_xattrs(hdrs, len, keep_xattr, s);
	return why;
}

/* Forget what read_ext() found in the last member's headers. */
static void reset_ext(struct scan *s)
{
	s->mtime_late = false;
	g_byte_array_set_size(s->xattr_bytes, 0);
	g_array_set_size(s->xattr_recs, 0);
}

/* Right after archive_read_next_header(): the member's headers are
 * [hdr_start, data offset), read by read_ext(). */
static const char *check_headers(struct scan *s)
{
	uint64_t start = s->hdr_start, end = stream_offset(s);
	const uint8_t *hdrs;

	note_sparse_end(s);
	s->capturing = false;
	reset_ext(s);
	/* One header block: ustar fields end at their first NUL by
	 * definition, so there is nothing to cut short. */
	if (end - start <= LFS_TAR_BLOCK)
		return NULL;
	if (end > s->chunk_off + s->chunk_len)
		return "extension headers cut short";
	hdrs = kept_bytes(s, start, end);
	if (!hdrs)
		return "extension headers too large to check";
	return read_ext(s, hdrs, (size_t)(end - start));
}

static void scan_warn(struct scan *s, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);

static void scan_warn(struct scan *s, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	if (++s->warnings > MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	lfs_warn(s->lg, "%s: %s", s->layer, msg);
}

/* Member names can hold any byte; quote them safely for messages. */
static char *quote(const char *raw)
{
	return raw ? g_strescape(raw, NULL) : g_strdup("(no name)");
}

static int skip(struct scan *s, const char *raw, const char *why)
{
	g_autofree char *q = quote(raw);

	scan_warn(s, "entry \"%s\" skipped: %s", q, why);
	return SKIPPED;
}

static int limit_error(struct scan *s, GError **error)
{
	lfs_fail(error, E2BIG, "%s: %s; refusing the layer", s->layer,
		 lfs_index_builder_error(s->b));
	return -E2BIG;
}

static uint32_t owner_id(struct scan *s, const char *path, int64_t id)
{
	if (id >= 0 && id < (int64_t)UINT32_MAX)
		return (uint32_t)id;
	scan_warn(s, "entry \"%s\": owner id %lld out of range, using %u",
		  path, (long long)id, OVERFLOW_ID);
	return OVERFLOW_ID;
}

/* A member as the scanner adds it, read by libarchive (from_archive())
 * or by the fast reader (fast_member()). */
struct member {
	const char *raw; /* its name as stored */
	bool typed;	 /* a type the index holds */
	enum lfs_etype type;
	uint32_t mode;
	int64_t uid, gid, mtime_sec;
	long mtime_nsec;
	uint64_t size;
	const char *link; /* HARDLINK, LNK: the target (NULL: none) */
	uint64_t rdev_major, rdev_minor;
	/* Read by the fast reader: a file's data lies at @data, whole
	 * (libarchive's members have theirs read by regular()). */
	bool fast;
	uint64_t data;
};

static bool entry_type(struct archive_entry *e, enum lfs_etype *type)
{
	if (archive_entry_hardlink(e)) {
		*type = LFS_T_HARDLINK;
		return true;
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		*type = LFS_T_REG;
		return true;
	case AE_IFDIR:
		*type = LFS_T_DIR;
		return true;
	case AE_IFLNK:
		*type = LFS_T_LNK;
		return true;
	case AE_IFCHR:
		*type = LFS_T_CHR;
		return true;
	case AE_IFBLK:
		*type = LFS_T_BLK;
		return true;
	case AE_IFIFO:
		*type = LFS_T_FIFO;
		return true;
	default:
		return false;
	}
}

/* A name may have several records: keep one, the last, as Go's
 * archive/tar (a map) and extraction in order would. */
static void add_xattr(GArray *xs, const struct lfs_scan_xattr *x)
{
	for (guint i = 0; i < xs->len; i++) {
		struct lfs_scan_xattr *old =
			&g_array_index(xs, struct lfs_scan_xattr, i);

		if (strcmp(old->name, x->name) == 0) {
			*old = *x;
			return;
		}
	}
	g_array_append_val(xs, *x);
}

static const char *xattr_problem(const char *name, size_t name_len,
				 size_t size, guint have)
{
	if (!*name || strlen(name) != name_len || name_len > LFS_NAME_MAX)
		return "invalid name";
	if (size > LFS_XATTR_VALUE_MAX)
		return "value over 64 KiB";
	if (have >= LFS_XATTR_COUNT_MAX)
		return "more than 128 xattrs";
	return NULL;
}

/* xattrs umoci never restores (its list of names to ignore): SELinux
 * labels and NFSv4 ACLs, which belong to the host, and overlayfs's own
 * records, which say how a build's overlay was put together and are
 * wrong in any other tree. */
static const char *const unrestored[] = {
	"security.selinux",	    "system.nfs4_acl",
	"trusted.overlay.opaque",   "trusted.overlay.redirect",
	"trusted.overlay.origin",   "trusted.overlay.impure",
	"trusted.overlay.nlink",    "trusted.overlay.upper",
	"trusted.overlay.metacopy",
};

static bool restored(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(unrestored); i++) {
		if (strcmp(name, unrestored[i]) == 0)
			return false;
	}
	return true;
}

/* The member's xattrs, as umoci unpacks them: from its SCHILY.xattr
 * records alone (read_ext()), not the LIBARCHIVE.xattr or
 * RHT.security.selinux records libarchive reads as well (decision
 * 0023), and never a name umoci leaves alone. */
static GArray *collect_xattrs(struct scan *s, const char *path)
{
	GArray *xs = g_array_set_size(s->xattrs, 0);
	const char *why;

	for (guint i = 0; i < s->xattr_recs->len; i++) {
		const struct xattr_rec *r =
			&g_array_index(s->xattr_recs, struct xattr_rec, i);
		struct lfs_scan_xattr x = {
			(const char *)s->xattr_bytes->data + r->name,
			s->xattr_bytes->data + r->value, r->value_len
		};

		/* POSIX pax: a record with an empty value deletes the
		 * keyword.  Go's archive/tar (docker, containerd, umoci)
		 * reads it so (decision 0005). */
		if (x.len == 0)
			continue;
		why = xattr_problem(x.name, r->name_len, x.len, xs->len);
		if (why) {
			g_autofree char *q = quote(x.name);

			scan_warn(s, "entry \"%s\": xattr \"%s\" skipped: %s",
				  path, q, why);
			continue;
		}
		if (!restored(x.name)) {
			lfs_debug(s->lg, "%s: entry \"%s\": xattr \"%s\" "
					 "left out, as umoci leaves it",
				  s->layer, path, x.name);
			continue;
		}
		add_xattr(xs, &x);
	}
	return xs;
}

/* The bytes @ext maps. */
static uint64_t mapped(const GArray *ext)
{
	uint64_t n = 0;

	for (guint i = 0; i < ext->len; i++)
		n += g_array_index(ext, struct lfs_index_extent, i).len;
	return n;
}

/* libarchive failed after a member's data: whether that is the stream
 * ending where the data does, without the member's padding or the
 * end-of-archive blocks.  umoci (Go's archive/tar) takes such a last
 * member whole, and Debian 12's umoci insert writes such layers. */
static bool ends_with_data(struct scan *s, const GArray *ext, uint64_t whole)
{
	const struct lfs_index_extent *last;

	if (s->src_failed || !s->src_eof || mapped(ext) != whole)
		return false;
	if (ext->len == 0)
		return true;
	last = &g_array_index(ext, struct lfs_index_extent, ext->len - 1);
	/* The data is the last thing in the stream. */
	return last->physical + last->len == s->chunk_off + s->chunk_len;
}

/* Read a regular member's data blocks and note where each lies in the
 * stream; adjacent blocks merge into one extent.  Every member is read
 * this way, not just those flagged sparse: the blocks say what the stream
 * really holds (a "sparse" member with an empty map holds nothing), and
 * libarchive reads the bytes anyway, the stream having no seek.  @whole:
 * the bytes the member holds, for a stream that ends with them. */
static gboolean stream_error(struct scan *s, GError **error);

static int read_extents(struct scan *s, const char *path, GArray *ext,
			uint64_t whole, GError **error)
{
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		struct lfs_index_extent *last;
		uint64_t phys;
		int r = archive_read_data_block(s->a, &buf, &size, &off);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK && ends_with_data(s, ext, whole)) {
			lfs_warn(s->lg,
				 "%s: the tar stream ends with entry \"%s\"'s "
				 "data, without its padding or the "
				 "end-of-archive blocks; taken as its end",
				 s->layer, path);
			s->ended = true;
			return 0;
		}
		/* The source's own failure (a read error of the disk)
		 * says more than libarchive's "truncated". */
		if (r != ARCHIVE_OK && s->src_failed) {
			stream_error(s, error);
			return -EIO;
		}
		if (r != ARCHIVE_OK) {
			lfs_fail(error, EIO,
				 "%s: corrupt or truncated tar near stream "
				 "offset %llu (entry \"%s\"): %s",
				 s->layer, (unsigned long long)stream_offset(s),
				 path,
				 archive_why(s->a, "its data cannot be read"));
			return -EIO;
		}
		if (size == 0)
			continue;
		phys = stream_offset(s);
		last = ext->len ? &g_array_index(ext, struct lfs_index_extent,
						 ext->len - 1)
				: NULL;
		if (last && last->logical + last->len == (uint64_t)off &&
		    last->physical + last->len == phys) {
			last->len += size;
		} else {
			struct lfs_index_extent x = { (uint64_t)off, phys,
						      size };
			g_array_append_val(ext, x);
		}
	}
}

/* A sparse map whose data reaches past the file's size: Go's archive/tar
 * refuses the layer ("invalid tar header"), and so umoci, containerd and
 * docker do; GNU tar makes the file longer than its size, bsdtar cuts
 * the data off (decision 0023).  Refused here too, naming the member,
 * rather than kept as an index its own check rejects. */
static int map_past_size(struct scan *s, const char *path, const GArray *ext,
			 uint64_t size, GError **error)
{
	for (guint i = 0; i < ext->len; i++) {
		const struct lfs_index_extent *x =
			&g_array_index(ext, struct lfs_index_extent, i);
		uint64_t end;

		if (__builtin_add_overflow(x->logical, x->len, &end) ||
		    end > size) {
			lfs_fail(error, EIO,
				 "%s: entry \"%s\": its sparse map reaches "
				 "past the end of the file (byte %llu of "
				 "%llu); refusing the layer",
				 s->layer, path, (unsigned long long)end,
				 (unsigned long long)size);
			return -EIO;
		}
	}
	return 0;
}

/* A sparse member whose data runs on after all its map names (the map
 * names 3 bytes, the member holds 4): GNU tar skips the rest, as
 * libarchive does since 3.8.1 (3.6 stops there, then takes the rest for
 * the next header, resync()); Go's archive/tar refuses the layer
 * ("unreferenced data").  The file is what the map says (decision
 * 0023), with a warning.  @data: where the member's data starts. */
static void sparse_tail(struct scan *s, const char *path, const GArray *ext,
			uint64_t data)
{
	uint64_t mapped_end = data;

	if (!s->sparse_data_end)
		return;
	if (ext->len) {
		const struct lfs_index_extent *last = &g_array_index(
			ext, struct lfs_index_extent, ext->len - 1);

		mapped_end = last->physical + last->len;
	}
	if (s->sparse_data_end > mapped_end) {
		uint64_t n = s->sparse_data_end - mapped_end;

		scan_warn(s, "entry \"%s\": %llu byte%s of its data after "
			     "all its sparse map names; skipped, as GNU tar "
			     "does (Go's archive/tar refuses the layer)",
			  path, (unsigned long long)n, n == 1 ? "" : "s");
	}
}

/* A regular member: contiguous data from @data, or a sparse map. */
static int regular(struct scan *s, const char *path,
		   struct lfs_scan_entry *se, GArray *ext, GError **error)
{
	const struct lfs_index_extent *x;
	int err;

	se->data = stream_offset(s);
	err = read_extents(s, path, ext, se->size, error);
	if (err < 0)
		return err;
	/* A sparse map in the header of a member that is not sparse is
	 * junk (libarchive follows it anyway): the data is what follows. */
	if (s->plain_gnu)
		return 0;
	err = map_past_size(s, path, ext, se->size, error);
	if (err < 0)
		return err;
	sparse_tail(s, path, ext, se->data);
	x = (const struct lfs_index_extent *)ext->data;
	if (ext->len == 0 && se->size == 0)
		return 0;
	if (ext->len == 1 && x->logical == 0 && x->len == se->size &&
	    x->physical == se->data)
		return 0;
	se->sparse = true;
	se->extents = x;
	se->nextents = ext->len;
	return 0;
}

/* Fill what the entry type needs beyond the common attributes.  Returns
 * 0, SKIPPED, or -errno with *error set. */
static int type_specifics(struct scan *s, const struct member *m,
			  const char *path, struct lfs_scan_entry *se,
			  char **target, GArray *ext, GError **error)
{
	const char *why;

	switch (se->type) {
	case LFS_T_HARDLINK:
		if (lfs_path_normalize(m->link, target, &why) < 0) {
			g_autofree char *msg =
				g_strdup_printf("hardlink target: %s", why);

			return skip(s, m->raw, msg);
		}
		se->target = *target;
		return 0;
	case LFS_T_LNK:
		se->target = m->link ? m->link : "";
		if (strlen(se->target) > LFS_PATH_MAX)
			return skip(s, m->raw, "symlink target longer than "
					       "4095 bytes");
		return 0;
	case LFS_T_CHR:
	case LFS_T_BLK:
		se->rdev = makedev(m->rdev_major, m->rdev_minor);
		return 0;
	case LFS_T_REG:
		if (!m->fast)
			return regular(s, path, se, ext, error);
		/* One piece of data right after the headers. */
		se->data = m->data;
		s->fast_data = true;
		return 0;
	default:
		return 0;
	}
}

static int add_member(struct scan *s, const struct member *m,
		      const char *path, GError **error)
{
	GArray *xattrs;
	GArray *ext = g_array_set_size(s->ext, 0);
	g_autofree char *target = NULL;
	struct lfs_scan_entry se = { 0 };
	int err;

	if (!m->typed)
		return skip(s, m->raw, "sockets and unknown types cannot be "
				       "represented");
	se.type = m->type;
	se.mode = m->mode;
	se.uid = owner_id(s, path, m->uid);
	se.gid = owner_id(s, path, m->gid);
	se.mtime_sec = m->mtime_sec;
	se.mtime_nsec = (uint32_t)m->mtime_nsec;
	/* libarchive reads a pax mtime of "-1.25" as -1 s + 0.25 s; it is
	 * -2 s + 0.75 s. */
	if (s->mtime_late && se.mtime_nsec > 0) {
		se.mtime_sec--;
		se.mtime_nsec = 1000000000u - se.mtime_nsec;
	}
	se.size = m->size;
	xattrs = collect_xattrs(s, path);
	se.xattrs = (struct lfs_scan_xattr *)xattrs->data;
	se.nxattrs = xattrs->len;
	err = type_specifics(s, m, path, &se, &target, ext, error);
	if (err != 0)
		return err;
	err = lfs_index_builder_add(s->b, path, &se);
	return err < 0 ? limit_error(s, error) : 0;
}

/* The member libarchive just read, with what the scanner corrects in
 * its reading. */
static void from_archive(struct scan *s, struct archive_entry *e,
			 struct member *m)
{
	memset(m, 0, sizeof(*m));
	m->raw = archive_entry_pathname(e);
	m->typed = entry_type(e, &m->type);
	m->mode = (uint32_t)archive_entry_perm(e);
	/* libarchive rewrites the mode from a pax ACL (SCHILY.acl.access:
	 * the group bits become the owning group's entry, not the mask);
	 * the header's mode stands, as umoci, which ignores such ACLs,
	 * writes it (decision 0023). */
	if (s->have_hdr &&
	    archive_entry_acl_count(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS) > 0)
		m->mode = s->hdr_mode;
	m->uid = archive_entry_uid(e);
	m->gid = archive_entry_gid(e);
	m->mtime_sec = archive_entry_mtime(e);
	m->mtime_nsec = archive_entry_mtime_nsec(e);
	m->size = (uint64_t)archive_entry_size(e);
	/* libarchive took a junk "realsize" for the size. */
	if (s->plain_gnu)
		m->size = s->gnu_size;
	if (m->typed && m->type == LFS_T_HARDLINK)
		m->link = archive_entry_hardlink(e);
	else if (m->typed && m->type == LFS_T_LNK)
		m->link = archive_entry_symlink(e);
	m->rdev_major = archive_entry_rdevmajor(e);
	m->rdev_minor = archive_entry_rdevminor(e);
}

/* One member: a marker, an entry, or something to skip.  Returns 0 or
 * -errno with *error set. */
static int handle_entry(struct scan *s, const struct member *m,
			GError **error)
{
	g_autofree char *path = NULL;
	enum lfs_wh_kind kind;
	const char *why;
	int err;

	if (!m->raw || lfs_path_normalize(m->raw, &path, &why) < 0) {
		skip(s, m->raw, m->raw ? why : "unreadable name");
		return 0;
	}
	err = lfs_index_builder_marker(s->b, path, &kind);
	if (err < 0)
		return limit_error(s, error);
	switch (kind) {
	case LFS_WH_NONE:
		err = add_member(s, m, path, error);
		return err < 0 ? err : 0;
	case LFS_WH_INVALID:
		skip(s, m->raw, "whiteout of an invalid name");
		return 0;
	case LFS_WH_META:
		lfs_debug(s->lg, "%s: aufs metadata entry \"%s\" ignored",
			  s->layer, path);
		return 0;
	case LFS_WH_DELETE:
	case LFS_WH_OPAQUE:
		return 0;
	}
	return 0;
}

static gboolean stream_error(struct scan *s, GError **error)
{
	if (s->src_failed)
		return lfs_fail(error, EIO, "%s: %s", s->layer,
				s->src->error(s->src->ctx));
	return lfs_fail(error, EIO, "%s: corrupt or truncated tar near stream "
			"offset %llu: %s",
			s->layer, (unsigned long long)stream_offset(s),
			archive_why(s->a, "a member's headers cannot be "
					  "read"));
}

/* libarchive gave up reading a member's headers: whether the stream ends
 * there instead (see lfs_tar_ext_end()), going by the bytes from the
 * headers' start to the last one read. */
static enum lfs_tar_end ended_at_headers(struct scan *s)
{
	uint64_t start = s->hdr_start, last = s->chunk_off + s->chunk_len;
	const uint8_t *hdrs = s->capturing ? kept_bytes(s, start, last) : NULL;
	enum lfs_tar_end end;

	/* Not captured, or more than we keep: damage, as libarchive says. */
	if (!hdrs)
		return LFS_TAR_DAMAGED;
	end = lfs_tar_ext_end(hdrs, (size_t)(last - start));
	/* No end-of-archive blocks: only where the stream really ends. */
	if (end == LFS_TAR_END_CUT && !s->src_eof)
		return LFS_TAR_DAMAGED;
	return end;
}

static bool open_reader(struct scan *s)
{
	s->a = archive_read_new();
	archive_read_support_format_tar(s->a);
	archive_read_support_format_empty(s->a);
	return archive_read_open(s->a, s, NULL, read_cb, NULL) == ARCHIVE_OK;
}

/* libarchive stopped short of a sparse member's end, @at (see
 * sparse_tail()): the bytes from where it stands are the rest of the
 * member's data, not a header.  Open a new reader at @at, handing it
 * the bytes from there that the old one was given (kept, or in this
 * chunk), or reading up to @at from the source where the old one did
 * not get that far. */
static gboolean resync(struct scan *s, uint64_t at, GError **error)
{
	uint64_t end = s->chunk_off + s->chunk_len;
	/* Not s->replay: this chunk may be it, after a resync before. */
	g_autoptr(GByteArray) replay = g_byte_array_new();
	const uint8_t *rest;

	lfs_debug(s->lg, "%s: the tar reader stopped %llu bytes short of "
			 "the member's end; reading on from there",
		  s->layer, (unsigned long long)(at - stream_offset(s)));
	if (at < end) {
		rest = kept_bytes(s, at, end);
		if (!rest)
			return lfs_fail(error, EIO, "%s: corrupt or truncated "
					"tar near stream offset %llu: too "
					"much data to skip after a sparse "
					"member",
					s->layer, (unsigned long long)at);
		g_byte_array_append(replay, rest, (guint)(end - at));
	}
	while (at > s->chunk_off + s->chunk_len) {
		const void *buf;
		ssize_t n;

		if (s->src_eof)
			return lfs_fail(error, EIO, "%s: corrupt or truncated "
					"tar: a sparse member's data ends "
					"past the end of the stream, at "
					"offset %llu",
					s->layer, (unsigned long long)at);
		n = s->src->read(s->src->ctx, &buf);
		if (n < 0) {
			s->src_failed = true;
			return stream_error(s, error);
		}
		s->chunk_off += s->chunk_len;
		s->chunk = buf;
		s->chunk_len = (size_t)n;
		s->src_eof = n == 0;
		if (at < s->chunk_off + s->chunk_len)
			g_byte_array_append(replay,
					    s->chunk + (at - s->chunk_off),
					    (guint)(s->chunk_off +
						    s->chunk_len - at));
	}
	archive_read_free(s->a);
	g_byte_array_unref(s->replay);
	s->replay = g_steal_pointer(&replay);
	s->replay_pending = true;
	s->base = at;
	s->chunk = NULL;
	s->chunk_off = at;
	s->chunk_len = 0;
	g_byte_array_set_size(s->kept, 0);
	s->kept_off = at;
	s->capturing = false;
	if (!open_reader(s))
		return stream_error(s, error);
	return TRUE;
}

static gboolean scan_all(struct scan *s, GError **error)
{
	struct archive_entry *e;
	struct member m;
	const char *why;

	for (bool first = true;; first = false) {
		int r;

		/* Finish the last member first (next_header would), so
		 * that its data is not taken for the next one's headers. */
		if (!first) {
			r = archive_read_data_skip(s->a);
			if (r == ARCHIVE_FATAL || r == ARCHIVE_FAILED)
				return stream_error(s, error);
			if (s->sparse_end > stream_offset(s) &&
			    !resync(s, s->sparse_end, error))
				return FALSE;
		}
		begin_headers(s);
		r = archive_read_next_header(s->a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN) {
			/* e.g. a UTF-8 name in a non-UTF-8 locale: the raw
			 * bytes are still there, and they are what we want. */
			lfs_debug(s->lg, "%s: %s", s->layer,
				  archive_why(s->a, "a warning"));
		} else if (r != ARCHIVE_OK && !s->src_failed) {
			enum lfs_tar_end end = ended_at_headers(s);

			if (end == LFS_TAR_DAMAGED)
				return stream_error(s, error);
			if (end == LFS_TAR_END_CUT)
				lfs_warn(s->lg,
					 "%s: the tar stream ends after extension "
					 "headers, without the end-of-archive "
					 "blocks; taken as its end",
					 s->layer);
			break;
		} else if (r != ARCHIVE_OK) {
			return stream_error(s, error);
		}
		/* The lead's entry (hand_over()). */
		if (s->lead_entry) {
			s->lead_entry = false;
			continue;
		}
		note_member_header(s);
		why = check_headers(s);
		if (why) {
			skip(s, archive_entry_pathname(e), why);
			continue;
		}
		from_archive(s, e, &m);
		if (handle_entry(s, &m, error) < 0)
			return FALSE;
		if (s->ended)
			break;
	}
	/* libarchive may take a failed read while it is still guessing the
	 * format for an empty archive; a failed source is never a success. */
	if (s->src_failed)
		return stream_error(s, error);
	return TRUE;
}

/* ---- the fast reader ------------------------------------------------ */

/* The bytes from s->pos on, in one piece, at least @need of them where
 * the stream has that many: *p and how many there are (fewer only at the
 * stream's end), or -errno where the source failed.  *p stays valid until
 * the next call. */
static ssize_t fast_bytes(struct scan *s, size_t need, const uint8_t **p)
{
	for (;;) {
		uint64_t end = s->chunk_off + s->chunk_len;
		const void *buf;
		ssize_t n;

		if (s->in_hold && s->pos >= s->chunk_off)
			s->in_hold = false;
		if (s->pos + need <= end || s->src_eof) {
			if (s->pos >= end) {
				*p = NULL;
				return 0;
			}
			*p = s->in_hold ? s->hold->data + (s->pos - s->hold_off)
					: s->chunk + (s->pos - s->chunk_off);
			return (ssize_t)(end - s->pos);
		}
		/* Keep the bytes from s->pos on; read the next chunk. */
		if (s->pos < end && !s->in_hold) {
			g_byte_array_set_size(s->hold, 0);
			g_byte_array_append(s->hold,
					    s->chunk + (s->pos - s->chunk_off),
					    (guint)(end - s->pos));
			s->hold_off = s->pos;
			s->in_hold = true;
		} else if (s->in_hold && s->pos > s->hold_off) {
			g_byte_array_remove_range(s->hold, 0,
						  (guint)(s->pos - s->hold_off));
			s->hold_off = s->pos;
		}
		n = s->src->read(s->src->ctx, &buf);
		if (n < 0) {
			s->src_failed = true;
			return n;
		}
		s->chunk_off = end;
		s->chunk = buf;
		s->chunk_len = (size_t)n;
		s->src_eof = n == 0;
		if (s->in_hold)
			g_byte_array_append(s->hold, buf, (guint)n);
	}
}

/* The member's headers [@hdrs, + @len): what check_headers() reads from
 * them for libarchive's members.  NULL, or why the member is skipped. */
static const char *fast_headers(struct scan *s, const uint8_t *hdrs,
				size_t len)
{
	reset_ext(s);
	if (len <= LFS_TAR_BLOCK)
		return NULL;
	return read_ext(s, hdrs, len);
}

/* Past the member's data and padding, from its data at @data.  Returns
 * 1 where the stream ends with a file's data (taken as its end, as
 * read_extents() takes it), else 0, or -errno with *error set. */
static int fast_skip(struct scan *s, const struct lfs_tar_fast *m,
		     uint64_t data, GError **error)
{
	uint64_t data_end = data + m->data_len;
	uint64_t padded = (data_end + LFS_TAR_BLOCK - 1) / LFS_TAR_BLOCK *
			  LFS_TAR_BLOCK;
	const uint8_t *p;

	s->pos = padded;
	if (fast_bytes(s, 0, &p) < 0) {
		stream_error(s, error);
		return -EIO;
	}
	if (!s->src_eof || padded <= s->chunk_off + s->chunk_len)
		return 0;
	if (s->fast_data && m->data_len > 0 &&
	    s->chunk_off + s->chunk_len == data_end) {
		lfs_warn(s->lg,
			 "%s: the tar stream ends with entry \"%s\"'s data, "
			 "without its padding or the end-of-archive blocks; "
			 "taken as its end",
			 s->layer, m->name);
		return 1;
	}
	lfs_fail(error, EIO,
		 "%s: corrupt or truncated tar near stream offset %llu "
		 "(entry \"%s\"): the stream ends inside its data",
		 s->layer, (unsigned long long)(s->chunk_off + s->chunk_len),
		 m->name);
	return -EIO;
}

/* One member the fast reader parsed, its headers at @hdrs. */
static int fast_member(struct scan *s, const struct lfs_tar_fast *fm,
		       const uint8_t *hdrs, GError **error)
{
	struct member m = {
		.raw = fm->name,
		.typed = true,
		.type = fm->type,
		.mode = fm->perm,
		.uid = fm->uid,
		.gid = fm->gid,
		.mtime_sec = fm->mtime_sec,
		.mtime_nsec = fm->mtime_nsec,
		.size = fm->size,
		.link = fm->link,
		.rdev_major = fm->rdev_major,
		.rdev_minor = fm->rdev_minor,
		.fast = true,
		.data = s->pos + fm->hdr_len,
	};
	const char *why = fast_headers(s, hdrs, fm->hdr_len);

	s->fast_data = false;
	if (why) {
		skip(s, fm->name, why);
		return 0;
	}
	return handle_entry(s, &m, error);
}

/* Read members with the fast reader from the stream's start.  Returns 1
 * where it read the stream to its end, 0 where libarchive is to read on
 * from s->pos (a member the fast reader leaves alone, or a stream cut
 * short inside headers, which libarchive judges), or -errno with *error
 * set. */
static int fast_scan(struct scan *s, GError **error)
{
	for (;;) {
		enum lfs_tar_fast_result r;
		struct lfs_tar_fast m;
		size_t need = LFS_TAR_BLOCK;
		const uint8_t *p;
		ssize_t n;
		int err;

		do {
			n = fast_bytes(s, need, &p);
			if (n < 0) {
				stream_error(s, error);
				return -EIO;
			}
			/* The end at a block boundary: libarchive's EOF. */
			if (n == 0)
				return 1;
			if ((size_t)n < need)
				return 0;
			/* The stream's first header: libarchive's format
			 * check first. */
			if (s->pos == 0 && !lfs_tar_fast_starts_tar(p))
				return 0;
			r = lfs_tar_fast_parse(p, (size_t)n, &s->tar_state, &m,
					       s->fast_name, s->fast_link,
					       &need);
		} while (r == LFS_TAR_FAST_MORE);
		if (r == LFS_TAR_FAST_END)
			return 1;
		if (r == LFS_TAR_FAST_NO)
			return 0;
		err = fast_member(s, &m, p, error);
		if (err < 0)
			return err;
		err = fast_skip(s, &m, s->pos + m.hdr_len, error);
		if (err != 0)
			return err;
	}
}

/* Hand the stream from s->pos on to a libarchive reader.  Where that is
 * not the stream's start, a lead goes first (lfs_tar_fast_lead()):
 * libarchive checks the first header of a stream more strictly than the
 * others, and reads some members by what came before them. */
static gboolean hand_over(struct scan *s, GError **error)
{
	uint64_t at = s->pos, end = s->chunk_off + s->chunk_len;
	size_t lead_len = 0;

	g_byte_array_set_size(s->replay, 0);
	if (at > 0) {
		uint8_t lead[LFS_TAR_FAST_LEAD_MAX];

		lead_len = lfs_tar_fast_lead(&s->tar_state, lead);
		s->lead_entry = true;
		g_byte_array_append(s->replay, lead, (guint)lead_len);
	}
	if (at < end)
		g_byte_array_append(s->replay,
				    s->in_hold
					    ? s->hold->data + (at - s->hold_off)
					    : s->chunk + (at - s->chunk_off),
				    (guint)(end - at));
	lfs_debug(s->lg, "%s: libarchive reads on from stream offset %llu",
		  s->layer, (unsigned long long)at);
	s->replay_pending = true;
	s->base = at - lead_len;
	s->lead_end = at;
	s->chunk = NULL;
	s->chunk_off = s->base;
	s->chunk_len = 0;
	g_byte_array_set_size(s->kept, 0);
	s->kept_off = s->base;
	s->capturing = false;
	g_byte_array_set_size(s->hold, 0);
	s->in_hold = false;
	if (!open_reader(s))
		return stream_error(s, error);
	return TRUE;
}

/* The fast reader first, then libarchive where it stops. */
static gboolean scan_stream(struct scan *s, GError **error)
{
	int r = s->src->libarchive_only ? 0 : fast_scan(s, error);

	if (r < 0)
		return FALSE;
	if (r == 1)
		return TRUE;
	if (!hand_over(s, error))
		return FALSE;
	return scan_all(s, error);
}

gboolean lfs_tar_scan(const struct lfs_tar_source *src,
		      struct lfs_index_builder *b, const struct lfs_logger *lg,
		      const char *layer, GError **error)
{
	struct scan s = {
		.src = src,
		.b = b,
		.lg = lg,
		.layer = layer,
		.xattrs = g_array_new(FALSE, FALSE,
				      sizeof(struct lfs_scan_xattr)),
		.ext = g_array_new(FALSE, FALSE,
				   sizeof(struct lfs_index_extent)),
		.xattr_bytes = g_byte_array_new(),
		.xattr_recs = g_array_new(FALSE, FALSE,
					  sizeof(struct xattr_rec)),
		.kept = g_byte_array_new(),
		.scratch = g_byte_array_new(),
		.replay = g_byte_array_new(),
		.hold = g_byte_array_new(),
		.fast_name = g_malloc(LFS_TAR_FAST_NAME_MAX + 1),
		.fast_link = g_malloc(LFS_TAR_FAST_NAME_MAX + 1),
	};
	gboolean ok = scan_stream(&s, error);

	if (s.warnings > MAX_WARNINGS)
		lfs_warn(lg, "%s: %lu more warnings not shown", layer,
			 s.warnings - MAX_WARNINGS);
	archive_read_free(s.a);
	g_array_unref(s.xattrs);
	g_array_unref(s.ext);
	g_byte_array_unref(s.xattr_bytes);
	g_array_unref(s.xattr_recs);
	g_byte_array_unref(s.kept);
	g_byte_array_unref(s.scratch);
	g_byte_array_unref(s.replay);
	g_byte_array_unref(s.hold);
	g_free(s.fast_name);
	g_free(s.fast_link);
	return ok;
}
