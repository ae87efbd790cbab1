/* Fuzz target: compressed layers read at random (layer/seek_index.c) and
 * in one pass (layer/decomp.c): hostile gzip and zstd streams, and
 * hostile access points.
 *
 * Input: a mode byte, then what the mode reads.
 *
 *  mode bit 0 clear: the rest is a stored blob (gzip, zstd or plain).  It
 *    is decompressed in one pass, recording access points every 64 bytes
 *    of output, and checksums of every 4 KiB (the smallest chunk an index
 *    may have, so that small inputs have many).  If that succeeds, the
 *    points must validate as the index loader checks them, and every
 *    random read through them (at each point, just before it, at the end)
 *    must give the bytes the one pass gave.  With bit 1 set, the blob is
 *    then damaged (the last bytes of the input say where) and read again
 *    through the same points: a read may fail, but never give other
 *    bytes than the one pass gave (the checksums see to that).
 *
 *  mode bit 0 set: the access points come from the input: a count, that
 *    many raw struct lfs_index_checkpoint, a windows blob (16-bit length
 *    and bytes), an uncompressed size (32 bits), read offsets (four of 32
 *    bits), then the gzip blob.  Where the blob decompresses in one pass,
 *    its size and checksums are the pass's, and no read through the
 *    hostile points may give other bytes than the pass gave; else any
 *    answer but a crash will do.  Points that lfs_index_validate()
 *    accepts are read through. */
#include <errno.h>
#include <string.h>

#include <xxhash.h>

#include "fuzz.h"
#include "layerfs/decomp.h"
#include "layerfs/seek_index.h"

/* The most output one pass keeps: a small input can inflate to a lot. */
#define OUT_MAX (1u << 20)
#define SPAN 64
#define SUM_CHUNK LFS_SUM_CHUNK_MIN
#define MAX_POINTS 64

/* An index with just a root, holding @ix's access points. */
static void add_root(struct lfs_index *ix)
{
	static struct lfs_index_entry root = { .type = LFS_T_DIR };
	static char strtab[1] = "";

	ix->entries = &root;
	ix->nentries = 1;
	ix->strtab = strtab;
	ix->strtab_len = 1;
}

/* Up to @len bytes at @off through @r.  With @want (the stream, @total
 * bytes): the bytes must be @want's; unless @may_fail, the read must
 * succeed too. */
static void read_at(struct lfs_seek_reader *r, uint64_t off, size_t len,
		    const uint8_t *want, uint64_t total, bool may_fail)
{
	g_autofree uint8_t *buf = g_malloc(len ? len : 1);
	ssize_t n = lfs_seek_reader_pread(r, buf, len, off);
	size_t expect;

	if (!want || (n < 0 && may_fail))
		return;
	expect = off >= total ? 0 : (size_t)MIN((uint64_t)len, total - off);
	if (n < 0 || (size_t)n != expect)
		fz_fail("read of %zu at %llu: %zd, want %zu", len,
			(unsigned long long)off, n, expect);
	if (memcmp(buf, want + off, expect) != 0)
		fz_fail("read of %zu at %llu: other bytes than one pass gave",
			len, (unsigned long long)off);
}

/* Checksums of @total bytes of @data into @ix, every SUM_CHUNK bytes. */
static void set_sums(struct lfs_index *ix, const uint8_t *data,
		     uint64_t total)
{
	g_free(ix->sums);
	ix->nsums = (uint32_t)((total + SUM_CHUNK - 1) / SUM_CHUNK);
	ix->sum_chunk = ix->nsums ? SUM_CHUNK : 0;
	ix->sums = g_new0(uint64_t, MAX(ix->nsums, 1u));
	for (uint32_t k = 0; data && k < ix->nsums; k++)
		ix->sums[k] = XXH3_64bits(data + (uint64_t)k * SUM_CHUNK,
					  (size_t)MIN((uint64_t)SUM_CHUNK,
						      total - (uint64_t)k *
								      SUM_CHUNK));
}

static void read_points(struct lfs_blob *blob, enum lfs_compression comp,
			const struct lfs_index *ix, const uint8_t *want,
			uint64_t total, bool may_fail)
{
	struct lfs_seek_reader *r;
	uint32_t n = comp == LFS_COMP_GZIP ? ix->ncheckpoints : ix->nframes;

	if (lfs_seek_reader_new(blob, comp, ix, total, &r) < 0)
		return;
	for (uint32_t i = 0; i < n && i < MAX_POINTS; i++) {
		uint64_t out = comp == LFS_COMP_GZIP ? ix->checkpoints[i].out
						     : ix->frames[i].out;

		read_at(r, out, 100, want, total, may_fail);
		if (out > 0)
			read_at(r, out - 1, 2, want, total, may_fail);
	}
	read_at(r, total / 2, 300, want, total, may_fail);
	read_at(r, 0, 10, want, total, may_fail);
	read_at(r, SUM_CHUNK - 5, 10, want, total, may_fail);
	read_at(r, total ? total - 1 : 0, 10, want, total, may_fail);
	read_at(r, total, 10, want, total, may_fail);
	lfs_seek_reader_free(r);
}

/* One pass over @blob; the output (at most OUT_MAX bytes kept) in *out,
 * its length in *total.  Returns false if the stream is refused. */
