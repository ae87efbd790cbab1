/* Writing: the builder's settled nodes, with their members' records from
 * the member log, laid out breadth first into an index file (the format
 * of index_file.h).  Every directory comes before its children, and each
 * directory's children are contiguous and sorted by name.
 *
 * The entries are written as they are laid out, never gathered in memory:
 * the entries section goes out at its place in the file while the string
 * table, whose place follows from the number of entries, goes out at its
 * own; the small sections (xattrs, extents, hardlinks, implicit
 * directories) and the stream's access points and checksums follow. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layerfs/fdutil.h"
#include "layerfs/index.h"
#include "layerfs/index_file.h"

#include "index_internal.h"

/* Bytes each sequential writer gathers before it writes. */
#define OUT_BUF (256u << 10)

/* Sections start 8-aligned (index_file.c checks it). */
#define ALIGN 8

static uint64_t align_up(uint64_t n)
{
	return (n + ALIGN - 1) & ~(uint64_t)(ALIGN - 1);
}

/* A buffered writer of consecutive bytes from @off on; the first error is
 * kept and later writes are dropped. */
struct out {
	int fd;
	uint64_t off; /* where the buffer goes */
	char *buf;
	size_t len;
	int err;
};

static void out_init(struct out *o, int fd, uint64_t off)
{
	o->fd = fd;
	o->off = off;
	o->buf = g_malloc(OUT_BUF);
	o->len = 0;
	o->err = 0;
}

static int out_flush(struct out *o)
{
	if (o->err == 0 && o->len > 0) {
		o->err = lfs_pwrite_full(o->fd, o->buf, o->len, (off_t)o->off);
		/* Start writing back what is laid out while the rest is:
		 * the fsync before the index is published then waits for
		 * little (40 ms of 83 MB for a million entries here).  A
		 * hint: a file that takes none (a memfd) is no worse. */
		if (o->err == 0)
			(void)sync_file_range(o->fd, (off_t)o->off,
					      (off_t)o->len,
					      SYNC_FILE_RANGE_WRITE);
	}
	o->off += o->len;
	o->len = 0;
	return o->err;
}

static void out_put(struct out *o, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		size_t k = MIN(n, OUT_BUF - o->len);

		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
		if (o->len == OUT_BUF)
			out_flush(o);
	}
}

static void out_done(struct out *o)
{
	g_clear_pointer(&o->buf, g_free);
}

struct writer {
	struct lfs_index_builder *b;
	struct out entries, str;
	uint64_t str_len;
	GArray *xattrs;	  /* struct lfs_index_xattr */
	GArray *extents;  /* struct lfs_index_extent */
	GArray *links;	  /* uint32_t: HARDLINK entries */
	GArray *implicit; /* uint32_t: IMPLICIT directories but the root */
	GArray *fixups;	  /* struct fixup */
};

/* A hardlink whose target's entry was not placed yet when it was
 * written: its u.target is filled in at the end. */
struct fixup {
	uint32_t entry;
	uint32_t node;
};

/* The byte budget keeps the string table far below 4 GiB, so offsets
 * always fit. */
static uint32_t str_add(struct writer *w, const void *s, size_t len, bool nul)
{
	uint32_t off = (uint32_t)w->str_len;

	out_put(&w->str, s, len);
	if (nul)
		out_put(&w->str, "", 1);
	w->str_len += len + nul;
	return off;
}

/* A member without a record (an implied directory, a whiteout made by a
 * marker) has every attribute 0. */
static const struct mlog_rec no_rec;

static void put_xattrs(struct writer *w, struct lfs_index_entry *e,
		       const struct mlog_rec *r)
{
	const uint8_t *p = (const uint8_t *)(r + 1);

	if (!r->nxattrs)
		return;
	e->xattr_first = w->xattrs->len;
	e->xattr_count = r->nxattrs;
	for (uint32_t i = 0; i < r->nxattrs; i++) {
		struct mlog_xattr h;
		struct lfs_index_xattr x;

		memcpy(&h, p, sizeof(h));
		p += sizeof(h);
		x.name = str_add(w, p, h.name_len, true);
		x.value = str_add(w, p + h.name_len, h.value_len, false);
		x.value_len = h.value_len;
		p += h.name_len + h.value_len;
		g_array_append_val(w->xattrs, x);
	}
}

