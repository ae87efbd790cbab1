/* Test fixtures (see fixtures.h). */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <zlib.h>
#include <zstd.h>

#include "fixtures.h"

struct fx_tar {
	struct archive *a;
	GByteArray *out;
};

static la_ssize_t mem_write(struct archive *a, void *ctx, const void *buf,
			    size_t len)
{
	struct fx_tar *t = ctx;

	(void)a;
	g_byte_array_append(t->out, buf, (guint)len);
	return (la_ssize_t)len;
}

struct fx_tar *fx_tar_new(int format)
{
	struct fx_tar *t = g_new0(struct fx_tar, 1);

	t->out = g_byte_array_new();
	t->a = archive_write_new();
	g_assert(archive_write_set_format(t->a, format) == ARCHIVE_OK);
	/* No padding to 10 KiB: keep fixtures small and exact. */
	archive_write_set_bytes_per_block(t->a, 512);
	g_assert(archive_write_open(t->a, t, NULL, mem_write, NULL) ==
		 ARCHIVE_OK);
	return t;
}

static void set_data_size(struct archive_entry *ae, const struct fx_entry *e,
			  size_t *len)
{
	*len = e->data ? (e->len ? e->len : strlen(e->data)) : 0;
	archive_entry_set_size(ae, (la_int64_t)*len);
	for (const uint64_t *s = e->sparse; s && (s[0] || s[1]); s += 2)
		archive_entry_sparse_add_entry(ae, (la_int64_t)s[0],
					       (la_int64_t)s[1]);
}

void fx_tar_add(struct fx_tar *t, const struct fx_entry *e)
{
	struct archive_entry *ae = archive_entry_new();
	int type = e->type ? e->type : (int)AE_IFREG;
	size_t len = 0;
	int r;

	archive_entry_set_pathname(ae, e->path);
	archive_entry_set_filetype(ae, (unsigned int)type);
	archive_entry_set_perm(ae, e->mode ? e->mode
				   : type == AE_IFDIR ? 0755u
						      : 0644u);
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_gid(ae, e->gid);
	archive_entry_set_mtime(ae, e->mtime ? e->mtime : FX_MTIME,
				e->mtime_nsec);
	if (e->hardlink) {
		archive_entry_set_hardlink(ae, e->hardlink);
		archive_entry_set_size(ae, 0);
	} else if (type == AE_IFREG) {
		set_data_size(ae, e, &len);
	}
	if (e->link)
		archive_entry_set_symlink(ae, e->link);
	if (type == AE_IFCHR || type == AE_IFBLK)
		archive_entry_set_rdev(ae, makedev(e->rmajor, e->rminor));
	if (e->xattr)
		archive_entry_xattr_add_entry(ae, e->xattr, e->xattr_value,
					      strlen(e->xattr_value));
	for (const char *const *x = e->xattrs; x && *x; x += 2)
		archive_entry_xattr_add_entry(ae, x[0], x[1], strlen(x[1]));
	/* ARCHIVE_WARN: a name the C locale cannot convert, written as raw
	 * bytes (pax hdrcharset=BINARY) - what the tests want. */
	r = archive_write_header(t->a, ae);
	g_assert(r == ARCHIVE_OK || r == ARCHIVE_WARN);
	if (len)
		g_assert(archive_write_data(t->a, e->data, len) ==
			 (la_ssize_t)len);
	archive_entry_free(ae);
}

void fx_tar_file(struct fx_tar *t, const char *path, const char *data)
{
	struct fx_entry e = { .path = path, .data = data };

	fx_tar_add(t, &e);
}

void fx_tar_dir(struct fx_tar *t, const char *path)
{
	struct fx_entry e = { .path = path, .type = AE_IFDIR };

	fx_tar_add(t, &e);
}

GBytes *fx_tar_finish(struct fx_tar *t)
{
	GBytes *b;

	g_assert(archive_write_close(t->a) == ARCHIVE_OK);
	archive_write_free(t->a);
	b = g_byte_array_free_to_bytes(t->out);
	g_free(t);
	return b;
}

void fx_raw_block(GByteArray *t, const char *name, char typeflag,
		  const void *body, size_t len)
{
	guint8 h[512] = { 0 };
	guint8 pad[512] = { 0 };
	unsigned int sum = 0;

	g_assert(strlen(name) < 100);
	memcpy(h, name, strlen(name));
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011zo", len);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = (guint8)typeflag;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	g_byte_array_append(t, h, sizeof(h));
	if (len > 0) {
		g_byte_array_append(t, body, (guint)len);
		g_byte_array_append(t, pad, (guint)((512 - len % 512) % 512));
	}
}

