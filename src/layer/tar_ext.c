/* Whole names in tar extension headers (see tar_ext.h). */
#include <stdbool.h>
#include <string.h>

#include "layerfs/tar_ext.h"

/* ustar header fields this module reads. */
#define SIZE_FIELD 124
#define SIZE_LEN 12
#define MODE_FIELD 100
#define MODE_LEN 8
#define CHECKSUM_FIELD 148
#define CHECKSUM_LEN 8
#define TYPEFLAG 156
#define MAGIC_FIELD 257

/* libarchive gives up on a member after 32 special headers; a walk that
 * finds more has lost step with it, and checks nothing it can trust. */
#define MAX_SPECIAL_HEADERS 32

/* The size field as libarchive reads it: base-256 when the high bit of
 * the first byte is set, else octal after optional blanks.  A value past
 * 2^56 is clamped: no header body is anywhere near it. */
static uint64_t field_size(const uint8_t *f)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		v = f[0] & 0x3f;
		for (i = 1; i < SIZE_LEN && v < (UINT64_C(1) << 56); i++)
			v = v << 8 | f[i];
		return v;
	}
	while (i < SIZE_LEN && (f[i] == ' ' || f[i] == '\t'))
		i++;
	for (; i < SIZE_LEN && f[i] >= '0' && f[i] <= '7'; i++)
		v = v << 3 | (uint64_t)(f[i] - '0');
	return v;
}

/* A GNU long name body: the name, then NUL padding.  A NUL followed by
 * anything else is a NUL inside the name. */
static bool nul_inside(const uint8_t *p, size_t n)
{
	const uint8_t *z = memchr(p, 0, n);

	if (!z)
		return false;
	for (; z < p + n; z++)
		if (*z)
			return true;
	return false;
}

/* libarchive ends a pax keyword at '=' and then compares it as a C
 * string, so "path\0junk" acts as "path": compare the same way. */
static bool keyword_is(const uint8_t *key, size_t len, const char *want)
{
	const uint8_t *z = memchr(key, 0, len);
	size_t n = z ? (size_t)(z - key) : len;

	return n == strlen(want) && memcmp(key, want, n) == 0;
}

/* One pax record "LEN keyword=value\n" at @p (@n bytes left): its
 * length, or 0 where it is malformed (libarchive ignores the rest of the
 * header from there on, so the walk stops too). */
static size_t pax_record(const uint8_t *p, size_t n, const uint8_t **key,
			 size_t *klen, const uint8_t **val, size_t *vlen)
{
	size_t len = 0, i = 0;
	const uint8_t *eq;

	while (i < n && p[i] >= '0' && p[i] <= '9' && len <= n) {
		len = len * 10 + (size_t)(p[i] - '0');
		i++;
	}
	if (i == 0 || i >= n || p[i] != ' ' || len > n || len < i + 2 ||
	    p[len - 1] != '\n')
		return 0;
	*key = p + i + 1;
	eq = memchr(*key, '=', len - 1 - (i + 1));
	if (!eq)
		return 0;
	*klen = (size_t)(eq - *key);
	*val = eq + 1;
	*vlen = (size_t)(p + len - 1 - *val);
	return len;
}

static const char *pax_problem(const uint8_t *p, size_t n)
{
	const uint8_t *key, *val;
	size_t klen, vlen, len;

	for (; n > 0; p += len, n -= len) {
		len = pax_record(p, n, &key, &klen, &val, &vlen);
		if (len == 0)
			return NULL;
		if (!memchr(val, 0, vlen))
			continue;
		/* GNU.sparse.name carries the real name of a pax sparse
		 * member and replaces "path". */
		if (keyword_is(key, klen, "path") ||
		    keyword_is(key, klen, "GNU.sparse.name"))
			return "name holds a NUL byte";
		if (keyword_is(key, klen, "linkpath"))
			return "link target holds a NUL byte";
	}
	return NULL;
}