/* Where a record's extents are: after its xattrs. */
static const void *rec_extents(const struct mlog_rec *r)
{
	const uint8_t *p = (const uint8_t *)(r + 1);

	for (uint32_t i = 0; i < r->nxattrs; i++) {
		struct mlog_xattr h;

		memcpy(&h, p, sizeof(h));
		p += sizeof(h) + h.name_len + h.value_len;
	}
	return p;
}

static void put_specifics(struct writer *w, struct lfs_index_entry *e,
			  uint32_t id, const struct mlog_rec *r)
{
	const struct bnode *n = bnode_at(w->b, id);
	const struct bextra *x = lfs_bextra(w->b, id);
	bool data = !(n->flags & BN_NODATA);

	switch (n->type) {
	case LFS_T_REG:
		if (data && r->sparse) {
			e->flags |= LFS_E_SPARSE;
			e->u.ext.first = w->extents->len;
			e->u.ext.count = r->nextents;
			g_array_append_vals(w->extents, rec_extents(r),
					    r->nextents);
		} else {
			e->u.data = r->data;
		}
		break;
	case LFS_T_LNK: {
		const char *target = x && x->target ? x->target : "";

		e->u.target = str_add(w, target, strlen(target), true);
		e->size = strlen(target);
		break;
	}
	case LFS_T_CHR:
	case LFS_T_BLK:
		e->u.rdev = r->rdev;
		break;
	case LFS_T_HARDLINK:
		/* Settling gave every hardlink left one or the other. */
		if (x && x->link_data != BNONE) {
			uint32_t t = bnode_at(w->b, x->link_data)->index;

			if (t == BNONE) {
				struct fixup f = { n->index, x->link_data };

				g_array_append_val(w->fixups, f);
			}
			e->u.target = t;
		} else {
			const char *p = x && x->link_xpath ? x->link_xpath : "";

			e->flags |= LFS_E_XLINK;
			e->u.target = str_add(w, p, strlen(p), true);
		}
		g_array_append_val(w->links, n->index);
		break;
	case LFS_T_DIR:
		if ((n->flags & BN_IMPLICIT) && n->index != LFS_INDEX_ROOT)
			g_array_append_val(w->implicit, n->index);
		break;
	default:
		break;
	}
	if (data)
		put_xattrs(w, e, r);
}

/* The entry of node @id, whose @nkids children start at entry @first and
 * hold @subdirs directories that count (not transparent ones). */
static void put_entry(struct writer *w, uint32_t id, uint32_t first,
		      uint32_t nkids, uint32_t subdirs)
{
	const struct bnode *n = bnode_at(w->b, id);
	const struct mlog_rec *r = n->meta ? lfs_mlog_get(&w->b->log, n->meta)
					   : &no_rec;
	struct lfs_index_entry e;

	memset(&e, 0, sizeof(e));
	e.name = str_add(w, bnode_name(w->b, n), n->name_len, true);
	e.name_len = n->name_len;
	e.type = n->type;
	e.flags = ((n->flags & BN_IMPLICIT) ? LFS_E_IMPLICIT : 0) |
		  ((n->flags & BN_TRANSPARENT) ? LFS_E_TRANSPARENT : 0) |
		  ((n->flags & BN_WHITEOUT) && n->type != LFS_T_WHITEOUT
			   ? LFS_E_REPLACES
			   : 0) |
		  ((n->flags & BN_OPAQUE) && n->type == LFS_T_DIR
			   ? LFS_E_OPAQUE
			   : 0);
	e.parent = n->parent == BNONE ? LFS_INDEX_ROOT
				      : bnode_at(w->b, n->parent)->index;
	e.mode = r->mode;
	e.uid = r->uid;
	e.gid = r->gid;
	e.mtime_sec = r->mtime_sec;
	e.mtime_nsec = r->mtime_nsec;
	e.size = r->size;
	put_specifics(w, &e, id, r);
	if (n->type == LFS_T_DIR) {
		e.size = subdirs;
		if (nkids) {
			e.u.dir.first = first;
			e.u.dir.count = nkids;
		}
	}
	out_put(&w->entries, &e, sizeof(e));
}