/* Append the record "LEN key=value\n" to @rec, where LEN counts its own
 * digits. */
static void pax_record(GByteArray *rec, const struct fx_pax_rec *r)
{
	size_t vlen = r->vlen ? r->vlen : strlen(r->value);
	size_t rest = 1 + strlen(r->key) + 1 + vlen + 1;
	size_t len = rest + 1;
	char digits[32];

	while (len != rest + (size_t)snprintf(digits, sizeof(digits), "%zu",
					      len))
		len = rest + strlen(digits);
	g_byte_array_append(rec, (const guint8 *)digits, (guint)strlen(digits));
	g_byte_array_append(rec, (const guint8 *)" ", 1);
	g_byte_array_append(rec, (const guint8 *)r->key, (guint)strlen(r->key));
	g_byte_array_append(rec, (const guint8 *)"=", 1);
	g_byte_array_append(rec, r->value, (guint)vlen);
	g_byte_array_append(rec, (const guint8 *)"\n", 1);
}

void fx_raw_paxv(GByteArray *t, const struct fx_pax_rec *recs, size_t n)
{
	GByteArray *body = g_byte_array_new();

	for (size_t i = 0; i < n; i++)
		pax_record(body, &recs[i]);
	fx_raw_block(t, "PaxHeader", 'x', body->data, body->len);
	g_byte_array_unref(body);
}

void fx_raw_pax(GByteArray *t, const char *key, const void *value,
		size_t vlen)
{
	GByteArray *body = g_byte_array_new();
	struct fx_pax_rec r = { key, value, vlen };

	/* An empty value, which the 0 of fx_pax_rec cannot say. */
	if (vlen == 0)
		r.value = "";
	pax_record(body, &r);
	fx_raw_block(t, "PaxHeader", 'x', body->data, body->len);
	g_byte_array_unref(body);
}

/* An octal field of 11 digits and a NUL. */
static void octal11(guint8 *f, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%011llo",
		 (unsigned long long)(v & UINT64_C(077777777777)));
	memcpy(f, buf, 12);
}

void fx_raw_checksum(guint8 *h)
{
	unsigned int sum = 0;

	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

void fx_raw_mode(GByteArray *t, size_t at, unsigned int mode)
{
	char buf[16];

	g_assert(at + 512 <= t->len);
	snprintf(buf, sizeof(buf), "%07o", mode & 07777);
	memcpy(t->data + at + 100, buf, 8);
	fx_raw_checksum(t->data + at);
}

void fx_raw_oldgnu(GByteArray *t, size_t at, uint64_t realsize,
		   uint64_t sparse_off, uint64_t sparse_len)
{
	guint8 *h = t->data + at;

	g_assert(at + 512 <= t->len);
	memcpy(h + 257, "ustar  ", 8);
	if (realsize)
		octal11(h + 483, realsize);
	if (sparse_off || sparse_len) {
		octal11(h + 386, sparse_off);
		octal11(h + 398, sparse_len);
	}
	fx_raw_checksum(h);
}

void fx_raw_end(GByteArray *t)
{
	guint8 zero[1024] = { 0 };

	g_byte_array_append(t, zero, sizeof(zero));
}

GBytes *fx_noise(size_t len, uint32_t seed, unsigned int alphabet)
{
	guint8 *p = g_malloc(len);
	uint32_t x = seed ? seed : 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = alphabet ? (guint8)('a' + x % alphabet)
				: (guint8)(x >> 7);
	}
	return g_bytes_new_take(p, len);
}

GBytes *fx_gzip(GBytes *data)
{
	return fx_gzip_level(data, 6);
}

GBytes *fx_gzip_level(GBytes *data, int level)
{
	gsize len;
	const guint8 *in = g_bytes_get_data(data, &len);
	z_stream z = { 0 };
	gsize cap = compressBound((uLong)len) + 64;
	guint8 *out = g_malloc(cap);

	g_assert(deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8,
			      Z_DEFAULT_STRATEGY) == Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	g_assert(deflate(&z, Z_FINISH) == Z_STREAM_END);
	deflateEnd(&z);
	return g_bytes_new_take(out, z.total_out);
}

