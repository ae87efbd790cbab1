/* The indexing pass's own reader of the common tar members (see
 * tar_fast.h).  Every rule here is libarchive 3.6's for the same header:
 * where it would do something this reader does not, the member is
 * LFS_TAR_FAST_NO and libarchive reads it. */
#include <string.h>

#include "layerfs/tar_ext.h"
#include "layerfs/tar_fast.h"

#define BLOCK LFS_TAR_BLOCK

/* ustar header fields: where each starts, and its length. */
#define NAME_OFF 0
#define NAME_LEN 100
#define MODE_OFF 100
#define UID_OFF 108
#define GID_OFF 116
#define ID_LEN 8 /* mode, uid, gid, devmajor, devminor */
#define SIZE_OFF 124
#define MTIME_OFF 136
#define NUM_LEN 12 /* size, mtime */
#define CHKSUM 148
#define TYPEFLAG 156
#define LINK_OFF 157
#define MAGIC 257
#define DEVMAJOR_OFF 329
#define DEVMINOR_OFF 337
#define PREFIX_OFF 345
#define PREFIX_LEN 155
/* GNU headers: the first sparse map entry's offset, and the "real size"
 * of a sparse file. */
#define GNU_SPARSE 386
#define GNU_REALSIZE 483

/* libarchive refuses special header bodies over 1 MiB. */
#define MAX_BODY (1u << 20)
/* libarchive refuses a pax record longer than this. */
#define MAX_RECORD 999999

/* libarchive's tar_atol_base_n(): blanks, a sign, digits of @base; the
 * extreme value on overflow. */
static int64_t atol_base(const uint8_t *p, size_t n, int base)
{
	int64_t l = 0, maxval = INT64_MAX, limit = INT64_MAX / base;
	int64_t last = INT64_MAX % base;
	int sign = 1, digit;

	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	if (n && *p == '-') {
		sign = -1;
		p++;
		n--;
		maxval = INT64_MIN;
		limit = -(INT64_MIN / base);
		last = -(INT64_MIN % base);
	}
	if (n) {
		digit = *p - '0';
		while (digit >= 0 && digit < base && n) {
			if (l > limit || (l == limit && digit >= last))
				return maxval;
			l = l * base + digit;
			n--;
			digit = n ? *++p - '0' : -1;
		}
	}
	return sign < 0 ? -l : l;
}

/* libarchive's tar_atol256(): big-endian two's complement in the low
 * 7 bits of the first byte and all of the rest. */
static int64_t atol256(const uint8_t *p, size_t n)
{
	uint8_t c = *p, neg;
	uint64_t l;

	if (c & 0x40) {
		neg = 0xff;
		c |= 0x80;
		l = ~UINT64_C(0);
	} else {
		neg = 0;
		c &= 0x7f;
		l = 0;
	}
	while (n > sizeof(int64_t)) {
		n--;
		if (c != neg)
			return neg ? INT64_MIN : INT64_MAX;
		c = *++p;
	}
	if ((c ^ neg) & 0x80)
		return neg ? INT64_MIN : INT64_MAX;
	while (--n > 0) {
		l = l << 8 | c;
		c = *++p;
	}
	l = l << 8 | c;
	return (int64_t)l;
}

/* The numeric header field at @h + @off, as libarchive's tar_atol()
 * reads it. */
static int64_t num(const uint8_t *h, size_t off, size_t len)
{
	if (h[off] & 0x80)
		return atol256(h + off, len);
	return atol_base(h + off, len, 8);
}

/* The sum of @n bytes (n <= 1024), eight at a time: four 16-bit lanes
 * of byte pairs, which cannot overflow at this length.  The checksum is
 * computed for every member, and a byte loop was an eighth of the pass. */
static unsigned int byte_sum(const uint8_t *p, size_t n)
{
	const uint64_t low = UINT64_C(0x00ff00ff00ff00ff);
	uint64_t acc = 0;
	unsigned int sum;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x;

		memcpy(&x, p + i, sizeof(x));
		acc += (x & low) + ((x >> 8) & low);
	}
	sum = (unsigned int)((acc & 0xffff) + ((acc >> 16) & 0xffff) +
			     ((acc >> 32) & 0xffff) + (acc >> 48));
	for (; i < n; i++)
		sum += p[i];
	return sum;
}