/* One header of a member's extension chain. */
struct ext_hdr {
	uint8_t type;
	const uint8_t *body;
	size_t n;  /* body bytes there are: at most its size */
	bool cut;  /* the padded body runs past the bytes there are */
};

/* The header at @hdrs[*pos..@len), walked the way libarchive reads them:
 * pax 'x'/'X', GNU 'L'/'K', pax global 'g' and Solaris 'A' carry a body,
 * a GNU volume header 'V' does not, and the first other type flag is the
 * member's own header.  1 with *e filled and *pos past it; 0 at the
 * member's own header; -1 with *why where the walk cannot go on. */
static int next_ext(const uint8_t *hdrs, size_t len, size_t *pos,
		    unsigned int *count, struct ext_hdr *e, const char **why)
{
	const uint8_t *h = hdrs + *pos;
	uint64_t size;
	size_t have;

	if (++*count > MAX_SPECIAL_HEADERS + 1) {
		*why = "more than 32 extension headers";
		return -1;
	}
	if (len - *pos < LFS_TAR_BLOCK) {
		*why = "extension headers cut short";
		return -1;
	}
	e->type = h[TYPEFLAG];
	if (!strchr("xXLKgAV", e->type) || !e->type)
		return 0;
	/* libarchive reads no body after a volume header. */
	size = e->type == 'V' ? 0 : field_size(h + SIZE_FIELD);
	have = len - *pos - LFS_TAR_BLOCK;
	e->body = h + LFS_TAR_BLOCK;
	e->n = size < have ? (size_t)size : have;
	/* libarchive consumes the padded body; so must the walk. */
	e->cut = size > have - have % LFS_TAR_BLOCK;
	if (!e->cut)
		*pos += LFS_TAR_BLOCK + ((size_t)size + LFS_TAR_BLOCK - 1) /
						LFS_TAR_BLOCK * LFS_TAR_BLOCK;
	return 1;
}

/* The pax records of a member's 'x'/'X' headers, in order, as libarchive
 * reads them: the walk stops at a malformed record's header's end, and
 * after a header cut short. */
struct pax_walk {
	const uint8_t *hdrs;
	size_t len, pos;
	unsigned int count;
	struct ext_hdr e;
	const uint8_t *p; /* the next record in e.body; NULL: next header */
	bool cut;	  /* the walk ended at a header cut short */
	int end;	  /* next_ext()'s result that ended it */
};

static void pax_walk_init(struct pax_walk *w, const uint8_t *hdrs,
			  size_t len)
{
	memset(w, 0, sizeof(*w));
	w->hdrs = hdrs;
	w->len = len;
}

/* The next record's key and value: true, or false at the end (then
 * w->end, w->cut and w->pos, the member's own header, say how it ended). */
static bool next_pax(struct pax_walk *w, const uint8_t **key, size_t *klen,
		     const uint8_t **val, size_t *vlen)
{
	const char *why;

	for (;;) {
		if (w->p) {
			const uint8_t *end = w->e.body + w->e.n;
			size_t rlen = w->p < end
					      ? pax_record(w->p,
							   (size_t)(end - w->p),
							   key, klen, val, vlen)
					      : 0;

			if (rlen) {
				w->p += rlen;
				return true;
			}
			w->p = NULL;
			if (w->e.cut) {
				w->cut = true;
				return false;
			}
		}
		w->end = next_ext(w->hdrs, w->len, &w->pos, &w->count, &w->e,
				  &why);
		if (w->end <= 0)
			return false;
		if (w->e.type == 'x' || w->e.type == 'X')
			w->p = w->e.body;
		else if (w->e.cut) {
			w->cut = true;
			return false;
		}
	}
}