void fx_flip_byte(const char *path, long at, guint8 mask)
{
	FILE *fp = fopen(path, "r+");
	guint8 c;

	g_assert(fp);
	g_assert(fseek(fp, at, SEEK_SET) == 0);
	g_assert(fread(&c, 1, 1, fp) == 1);
	c ^= mask;
	g_assert(fseek(fp, at, SEEK_SET) == 0);
	g_assert(fwrite(&c, 1, 1, fp) == 1);
	g_assert(fclose(fp) == 0);
}

GBytes *fx_gunzip(GBytes *data)
{
	gsize len;
	const guint8 *in = g_bytes_get_data(data, &len);
	GByteArray *out = g_byte_array_new();
	guint8 buf[65536];
	z_stream z = { 0 };
	int r;

	g_assert(inflateInit2(&z, 15 + 16) == Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		r = inflate(&z, Z_NO_FLUSH);
		g_assert(r == Z_OK || r == Z_STREAM_END);
		g_byte_array_append(out, buf, sizeof(buf) - z.avail_out);
	} while (r != Z_STREAM_END);
	inflateEnd(&z);
	return g_byte_array_free_to_bytes(out);
}

GBytes *fx_zstd(GBytes *data)
{
	gsize len;
	const void *in = g_bytes_get_data(data, &len);
	size_t cap = ZSTD_compressBound(len);
	void *out = g_malloc(cap);
	size_t n = ZSTD_compress(out, cap, in, len, 3);

	g_assert(!ZSTD_isError(n));
	return g_bytes_new_take(out, n);
}

char *fx_tmpdir(void)
{
	g_autoptr(GError) error = NULL;
	char *dir = g_dir_make_tmp("layerfs-test-XXXXXX", &error);

	g_assert_no_error(error);
	return dir;
}

/* Remove everything in directory @fd, relative to descriptors, so trees
 * deeper than PATH_MAX (some tests make them) go too. */
static void rm_children(int fd)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;

	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		int sub;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		sub = openat(dirfd(d), de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (sub >= 0)
			rm_children(sub);
		unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

void fx_rmtree(const char *dir)
{
	int fd;

	if (!dir)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd >= 0)
		rm_children(fd);
	rmdir(dir);
}

char *fx_write(const char *dir, const char *name, GBytes *data)
{
	g_autoptr(GError) error = NULL;
	char *path = g_build_filename(dir, name, NULL);
	g_autofree char *parent = g_path_get_dirname(path);
	gsize len;
	const char *bytes = g_bytes_get_data(data, &len);

	g_assert(g_mkdir_with_parents(parent, 0755) == 0);
	g_file_set_contents(path, bytes, (gssize)len, &error);
	g_assert_no_error(error);
	return path;
}

char *fx_write_str(const char *dir, const char *name, const char *data)
{
	g_autoptr(GBytes) b = g_bytes_new(data, strlen(data));

	return fx_write(dir, name, b);
}

#define SP_RUNS 30
#define SP_HOLE_RUNS 9

static struct fx_run sp_runs[SP_RUNS], sp_hole_runs[SP_HOLE_RUNS];
static struct fx_sparse sparse_files[] = {
	{ "sp", 0, sp_runs, SP_RUNS },
	{ "sp-hole", 0, sp_hole_runs, SP_HOLE_RUNS },
};

const struct fx_sparse *fx_sparse_files(size_t *n)
{
	/* Runs of 1 to 4 blocks, spread over 2 MiB at uneven distances;
	 * the last, 700 bytes, ends the file. */
	for (unsigned int k = 0; k < SP_RUNS; k++) {
		sp_runs[k].off = 4096 + k * 65536ull + (k % 3) * 512;
		sp_runs[k].len = 512 * (1 + k % 4);
	}
	sp_runs[SP_RUNS - 1].len = 700;
	sparse_files[0].size = sp_runs[SP_RUNS - 1].off + 700;
	/* From offset 0, one run every 8 KiB, then 100000 bytes of hole. */
	for (unsigned int k = 0; k < SP_HOLE_RUNS; k++) {
		sp_hole_runs[k].off = k * 8192ull;
		sp_hole_runs[k].len = 1024 + 512 * (k % 2);
	}
	sparse_files[1].size = SP_HOLE_RUNS * 8192 + 100000;
	*n = G_N_ELEMENTS(sparse_files);
	return sparse_files;
}

