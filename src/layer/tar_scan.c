/* The indexing pass over a tar stream (see tar_scan.h). */
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <archive.h>
#include <archive_entry.h>

#include "layerfs/error.h"
#include "layerfs/path.h"
#include "layerfs/tar_scan.h"

/* Owner ids that do not fit a uid_t become the kernel's overflow id. */
#define OVERFLOW_ID 65534

struct scan {
	const struct lfs_tar_source *src;
	struct lfs_index_builder *b;
	const struct lfs_logger *lg;
	const char *layer;
	struct archive *a;
	bool src_failed;
};

static la_ssize_t read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct scan *s = ctx;
	ssize_t n = s->src->read(s->src->ctx, buf);

	if (n < 0) {
		s->src_failed = true;
		archive_set_error(a, (int)-n, "%s", s->src->error(s->src->ctx));
		return ARCHIVE_FATAL;
	}
	return n;
}

static uint64_t stream_offset(struct scan *s)
{
	return (uint64_t)archive_filter_bytes(s->a, 0);
}

/* Member names can hold any byte; quote them safely for messages. */
static char *quote(const char *raw)
{
	return raw ? g_strescape(raw, NULL) : g_strdup("(no name)");
}

static void warn_entry(struct scan *s, const char *raw, const char *why)
{
	g_autofree char *q = quote(raw);

	lfs_warn(s->lg, "%s: entry \"%s\" skipped: %s", s->layer, q, why);
}

/* ".wh.*" members.  Returns true when @base was one (handled or skipped). */
static gboolean handle_whiteout(struct scan *s, const char *raw,
				const char *path, const char *base,
				size_t parent_len, int *err)
{
	g_autofree char *parent = g_strndup(path, parent_len);
	g_autofree char *target = NULL;
	const char *name = NULL;

	*err = 0;
	switch (lfs_whiteout_classify(base, &name)) {
	case LFS_WH_NONE:
		return FALSE;
	case LFS_WH_OPAQUE:
		*err = lfs_index_builder_opaque(s->b, parent);
		return TRUE;
	case LFS_WH_META:
		lfs_debug(s->lg, "%s: aufs metadata entry \"%s\" ignored",
			  s->layer, path);
		return TRUE;
	case LFS_WH_INVALID:
		warn_entry(s, raw, "whiteout of an invalid name");
		return TRUE;
	case LFS_WH_DELETE:
		break;
	}
	target = parent_len ? g_strdup_printf("%s/%s", parent, name)
			    : g_strdup(name);
	*err = lfs_index_builder_whiteout(s->b, target);
	return TRUE;
}

static uint32_t owner_id(struct scan *s, const char *path, la_int64_t id)
{
	if (id >= 0 && id < (la_int64_t)UINT32_MAX)
		return (uint32_t)id;
	lfs_warn(s->lg, "%s: entry \"%s\": owner id %lld out of range, using "
			"%u",
		 s->layer, path, (long long)id, OVERFLOW_ID);
	return OVERFLOW_ID;
}

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

/* libarchive reports an xattr once per pax record naming it, and bsdtar
 * writes each twice (SCHILY.xattr.* and LIBARCHIVE.xattr.*): keep one per
 * name, the last, as extraction would. */
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

static GArray *collect_xattrs(struct scan *s, struct archive_entry *e,
			      const char *path)
{
	GArray *xs = g_array_new(FALSE, FALSE, sizeof(struct lfs_scan_xattr));
	const char *name;
	const void *value;
	size_t size;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) ==
	       ARCHIVE_OK) {
		struct lfs_scan_xattr x = { name, value, size };

		/* POSIX pax: a record with an empty value deletes the
		 * keyword.  Go's archive/tar (docker, containerd, umoci)
		 * reads it so; libarchive hands it over as a value. */
		if (size == 0)
			continue;
		if (!name || !*name || strlen(name) > LFS_NAME_MAX ||
		    size > LFS_XATTR_VALUE_MAX ||
		    xs->len >= LFS_XATTR_COUNT_MAX) {
			lfs_warn(s->lg, "%s: entry \"%s\": xattr skipped: "
					"invalid name, value over 64 KiB or "
					"more than %d xattrs",
				 s->layer, path, LFS_XATTR_COUNT_MAX);
			continue;
		}
		add_xattr(xs, &x);
	}
	return xs;
}

/* Walk a sparse member's data blocks and note where each lies in the
 * stream; adjacent blocks merge into one extent. */
