/* Fuzz target: the tar scanner (layer/tar_scan.c, tar_ext.c) and the
 * index builder behind it, over a layer's uncompressed tar stream: headers
 * of every dialect, pax records, GNU long names, sparse maps, whiteouts,
 * hardlinks, symlinks.
 *
 * Input: one byte, then the stream.  Its low three bits choose how the
 * stream is cut into chunks (the scanner keeps the bytes of headers that
 * straddle chunks); bit 3 has the header checksums made right first
 * (fix_checksums()), so that a mutated header is read as a header rather
 * than refused as damage.  Each chunk is a fresh copy, freed when the
 * next is asked for, as a source may reuse its buffer: a chunk used after
 * that shows under ASan.
 *
 * A stream that scans must give an index that validates (the loader would
 * refuse to map it back otherwise) and whose paths all look up, and the
 * same index with layerfs's own reader of common members (tar_fast.c) as
 * with libarchive alone; the same layer twice is then built into a tree
 * and walked. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "layerfs/tar_scan.h"

static const size_t chunk_sizes[] = {
	SIZE_MAX, 1, 3, 100, 511, 512, 513, 4096,
};

struct source {
	const uint8_t *data;
	size_t len, pos, chunk;
	uint8_t *last; /* the chunk handed out last */
};

static ssize_t src_read(void *ctx, const void **buf)
{
	struct source *s = ctx;
	size_t n = MIN(s->chunk, s->len - s->pos);

	g_free(s->last);
	s->last = n ? g_memdup2(s->data + s->pos, n) : NULL;
	s->pos += n;
	*buf = s->last;
	return (ssize_t)n;
}

static const char *src_error(void *ctx)
{
	(void)ctx;
	return "no error";
}

/* Scan the stream; the index, or NULL if the scan failed. */
static struct lfs_index *scan(const uint8_t *data, size_t size,
			      size_t chunk, bool libarchive_only)
{
	struct source s = { data, size, 0, chunk, NULL };
	struct lfs_tar_source src = { src_read, src_error, &s,
				      libarchive_only };
	struct lfs_index_builder *b = lfs_index_builder_new();
	g_autoptr(GError) error = NULL;
	struct lfs_index *ix = NULL;

	if (lfs_tar_scan(&src, b, &fz_logger, "layer", &error))
		ix = lfs_index_builder_finish(b, &fz_logger, "layer");
	else if (!error || !error->message[0])
		fz_fail("the scan failed without a reason");
	else
		fz_note("refused: %s", error->message);
	lfs_index_builder_free(b);
	g_free(s.last);
	return ix;
}

/* The same entries, strings and extents, else fail with @what. */
static void same_index(const struct lfs_index *a, const struct lfs_index *b,
		       const char *what)
{
	if (a->nentries != b->nentries || a->strtab_len != b->strtab_len ||
	    a->nextents != b->nextents || a->nxattrs != b->nxattrs ||
	    memcmp(a->entries, b->entries,
		   a->nentries * sizeof(a->entries[0])) ||
	    memcmp(a->strtab, b->strtab, a->strtab_len) ||
	    (a->nextents && memcmp(a->extents, b->extents,
				   a->nextents * sizeof(a->extents[0]))))
		fz_fail("%s", what);
}

/* The octal size field of the header at @h, roughly (for the walk). */
static uint64_t rough_size(const uint8_t *h)
{
	uint64_t v = 0;

	for (size_t i = 124; i < 136 && h[i] >= '0' && h[i] <= '7'; i++)
		v = v << 3 | (uint64_t)(h[i] - '0');
	return v;
}

/* Walk @p as a tar stream, by each header's size field, and make each
 * header's checksum right.  The walk is rough (every type with a size
 * field counted as having that much data); what it takes for a header
 * is still a header to both readers, whatever they make of it. */
static void fix_checksums(uint8_t *p, size_t len)
{
	for (size_t pos = 0; pos + 512 <= len;) {
		uint8_t *h = p + pos;
		unsigned int sum = 0;
		uint64_t body;

		if (h[0] == 0) {
			pos += 512;
			continue;
		}
		memset(h + 148, ' ', 8);
		for (size_t i = 0; i < 512; i++)
			sum += h[i];
		snprintf((char *)h + 148, 8, "%06o", sum & 0777777);
		body = (h[156] >= '1' && h[156] <= '6') ? 0 : rough_size(h);
		if (body > len)
			break;
		pos += 512 + (size_t)(body + 511) / 512 * 512;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lfs_index *a, *b, *c;
	g_autofree uint8_t *fixed = NULL;
	const char *why;
	size_t chunk;

	fz_init();
	if (size < 1)
		return 0;
	chunk = chunk_sizes[data[0] % G_N_ELEMENTS(chunk_sizes)];
	if (data[0] & 8) {
		fixed = g_memdup2(data, size);
		fix_checksums(fixed + 1, size - 1);
		data = fixed;
	}
	a = scan(data + 1, size - 1, chunk, false);
	b = scan(data + 1, size - 1, SIZE_MAX, false);
	/* libarchive alone, for every member: the fast reader must read
	 * the members it takes exactly as libarchive does. */
	c = scan(data + 1, size - 1, chunk, true);
	if (!a != !b)
		fz_fail("the stream scans in chunks of %zu bytes %s, whole %s",
			chunk, a ? "fine" : "not", b ? "fine" : "not");
	if (!a != !c)
		fz_fail("the stream scans %s with the fast reader, %s with "
			"libarchive alone",
			a ? "fine" : "not", c ? "fine" : "not");
	if (!a)
		return 0;
	if (!lfs_index_validate(a, size - 1, size - 1, &why))
		fz_fail("the index of a stream that scanned is invalid: %s",
			why);
	/* How the stream was cut into chunks changes nothing. */
	same_index(a, b, "chunks of another size give another index");
	same_index(a, c, "the fast reader and libarchive give another index");
	lfs_index_free(c);
	fz_note("%u entries", a->nentries);
	fz_check_paths(a);
	fz_walk_tree(a, b);
	return 0;
}