/* libarchive's checksum(): an octal field, matching the sum of the
 * header's bytes (the field itself as blanks), unsigned or, as some old
 * writers made it, signed. */
static bool checksum_ok(const uint8_t *h)
{
	int sum, u, s;
	unsigned int high = 0;

	for (size_t i = CHKSUM; i < CHKSUM + 8; i++) {
		uint8_t c = h[i];

		if (c != ' ' && c != '\0' && (c < '0' || c > '7'))
			return false;
	}
	sum = (int)atol_base(h + CHKSUM, 8, 8);
	u = (int)(byte_sum(h, CHKSUM) + 8 * ' ' +
		  byte_sum(h + CHKSUM + 8, BLOCK - CHKSUM - 8));
	if (sum == u)
		return true;
	/* Signed, each byte from 0x80 up counts 256 less. */
	for (size_t i = 0; i < BLOCK; i++) {
		if (h[i] >= 0x80 && (i < CHKSUM || i >= CHKSUM + 8))
			high++;
	}
	s = u - (int)(256 * high);
	return sum == s;
}

static bool zero_block(const uint8_t *h)
{
	return h[0] == 0 && memcmp(h, h + 1, BLOCK - 1) == 0;
}

/* Copy a NUL-padded field (or body) of @n bytes, up to its first NUL,
 * after @at bytes of @out.  False where the result is too long.  Bytes
 * past ASCII are copied as they are: libarchive converts header names
 * only on Windows, and a pax name from UTF-8 to the locale's charset,
 * which in the C locale layerfs runs in fails for them and leaves the
 * bytes as they were. */
static bool copy_name(char *out, size_t at, const uint8_t *p, size_t n)
{
	const uint8_t *z = memchr(p, 0, n);
	size_t len = z ? (size_t)(z - p) : n;

	if (at + len > LFS_TAR_FAST_NAME_MAX)
		return false;
	memcpy(out + at, p, len);
	out[at + len] = '\0';
	return true;
}

/* A GNU long name body: the name, then only NULs (else libarchive's name
 * and the one tar_ext.c checks differ: leave it to them). */
static bool long_name(char *out, const uint8_t *body, size_t n)
{
	const uint8_t *z = memchr(body, 0, n);

	if (z) {
		for (const uint8_t *q = z; q < body + n; q++) {
			if (*q)
				return false;
		}
	}
	return copy_name(out, 0, body, n);
}

/* What the pax records of one 'x' header set. */
struct pax {
	bool path, linkpath, size, uid, gid, mtime, devmajor, devminor;
	const uint8_t *path_v, *linkpath_v;
	size_t path_n, linkpath_n;
	int64_t size_v, uid_v, gid_v, devmajor_v, devminor_v;
	int64_t mtime_s;
	long mtime_ns;
};

static bool key_is(const uint8_t *k, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(k, want, n) == 0;
}

/* libarchive's pax_time(): seconds with a sign, then up to nine digits
 * of fraction; the value stops at the first byte that does not fit. */
static void pax_time(const uint8_t *p, size_t n, int64_t *ps, long *pn)
{
	const int64_t limit = INT64_MAX / 10, last = INT64_MAX % 10;
	const uint8_t *end = p + n;
	int64_t s = 0;
	int sign = 1;
	unsigned long l;

	if (p < end && *p == '-') {
		sign = -1;
		p++;
	}
	while (p < end && *p >= '0' && *p <= '9') {
		int digit = *p - '0';

		if (s > limit || (s == limit && digit > last)) {
			s = INT64_MAX;
			break;
		}
		s = s * 10 + digit;
		p++;
	}
	*ps = s * sign;
	*pn = 0;
	if (p >= end || *p != '.')
		return;
	l = 100000000UL;
	do {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			*pn += (long)(*p - '0') * (long)l;
		else
			break;
	} while (l /= 10);
}

