/* Write seed inputs for the fuzz targets (tests/fuzz/), in the form each
 * target reads (see the head of each fuzz_TARGET.c):
 *
 *   mkseeds OUTDIR
 *
 * writes OUTDIR/TARGET/NAME for every target: index files written by the
 * project's own writer, with gzip access points and zstd frames; tar
 * streams of libarchive's formats (the GNU tar and hand-made dialects are
 * added by scripts/fuzz --seeds); gzip, zstd and plain blobs with many
 * blocks, members and frames, and access points as input; OCI and
 * docker-archive documents; -o strings.  scripts/fuzz merges what adds
 * coverage into tests/fuzz/corpus/. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>
#include <zstd.h>

#include "layerfs/decomp.h"
#include "layerfs/index_file.h"
#include "layerfs/seek_index.h"

static const char *out_dir;

static G_GNUC_NORETURN void die(const char *what)
{
	fprintf(stderr, "mkseeds: %s: %s\n", what, g_strerror(errno));
	exit(1);
}

static void put(const char *target, const char *name, const void *data,
		size_t len)
{
	g_autofree char *dir = g_build_filename(out_dir, target, NULL);
	g_autofree char *path = g_build_filename(dir, name, NULL);

	if (g_mkdir_with_parents(dir, 0755) < 0 ||
	    !g_file_set_contents(path, data, (gssize)len, NULL))
		die(path);
}

static void put_str(const char *target, const char *name, const char *s)
{
	put(target, name, s, strlen(s));
}

/* A mode byte, then @data. */
static void put_mode(const char *target, const char *name, uint8_t mode,
		     const void *data, size_t len)
{
	g_autofree uint8_t *buf = g_malloc(len + 1);

	buf[0] = mode;
	memcpy(buf + 1, data, len);
	put(target, name, buf, len + 1);
}

/* Text that compresses some: words from a small list. */
static GByteArray *text(size_t len, uint32_t seed)
{
	static const char *const words[] = { "layer ", "index ", "tar ",
					     "gzip ", "\n", "zstd ", "mount " };
	GByteArray *b = g_byte_array_new();

	while (b->len < len) {
		const char *w;

		seed = seed * 1103515245u + 12345u;
		w = words[(seed >> 16) % G_N_ELEMENTS(words)];
		g_byte_array_append(b, (const guint8 *)w, (guint)strlen(w));
	}
	g_byte_array_set_size(b, (guint)len);
	return b;
}

/* ---- compressed blobs ------------------------------------------------- */

/* gzip of @in, a full flush every @every bytes (many small blocks, each a
 * place for an access point); @members gzip members back to back. */
static GByteArray *gzip(const GByteArray *in, size_t every, int members)
{
	GByteArray *out = g_byte_array_new();
	size_t per = (in->len + members - 1) / members;

	for (int m = 0; m < members; m++) {
		size_t from = m * per, to = MIN(in->len, from + per);
		z_stream z = { 0 };
		uint8_t buf[1 << 16];
		int r;

		deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8,
			     Z_DEFAULT_STRATEGY);
		for (size_t at = from; at <= to; at += every) {
			size_t n = MIN(every, to - at);
			bool last = at + every > to;

			z.next_in = in->data + at;
			z.avail_in = (uInt)n;
			do {
				z.next_out = buf;
				z.avail_out = sizeof(buf);
				r = deflate(&z, last ? Z_FINISH
						     : Z_FULL_FLUSH);
				g_byte_array_append(out, buf,
						    sizeof(buf) - z.avail_out);
			} while (z.avail_out == 0 ||
				 (last && r != Z_STREAM_END));
			if (last)
				break;
		}
		deflateEnd(&z);
	}
	return out;
}

/* zstd of @in in frames of @every bytes. */
static GByteArray *zstd(const GByteArray *in, size_t every)
{
	GByteArray *out = g_byte_array_new();

	for (size_t at = 0; at < in->len; at += every) {
		size_t n = MIN(every, in->len - at);
		size_t cap = ZSTD_compressBound(n);
		guint old = out->len;

		g_byte_array_set_size(out, old + (guint)cap);
		n = ZSTD_compress(out->data + old, cap, in->data + at, n, 3);
		g_byte_array_set_size(out, old + (guint)n);
	}
	return out;
}