static gboolean collect_extents(struct scan *s, const char *path,
				GArray *ext, GError **error)
{
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		struct lfs_index_extent *last;
		uint64_t phys;
		int r = archive_read_data_block(s->a, &buf, &size, &off);

		if (r == ARCHIVE_EOF)
			return TRUE;
		if (r != ARCHIVE_OK)
			return lfs_fail(error, EIO,
					"%s: entry \"%s\": reading sparse data "
					"at stream offset %llu: %s",
					s->layer, path,
					(unsigned long long)stream_offset(s),
					archive_error_string(s->a));
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

/* Fill what the entry type needs beyond the common attributes.  Returns
 * FALSE with *error set for a stream error, FALSE without for a member to
 * skip (already warned about). */
static gboolean type_specifics(struct scan *s, struct archive_entry *e,
			       const char *raw, const char *path,
			       struct lfs_scan_entry *se, char **target,
			       GArray *ext, GError **error)
{
	const char *why;

	switch (se->type) {
	case LFS_T_HARDLINK:
		if (lfs_path_normalize(archive_entry_hardlink(e), target,
				       &why) < 0) {
			warn_entry(s, raw, "unsafe hardlink target");
			return FALSE;
		}
		se->target = *target;
		break;
	case LFS_T_LNK:
		se->target = archive_entry_symlink(e);
		if (!se->target)
			se->target = "";
		if (strlen(se->target) > LFS_PATH_MAX) {
			warn_entry(s, raw, "symlink target longer than 4095 "
					   "bytes");
			return FALSE;
		}
		break;
	case LFS_T_CHR:
	case LFS_T_BLK:
		se->rdev = makedev(archive_entry_rdevmajor(e),
				   archive_entry_rdevminor(e));
		break;
	case LFS_T_REG:
		se->data = stream_offset(s);
		if (archive_entry_sparse_count(e) > 0) {
			if (!collect_extents(s, path, ext, error))
				return FALSE;
			se->extents = (struct lfs_index_extent *)ext->data;
			se->nextents = ext->len;
		}
		break;
	default:
		break;
	}
	return TRUE;
}

static gboolean add_member(struct scan *s, struct archive_entry *e,
			   const char *raw, const char *path, GError **error)
{
	g_autoptr(GArray) xattrs = NULL;
	g_autoptr(GArray) ext = g_array_new(FALSE, FALSE,
					    sizeof(struct lfs_index_extent));
	g_autofree char *target = NULL;
	struct lfs_scan_entry se = { 0 };
	int err;

	if (!entry_type(e, &se.type)) {
		warn_entry(s, raw, "sockets and unknown types cannot be "
				   "represented");
		return TRUE;
	}
	se.mode = (uint32_t)archive_entry_perm(e);
	se.uid = owner_id(s, path, archive_entry_uid(e));
	se.gid = owner_id(s, path, archive_entry_gid(e));
	se.mtime_sec = archive_entry_mtime(e);
	se.mtime_nsec = (uint32_t)archive_entry_mtime_nsec(e);
	se.size = (uint64_t)archive_entry_size(e);
	xattrs = collect_xattrs(s, e, path);
	se.xattrs = (struct lfs_scan_xattr *)xattrs->data;
	se.nxattrs = xattrs->len;
	if (!type_specifics(s, e, raw, path, &se, &target, ext, error))
		return error == NULL || *error == NULL;
	err = lfs_index_builder_add(s->b, path, &se);
	if (err < 0)
		return lfs_fail(error, -err,
				"%s: more than %u entries; refusing the layer",
				s->layer, LFS_INDEX_MAX_ENTRIES);
	return TRUE;
}

static gboolean handle_entry(struct scan *s, struct archive_entry *e,
			     GError **error)
{
	const char *raw = archive_entry_pathname(e);
	g_autofree char *path = NULL;
	const char *why, *base;
	size_t parent_len;
	int err;

	if (!raw || lfs_path_normalize(raw, &path, &why) < 0) {
		warn_entry(s, raw, raw ? why : "unreadable name");
		return TRUE;
	}
	parent_len = lfs_path_split(path, &base);
	if (handle_whiteout(s, raw, path, base, parent_len, &err)) {
		if (err < 0)
			return lfs_fail(error, -err,
					"%s: more than %u entries; refusing "
					"the layer",
					s->layer, LFS_INDEX_MAX_ENTRIES);
		return TRUE;
	}
	return add_member(s, e, raw, path, error);
}

static gboolean stream_error(struct scan *s, GError **error)
{
	if (s->src_failed)
		return lfs_fail(error, EIO, "%s: %s", s->layer,
				s->src->error(s->src->ctx));
	return lfs_fail(error, EIO, "%s: corrupt or truncated tar near stream "
			"offset %llu: %s",
			s->layer, (unsigned long long)stream_offset(s),
			archive_error_string(s->a));
}

gboolean lfs_tar_scan(const struct lfs_tar_source *src,
		      struct lfs_index_builder *b, const struct lfs_logger *lg,
		      const char *layer, GError **error)
{
	struct scan s = { src, b, lg, layer, archive_read_new(), false };
	struct archive_entry *e;
	gboolean ok = FALSE;

	archive_read_support_format_tar(s.a);
	archive_read_support_format_empty(s.a);
	if (archive_read_open(s.a, &s, NULL, read_cb, NULL) != ARCHIVE_OK) {
		stream_error(&s, error);
		goto out;
	}
	for (;;) {
		int r = archive_read_next_header(s.a, &e);

		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN) {
			/* e.g. a UTF-8 name in a non-UTF-8 locale: the raw
			 * bytes are still there, and they are what we want. */
			lfs_debug(lg, "%s: %s", layer,
				  archive_error_string(s.a));
		} else if (r != ARCHIVE_OK) {
			stream_error(&s, error);
			goto out;
		}
		if (!handle_entry(&s, e, error))
			goto out;
	}
	/* libarchive may take a failed read while it is still guessing the
	 * format for an empty archive; a failed source is never a success. */
	if (s.src_failed) {
		stream_error(&s, error);
		goto out;
	}
	ok = TRUE;
out:
	archive_read_free(s.a);
	return ok;
}