/* A decimal record value, as libarchive reads it: up to its first NUL. */
static int64_t pax_num(const uint8_t *v, size_t n)
{
	const uint8_t *z = memchr(v, 0, n);

	return atol_base(v, z ? (size_t)(z - v) : n, 10);
}

/* One record's keyword and value into @x.  False for the keywords this
 * reader leaves to libarchive: those that change how the member reads
 * (sparse maps, ACLs, header charsets, a real size), those it decodes
 * in ways that may fail, and any it does not know. */
static bool pax_keyword(struct pax *x, const uint8_t *k, size_t kn,
			const uint8_t *v, size_t vn)
{
	/* What libarchive reads only into fields the index has no use
	 * for (its own xattr records and the SELinux one among them:
	 * tar_scan.c takes xattrs from SCHILY.xattr records alone). */
	static const char *const ignored[] = {
		"uname",	"gname",
		"atime",	"ctime",
		"comment",	"charset",
		"SCHILY.dev",	"SCHILY.ino",
		"SCHILY.nlink", "SCHILY.fflags",
		"LIBARCHIVE.creationtime", "LIBARCHIVE.symlinktype",
		"RHT.security.selinux",
	};

	if (key_is(k, kn, "path")) {
		x->path = true;
		x->path_v = v;
		x->path_n = vn;
	} else if (key_is(k, kn, "linkpath")) {
		x->linkpath = true;
		x->linkpath_v = v;
		x->linkpath_n = vn;
	} else if (key_is(k, kn, "size")) {
		x->size = true;
		x->size_v = pax_num(v, vn);
	} else if (key_is(k, kn, "uid")) {
		x->uid = true;
		x->uid_v = pax_num(v, vn);
	} else if (key_is(k, kn, "gid")) {
		x->gid = true;
		x->gid_v = pax_num(v, vn);
	} else if (key_is(k, kn, "mtime")) {
		x->mtime = true;
		pax_time(v, vn, &x->mtime_s, &x->mtime_ns);
	} else if (key_is(k, kn, "SCHILY.devmajor")) {
		x->devmajor = true;
		x->devmajor_v = pax_num(v, vn);
	} else if (key_is(k, kn, "SCHILY.devminor")) {
		x->devminor = true;
		x->devminor_v = pax_num(v, vn);
	} else if (kn > 13 && memcmp(k, "SCHILY.xattr.", 13) == 0) {
		/* tar_scan.c reads these from the headers itself. */
	} else if (kn > 17 && memcmp(k, "LIBARCHIVE.xattr.", 17) == 0) {
		/* libarchive decodes these, ignoring failure. */
	} else {
		size_t i;

		for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
			if (key_is(k, kn, ignored[i]))
				break;
		}
		if (i == sizeof(ignored) / sizeof(ignored[0]))
			return false;
	}
	return true;
}

/* The records of a pax body, as libarchive's pax_header() walks them:
 * false where it would stop early or warn. */
static bool pax_records(struct pax *x, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t len = 0, i = 0;
		const uint8_t *k, *eq;

		while (i < n && p[i] >= '0' && p[i] <= '9') {
			len = len * 10 + (size_t)(p[i] - '0');
			if (len > MAX_RECORD)
				return false;
			i++;
		}
		if (i == 0 || i >= n || p[i] != ' ')
			return false;
		if (len > n || len < i + 2 || p[len - 1] != '\n')
			return false;
		k = p + i + 1;
		/* A keyword ends at '=' (a NUL before it: malformed). */
		eq = memchr(k, '=', (size_t)(p + len - 1 - k));
		if (!eq || eq == k || memchr(k, 0, (size_t)(eq - k)))
			return false;
		if (!pax_keyword(x, k, (size_t)(eq - k), eq + 1,
				 (size_t)(p + len - 1 - (eq + 1))))
			return false;
		p += len;
		n -= len;
	}
	return true;
}

/* A name from a pax record: no NUL in it (tar_ext.c skips such a member),
 * not too long. */
static bool pax_name(char *out, const uint8_t *v, size_t n)
{
	if (memchr(v, 0, n))
		return false;
	return copy_name(out, 0, v, n);
}