uint8_t fx_sparse_byte(uint64_t off)
{
	return (uint8_t)(1 + (off * 7 + off / 251) % 255);
}

guint8 *fx_sparse_content(const struct fx_sparse *sp)
{
	guint8 *p = g_malloc0(sp->size);

	for (size_t i = 0; i < sp->nruns; i++) {
		for (uint64_t x = sp->runs[i].off;
		     x < sp->runs[i].off + sp->runs[i].len; x++)
			p[x] = fx_sparse_byte(x);
	}
	return p;
}

const char *fx_gnu_sparse_name(enum fx_gnu_sparse kind)
{
	static const char *const names[] = { "GNU old", "pax 0.0", "pax 0.1",
					     "pax 1.0" };

	return names[kind];
}

/* Write @sp into @dir; false if the file system cannot hold it or stored
 * it without holes (GNU tar then archives it as a plain file). */
static bool write_sparse(const char *dir, const struct fx_sparse *sp)
{
	g_autofree char *path = g_build_filename(dir, sp->name, NULL);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	struct stat st;

	g_assert(fd >= 0);
	g_assert(fchmod(fd, 0644) == 0);
	if (ftruncate(fd, (off_t)sp->size) < 0) {
		g_assert(errno == EFBIG || errno == EINVAL);
		close(fd);
		return false; /* too big for this file system */
	}
	for (size_t i = 0; i < sp->nruns; i++) {
		const struct fx_run *r = &sp->runs[i];
		g_autofree guint8 *run = g_malloc(r->len);

		for (uint64_t x = 0; x < r->len; x++)
			run[x] = fx_sparse_byte(r->off + x);
		g_assert(pwrite(fd, run, r->len, (off_t)r->off) ==
			 (ssize_t)r->len);
	}
	g_assert(fstat(fd, &st) == 0);
	close(fd);
	return (uint64_t)st.st_blocks * 512 < sp->size;
}

static bool have_gnu_tar(void)
{
	const char *argv[] = { "tar", "--version", NULL };
	g_autofree char *out = NULL;
	int status;

	return g_spawn_sync(NULL, (char **)argv, NULL,
			    G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
			    NULL, NULL, &out, NULL, &status, NULL) &&
	       g_spawn_check_wait_status(status, NULL) &&
	       strstr(out, "GNU tar");
}

GBytes *fx_gnu_sparse_tar(enum fx_gnu_sparse kind, const struct fx_sparse *sps,
			  size_t n, bool seek)
{
	static const char *const formats[][2] = {
		[FX_GNU_OLD] = { "--format=gnu", "--sparse" },
		[FX_GNU_PAX_00] = { "--format=pax", "--sparse-version=0.0" },
		[FX_GNU_PAX_01] = { "--format=pax", "--sparse-version=0.1" },
		[FX_GNU_PAX_10] = { "--format=pax", "--sparse-version=1.0" },
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) env = g_get_environ();
	g_autofree char *dir = fx_tmpdir();
	g_autofree char *out = g_build_filename(dir, "out.tar", NULL);
	g_autofree char *tar_err = NULL;
	g_autofree char *data = NULL;
	size_t len;
	int status;
	bool holes = true;

	if (!have_gnu_tar()) {
		fx_rmtree(dir);
		return NULL;
	}
	g_free(fx_write_str(dir, "files/plain", "plain\n"));
	{
		g_autofree char *files = g_build_filename(dir, "files", NULL);

		for (size_t i = 0; i < n; i++)
			holes = write_sparse(files, &sps[i]) && holes;
		g_ptr_array_add(argv, g_strdup("tar"));
		g_ptr_array_add(argv, g_strdup("--create"));
		g_ptr_array_add(argv, g_strdup_printf("--file=%s", out));
		g_ptr_array_add(argv, g_strdup_printf("--directory=%s", files));
	}
	if (!holes) {
		fx_rmtree(dir);
		return NULL;
	}
	g_ptr_array_add(argv, g_strdup(formats[kind][0]));
	g_ptr_array_add(argv, g_strdup(formats[kind][1]));
	/* Holes found by reading for zero blocks: the map then depends on
	 * the content only, not on the file system's block size. */
	g_ptr_array_add(argv, g_strdup(seek ? "--hole-detection=seek"
					    : "--hole-detection=raw"));
	g_ptr_array_add(argv, g_strdup("--owner=0"));
	g_ptr_array_add(argv, g_strdup("--group=0"));
	g_ptr_array_add(argv, g_strdup("--numeric-owner"));
	g_ptr_array_add(argv, g_strdup_printf("--mtime=@%d", FX_MTIME));
	if (kind != FX_GNU_OLD)
		g_ptr_array_add(argv,
				g_strdup("--pax-option=exthdr.name=%d/"
					 "PaxHeaders/%f,delete=atime,"
					 "delete=ctime"));
	for (size_t i = 0; i < n; i++)
		g_ptr_array_add(argv, g_strdup(sps[i].name));
	g_ptr_array_add(argv, g_strdup("plain"));
	g_ptr_array_add(argv, NULL);
	env = g_environ_setenv(env, "LC_ALL", "C", TRUE);
	env = g_environ_setenv(env, "TZ", "UTC", TRUE);
	g_spawn_sync(NULL, (char **)argv->pdata, env, G_SPAWN_SEARCH_PATH,
		     NULL, NULL, NULL, &tar_err, &status, &error);
	g_assert_no_error(error);
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("GNU tar (%s) failed: %s", fx_gnu_sparse_name(kind),
			tar_err);
	g_file_get_contents(out, &data, &len, &error);
	g_assert_no_error(error);
	fx_rmtree(dir);
	return g_bytes_new_take(g_steal_pointer(&data), len);
}

