/* Fuzz target: a layer's persisted index (layer/index_file.c,
 * index_check.c).  The cache directory is trusted to hold only what
 * layerfs wrote, but a file there may be damaged, or written by another
 * build, or by someone who can write the cache: nothing in it may crash a
 * mount or `layerfs inspect`.
 *
 * The input is an index file.  It is loaded as it is, then again with its
 * size and checksum fields made right, so that mutations get past the
 * checksum to the checks behind it.  An index that loads is used as the
 * readers use one: its metadata printed as `layerfs inspect` prints it,
 * every path looked up, and a tree of two layers built over it and walked. */
#include <errno.h>
#include <string.h>

#include <xxhash.h>

#include "fuzz.h"
#include "layerfs/digest.h"
#include "layerfs/index_file.h"

static void use_meta(const struct lfs_index_meta *m)
{
	g_autofree char *digest = NULL;

	/* What cmd_inspect.c prints. */
	if (m->has_digest) {
		digest = lfs_digest_to_string(&m->digest);
		if (!strchr(digest, ':'))
			fz_fail("digest \"%s\" names no algorithm", digest);
	}
	if (!lfs_compression_name(m->compression))
		fz_fail("compression %d has no name", (int)m->compression);
}

static void load(const uint8_t *data, size_t size)
{
	struct lfs_index *ix = NULL, *again = NULL;
	struct lfs_index_meta meta;
	const char *why = NULL;
	int err;

	g_free(fz_write("x.idx", data, size));
	err = lfs_index_file_load(fz_dirfd(), "x.idx", &ix, &meta, &why);

	if (err == 0 && why)
		fz_fail("loaded, yet \"%s\"", why);
	if (err == -EINVAL && !why)
		fz_fail("refused without a reason");
	if (err != 0) {
		fz_note("refused: %s", why ? why : g_strerror(-err));
		return;
	}
	fz_note("%u entries", ix->nentries);
	use_meta(&meta);
	fz_check_paths(ix);
	if (lfs_index_file_load(fz_dirfd(), "x.idx", &again, &meta, &why))
		fz_fail("loads once, not twice");
	fz_walk_tree(ix, again);
}

/* The file with its size and checksum fields made to fit. */
static void reseal(uint8_t *data, size_t size)
{
	struct lfs_index_file_header *h = (struct lfs_index_file_header *)data;
	uint64_t zero = 0, sum, fsize = size;
	XXH3_state_t *st = XXH3_createState();

	memcpy(data + offsetof(struct lfs_index_file_header, file_size),
	       &fsize, sizeof(fsize));
	XXH3_64bits_reset(st);
	XXH3_64bits_update(st, data, LFS_INDEX_FILE_CHECKSUM_AT);
	XXH3_64bits_update(st, &zero, sizeof(zero));
	XXH3_64bits_update(st, data + LFS_INDEX_FILE_CHECKSUM_AT + 8,
			   size - LFS_INDEX_FILE_CHECKSUM_AT - 8);
	sum = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	memcpy(&h->checksum, &sum, sizeof(sum));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_init();
	load(data, size);
	if (size >= sizeof(struct lfs_index_file_header)) {
		g_autofree uint8_t *copy = g_memdup2(data, size);

		reseal(copy, size);
		load(copy, size);
	}
	fz_clean();
	return 0;
}
