/* Fuzz target: an OCI image layout (image/oci.c, oci_parse.c,
 * oci_platform.c, json.c): index.json, nested indexes, the manifest and
 * the config, and the choice of an image by tag and platform.
 *
 * Input: up to five parts, separated by a line "----": index.json, a
 * manifest blob, a config blob, an oci-layout file (absent when the part
 * is empty), and a line "REF PLATFORM" (either may be "-", the default).
 * Blobs are named by their digests, which a fuzzer cannot compute, so in
 * the documents "$M" stands for the manifest's digest and "$m" for its
 * size, "$C"/"$c" for the config's, and "$L"/"$l" for a small layer
 * blob's.  Each part is also parsed on its own by every parser. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "layerfs/oci.h"

#define SEP "\n----\n"
#define NPARTS 5

/* A layer blob: an empty tar (the end-of-archive blocks). */
static const uint8_t layer[1024];

struct blob_name {
	char *digest; /* "sha256:<hex>" */
	char *size;
};

static void name_blob(const void *data, size_t len, struct blob_name *n)
{
	g_autofree char *hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
							   data, len);

	g_free(n->digest);
	g_free(n->size);
	n->digest = g_strconcat("sha256:", hex, NULL);
	n->size = g_strdup_printf("%zu", len);
}

static void blob_name_clear(struct blob_name *n)
{
	g_free(n->digest);
	g_free(n->size);
}

/* @text with the placeholders replaced (g_free). */
static char *expand(const char *text, const struct blob_name *names)
{
	static const char keys[] = "MmCcLl";
	GString *s = g_string_new(NULL);

	for (const char *p = text; *p; p++) {
		const char *k = p[0] == '$' && p[1] ? strchr(keys, p[1]) : NULL;

		if (!k) {
			g_string_append_c(s, *p);
			continue;
		}
		g_string_append(s, (k - keys) % 2 ? names[(k - keys) / 2].size
						  : names[(k - keys) / 2].digest);
		p++;
	}
	return g_string_free(s, FALSE);
}

static void write_blob(const void *data, size_t len,
		       const struct blob_name *n)
{
	g_autofree char *name = g_strconcat("img/blobs/sha256/",
					    n->digest + strlen("sha256:"),
					    NULL);

	g_free(fz_write(name, data, len));
}

/* Each part through each parser, whatever it was meant to be. */
static void parse_alone(const char *data, size_t len)
{
	g_autoptr(GPtrArray) descs = NULL, ids = NULL;
	struct lfs_oci_manifest *m = NULL;
	g_autofree char *platform = NULL;

	if (lfs_oci_parse_index(data, len, "index", &descs, NULL)) {
		for (guint i = 0; i < descs->len; i++) {
			lfs_oci_platform_rank(descs->pdata[i], "linux/amd64");
			lfs_oci_platform_rank(descs->pdata[i], "linux/arm/v7");
		}
	}
	if (lfs_oci_parse_manifest(data, len, "manifest", &m, NULL))
		lfs_oci_manifest_free(m);
	if (lfs_oci_parse_config(data, len, "config", &ids, &platform, NULL)) {
		struct timespec created;

		if (lfs_oci_config_created(data, len, &created) &&
		    (created.tv_sec < 0 || created.tv_nsec < 0 ||
		     created.tv_nsec >= 1000000000))
			fz_fail("config \"created\" out of range");
	}
}

static const char *word(char **words, guint i)
{
	return g_strv_length(words) > i && strcmp(words[i], "-") ? words[i]
								  : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *parts[NPARTS] = { 0 };
	size_t lens[NPARTS] = { 0 };
	guint n = fz_split(data, size, SEP, NPARTS, parts, lens);
	/* Until a blob is written, what stands for it is "". */
	struct blob_name names[3] = { { g_strdup(""), g_strdup("") },
				      { g_strdup(""), g_strdup("") },
				      { NULL, NULL } };
	g_autofree char *config = NULL;
	g_autofree char *index = NULL, *manifest = NULL;
	g_autofree char *dir = NULL;
	g_auto(GStrv) words = NULL;
	g_autoptr(GError) error = NULL;
	struct lfs_image *img = NULL;

	fz_init();
	for (guint i = 0; i < n; i++)
		parse_alone(parts[i], lens[i]);
	/* The layer first, then the config: the manifest names both. */
	name_blob(layer, sizeof(layer), &names[2]);
	config = expand(parts[2] ? parts[2] : "", names);
	name_blob(config, strlen(config), &names[1]);
	manifest = expand(parts[1] ? parts[1] : "", names);
	name_blob(manifest, strlen(manifest), &names[0]);
	index = expand(parts[0], names);
	g_free(fz_write("img/index.json", index, strlen(index)));
	write_blob(manifest, strlen(manifest), &names[0]);
	write_blob(config, strlen(config), &names[1]);
	write_blob(layer, sizeof(layer), &names[2]);
	if (n > 3 && lens[3])
		g_free(fz_write("img/oci-layout", parts[3], lens[3]));
	words = g_strsplit(n > 4 ? parts[4] : "", " ", 3);
	dir = g_build_filename(fz_dir(), "img", NULL);
	if (lfs_oci_open(dir, word(words, 0), word(words, 1), &img, &error)) {
		fz_note("image of %u layers", img->layers->len);
		lfs_image_free(img);
	} else if (!error || !error->message[0])
		fz_fail("refused without a reason");
	else
		fz_note("refused: %s", error->message);
	for (guint i = 0; i < 3; i++)
		blob_name_clear(&names[i]);
	for (guint i = 0; i < n; i++)
		g_free(parts[i]);
	fz_clean();
	return 0;
}
