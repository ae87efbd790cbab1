/* Fuzz target: the -o option parser (core/options.c, idmap.c).  The
 * string comes from a command line or an fstab line, so it is only as
 * hostile as the user who mounts, but mount(8) helpers run as root.
 *
 * Input: the -o argument (up to its first NUL).  It is parsed for a mount
 * and for `layerfs index`; what a mount parsed is turned into the FUSE
 * option string, and owner ranges that parsed must map both ways. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "layerfs/options.h"

/* The first and last id of each range come back from a round trip. */
static void check_map(const struct lfs_idmap *m)
{
	if (!m->ranges || m->squash)
		return;
	for (guint i = 0; i < m->ranges->len; i++) {
		const struct lfs_idrange *r =
			&g_array_index(m->ranges, struct lfs_idrange, i);
		uint32_t ids[2] = { r->inside, r->inside + (r->count - 1) };

		for (int k = 0; k < 2; k++) {
			uint32_t out = lfs_idmap_store(m, ids[k]);

			if (out != r->outside + (ids[k] - r->inside) ||
			    lfs_idmap_show(m, out) != ids[k])
				fz_fail("id %u does not map both ways", ids[k]);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *arg = g_strndup((const char *)data, size);
	g_autoptr(lfs_options) mount = lfs_options_new();
	g_autoptr(lfs_options) index = lfs_options_new();
	g_autoptr(GError) e1 = NULL, e2 = NULL;

	fz_init();
	if (lfs_options_parse_o(mount, arg, &e1)) {
		g_autofree char *fuse = lfs_options_fuse_string(mount,
								"fs,name\\");

		if (!strstr(fuse, ",subtype=layerfs"))
			fz_fail("FUSE options without the subtype: %s", fuse);
		check_map(&mount->uids);
		check_map(&mount->gids);
		if (mount->upper && !*mount->upper)
			fz_fail("an empty upper= was taken");
	} else if (!e1 || !e1->message[0]) {
		fz_fail("refused without a reason");
	}
	if (!lfs_options_parse_for(index, arg, LFS_OPTIONS_INDEX, &e2) &&
	    (!e2 || !e2->message[0]))
		fz_fail("refused without a reason");
	return 0;
}