/* ---- tar streams ------------------------------------------------------ */

static la_ssize_t write_cb(struct archive *a, void *ctx, const void *buf,
			   size_t len)
{
	(void)a;
	g_byte_array_append(ctx, buf, (guint)len);
	return (la_ssize_t)len;
}

struct member {
	const char *path;
	int type;
	const char *data;
	const char *link;
	bool hard;
	bool xattr;
	bool sparse;
};

/* A small layer of every kind of member, in @format. */
static GByteArray *tar(int format, bool small)
{
	static const struct member all[] = {
		{ "etc", AE_IFDIR },
		{ "etc/hostname", AE_IFREG, "layer\n" },
		{ "etc/motd", AE_IFREG, "hello\n", NULL, false, true },
		{ "etc/link", AE_IFLNK, NULL, "hostname" },
		{ "etc/hard", AE_IFREG, NULL, "etc/hostname", true },
		{ "dev/null", AE_IFCHR },
		{ "run/fifo", AE_IFIFO },
		{ "var/lib/.wh.gone", AE_IFREG, "" },
		{ "opt/.wh..wh..opq", AE_IFREG, "" },
		{ "usr/share/doc/a-rather-long-directory-name-to-go-past-the-"
		  "hundred-bytes-of-ustar/file",
		  AE_IFREG, "long\n" },
		{ "sparse", AE_IFREG, NULL, NULL, false, false, true },
	};
	GByteArray *out = g_byte_array_new();
	struct archive *a = archive_write_new();
	size_t n = small ? 4 : G_N_ELEMENTS(all);

	archive_write_set_format(a, format);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open(a, out, NULL, write_cb, NULL);
	for (size_t i = 0; i < n; i++) {
		const struct member *m = &all[i];
		struct archive_entry *e = archive_entry_new();
		size_t len = m->data ? strlen(m->data) : 0;

		archive_entry_set_pathname(e, m->path);
		archive_entry_set_filetype(e, (unsigned int)m->type);
		archive_entry_set_perm(e, m->type == AE_IFDIR ? 0755 : 0644);
		archive_entry_set_mtime(e, 1700000000, 500000000);
		archive_entry_set_uid(e, 1000);
		archive_entry_set_gid(e, 1000);
		if (m->type == AE_IFCHR)
			archive_entry_set_rdev(e, makedev(1, 3));
		if (m->link && m->hard)
			archive_entry_set_hardlink(e, m->link);
		else if (m->link)
			archive_entry_set_symlink(e, m->link);
		if (m->xattr)
			archive_entry_xattr_add_entry(e, "user.note", "v", 1);
		if (m->sparse) {
			/* 2 KiB with two data runs. */
			archive_entry_sparse_add_entry(e, 0, 256);
			archive_entry_sparse_add_entry(e, 1024, 256);
			archive_entry_set_size(e, 2048);
		} else if (m->type == AE_IFREG && !m->hard) {
			archive_entry_set_size(e, (la_int64_t)len);
		}
		if (archive_write_header(a, e) == ARCHIVE_OK) {
			if (m->sparse) {
				static char run[256];

				memset(run, 's', sizeof(run));
				archive_write_data(a, run, sizeof(run));
				archive_write_data(a, run, sizeof(run));
			} else if (len) {
				archive_write_data(a, m->data, len);
			}
		}
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	return out;
}

static void tar_seeds(void)
{
	static const struct {
		const char *name;
		int format;
	} formats[] = {
		{ "pax", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED },
		{ "ustar", ARCHIVE_FORMAT_TAR_USTAR },
		{ "gnutar", ARCHIVE_FORMAT_TAR_GNUTAR },
		{ "v7", ARCHIVE_FORMAT_TAR },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
		g_autoptr(GByteArray) t = tar(formats[i].format, false);
		g_autofree char *name = g_strdup_printf("lib-%s",
							formats[i].name);

		/* Whole, and cut into 511-byte chunks (mode 4). */
		put_mode("tar", name, 0, t->data, t->len);
		if (i == 0) {
			put_mode("tar", "lib-pax-chunked", 4, t->data,
				 t->len);
		}
	}
}

/* ---- index files ------------------------------------------------------ */

/* The access points of one pass over @stored, recorded into @ix. */
static void record(const GByteArray *stored, uint64_t span,
		   struct lfs_index *ix, uint64_t *tar_size)
{
	struct lfs_blob *blob;
	struct lfs_decomp *d;
	struct lfs_seek_recorder *rec = lfs_seek_recorder_new(span);
	g_autofree char *path = g_build_filename(out_dir, "tmp.blob", NULL);
	uint8_t buf[4096];
	const char *why;

	if (!g_file_set_contents(path, (const char *)stored->data,
				 stored->len, NULL) ||
	    lfs_blob_open_file(path, 0, LFS_LENGTH_TO_EOF, &blob) < 0 ||
	    lfs_decomp_new(blob, LFS_COMP_DETECT, NULL, &d, &why) < 0)
		die("recording access points");
	lfs_decomp_record(d, rec);
	while (lfs_decomp_read(d, buf, sizeof(buf)) > 0)
		;
	*tar_size = lfs_decomp_out_bytes(d);
	lfs_decomp_free(d);
	lfs_blob_close(blob);
	unlink(path);
	lfs_seek_recorder_finish(rec, ix);
	lfs_seek_recorder_free(rec);
}

static struct lfs_scan_entry entry(enum lfs_etype type, uint64_t data,
				   uint64_t size)
{
	struct lfs_scan_entry e = { .type = type, .mode = 0644,
				    .mtime_sec = 1700000000, .data = data,
				    .size = size };

	return e;
}

/* A builder holding every kind of record. */
static struct lfs_index_builder *every_record(void)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry d = entry(LFS_T_DIR, 0, 0);
	struct lfs_scan_entry f = entry(LFS_T_REG, 512, 100);
	struct lfs_scan_entry sp = entry(LFS_T_REG, 0, 8192);
	struct lfs_scan_entry l = entry(LFS_T_LNK, 0, 0);
	struct lfs_scan_entry h = entry(LFS_T_HARDLINK, 0, 0);
	struct lfs_scan_entry x = entry(LFS_T_HARDLINK, 0, 0);
	struct lfs_scan_entry c = entry(LFS_T_CHR, 0, 0);
	struct lfs_scan_xattr xa[] = { { "user.a", "1", 1 },
				       { "trusted.overlay.opaque", "y", 1 } };
	struct lfs_index_extent ext[] = { { 0, 1024, 10 },
					  { 4096, 2048, 20 } };

	f.xattrs = xa;
	f.nxattrs = 2;
	sp.sparse = true;
	sp.extents = ext;
	sp.nextents = 2;
	l.target = "../target";
	h.target = "etc/f";
	x.target = "lower/file";
	c.rdev = makedev(1, 3);
	lfs_index_builder_add(b, "etc", &d);
	lfs_index_builder_add(b, "etc/f", &f);
	lfs_index_builder_add(b, "etc/sparse", &sp);
	lfs_index_builder_add(b, "etc/link", &l);
	lfs_index_builder_add(b, "hl", &h);
	lfs_index_builder_add(b, "xl", &x);
	lfs_index_builder_add(b, "dev/null", &c);
	lfs_index_builder_whiteout(b, "gone");
	lfs_index_builder_opaque(b, "etc");
	lfs_index_builder_add(b, "implied/dir/f", &f);
	lfs_index_builder_add(b, "lnk2", &l);
	return b;
}