const char *lfs_tar_ext_problem(const uint8_t *hdrs, size_t len)
{
	size_t pos = 0;
	unsigned int count = 0;
	struct ext_hdr e;
	const char *why = NULL;
	int r;

	while ((r = next_ext(hdrs, len, &pos, &count, &e, &why)) > 0) {
		switch (e.type) {
		case 'x':
		case 'X':
			why = pax_problem(e.body, e.n);
			break;
		case 'L':
			why = nul_inside(e.body, e.n) ? "name holds a NUL byte"
						      : NULL;
			break;
		case 'K':
			why = nul_inside(e.body, e.n) ? "link target holds a "
							"NUL byte"
						      : NULL;
			break;
		}
		if (why)
			return why;
		if (e.cut)
			return "extension headers cut short";
	}
	return r < 0 ? why : NULL;
}

/* Whether pax value @v (@n bytes) is a negative time with a fraction that
 * is not zero ("-1.5"). */
static bool negative_fraction(const uint8_t *v, size_t n)
{
	const uint8_t *dot = memchr(v, '.', n);

	if (n == 0 || v[0] != '-' || !dot)
		return false;
	for (const uint8_t *p = dot + 1; p < v + n; p++) {
		if (*p >= '1' && *p <= '9')
			return true;
	}
	return false;
}

bool lfs_tar_ext_mtime_late(const uint8_t *hdrs, size_t len)
{
	const uint8_t *key, *val;
	size_t klen, vlen;
	struct pax_walk w;
	bool late = false;

	pax_walk_init(&w, hdrs, len);
	/* The last mtime record counts, as libarchive reads them. */
	while (next_pax(&w, &key, &klen, &val, &vlen)) {
		if (keyword_is(key, klen, "mtime"))
			late = negative_fraction(val, vlen);
	}
	return late;
}

void lfs_tar_ext_xattrs(const uint8_t *hdrs, size_t len,
			void (*fn)(void *ctx, const struct lfs_tar_xattr *x),
			void *ctx)
{
	static const char prefix[] = "SCHILY.xattr.";
	const size_t plen = sizeof(prefix) - 1;
	const uint8_t *key, *val;
	size_t klen, vlen;
	struct pax_walk w;

	pax_walk_init(&w, hdrs, len);
	while (next_pax(&w, &key, &klen, &val, &vlen)) {
		struct lfs_tar_xattr x;

		if (klen <= plen || memcmp(key, prefix, plen) != 0)
			continue;
		x.name = key + plen;
		x.name_len = klen - plen;
		x.value = val;
		x.value_len = vlen;
		fn(ctx, &x);
	}
}

static bool zero_block(const uint8_t *b)
{
	for (size_t i = 0; i < LFS_TAR_BLOCK; i++) {
		if (b[i])
			return false;
	}
	return true;
}

/* Whether header @h holds its own checksum, as libarchive, GNU tar and Go
 * check it: octal digits (blanks and NULs around them), equal to the sum
 * of the header's bytes with the field taken as blanks, summed as
 * unsigned or as signed bytes. */
static bool checksum_ok(const uint8_t *h)
{
	const uint8_t *f = h + CHECKSUM_FIELD;
	uint64_t want = 0, sum = 0;
	int64_t ssum = 0;
	size_t i = 0;

	for (size_t k = 0; k < CHECKSUM_LEN; k++) {
		if (f[k] != ' ' && f[k] && (f[k] < '0' || f[k] > '7'))
			return false;
	}
	while (i < CHECKSUM_LEN && f[i] == ' ')
		i++;
	for (; i < CHECKSUM_LEN && f[i] >= '0' && f[i] <= '7'; i++)
		want = want << 3 | (uint64_t)(f[i] - '0');
	for (size_t k = 0; k < LFS_TAR_BLOCK; k++) {
		uint8_t b = k >= CHECKSUM_FIELD &&
					    k < CHECKSUM_FIELD + CHECKSUM_LEN
				    ? ' '
				    : h[k];

		sum += b;
		ssum += (int8_t)b;
	}
	return want == sum || (int64_t)want == ssum;
}

enum lfs_tar_end lfs_tar_ext_end(const uint8_t *hdrs, size_t len)
{
	size_t pos = 0;

