/* lfs_index_validate(): every invariant the readers rely on, checked on an
 * index mapped from a file.  A checksum catches a damaged file, not one
 * written wrong, and nothing in a bad file may crash the mount
 * (docs/index-format.md): after this, the readers trust what they read. */
#include <string.h>

#include "layerfs/index.h"
#include "layerfs/path.h"

/* A NUL-terminated string of @len bytes (no NUL inside) at @off. */
static bool str_ok(const struct lfs_index *ix, uint64_t off, uint64_t len)
{
	return off < ix->strtab_len && len < ix->strtab_len - off &&
	       ix->strtab[off + len] == '\0' &&
	       !memchr(ix->strtab + off, '\0', (size_t)len);
}

/* Any NUL-terminated string at @off. */
static bool cstr_ok(const struct lfs_index *ix, uint64_t off)
{
	return off < ix->strtab_len &&
	       memchr(ix->strtab + off, '\0', ix->strtab_len - off);
}

/* @name (@len bytes) can be a path component: no '/', not "." or "..".
 * (The root's is the empty string; no other entry's may be.) */
static bool component_ok(const char *name, uint64_t len)
{
	if (memchr(name, '/', (size_t)len))
		return false;
	return !(len == 1 && name[0] == '.') &&
	       !(len == 2 && name[0] == '.' && name[1] == '.');
}

/* [off, off + len) lies within [0, limit). */
static bool range_ok(uint64_t off, uint64_t len, uint64_t limit)
{
	uint64_t end;

	return !__builtin_add_overflow(off, len, &end) && end <= limit;
}

static const char *check_xattrs(const struct lfs_index *ix,
				const struct lfs_index_entry *e)
{
	if (!range_ok(e->xattr_first, e->xattr_count, ix->nxattrs))
		return "xattr range out of bounds";
	for (uint32_t k = 0; k < e->xattr_count; k++) {
		const struct lfs_index_xattr *x =
			&ix->xattrs[e->xattr_first + k];

		if (!cstr_ok(ix, x->name) ||
		    !range_ok(x->value, x->value_len, ix->strtab_len))
			return "xattr out of bounds";
	}
	return NULL;
}

static const char *check_regular(const struct lfs_index *ix,
				 const struct lfs_index_entry *e,
				 uint64_t tar_size)
{
	if (!(e->flags & LFS_E_SPARSE))
		return range_ok(e->u.data, e->size, tar_size)
			       ? NULL
			       : "file data out of bounds";
	if (!range_ok(e->u.ext.first, e->u.ext.count, ix->nextents))
		return "extent range out of bounds";
	for (uint32_t k = 0; k < e->u.ext.count; k++) {
		const struct lfs_index_extent *x =
			&ix->extents[e->u.ext.first + k];

		if (!range_ok(x->logical, x->len, e->size) ||
		    !range_ok(x->physical, x->len, tar_size))
			return "extent out of bounds";
	}
	return NULL;
}

static const char *check_specifics(const struct lfs_index *ix, uint32_t i,
				   uint64_t tar_size)
{
	const struct lfs_index_entry *e = &ix->entries[i];
	const struct lfs_index_entry *t;

	switch (e->type) {
	case LFS_T_DIR:
		if (e->u.dir.count && (e->u.dir.first <= i ||
				       !range_ok(e->u.dir.first,
						 e->u.dir.count, ix->nentries)))
			return "children out of bounds";
		return NULL;
	case LFS_T_REG:
		return check_regular(ix, e, tar_size);
	case LFS_T_LNK:
		return str_ok(ix, e->u.target, e->size) ? NULL
							: "symlink target";
	case LFS_T_HARDLINK:
		if (e->flags & LFS_E_XLINK)
			return cstr_ok(ix, e->u.target) ? NULL
							: "hardlink path";
		if (e->u.target >= ix->nentries)
			return "hardlink target out of bounds";
		t = &ix->entries[e->u.target];
		return t->type == LFS_T_DIR || t->type == LFS_T_HARDLINK ||
				       t->type == LFS_T_WHITEOUT
			       ? "hardlink to a non-file"
			       : NULL;
	case LFS_T_CHR:
	case LFS_T_BLK:
	case LFS_T_FIFO:
	case LFS_T_WHITEOUT:
		return NULL;
	default:
		return "unknown entry type";
	}
}