char *fx_sha256(GBytes *data)
{
	unsigned char md[32];
	gsize len;
	const void *in = g_bytes_get_data(data, &len);
	GString *s = g_string_new("sha256:");

	EVP_Digest(in, len, md, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		g_string_append_printf(s, "%02x", md[i]);
	return g_string_free(s, FALSE);
}

static void log_keep(void *ctx, enum lfs_log_level level, const char *msg)
{
	struct fx_log *l = ctx;

	(void)level;
	g_ptr_array_add(l->msgs, g_strdup(msg));
}

void fx_log_init(struct fx_log *l)
{
	l->lg.fn = log_keep;
	l->lg.ctx = l;
	l->lg.max_level = LFS_LOG_DEBUG;
	l->msgs = g_ptr_array_new_with_free_func(g_free);
}

void fx_log_clear(struct fx_log *l)
{
	g_clear_pointer(&l->msgs, g_ptr_array_unref);
}

bool fx_log_has(const struct fx_log *l, const char *needle)
{
	for (guint i = 0; i < l->msgs->len; i++) {
		if (strstr(l->msgs->pdata[i], needle))
			return true;
	}
	return false;
}

char *fx_oci_blob(const char *layout, GBytes *data)
{
	g_autofree char *digest = fx_sha256(data);
	g_autofree char *name = g_strconcat("blobs/sha256/",
					    digest + strlen("sha256:"), NULL);
	g_free(fx_write(layout, name, data));
	return g_steal_pointer(&digest);
}

char *fx_oci_blob_str(const char *layout, const char *data)
{
	g_autoptr(GBytes) b = g_bytes_new(data, strlen(data));

	return fx_oci_blob(layout, b);
}

struct fault_blob {
	struct lfs_blob base;
	struct lfs_blob *inner;
	struct fx_fault *f;
};

static ssize_t fault_pread(struct lfs_blob *b, void *buf, size_t len,
			   uint64_t off)
{
	struct fault_blob *fb = (struct fault_blob *)b;
	struct fx_fault *f = fb->f;

	if (g_atomic_int_get(&f->on) && len > 0 && off < f->off + f->len &&
	    f->off < off + len) {
		g_atomic_int_inc(&f->hits);
		return -EIO;
	}
	return lfs_blob_pread(fb->inner, buf, len, off);
}

static void fault_close(struct lfs_blob *b)
{
	struct fault_blob *fb = (struct fault_blob *)b;

	lfs_blob_close(fb->inner);
	g_free(fb);
}

static const struct lfs_blob_ops fault_ops = {
	.pread = fault_pread,
	.close = fault_close,
};

struct lfs_blob *fx_fault_blob(struct lfs_blob *inner, struct fx_fault *f)
{
	struct fault_blob *fb = g_new0(struct fault_blob, 1);

	fb->base.ops = &fault_ops;
	fb->base.size = inner->size;
	fb->inner = inner;
	fb->f = f;
	return &fb->base;
}