/* The index of @b with the access points and checksums of one pass over
 * @stored; *tar_size is the pass's. */
static struct lfs_index *with_points(struct lfs_index_builder *b,
				     const GByteArray *stored,
				     uint64_t *tar_size)
{
	struct lfs_index *seek = g_new0(struct lfs_index, 1);
	struct lfs_index *ix;

	record(stored, 600, seek, tar_size);
	ix = lfs_index_builder_finish_seek(b, NULL, "seed", seek);
	lfs_index_free(seek);
	return ix;
}

static void write_index(const char *name, struct lfs_index *ix,
			const struct lfs_index_meta *meta)
{
	g_autofree char *dir = g_build_filename(out_dir, "index_file", NULL);
	int fd;

	if (g_mkdir_with_parents(dir, 0755) < 0)
		die(dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || lfs_index_file_write(fd, name, ix, meta) < 0)
		die(name);
	close(fd);
}

static void index_seeds(void)
{
	g_autoptr(GByteArray) plain = text(3000, 1);
	g_autoptr(GByteArray) gz = gzip(plain, 600, 1);
	g_autoptr(GByteArray) zs = zstd(plain, 1000);
	struct lfs_index_meta meta = {
		.blob = { 1, 2, 3, 4, 5, 6, 7, 0, 9 },
		.stored_size = 8192,
		.tar_size = 10240,
		.compression = LFS_COMP_NONE,
		.has_digest = true,
	};
	struct lfs_index_builder *b = every_record();
	struct lfs_index *ix = lfs_index_builder_finish(b, NULL, "seed");

	lfs_digest_parse("sha256:0123456789abcdef0123456789abcdef"
			 "0123456789abcdef0123456789abcdef",
			 &meta.digest);
	write_index("plain", ix, &meta);
	meta.has_digest = false;
	write_index("no-digest", ix, &meta);
	meta.has_digest = true;
	meta.compression = LFS_COMP_GZIP;
	meta.stored_size = gz->len;
	/* The checksums cover the stream: its size is the pass's. */
	lfs_index_free(ix);
	ix = with_points(b, gz, &meta.tar_size);
	write_index("gzip", ix, &meta);
	meta.compression = LFS_COMP_ZSTD;
	meta.stored_size = zs->len;
	lfs_index_free(ix);
	ix = with_points(b, zs, &meta.tar_size);
	write_index("zstd", ix, &meta);
	lfs_index_free(ix);
	lfs_index_builder_free(b);
}