static const char *check_entry(const struct lfs_index *ix, uint32_t i,
			       uint64_t tar_size)
{
	const struct lfs_index_entry *e = &ix->entries[i];
	const struct lfs_index_entry *p, *prev;
	const char *why;

	if (e->name_len > LFS_NAME_MAX || !str_ok(ix, e->name, e->name_len))
		return "name out of bounds";
	/* One path component, as the builder makes them: lookups split
	 * paths at '/', and a listing must not show "." or "..". */
	if (!component_ok(ix->strtab + e->name, e->name_len))
		return "name is not one path component";
	if (e->reserved || (e->flags & ~0x3fu))
		return "unknown flags";
	/* stat() ORs the mode into the type: a bit above the permissions
	 * would show another type than lookups give. */
	if (e->mode & ~07777u)
		return "mode beyond the permission bits";
	if (e->mtime_nsec >= 1000000000u)
		return "mtime nanoseconds out of range";
	if (i > 0) {
		if (e->name_len == 0 || e->parent >= i)
			return "parent out of order";
		p = &ix->entries[e->parent];
		if (p->type != LFS_T_DIR || i < p->u.dir.first ||
		    i - p->u.dir.first >= p->u.dir.count)
			return "not within its parent's children";
		prev = &ix->entries[i - 1];
		if (i - 1 > 0 && prev->parent == e->parent &&
		    lfs_name_cmp(ix->strtab + prev->name, prev->name_len,
				 ix->strtab + e->name, e->name_len) >= 0)
			return "children out of order";
	}
	why = check_specifics(ix, i, tar_size);
	return why ? why : check_xattrs(ix, e);
}

static const char *check_points(const struct lfs_index *ix,
				uint64_t tar_size, uint64_t stored_size)
{
	for (uint32_t i = 0; i < ix->ncheckpoints; i++) {
		const struct lfs_index_checkpoint *cp = &ix->checkpoints[i];

		if (i == 0 ? cp->out != 0 : cp->out <= cp[-1].out)
			return "access points out of order";
		if (cp->out > tar_size || cp->in > stored_size ||
		    (cp->bits && cp->in == 0) || cp->bits > 7 ||
		    cp->dict_len > 32768 ||
		    !range_ok(cp->window, cp->window_len, ix->windows_len))
			return "access point out of bounds";
		/* History is never stored in no bytes (and the reader
		 * inflates it from @window). */
		if (cp->dict_len && !cp->window_len)
			return "access point without its history";
	}
	for (uint32_t i = 0; i < ix->nframes; i++) {
		const struct lfs_index_frame *f = &ix->frames[i];

		if (i == 0 ? f->out != 0 || f->in != 0
			   : f->out < f[-1].out || f->in <= f[-1].in)
			return "frames out of order";
		if (f->out > tar_size || f->in > stored_size)
			return "frame out of bounds";
	}
	return NULL;
}

/* The checksums, when there are any, cover the whole stream in chunks of
 * a sane power of two. */
static const char *check_sums(const struct lfs_index *ix, uint64_t tar_size)
{
	uint64_t want;

	if (ix->nsums == 0)
		return ix->sum_chunk ? "checksum chunk without checksums"
				     : NULL;
	if (ix->sum_chunk < LFS_SUM_CHUNK_MIN ||
	    ix->sum_chunk > LFS_SUM_CHUNK_MAX ||
	    (ix->sum_chunk & (ix->sum_chunk - 1)))
		return "bad checksum chunk size";
	want = tar_size / ix->sum_chunk + (tar_size % ix->sum_chunk != 0);
	return want == ix->nsums ? NULL : "checksums do not cover the stream";
}

/* Every entry but the root lies among its parent's children
 * (check_entry()), and must lie among no other directory's: then the
 * directories' counts add up to one per entry.  A range reaching over
 * another directory's children gave lfs_index_find() entries of that
 * directory to binary-search, out of order. */
static const char *check_ranges(const struct lfs_index *ix)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < ix->nentries; i++) {
		if (ix->entries[i].type == LFS_T_DIR)
			n += ix->entries[i].u.dir.count;
	}
	return n == ix->nentries - 1 ? NULL : "children ranges overlap";
}

/* Entry @i of the implicit list: a later implicit directory than the one
 * before it. */
static const char *check_implicit(const struct lfs_index *ix, uint32_t i)
{
	uint32_t k = ix->implicit[i];

	if (k == LFS_INDEX_ROOT || k >= ix->nentries ||
	    (i > 0 && k <= ix->implicit[i - 1]))
		return "implicit directory list out of order";
	if (ix->entries[k].type != LFS_T_DIR ||
	    !(ix->entries[k].flags & LFS_E_IMPLICIT))
		return "implicit directory list names another entry";
	return NULL;
}

bool lfs_index_validate(const struct lfs_index *ix, uint64_t tar_size,
			uint64_t stored_size, const char **why)
{
	*why = NULL;
	if (ix->nentries == 0 || ix->entries[0].type != LFS_T_DIR ||
	    ix->strtab_len == 0 || ix->strtab[0] != '\0')
		*why = "no root directory";
	for (uint32_t i = 0; !*why && i < ix->nentries; i++)
		*why = check_entry(ix, i, tar_size);
	for (uint32_t i = 0; !*why && i < ix->nhardlinks; i++) {
		if (ix->hardlinks[i] >= ix->nentries ||
		    ix->entries[ix->hardlinks[i]].type != LFS_T_HARDLINK)
			*why = "hardlink list out of bounds";
	}
	if (!*why)
		*why = check_ranges(ix);
	for (uint32_t i = 0; !*why && i < ix->nimplicit; i++)
		*why = check_implicit(ix, i);
	if (!*why)
		*why = check_points(ix, tar_size, stored_size);
	if (!*why)
		*why = check_sums(ix, tar_size);
	return *why == NULL;
}