/* The member's own header's name: a ustar one joins prefix and name. */
static bool header_name(char *out, const uint8_t *h, bool ustar)
{
	size_t at = 0;

	if (ustar && h[PREFIX_OFF]) {
		if (!copy_name(out, 0, h + PREFIX_OFF, PREFIX_LEN))
			return false;
		at = strlen(out);
		if (out[at - 1] != '/') {
			if (at + 1 > LFS_TAR_FAST_NAME_MAX)
				return false;
			out[at++] = '/';
		}
	}
	return copy_name(out, at, h + NAME_OFF, NAME_LEN);
}

static bool own_type(uint8_t flag, enum lfs_etype *t)
{
	switch (flag) {
	case '0':
	case '\0':
		*t = LFS_T_REG;
		return true;
	case '1':
		*t = LFS_T_HARDLINK;
		return true;
	case '2':
		*t = LFS_T_LNK;
		return true;
	case '3':
		*t = LFS_T_CHR;
		return true;
	case '4':
		*t = LFS_T_BLK;
		return true;
	case '5':
		*t = LFS_T_DIR;
		return true;
	case '6':
		*t = LFS_T_FIFO;
		return true;
	default:
		return false;
	}
}

/* Sizes, as libarchive's header_common() and pax "size" set them.  False
 * where libarchive fails the member or guesses.  A hardlink's size is
 * data only where libarchive reads the archive as pax then: its header
 * is ustar, and a pax header came in this member or before it with no
 * GNU or v7 header since (@pax_format).  Behind a GNU or v7 header it
 * ignores the size; behind a ustar one in a ustar archive it guesses
 * from the header it looks at next. */
static bool sizes(struct lfs_tar_fast *m, const uint8_t *h, bool ustar,
		  const struct pax *x, bool pax_format)
{
	int64_t size = num(h, SIZE_OFF, NUM_LEN);

	if (size < 0 || size == INT64_MAX)
		return false;
	if (x->size) {
		if (m->type != LFS_T_REG || x->size_v < 0 ||
		    x->size_v == INT64_MAX)
			return false;
		size = x->size_v;
	}
	switch (m->type) {
	case LFS_T_REG:
		break;
	case LFS_T_HARDLINK:
		if (size == 0 || (ustar && (pax_format || m->pax)))
			break;
		if (ustar)
			return false;
		size = 0; /* GNU and v7 archives: ignored */
		break;
	default:
		size = 0; /* never data, whatever the header says */
		break;
	}
	m->size = (uint64_t)size;
	m->data_len = (uint64_t)size;
	return true;
}

