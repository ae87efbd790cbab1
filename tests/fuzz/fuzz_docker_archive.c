/* Fuzz target: docker-archive tarballs (image/docker_archive.c): the
 * outer tar's headers, manifest.json, the config, links between members
 * followed inside the archive, and the choice of an image.
 *
 * Input: a mode byte, then
 *  - odd: the archive itself, as bytes;
 *  - even: up to four parts, separated by a line "----": manifest.json, a
 *    config, member lines, and a line "REF" ("-": none).  The harness
 *    writes the archive: manifest.json; the config as config.json, as
 *    HEX.json and as blobs/sha256/HEX (HEX its sha256, which "$C" in the
 *    manifest stands for); an empty layer as layer.tar and as
 *    blobs/sha256/LHEX ("$L", in the manifest and the config; the config
 *    is cut at a NUL); then one member per line: "D NAME" a
 *    directory, "F NAME" a file holding the config, "S NAME TARGET" a
 *    symlink, "H NAME TARGET" a hardlink. */
#include <errno.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "fuzz.h"
#include "layerfs/docker_archive.h"

#define SEP "\n----\n"
#define NPARTS 4

static const uint8_t layer[1024];

static la_ssize_t write_cb(struct archive *a, void *ctx, const void *buf,
			   size_t len)
{
	(void)a;
	g_byte_array_append(ctx, buf, (guint)len);
	return (la_ssize_t)len;
}

static void add(struct archive *a, const char *name, int type,
		const void *data, size_t len, const char *link, bool hard)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, (unsigned int)type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, type == AE_IFREG && !hard ? (la_int64_t)len
							    : 0);
	if (link && hard)
		archive_entry_set_hardlink(e, link);
	else if (link)
		archive_entry_set_symlink(e, link);
	/* Names libarchive's writer refuses (too long, say) are left out:
	 * what is left is still an archive. */
	if (archive_write_header(a, e) == ARCHIVE_OK && len && !link &&
	    type == AE_IFREG)
		archive_write_data(a, data, len);
	archive_entry_free(e);
}

static void add_lines(struct archive *a, const char *lines,
		      const char *config, size_t clen)
{
	g_auto(GStrv) v = g_strsplit(lines, "\n", 64);

	for (char **l = v; *l; l++) {
		g_auto(GStrv) w = g_strsplit(*l, " ", 3);

		if (g_strv_length(w) < 2 || !*w[1])
			continue;
		if (!strcmp(w[0], "D"))
			add(a, w[1], AE_IFDIR, NULL, 0, NULL, false);
		else if (!strcmp(w[0], "F"))
			add(a, w[1], AE_IFREG, config, clen, NULL, false);
		else if (w[2] && !strcmp(w[0], "S"))
			add(a, w[1], AE_IFLNK, NULL, 0, w[2], false);
		else if (w[2] && !strcmp(w[0], "H"))
			add(a, w[1], AE_IFREG, NULL, 0, w[2], true);
	}
}

/* @text with "$C" and "$L" replaced (g_free). */
static char *expand(const char *text, const char *chex, const char *lhex)
{
	g_auto(GStrv) c = g_strsplit(text, "$C", -1);
	g_autofree char *t = g_strjoinv(chex, c);
	g_auto(GStrv) l = g_strsplit(t, "$L", -1);

	return g_strjoinv(lhex, l);
}

static GByteArray *write_archive(char **parts, guint n)
{
	GByteArray *out = g_byte_array_new();
	struct archive *a = archive_write_new();
	g_autofree char *lhex = g_compute_checksum_for_data(
		G_CHECKSUM_SHA256, layer, sizeof(layer));
	/* The config may name the layer ("$L"), not itself. */
	g_autofree char *config = expand(n > 1 ? parts[1] : "", "", lhex);
	size_t clen = strlen(config);
	g_autofree char *chex = g_compute_checksum_for_data(
		G_CHECKSUM_SHA256, (const guchar *)config, clen);
	g_autofree char *manifest = expand(parts[0], chex, lhex);
	g_autofree char *cname = g_strconcat(chex, ".json", NULL);
	g_autofree char *cblob = g_strconcat("blobs/sha256/", chex, NULL);
	g_autofree char *lblob = g_strconcat("blobs/sha256/", lhex, NULL);

	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open(a, out, NULL, write_cb, NULL);
	add(a, "manifest.json", AE_IFREG, manifest, strlen(manifest), NULL,
	    false);
	add(a, "config.json", AE_IFREG, config, clen, NULL, false);
	add(a, cname, AE_IFREG, config, clen, NULL, false);
	add(a, cblob, AE_IFREG, config, clen, NULL, false);
	add(a, "layer.tar", AE_IFREG, layer, sizeof(layer), NULL, false);
	add(a, lblob, AE_IFREG, layer, sizeof(layer), NULL, false);
	if (n > 2)
		add_lines(a, parts[2], config, clen);
	archive_write_close(a);
	archive_write_free(a);
	return out;
}

static void open_archive(const void *data, size_t len, const char *ref)
{
	g_autofree char *path = fz_write("img.tar", data, len);
	g_autoptr(GError) error = NULL;
	struct lfs_image *img = NULL;

	if (lfs_docker_archive_open(path, ref, &img, &error)) {
		fz_note("image of %u layers", img->layers->len);
		lfs_image_free(img);
	} else if (!error || !error->message[0]) {
		fz_fail("refused without a reason");
	} else {
		fz_note("refused: %s", error->message);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *parts[NPARTS] = { 0 };
	size_t lens[NPARTS] = { 0 };
	g_autoptr(GByteArray) tar = NULL;
	g_autoptr(GPtrArray) imgs = NULL;
	g_auto(GStrv) ref = NULL;
	guint n;

	fz_init();
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		open_archive(data + 1, size - 1, NULL);
		fz_clean();
		return 0;
	}
	n = fz_split(data + 1, size - 1, SEP, NPARTS, parts, lens);
	lfs_docker_parse_manifest(parts[0], lens[0], "manifest.json", &imgs,
				  NULL);
	tar = write_archive(parts, n);
	ref = g_strsplit(n > 3 ? parts[3] : "-", "\n", 2);
	open_archive(tar->data, tar->len,
		     ref[0] && strcmp(ref[0], "-") ? ref[0] : NULL);
	for (guint i = 0; i < n; i++)
		g_free(parts[i]);
	fz_clean();
	return 0;
}
