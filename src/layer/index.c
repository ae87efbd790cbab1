/* Queries on a finished index (see index.h for its layout), whether laid
 * out here (index_layout.c) or mapped from a file (index_file.c): lookups
 * binary-search one directory's sorted children, so they need nothing of
 * the builder. */
#include <string.h>
#include <sys/mman.h>

#include "layerfs/index.h"

int lfs_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, MIN(alen, blen));

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

void lfs_index_free(struct lfs_index *ix)
{
	if (!ix)
		return;
	if (ix->map) {
		/* Every array points into the mapping. */
		munmap(ix->map, ix->map_len);
		g_free(ix);
		return;
	}
	g_free(ix->entries);
	g_free(ix->strtab);
	g_free(ix->xattrs);
	g_free(ix->extents);
	g_free(ix->hardlinks);
	g_free(ix->implicit);
	g_free(ix->checkpoints);
	g_free(ix->windows);
	g_free(ix->frames);
	g_free(ix->sums);
	g_free(ix);
}

uint32_t lfs_index_find(const struct lfs_index *ix, uint32_t dir,
			const char *name, size_t len)
{
	const struct lfs_index_entry *d = &ix->entries[dir];
	uint32_t lo, hi;

	if (d->type != LFS_T_DIR)
		return LFS_INDEX_NONE;
	lo = d->u.dir.first;
	hi = lo + d->u.dir.count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct lfs_index_entry *e = &ix->entries[mid];
		int c = lfs_name_cmp(name, len, ix->strtab + e->name,
				     e->name_len);

		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return LFS_INDEX_NONE;
}

uint32_t lfs_index_lookup_path(const struct lfs_index *ix, const char *path)
{
	uint32_t cur = LFS_INDEX_ROOT;

	while (*path && cur != LFS_INDEX_NONE) {
		size_t len = strcspn(path, "/");

		cur = lfs_index_find(ix, cur, path, len);
		path += len;
		if (*path == '/')
			path++;
	}
	return cur;
}

char *lfs_index_path(const struct lfs_index *ix, uint32_t i)
{
	g_autoptr(GPtrArray) parts = g_ptr_array_new();
	GString *s = g_string_new(NULL);

	for (; i != LFS_INDEX_ROOT; i = ix->entries[i].parent)
		g_ptr_array_add(parts, ix->strtab + ix->entries[i].name);
	for (guint k = parts->len; k > 0; k--)
		g_string_append_printf(s, "%s%s", k == parts->len ? "" : "/",
				       (const char *)parts->pdata[k - 1]);
	return g_string_free(s, FALSE);
}
