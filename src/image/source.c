/* Source-string dispatch (see source.h). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "layerfs/docker_archive.h"
#include "layerfs/error.h"
#include "layerfs/oci.h"
#include "layerfs/source.h"

/* Split "PATH[:REF]".  A string that names an existing file as a whole is
 * taken as a path even if it contains ':'. */
static void split_ref(const char *s, char **path, char **ref)
{
	const char *colon = strchr(s, ':');

	if (!colon || g_file_test(s, G_FILE_TEST_EXISTS)) {
		*path = g_strdup(s);
		*ref = NULL;
		return;
	}
	*path = g_strndup(s, (size_t)(colon - s));
	*ref = *(colon + 1) ? g_strdup(colon + 1) : NULL;
}

/* Whether @dir is an OCI image layout (has an index.json). */
static bool is_layout(const char *dir)
{
	g_autofree char *index = g_build_filename(dir, "index.json", NULL);

	return g_file_test(index, G_FILE_TEST_IS_REGULAR);
}

/* For a bare path that names nothing: the spelling that would name an
 * image, "oci:DIR:TAG", where the user wrote DIR:TAG or DIR/oci:TAG and
 * DIR is a layout; NULL if none. */
static char *spelling_hint(const char *source)
{
	const char *oci = strstr(source, "/oci:");
	const char *colon = strrchr(source, ':');
	g_autofree char *dir = NULL;

	if (oci) {
		dir = g_strndup(source, (size_t)(oci - source));
		if (is_layout(dir))
			return g_strdup_printf("oci:%s:%s", dir,
					       oci + strlen("/oci:"));
		g_clear_pointer(&dir, g_free);
	}
	if (colon && colon[1]) {
		dir = g_strndup(source, (size_t)(colon - source));
		if (is_layout(dir))
			return g_strdup_printf("oci:%s", source);
	}
	return NULL;
}

/* A file that is not a docker-archive, but a compressed file or a tar
 * without manifest.json: a layer given as an image, most likely. */
static gboolean not_an_archive(const char *source, bool compressed,
			       GError **error)
{
	return lfs_fail(error, EINVAL,
			"%s: %s, so not a docker-archive; to mount it as a "
			"layer, use --layer %s",
			source,
			compressed ? "compressed (a docker-archive is a plain "
				     "tar)"
				   : "a tar without manifest.json",
			source);
}

static gboolean open_detected(const char *source, const char *platform,
			      struct lfs_image **out, GError **error)
{
	g_autofree char *index = g_build_filename(source, "index.json", NULL);
	struct stat st;

	if (stat(source, &st) < 0) {
		int err = errno;
		g_autofree char *hint = err == ENOENT ? spelling_hint(source)
						      : NULL;

		if (hint)
			return lfs_fail(error, err, "%s: %s; did you mean %s?",
					source, g_strerror(err), hint);
		return lfs_fail(error, err, "%s: %s", source,
				g_strerror(err));
	}
	if (S_ISDIR(st.st_mode)) {
		/* Only a missing index.json means "not a layout"; one that
		 * cannot be looked at (EACCES) is reported by the reader. */
		if (stat(index, &st) < 0 && errno == ENOENT)
			return lfs_fail(error, EINVAL,
					"%s: not an OCI image layout (no "
					"index.json); to mount a directory as "
					"a layer use --layer",
					source);
		return lfs_oci_open(source, NULL, platform, out, error);
	}
	{
		g_autoptr(GError) why = NULL;

		if (lfs_docker_archive_open(source, NULL, out, &why))
			return TRUE;
		/* A compressed file, or a tar with no manifest.json: most
		 * likely a layer given as an image. */
		if (g_error_matches(why, LFS_ERROR, ENOTSUP))
			return not_an_archive(source, true, error);
		if (g_error_matches(why, LFS_ERROR, ENOENT) &&
		    strstr(why->message, "\"manifest.json\" is missing"))
			return not_an_archive(source, false, error);
		g_propagate_error(error, g_steal_pointer(&why));
		return FALSE;
	}
}

gboolean lfs_source_open(const char *source, const char *platform,
			 struct lfs_image **out, GError **error)
{
	g_autofree char *path = NULL, *ref = NULL;

	if (!source || !*source)
		return lfs_fail(error, EINVAL, "no image source given");
	if (g_str_has_prefix(source, "oci:")) {
		split_ref(source + strlen("oci:"), &path, &ref);
		return lfs_oci_open(path, ref, platform, out, error);
	}
	if (g_str_has_prefix(source, "docker-archive:")) {
		split_ref(source + strlen("docker-archive:"), &path, &ref);
		return lfs_docker_archive_open(path, ref, out, error);
	}
	return open_detected(source, platform, out, error);
}

gboolean lfs_source_from_layers(const char *const *paths, guint n,
				struct lfs_image **out, GError **error)
{
	g_autoptr(lfs_image) img = lfs_image_new("layers", "layers");
	g_autoptr(GString) desc = g_string_new(NULL);

	if (n == 0)
		return lfs_fail(error, EINVAL, "no layers given");
	for (guint i = 0; i < n; i++) {
		struct stat st;
		enum lfs_layer_kind kind;

		if (stat(paths[i], &st) < 0)
			return lfs_fail(error, errno, "layer %s: %s", paths[i],
					g_strerror(errno));
		if (S_ISDIR(st.st_mode))
			kind = LFS_LAYER_DIR;
		else if (S_ISREG(st.st_mode))
			kind = LFS_LAYER_TAR;
		else
			return lfs_fail(error, EINVAL,
					"layer %s: neither a file nor a "
					"directory",
					paths[i]);
		g_ptr_array_add(img->layers,
				lfs_layer_spec_new(kind, paths[i], paths[i]));
		{
			g_autofree char *abs = lfs_image_abspath(paths[i]);

			g_string_append_printf(desc, "%s%s", i ? "," : "",
					       abs);
		}
	}
	g_free(img->source);
	img->source = g_string_free(g_steal_pointer(&desc), FALSE);
	*out = g_steal_pointer(&img);
	return TRUE;
}
