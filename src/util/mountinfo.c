/* The mount table (see mountinfo.h). */
#include <string.h>

#include "layerfs/mountinfo.h"

/* mountinfo escapes a space, a tab, a newline and a backslash in a name
 * as three octal digits (\040, \011, \012, \134). */
static char *unescape(const char *s)
{
	GString *out = g_string_new(NULL);

	for (const char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' &&
		    p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			g_string_append_c(out, (char)((p[1] - '0') << 6 |
						      (p[2] - '0') << 3 |
						      (p[3] - '0')));
			p += 3;
			continue;
		}
		g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}

/* One line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] -
 * FSTYPE SOURCE SUPEROPTIONS".  TRUE with @out filled when its mountpoint
 * is @path. */
static gboolean parse_line(const char *line, const char *path,
			   struct lfs_mountinfo *out)
{
	g_auto(GStrv) f = g_strsplit(line, " ", -1);
	guint n = g_strv_length(f), dash;
	g_autofree char *point = NULL;

	if (n < 10)
		return FALSE;
	point = unescape(f[4]);
	if (strcmp(point, path) != 0)
		return FALSE;
	/* Optional fields (shared:N, master:N ...) come before the "-". */
	for (dash = 6; dash < n && strcmp(f[dash], "-") != 0; dash++)
		;
	if (dash + 2 >= n)
		return FALSE;
	out->devnum = g_strdup(f[2]);
	out->fstype = unescape(f[dash + 1]);
	out->source = unescape(f[dash + 2]);
	return TRUE;
}

gboolean lfs_mountinfo_find(const char *text, const char *path,
			    struct lfs_mountinfo *out)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	gboolean found = FALSE;

	memset(out, 0, sizeof(*out));
	/* A mount over another comes after it in the table: the last one
	 * at @path is on top. */
	for (char **l = lines; *l; l++) {
		struct lfs_mountinfo mi;

		if (!parse_line(*l, path, &mi))
			continue;
		lfs_mountinfo_clear(out);
		*out = mi;
		found = TRUE;
	}
	return found;
}

gboolean lfs_mountinfo_here(const char *path, struct lfs_mountinfo *out)
{
	g_autofree char *text = NULL;

	memset(out, 0, sizeof(*out));
	if (!g_file_get_contents("/proc/self/mountinfo", &text, NULL, NULL))
		return FALSE;
	return lfs_mountinfo_find(text, path, out);
}

void lfs_mountinfo_clear(struct lfs_mountinfo *mi)
{
	g_free(mi->devnum);
	g_free(mi->fstype);
	g_free(mi->source);
	memset(mi, 0, sizeof(*mi));
}