	for (unsigned int i = 0; i <= MAX_SPECIAL_HEADERS; i++) {
		const uint8_t *h = hdrs + pos;
		uint64_t size, body;

		if (pos == len)
			return i ? LFS_TAR_END_CUT : LFS_TAR_DAMAGED;
		if (len - pos < LFS_TAR_BLOCK)
			return LFS_TAR_DAMAGED;
		if (zero_block(h))
			return i ? LFS_TAR_END : LFS_TAR_DAMAGED;
		/* libarchive gives up at a header whose checksum is wrong
		 * (so do GNU tar and Go): that is damage, whatever follows
		 * it, not an extension header. */
		if (!checksum_ok(h))
			return LFS_TAR_DAMAGED;
		switch (h[TYPEFLAG]) {
		case 'x':
		case 'X':
		case 'g':
		case 'L':
		case 'K':
		case 'A':
			size = field_size(h + SIZE_FIELD);
			break;
		case 'V':
			size = 0; /* no body, as libarchive reads it */
			break;
		default:
			return LFS_TAR_DAMAGED; /* a member's own header */
		}
		body = (size + LFS_TAR_BLOCK - 1) / LFS_TAR_BLOCK *
		       LFS_TAR_BLOCK;
		if (body > len - pos - LFS_TAR_BLOCK)
			return LFS_TAR_DAMAGED; /* a body cut short */
		pos += LFS_TAR_BLOCK + (size_t)body;
	}
	return LFS_TAR_DAMAGED;
}

/* A pax "size" value: decimal digits only, and not absurd. */
static bool pax_size(const uint8_t *v, size_t n, uint64_t *size)
{
	uint64_t x = 0;

	if (n == 0 || n > 18)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*size = x;
	return true;
}

static bool is_gnu_magic(const uint8_t *hdr)
{
	static const char gnu_magic[8] = "ustar  "; /* with its NUL */

	return memcmp(hdr + MAGIC_FIELD, gnu_magic, sizeof(gnu_magic)) == 0;
}

bool lfs_tar_ext_member(const uint8_t *hdrs, size_t len,
			struct lfs_tar_member *m)
{
	const uint8_t *key, *val;
	size_t klen, vlen;
	bool have_size = false;
	uint64_t size = 0, v;
	struct pax_walk w;

	memset(m, 0, sizeof(*m));
	pax_walk_init(&w, hdrs, len);
	while (next_pax(&w, &key, &klen, &val, &vlen)) {
		if (klen > 11 && memcmp(key, "GNU.sparse.", 11) == 0)
			m->sparse = true;
		if (!keyword_is(key, klen, "size"))
			continue;
		/* libarchive has applied such records in either order over
		 * the years: only one value is sure. */
		if (!pax_size(val, vlen, &v) || (have_size && v != size))
			return false;
		have_size = true;
		size = v;
	}
	/* The member's own header must be there, whole. */
	if (w.cut || w.end < 0)
		return false;
	m->own = w.pos;
	m->stored = have_size ? size : field_size(hdrs + w.pos + SIZE_FIELD);
	if (hdrs[w.pos + TYPEFLAG] == 'S' && is_gnu_magic(hdrs + w.pos)) {
		m->sparse = true;
		m->old_sparse = true;
	}
	return true;
}

bool lfs_tar_plain_gnu(const uint8_t *hdr, uint64_t *size)
{
	if (!is_gnu_magic(hdr) || hdr[TYPEFLAG] == 'S')
		return false;
	*size = field_size(hdr + SIZE_FIELD);
	return true;
}

uint32_t lfs_tar_header_mode(const uint8_t *hdr)
{
	uint32_t v = 0;
	size_t i = 0;
	const uint8_t *f = hdr + MODE_FIELD;

	while (i < MODE_LEN && (f[i] == ' ' || f[i] == '\t'))
		i++;
	for (; i < MODE_LEN && f[i] >= '0' && f[i] <= '7'; i++)
		v = (v << 3 | (uint32_t)(f[i] - '0')) & 0777777;
	return v & 07777;
}