/* A child being sorted: its node, and the first 8 bytes of its name,
 * big-endian and padded with zeros, so that keys compare as names do
 * (lfs_name_cmp(): bytewise, a prefix first) wherever they differ. */
struct kid {
	uint64_t key;
	uint32_t id;
};

static uint64_t name_key(const char *name, size_t len)
{
	uint64_t k = 0;

	for (size_t i = 0; i < sizeof(k); i++)
		k = k << 8 | (i < len ? (uint8_t)name[i] : 0);
	return k;
}

/* Siblings by name (names are unique among siblings): the keys decide
 * but where the names share their first 8 bytes, which spares most
 * comparisons the names themselves, scattered in memory. */
static int kid_order(const void *pa, const void *pb, void *data)
{
	const struct lfs_index_builder *b = data;
	const struct kid *ka = pa, *kb = pb;
	const struct bnode *x, *y;

	if (ka->key != kb->key)
		return ka->key < kb->key ? -1 : 1;
	x = bnode_at(b, ka->id);
	y = bnode_at(b, kb->id);
	return lfs_name_cmp(bnode_name(b, x), x->name_len, bnode_name(b, y),
			    y->name_len);
}

/* Sort a directory's children by name.  They come newest first, and a
 * layer's members mostly come in name order (a sorted walk: umoci,
 * BuildKit), so many directories are already in order backwards: a look
 * at each pair spares the sort. */
static void sort_kids(GArray *kids, struct lfs_index_builder *b)
{
	struct kid *k = (struct kid *)kids->data;
	bool asc = true, desc = true;

	for (guint i = 1; i < kids->len && (asc || desc); i++) {
		int c = kid_order(&k[i - 1], &k[i], b);

		if (c >= 0)
			asc = false;
		if (c <= 0)
			desc = false;
	}
	if (asc)
		return;
	if (!desc) {
		g_array_sort_with_data(kids, kid_order, b);
		return;
	}
	for (guint i = 0, j = kids->len - 1; i < j; i++, j--) {
		struct kid t = k[i];

		k[i] = k[j];
		k[j] = t;
	}
}

/* Lay the kept nodes out breadth first from the root, each directory's
 * kept children sorted by name, and write each entry as it comes: so every
 * level is in (parent's place, name) order.  A node's place is its index,
 * set when its parent is laid out. */
static void lay_out(struct writer *w)
{
	struct lfs_index_builder *b = w->b;
	g_autoptr(GArray) queue = g_array_sized_new(FALSE, FALSE,
						    sizeof(uint32_t), b->nkept);
	g_autoptr(GArray) kids = g_array_new(FALSE, FALSE, sizeof(struct kid));
	uint32_t root = LFS_INDEX_ROOT;

	for (uint32_t i = 0; i < b->nnodes; i++)
		bnode_at(b, i)->index = BNONE;
	bnode_at(b, root)->index = 0;
	g_array_append_val(queue, root);
	for (guint i = 0; i < queue->len; i++) {
		uint32_t id = g_array_index(queue, uint32_t, i);
		uint32_t first = queue->len, subdirs = 0;

		g_array_set_size(kids, 0);
		for (uint32_t c = bnode_at(b, id)->first_child; c != BNONE;
		     c = bnode_at(b, c)->next_sibling) {
			const struct bnode *cn = bnode_at(b, c);
			struct kid k;

			if (cn->flags & BN_DROPPED)
				continue;
			k.key = name_key(bnode_name(b, cn), cn->name_len);
			k.id = c;
			g_array_append_val(kids, k);
		}
		if (kids->len > 1)
			sort_kids(kids, b);
		for (guint k = 0; k < kids->len; k++) {
			uint32_t c = g_array_index(kids, struct kid, k).id;
			struct bnode *cn = bnode_at(b, c);

			cn->index = queue->len;
			if (cn->type == LFS_T_DIR &&
			    !(cn->flags & BN_TRANSPARENT))
				subdirs++;
			g_array_append_val(queue, c);
		}
		put_entry(w, id, first, kids->len, subdirs);
	}
}

