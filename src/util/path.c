/* Normalisation of archive member names (see path.h for the rules). */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "layerfs/path.h"

int lfs_path_normalize(const char *name, char **out, const char **why)
{
	g_autoptr(GString) s = NULL;
	const char *p = name;

	*out = NULL;
	if (!name || !*name) {
		*why = "empty name";
		return -EINVAL;
	}
	s = g_string_sized_new(strlen(name));
	while (*p == '/') /* "/etc" is "etc", as umoci reads it */
		p++;
	while (*p) {
		size_t len = strcspn(p, "/");

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			/* Up one, never above the root. */
			const char *slash = strrchr(s->str, '/');

			g_string_truncate(s, slash ? (gsize)(slash - s->str) : 0);
		} else if (len > LFS_NAME_MAX) {
			*why = "component longer than 255 bytes";
			return -EINVAL;
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (s->len)
				g_string_append_c(s, '/');
			g_string_append_len(s, p, len);
		}
		p += len;
		while (*p == '/')
			p++;
	}
	if (s->len > LFS_PATH_MAX) {
		*why = "path longer than 4095 bytes";
		return -EINVAL;
	}
	*out = g_string_free(g_steal_pointer(&s), FALSE);
	return 0;
}

size_t lfs_path_split(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		*base = path;
		return 0;
	}
	*base = slash + 1;
	return (size_t)(slash - path);
}