/* ---- blobs for the seek target ---------------------------------------- */

static void seek_seeds(void)
{
	g_autoptr(GByteArray) plain = text(4000, 2);
	g_autoptr(GByteArray) gz = gzip(plain, 500, 1);
	g_autoptr(GByteArray) gz3 = gzip(plain, 700, 3);
	g_autoptr(GByteArray) zs = zstd(plain, 900);
	g_autoptr(GByteArray) points = g_byte_array_new();
	struct lfs_index ix = { 0 };
	uint64_t total;
	uint8_t n;

	put_mode("seek", "gzip-blocks", 0, gz->data, gz->len);
	put_mode("seek", "gzip-members", 0, gz3->data, gz3->len);
	put_mode("seek", "gzip-damaged", 2, gz->data, gz->len);
	put_mode("seek", "zstd-frames", 0, zs->data, zs->len);
	put_mode("seek", "zstd-damaged", 2, zs->data, zs->len);
	put_mode("seek", "plain", 0, plain->data, 200);

	/* Mode 1: recorded points as input, then the blob. */
	record(gz, 1000, &ix, &total);
	n = (uint8_t)MIN(ix.ncheckpoints, 7u);
	g_byte_array_append(points, &(uint8_t){ 1 }, 1);
	g_byte_array_append(points, &n, 1);
	for (uint32_t i = 0; i < n; i++) {
		const struct lfs_index_checkpoint *cp = &ix.checkpoints[i];
		uint32_t out = (uint32_t)cp->out, in = (uint32_t)cp->in;
		uint8_t bits = (uint8_t)cp->bits;
		uint16_t dict = (uint16_t)cp->dict_len;
		uint16_t win = (uint16_t)cp->window;
		uint16_t wlen = (uint16_t)cp->window_len;

		g_byte_array_append(points, (guint8 *)&out, 4);
		g_byte_array_append(points, (guint8 *)&in, 4);
		g_byte_array_append(points, &bits, 1);
		g_byte_array_append(points, (guint8 *)&dict, 2);
		g_byte_array_append(points, (guint8 *)&win, 2);
		g_byte_array_append(points, (guint8 *)&wlen, 2);
	}
	{
		uint16_t wl = (uint16_t)MIN(ix.windows_len, 65535u);
		uint32_t t = (uint32_t)total;
		uint32_t offs[4] = { 0, 1500, 3999, 2500 };

		g_byte_array_append(points, (guint8 *)&wl, 2);
		g_byte_array_append(points, ix.windows, wl);
		g_byte_array_append(points, (guint8 *)&t, 4);
		g_byte_array_append(points, (guint8 *)offs, sizeof(offs));
	}
	g_byte_array_append(points, gz->data, gz->len);
	put("seek", "gzip-points", points->data, points->len);
	g_free(ix.checkpoints);
	g_free(ix.windows);
	g_free(ix.frames);
	g_free(ix.sums);
}