static bool one_pass(struct lfs_blob *blob, struct lfs_seek_recorder *rec,
		     enum lfs_compression *comp, GByteArray *out,
		     uint64_t *total, uint64_t *in)
{
	struct lfs_decomp *d;
	const char *why;
	uint8_t buf[4096];
	ssize_t n;

	if (lfs_decomp_new(blob, LFS_COMP_DETECT, NULL, &d, &why) < 0)
		return false;
	lfs_decomp_record(d, rec);
	while ((n = lfs_decomp_read(d, buf, sizeof(buf))) > 0) {
		if (out->len + (size_t)n > OUT_MAX)
			break;
		g_byte_array_append(out, buf, (guint)n);
	}
	if (n < 0 && !strcmp(lfs_decomp_error(d), "no error"))
		fz_fail("decompression failed without a reason");
	*comp = lfs_decomp_compression(d);
	*total = lfs_decomp_out_bytes(d);
	*in = lfs_decomp_in_bytes(d);
	lfs_decomp_free(d);
	return n == 0;
}

static void recorded(const uint8_t *data, size_t size, bool damage)
{
	struct lfs_blob *blob = fz_mem_blob(data, size);
	struct lfs_seek_recorder *rec = lfs_seek_recorder_new(SPAN);
	g_autoptr(GByteArray) out = g_byte_array_new();
	struct lfs_index ix = { 0 };
	enum lfs_compression comp;
	uint64_t total, in;
	const char *why;

	if (!one_pass(blob, rec, &comp, out, &total, &in) ||
	    comp == LFS_COMP_NONE)
		goto out;
	lfs_seek_recorder_finish(rec, &ix);
	add_root(&ix);
	if (!lfs_index_validate(&ix, total, size, &why))
		fz_fail("recorded access points are invalid: %s", why);
	if (in > size)
		fz_fail("consumed %llu bytes of %zu",
			(unsigned long long)in, size);
	set_sums(&ix, out->data, total);
	if (!lfs_index_validate(&ix, total, size, &why))
		fz_fail("checksums every %u bytes are invalid: %s", SUM_CHUNK,
			why);
	fz_note("%u points, %u frames, %llu bytes", ix.ncheckpoints,
		ix.nframes, (unsigned long long)total);
	if (!damage) {
		read_points(blob, comp, &ix, out->data, total, false);
	} else if (size > 4) {
		g_autofree uint8_t *bad = g_memdup2(data, size);
		struct lfs_blob *bad_blob = fz_mem_blob(bad, size);

		/* The last four bytes say which byte goes, and how. */
		bad[(data[size - 4] | data[size - 3] << 8) % size] ^=
			data[size - 2] | 1;
		read_points(bad_blob, comp, &ix, out->data, total, true);
		lfs_blob_close(bad_blob);
	}
	g_free(ix.checkpoints);
	g_free(ix.windows);
	g_free(ix.frames);
	g_free(ix.sums);
out:
	lfs_seek_recorder_free(rec);
	lfs_blob_close(blob);
}

static void hostile_points(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	uint32_t n = fz_u8(&in) % 8;
	g_autofree struct lfs_index_checkpoint *cps =
		g_new0(struct lfs_index_checkpoint, MAX(n, 1u));
	g_autofree uint8_t *windows = NULL;
	g_autoptr(GByteArray) out = g_byte_array_new();
	struct lfs_index ix = { 0 }, pass = { 0 };
	struct lfs_seek_recorder *rec = lfs_seek_recorder_new(SPAN);
	enum lfs_compression comp;
	uint64_t total, got, used, off[4];
	struct lfs_seek_reader *r;
	struct lfs_blob *blob;
	const uint8_t *want = NULL;
	const char *why;

	for (uint32_t i = 0; i < n; i++) {
		cps[i].out = fz_u32(&in);
		cps[i].in = fz_u32(&in);
		cps[i].bits = fz_u8(&in);
		cps[i].dict_len = fz_u16(&in);
		cps[i].window = fz_u16(&in);
		cps[i].window_len = fz_u16(&in);
	}
	ix.windows_len = fz_u16(&in);
	ix.windows_len = MIN(ix.windows_len, in.len);
	windows = g_memdup2(in.p, ix.windows_len);
	in.p += ix.windows_len;
	in.len -= ix.windows_len;
	total = fz_u32(&in) % OUT_MAX;
	for (int i = 0; i < 4; i++)
		off[i] = fz_u32(&in);
	blob = fz_mem_blob(in.p, in.len);
	/* The stream as one pass reads it, where it can. */
	if (one_pass(blob, rec, &comp, out, &got, &used) &&
	    comp == LFS_COMP_GZIP) {
		want = out->data;
		total = got;
	}
	lfs_seek_recorder_finish(rec, &pass);
	lfs_seek_recorder_free(rec);
	ix.checkpoints = cps;
	ix.ncheckpoints = n;
	ix.windows = windows;
	add_root(&ix);
	set_sums(&ix, want, total);
	if (!lfs_index_validate(&ix, total, in.len, &why)) {
		fz_note("refused: %s", why);
		goto out;
	}
	if (lfs_seek_reader_new(blob, LFS_COMP_GZIP, &ix, total, &r) == 0) {
		for (int i = 0; i < 4; i++)
			read_at(r, off[i] % (total + 1), 200, want, total,
				true);
		lfs_seek_reader_free(r);
	}
out:
	g_free(ix.sums);
	g_free(pass.checkpoints);
	g_free(pass.windows);
	g_free(pass.frames);
	g_free(pass.sums);
	lfs_blob_close(blob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_init();
	if (size < 1)
		return 0;
	if (data[0] & 1)
		hostile_points(data + 1, size - 1);
	else
		recorded(data + 1, size - 1, data[0] & 2);
	return 0;
}