/* Hardlinks written before their target's place was known. */
static int fix_links(struct writer *w, int fd, uint64_t entries_at)
{
	for (guint i = 0; i < w->fixups->len; i++) {
		const struct fixup *f = &g_array_index(w->fixups, struct fixup, i);
		uint32_t t = bnode_at(w->b, f->node)->index;
		uint64_t at = entries_at +
			      (uint64_t)f->entry * sizeof(struct lfs_index_entry) +
			      offsetof(struct lfs_index_entry, u);
		int err = lfs_pwrite_full(fd, &t, sizeof(t), (off_t)at);

		if (err < 0)
			return err;
	}
	return 0;
}

/* Zeros from *@at to the next ALIGN; *@at moves there. */
static int put_padding(int fd, uint64_t *at)
{
	static const uint8_t zeros[ALIGN];
	uint64_t pad = align_up(*at) - *at;
	int err = 0;

	if (pad)
		err = lfs_pwrite_full(fd, zeros, (size_t)pad, (off_t)*at);
	*at += pad;
	return err;
}

/* Write @len bytes of @p as section @s at *@at, padded; *@at moves past. */
static int put_section(int fd, struct lfs_index_file_header *h,
		       enum lfs_index_section s, const void *p, uint64_t len,
		       uint64_t *at)
{
	int err = 0;

	h->sec[s].offset = *at;
	h->sec[s].size = len;
	if (len)
		err = lfs_pwrite_full(fd, p, (size_t)len, (off_t)*at);
	*at += len;
	return err ? err : put_padding(fd, at);
}

/* The sections after the string table, in the format's order. */
static int put_tail(struct writer *w, int fd, struct lfs_index_file_header *h,
		    const struct lfs_index *seek, uint64_t *at)
{
	static const struct lfs_index none;
	int err;

	if (!seek)
		seek = &none;
	err = put_section(fd, h, LFS_SEC_XATTRS, w->xattrs->data,
			  (uint64_t)w->xattrs->len *
				  sizeof(struct lfs_index_xattr),
			  at);
	if (err == 0)
		err = put_section(fd, h, LFS_SEC_EXTENTS, w->extents->data,
				  (uint64_t)w->extents->len *
					  sizeof(struct lfs_index_extent),
				  at);
	if (err == 0)
		err = put_section(fd, h, LFS_SEC_HARDLINKS, w->links->data,
				  (uint64_t)w->links->len * sizeof(uint32_t),
				  at);
	if (err == 0)
		err = put_section(fd, h, LFS_SEC_CHECKPOINTS,
				  seek->checkpoints,
				  (uint64_t)seek->ncheckpoints *
					  sizeof(struct lfs_index_checkpoint),
				  at);
	if (err == 0)
		err = put_section(fd, h, LFS_SEC_WINDOWS, seek->windows,
				  seek->windows_len, at);
	if (err == 0)
		err = put_section(fd, h, LFS_SEC_FRAMES, seek->frames,
				  (uint64_t)seek->nframes *
					  sizeof(struct lfs_index_frame),
				  at);
	if (err == 0)
		err = put_section(fd, h, LFS_SEC_IMPLICIT, w->implicit->data,
				  (uint64_t)w->implicit->len *
					  sizeof(uint32_t),
				  at);
	if (err == 0)
		err = put_section(fd, h, LFS_SEC_SUMS, seek->sums,
				  (uint64_t)seek->nsums * sizeof(uint64_t), at);
	return err;
}