/* ---- documents -------------------------------------------------------- */

#define SEP "\n----\n"

static void oci_seeds(void)
{
	static const char index[] =
		"{\"schemaVersion\": 2, \"manifests\": [{\"mediaType\": "
		"\"application/vnd.oci.image.manifest.v1+json\", \"digest\": "
		"\"$M\", \"size\": $m, \"annotations\": "
		"{\"org.opencontainers.image.ref.name\": \"latest\"}, "
		"\"platform\": {\"os\": \"linux\", \"architecture\": "
		"\"amd64\"}}]}";
	static const char manifest[] =
		"{\"schemaVersion\": 2, \"mediaType\": "
		"\"application/vnd.oci.image.manifest.v1+json\", \"config\": "
		"{\"mediaType\": \"application/vnd.oci.image.config.v1+json\", "
		"\"digest\": \"$C\", \"size\": $c}, \"layers\": [{"
		"\"mediaType\": \"application/vnd.oci.image.layer.v1.tar\", "
		"\"digest\": \"$L\", \"size\": $l}]}";
	static const char config[] =
		"{\"architecture\": \"amd64\", \"os\": \"linux\", \"rootfs\": "
		"{\"type\": \"layers\", \"diff_ids\": [\"$L\"]}}";
	static const char multi[] =
		"{\"schemaVersion\": 2, \"manifests\": ["
		"{\"digest\": \"$M\", \"size\": $m, \"platform\": {\"os\": "
		"\"linux\", \"architecture\": \"arm\", \"variant\": \"v7\"}},"
		"{\"digest\": \"$M\", \"size\": $m, \"platform\": {\"os\": "
		"\"linux\", \"architecture\": \"arm64\"}}]}";
	static const char nested[] =
		"{\"schemaVersion\": 2, \"mediaType\": "
		"\"application/vnd.oci.image.index.v1+json\", \"manifests\": ["
		"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\","
		" \"digest\": \"$L\", \"size\": $l}]}";
	g_autofree char *full = g_strjoin(SEP, index, manifest, config,
					  "{\"imageLayoutVersion\": \"1.0.0\"}",
					  "latest linux/amd64", NULL);
	g_autofree char *plat = g_strjoin(SEP, multi, manifest, config, "",
					  "- linux/arm/v8", NULL);
	g_autofree char *nest = g_strjoin(SEP, index, nested, config, NULL);

	put_str("oci", "layout", full);
	put_str("oci", "platforms", plat);
	put_str("oci", "nested", nest);
	put_str("oci", "index-alone", index);
}

