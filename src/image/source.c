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

static gboolean open_detected(const char *source, const char *platform,
			      struct lfs_image **out, GError **error)
{
	g_autofree char *index = g_build_filename(source, "index.json", NULL);
	struct stat st;

	if (stat(source, &st) < 0)
		return lfs_fail(error, errno, "%s: %s", source,
				g_strerror(errno));
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
	return lfs_docker_archive_open(source, NULL, out, error);
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