int lfs_index_builder_write(struct lfs_index_builder *b,
			    const struct lfs_logger *lg, const char *layer,
			    const struct lfs_index *seek,
			    const struct lfs_index_meta *meta, int fd)
{
	struct lfs_index_file_header h;
	uint64_t entries_at = sizeof(h), str_at, at;
	struct writer w = {
		.b = b,
		.xattrs = g_array_new(FALSE, FALSE,
				      sizeof(struct lfs_index_xattr)),
		.extents = g_array_new(FALSE, FALSE,
				       sizeof(struct lfs_index_extent)),
		.links = g_array_new(FALSE, FALSE, sizeof(uint32_t)),
		.implicit = g_array_new(FALSE, FALSE, sizeof(uint32_t)),
		.fixups = g_array_new(FALSE, FALSE, sizeof(struct fixup)),
	};
	int err = 0;

	lfs_index_settle(b, lg, layer);
	/* A builder that never saw a member has no log yet. */
	if (!b->log.buf)
		err = lfs_mlog_open(&b->log, -1);
	if (err == 0)
		err = lfs_mlog_map(&b->log);
	if (err < 0)
		goto out;
	if (ftruncate(fd, 0) < 0) {
		err = -errno;
		goto out;
	}
	lfs_index_file_header_init(&h, meta);
	str_at = align_up(entries_at +
			  (uint64_t)b->nkept * sizeof(struct lfs_index_entry));
	out_init(&w.entries, fd, entries_at);
	out_init(&w.str, fd, str_at);
	str_add(&w, "", 0, true); /* offset 0: the empty string */
	lay_out(&w);
	err = out_flush(&w.entries);
	if (err == 0)
		err = out_flush(&w.str);
	out_done(&w.entries);
	out_done(&w.str);
	if (err < 0)
		goto out;
	h.sec[LFS_SEC_ENTRIES].offset = entries_at;
	h.sec[LFS_SEC_ENTRIES].size =
		(uint64_t)b->nkept * sizeof(struct lfs_index_entry);
	/* The string table is in place but for its padding. */
	h.sec[LFS_SEC_STRTAB].offset = str_at;
	h.sec[LFS_SEC_STRTAB].size = w.str_len;
	at = str_at + w.str_len;
	err = put_padding(fd, &at);
	if (err == 0)
		err = put_tail(&w, fd, &h, seek, &at);
	if (err == 0)
		err = fix_links(&w, fd, entries_at);
	if (err < 0)
		goto out;
	h.stat_entries = b->nentries;
	h.stat_whiteouts = b->nwhiteouts;
	h.sum_chunk = seek ? seek->sum_chunk : 0;
	h.file_size = at;
	err = lfs_index_file_seal(fd, &h);
out:
	lfs_mlog_unmap(&b->log);
	g_array_unref(w.xattrs);
	g_array_unref(w.extents);
	g_array_unref(w.links);
	g_array_unref(w.implicit);
	g_array_unref(w.fixups);
	return err;
}

struct lfs_index *lfs_index_builder_finish_seek(struct lfs_index_builder *b,
						const struct lfs_logger *lg,
						const char *layer,
						const struct lfs_index *seek)
{
	static const struct lfs_index_meta no_meta;
	int fd = memfd_create("layerfs-index", MFD_CLOEXEC);
	struct lfs_index *ix = NULL;
	int err;

	if (fd < 0) {
		lfs_warn(lg, "%s: cannot lay out its index: %s", layer,
			 g_strerror(errno));
		return NULL;
	}
	err = lfs_index_builder_write(b, lg, layer, seek, &no_meta, fd);
	if (err == 0)
		err = lfs_index_file_adopt(fd, &ix);
	if (err < 0)
		lfs_warn(lg, "%s: cannot lay out its index: %s", layer,
			 g_strerror(-err));
	close(fd);
	return ix;
}

struct lfs_index *lfs_index_builder_finish(struct lfs_index_builder *b,
					   const struct lfs_logger *lg,
					   const char *layer)
{
	return lfs_index_builder_finish_seek(b, lg, layer, NULL);
}