/* A whole docker-archive, as `docker save` lays one out. */
static GByteArray *docker_raw(void)
{
	static const char layer[1024];
	g_autofree char *lhex = g_compute_checksum_for_data(
		G_CHECKSUM_SHA256, (const guchar *)layer, sizeof(layer));
	g_autofree char *config = g_strdup_printf(
		"{\"os\": \"linux\", \"architecture\": \"amd64\", "
		"\"rootfs\": {\"type\": \"layers\", \"diff_ids\": "
		"[\"sha256:%s\"]}}",
		lhex);
	g_autofree char *chex = g_compute_checksum_for_data(
		G_CHECKSUM_SHA256, (const guchar *)config, strlen(config));
	g_autofree char *manifest = g_strdup_printf(
		"[{\"Config\": \"%s.json\", \"RepoTags\": [\"x:1\"], "
		"\"Layers\": [\"%s/layer.tar\"]}]",
		chex, lhex);
	g_autofree char *cname = g_strconcat(chex, ".json", NULL);
	g_autofree char *lname = g_strconcat(lhex, "/layer.tar", NULL);
	const struct {
		const char *name;
		const void *data;
		size_t len;
	} members[] = {
		{ lname, layer, sizeof(layer) },
		{ cname, config, strlen(config) },
		{ "manifest.json", manifest, strlen(manifest) },
	};
	GByteArray *out = g_byte_array_new();
	struct archive *a = archive_write_new();

	archive_write_set_format(a, ARCHIVE_FORMAT_TAR_USTAR);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open(a, out, NULL, write_cb, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(members); i++) {
		struct archive_entry *e = archive_entry_new();

		archive_entry_set_pathname(e, members[i].name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)members[i].len);
		archive_write_header(a, e);
		archive_write_data(a, members[i].data, members[i].len);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	return out;
}

static void docker_seeds(void)
{
	static const char manifest[] =
		"[{\"Config\": \"$C.json\", \"RepoTags\": "
		"[\"busybox:latest\"], \"Layers\": [\"layer.tar\", "
		"\"blobs/sha256/$L\"]}]";
	static const char two[] =
		"[{\"Config\": \"config.json\", \"RepoTags\": [\"a:1\"], "
		"\"Layers\": [\"l/layer.tar\"]}, {\"Config\": "
		"\"blobs/sha256/$C\", \"RepoTags\": "
		"[\"docker.io/library/b:2\"], \"Layers\": [\"x/../layer.tar\"]}]";
	static const char config[] =
		"{\"os\": \"linux\", \"architecture\": \"amd64\", \"rootfs\": "
		"{\"type\": \"layers\", \"diff_ids\": [\"sha256:$L\"]}}";
	static const char config2[] =
		"{\"os\": \"linux\", \"architecture\": \"amd64\", \"rootfs\": "
		"{\"type\": \"layers\", \"diff_ids\": [\"sha256:$L\", "
		"\"sha256:$L\"]}}";
	g_autofree char *one = g_strjoin(SEP, manifest, config2, "", "-",
					 NULL);
	g_autofree char *links = g_strjoin(SEP, two, config,
					   "D l\nS l/layer.tar ../layer.tar\n"
					   "H m/h layer.tar\nF extra",
					   "b:2", NULL);
	g_autoptr(GByteArray) raw = docker_raw();

	put_mode("docker_archive", "one-image", 0, one, strlen(one));
	put_mode("docker_archive", "links", 0, links, strlen(links));
	put_mode("docker_archive", "raw", 1, raw->data, raw->len);
}

static void options_seeds(void)
{
	static const char *const opts[] = {
		"ro,allow_other,default_permissions",
		"cache_dir=/var/cache/x,platform=linux/arm64,threads=4,"
		"span=1M",
		"handles=8,prefetch=unpack,meta_cache=64K,readahead=128K,"
		"nosplice",
		"upper=/u,work=/w,metacopy=off,volatile,userxattr",
		"lowerdir=/l/c:/l/b\\:x:/l/a,upperdir=/u,workdir=/w,"
		"redirect_dir=on,index=off,xino=auto",
		"uidmapping=0:1000:1:1:100000:65536,gidmapping=0:1000:1,"
		"squash_to_uid=5,squash_to_root",
		"noxattrs=1,fsync=0,static_nlink,xattr_permissions=2,"
		"timeout=1.5",
		"defaults,noauto,x-systemd.automount,comment=a\\,b,suid,dev",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
		g_autofree char *name = g_strdup_printf("o%zu", i);

		put_str("options", name, opts[i]);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds OUTDIR\n");
		return 2;
	}
	out_dir = argv[1];
	tar_seeds();
	index_seeds();
	seek_seeds();
	oci_seeds();
	docker_seeds();
	options_seeds();
	return 0;
}
