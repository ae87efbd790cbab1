/* Owner mapping (see idmap.h). */
#include <errno.h>
#include <string.h>

#include "layerfs/error.h"
#include "layerfs/idmap.h"

static bool overlaps(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
	return (uint64_t)a < (uint64_t)b + blen &&
	       (uint64_t)b < (uint64_t)a + alen;
}

gboolean lfs_idmap_parse(struct lfs_idmap *m, const char *key,
			 const char *value, GError **error)
{
	g_auto(GStrv) f = g_strsplit(value ? value : "", ":", -1);
	guint n = g_strv_length(f);

	if (n == 0 || n % 3)
		return lfs_fail(error, EINVAL,
				"option %s= needs INSIDE:OUTSIDE:COUNT "
				"triples, as in %s=0:1000:1",
				key, key);
	if (!m->ranges)
		m->ranges = g_array_new(FALSE, FALSE,
					sizeof(struct lfs_idrange));
	for (guint i = 0; i < n; i += 3) {
		guint64 v[3];
		struct lfs_idrange r;

		for (int k = 0; k < 3; k++) {
			if (!g_ascii_string_to_unsigned(f[i + k], 10, k == 2,
							UINT32_MAX, &v[k],
							NULL))
				return lfs_fail(error, EINVAL,
						"option %s=%s: \"%s\" is not "
						"an id or count",
						key, value, f[i + k]);
		}
		if (v[0] + v[2] > (guint64)UINT32_MAX + 1 ||
		    v[1] + v[2] > (guint64)UINT32_MAX + 1)
			return lfs_fail(error, EINVAL,
					"option %s=%s: a range past the "
					"largest id",
					key, value);
		r = (struct lfs_idrange){ (uint32_t)v[0], (uint32_t)v[1],
					  (uint32_t)v[2] };
		for (guint k = 0; k < m->ranges->len; k++) {
			const struct lfs_idrange *o = &g_array_index(
				m->ranges, struct lfs_idrange, k);

			if (overlaps(r.inside, r.count, o->inside, o->count) ||
			    overlaps(r.outside, r.count, o->outside, o->count))
				return lfs_fail(error, EINVAL,
						"option %s=%s: ranges overlap",
						key, value);
		}
		g_array_append_val(m->ranges, r);
	}
	return TRUE;
}

void lfs_idmap_clear(struct lfs_idmap *m)
{
	g_clear_pointer(&m->ranges, g_array_unref);
}

uint32_t lfs_idmap_show(const struct lfs_idmap *m, uint32_t id)
{
	if (m->squash)
		return m->squash_to;
	if (!m->ranges)
		return id;
	for (guint i = 0; i < m->ranges->len; i++) {
		const struct lfs_idrange *r =
			&g_array_index(m->ranges, struct lfs_idrange, i);

		if (id >= r->outside && id - r->outside < r->count)
			return r->inside + (id - r->outside);
	}
	return LFS_IDMAP_OVERFLOW;
}

uint32_t lfs_idmap_store(const struct lfs_idmap *m, uint32_t id)
{
	if (!m->ranges)
		return id;
	for (guint i = 0; i < m->ranges->len; i++) {
		const struct lfs_idrange *r =
			&g_array_index(m->ranges, struct lfs_idrange, i);

		if (id >= r->inside && id - r->inside < r->count)
			return r->outside + (id - r->inside);
	}
	return LFS_IDMAP_OVERFLOW;
}