static enum lfs_tar_fast_result own_header(const uint8_t *h, bool pax_format,
					   const struct pax *x,
					   bool long_name_set,
					   bool long_link_set,
					   struct lfs_tar_fast *m, char *name,
					   char *link)
{
	bool gnu = memcmp(h + MAGIC, "ustar  \0", 8) == 0;
	bool ustar = !gnu && memcmp(h + MAGIC, "ustar", 5) == 0;
	size_t n;

	if (!own_type(h[TYPEFLAG], &m->type))
		return LFS_TAR_FAST_NO;
	/* An old-GNU sparse map or real size: libarchive's, with the
	 * scanner's corrections of it. */
	if (gnu && (h[GNU_SPARSE] || h[GNU_REALSIZE]))
		return LFS_TAR_FAST_NO;
	/* One name from each place at most: where a long name and a pax
	 * path both say, the header read first wins in libarchive. */
	if ((long_name_set && x->path) || (long_link_set && x->linkpath))
		return LFS_TAR_FAST_NO;
	/* A link target given to a member that is not a link makes it a
	 * hardlink in libarchive. */
	if ((long_link_set || x->linkpath) && m->type != LFS_T_HARDLINK &&
	    m->type != LFS_T_LNK)
		return LFS_TAR_FAST_NO;
	if (x->path && x->path_n > 0) {
		if (!pax_name(name, x->path_v, x->path_n))
			return LFS_TAR_FAST_NO;
	} else if (!long_name_set && !header_name(name, h, ustar)) {
		return LFS_TAR_FAST_NO;
	}
	/* libarchive reads a "regular" member named "dir/" as a
	 * directory, and its size bytes as the next header. */
	n = strlen(name);
	if (m->type == LFS_T_REG && n > 0 && name[n - 1] == '/')
		return LFS_TAR_FAST_NO;
	if (m->type == LFS_T_HARDLINK || m->type == LFS_T_LNK) {
		if (x->linkpath && x->linkpath_n > 0) {
			if (!pax_name(link, x->linkpath_v, x->linkpath_n))
				return LFS_TAR_FAST_NO;
		} else if (!long_link_set &&
			   !copy_name(link, 0, h + LINK_OFF, NAME_LEN)) {
			return LFS_TAR_FAST_NO;
		}
	} else {
		link[0] = '\0';
	}
	if (!sizes(m, h, ustar, x, pax_format))
		return LFS_TAR_FAST_NO;
	m->perm = (uint32_t)num(h, MODE_OFF, ID_LEN) & ~(uint32_t)0170000;
	m->uid = x->uid ? x->uid_v : num(h, UID_OFF, ID_LEN);
	m->gid = x->gid ? x->gid_v : num(h, GID_OFF, ID_LEN);
	if (x->mtime) {
		m->mtime_sec = x->mtime_s;
		m->mtime_nsec = x->mtime_ns;
	} else {
		m->mtime_sec = num(h, MTIME_OFF, NUM_LEN);
		m->mtime_nsec = 0;
	}
	/* v7 headers have no device fields. */
	m->rdev_major = m->rdev_minor = 0;
	if ((gnu || ustar) && (m->type == LFS_T_CHR || m->type == LFS_T_BLK)) {
		m->rdev_major = (uint64_t)num(h, DEVMAJOR_OFF, ID_LEN);
		m->rdev_minor = (uint64_t)num(h, DEVMINOR_OFF, ID_LEN);
	}
	if (x->devmajor)
		m->rdev_major = (uint64_t)x->devmajor_v;
	if (x->devminor)
		m->rdev_minor = (uint64_t)x->devminor_v;
	m->name = name;
	m->link = link;
	return LFS_TAR_FAST_OK;
}

enum lfs_tar_fast_result lfs_tar_fast_parse(const uint8_t *p, size_t len,
					    struct lfs_tar_state *st,
					    struct lfs_tar_fast *m,
					    char *name, char *link,
					    size_t *need)
{
	enum lfs_tar_fast_result r;
	const uint8_t *own;
	bool ustar;
	struct pax x = { 0 };
	bool long_name_set = false, long_link_set = false;
	size_t pos = 0;

	memset(m, 0, sizeof(*m));
	for (;;) {
		const uint8_t *h;
		int64_t body;
		size_t padded;

		if (len - pos < BLOCK) {
			*need = pos + BLOCK;
			return LFS_TAR_FAST_MORE;
		}
		h = p + pos;
		if (zero_block(h))
			return pos == 0 ? LFS_TAR_FAST_END : LFS_TAR_FAST_NO;
		if (!checksum_ok(h))
			return LFS_TAR_FAST_NO;
		if (h[TYPEFLAG] != 'x' && h[TYPEFLAG] != 'L' &&
		    h[TYPEFLAG] != 'K')
			break;
		body = num(h, SIZE_OFF, NUM_LEN);
		if (body < 0 || body > (int64_t)MAX_BODY)
			return LFS_TAR_FAST_NO;
		padded = ((size_t)body + BLOCK - 1) / BLOCK * BLOCK;
		if (len - pos - BLOCK < padded) {
			*need = pos + BLOCK + padded;
			return LFS_TAR_FAST_MORE;
		}
		switch (h[TYPEFLAG]) {
		case 'x':
			if (m->pax || !pax_records(&x, h + BLOCK, (size_t)body))
				return LFS_TAR_FAST_NO;
			m->pax = true;
			break;
		case 'L':
			if (long_name_set ||
			    !long_name(name, h + BLOCK, (size_t)body))
				return LFS_TAR_FAST_NO;
			long_name_set = true;
			break;
		default: /* 'K' */
			if (long_link_set ||
			    !long_name(link, h + BLOCK, (size_t)body))
				return LFS_TAR_FAST_NO;
			long_link_set = true;
			break;
		}
		pos += BLOCK + padded;
	}
	m->hdr_len = pos + BLOCK;
	own = p + pos;
	r = own_header(own, st->pax, &x, long_name_set, long_link_set, m,
		       name, link);
	if (r != LFS_TAR_FAST_OK)
		return r;
	/* libarchive's state after the member: a GNU or v7 header ends pax,
	 * a ustar one keeps it; type '0' allows sparse records for good. */
	ustar = memcmp(own + MAGIC, "ustar  \0", 8) != 0 &&
		memcmp(own + MAGIC, "ustar", 5) == 0;
	st->pax = ustar && (st->pax || m->pax);
	st->sparse_allowed |= own[TYPEFLAG] == '0';
	return r;
}

/* libarchive's validate_number_field(): base-256, or blanks, octal
 * digits, then blanks or NULs. */
static bool number_field_ok(const uint8_t *f, size_t n)
{
	size_t i = 0;

	if (f[0] == 0x80 || f[0] == 0xff || f[0] == 0)
		return true;
	while (i < n && f[i] == ' ')
		i++;
	while (i < n && f[i] >= '0' && f[i] <= '7')
		i++;
	for (; i < n; i++) {
		if (f[i] != ' ' && f[i] != 0)
			return false;
	}
	return true;
}

bool lfs_tar_fast_starts_tar(const uint8_t *h)
{
	uint8_t t = h[TYPEFLAG];

	if (zero_block(h))
		return true;
	if (!checksum_ok(h))
		return false;
	if (t != 0 && !(t >= '0' && t <= '9') && !(t >= 'A' && t <= 'Z') &&
	    !(t >= 'a' && t <= 'z'))
		return false;
	return number_field_ok(h + MODE_OFF, ID_LEN) &&
	       number_field_ok(h + UID_OFF, ID_LEN) &&
	       number_field_ok(h + GID_OFF, ID_LEN) &&
	       number_field_ok(h + MTIME_OFF, NUM_LEN) &&
	       number_field_ok(h + SIZE_OFF, NUM_LEN) &&
	       number_field_ok(h + DEVMAJOR_OFF, ID_LEN) &&
	       number_field_ok(h + DEVMINOR_OFF, ID_LEN);
}

/* Octal @v into a @n-byte field, NUL-terminated. */
static void put_octal(uint8_t *f, size_t n, unsigned long v)
{
	f[--n] = '\0';
	while (n-- > 0) {
		f[n] = (uint8_t)('0' + (v & 7));
		v >>= 3;
	}
}

/* One header block of type @type naming @name, size 0. */
static void lead_block(uint8_t *block, char type, const char *name)
{
	unsigned long sum = 0;

	memset(block, 0, BLOCK);
	memcpy(block, name, strlen(name));
	put_octal(block + MODE_OFF, ID_LEN, 0644);
	put_octal(block + UID_OFF, ID_LEN, 0);
	put_octal(block + GID_OFF, ID_LEN, 0);
	put_octal(block + SIZE_OFF, NUM_LEN, 0);
	put_octal(block + MTIME_OFF, NUM_LEN, 0);
	block[TYPEFLAG] = (uint8_t)type;
	memcpy(block + MAGIC, "ustar\0" "00", 8);
	put_octal(block + DEVMAJOR_OFF, ID_LEN, 0);
	put_octal(block + DEVMINOR_OFF, ID_LEN, 0);
	memset(block + CHKSUM, ' ', 8);
	for (size_t i = 0; i < BLOCK; i++)
		sum += block[i];
	put_octal(block + CHKSUM, 7, sum);
	block[CHKSUM + 7] = ' ';
}

size_t lfs_tar_fast_lead(const struct lfs_tar_state *st,
			 uint8_t out[LFS_TAR_FAST_LEAD_MAX])
{
	size_t n = 0;

	if (st->pax) {
		lead_block(out, 'g', "layerfs-lead");
		n += BLOCK;
	}
	lead_block(out + n, st->sparse_allowed ? '0' : '5', "layerfs-lead");
	return n + BLOCK;
}
