/* Option parsing (see options.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "layerfs/error.h"
#include "layerfs/options.h"

struct lfs_options *lfs_options_new(void)
{
	struct lfs_options *o = g_new0(struct lfs_options, 1);

	o->layers = g_ptr_array_new_with_free_func(g_free);
	o->fuse_opts = g_ptr_array_new_with_free_func(g_free);
	o->allow_other = geteuid() == 0;
	o->prefetch = LFS_PREFETCH_INDEX;
	o->readahead = LFS_READAHEAD_DEFAULT;
	o->splice = true;
	return o;
}

void lfs_options_free(struct lfs_options *o)
{
	if (!o)
		return;
	g_free(o->source);
	g_free(o->platform);
	g_free(o->cache_dir);
	g_ptr_array_unref(o->layers);
	g_ptr_array_unref(o->fuse_opts);
	g_free(o);
}

/* mount(8) and fstab words that mean nothing to a FUSE mount, and "rw",
 * which a read-only image cannot honour and mount(8) passes by default. */
static bool ignored(const char *opt)
{
	static const char *const words[] = {
		"rw",	   "defaults", "auto",	"noauto", "nofail", "_netdev",
		"user",	   "users",    "owner", "group",  "nonempty",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(words); i++) {
		if (strcmp(opt, words[i]) == 0)
			return true;
	}
	return g_str_has_prefix(opt, "x-") ||
	       g_str_has_prefix(opt, "comment=");
}

static gboolean set_value(char **field, const char *key, const char *value,
			  GError **error)
{
	if (!value || !*value)
		return lfs_fail(error, EINVAL, "option %s= needs a value", key);
	g_free(*field);
	*field = g_strdup(value);
	return TRUE;
}

/* A size: digits with an optional K, M or G (powers of 1024), within
 * [@min, @max]. */
static gboolean set_size(uint64_t *field, const char *key, const char *value,
			 uint64_t min, uint64_t max, GError **error)
{
	unsigned int shift = 0;
	guint64 n;
	char *end;

	if (!value || !g_ascii_isdigit(*value))
		return lfs_fail(error, EINVAL, "option %s= needs a size, as "
				"in %s=4M", key, key);
	errno = 0;
	n = g_ascii_strtoull(value, &end, 10);
	switch (g_ascii_toupper(*end)) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	}
	if (*end)
		return lfs_fail(error, EINVAL, "option %s=%s: not a size, as "
				"in %s=4M", key, value, key);
	if (errno || n > (max >> shift) || (n << shift) < min)
		return lfs_fail(error, EINVAL, "option %s=%s: out of range "
				"(%llu to %llu bytes)", key, value,
				(unsigned long long)min,
				(unsigned long long)max);
	*field = n << shift;
	return TRUE;
}

static gboolean set_count(unsigned int *field, const char *key,
			  const char *value, unsigned int max, GError **error)
{
	guint64 n;

	if (!value || !g_ascii_string_to_unsigned(value, 10, 1, max, &n, NULL))
		return lfs_fail(error, EINVAL, "option %s= needs a number "
				"from 1 to %u", key, max);
	*field = (unsigned int)n;
	return TRUE;
}

static gboolean set_prefetch(struct lfs_options *o, const char *value,
			     GError **error)
{
	static const char *const names[] = { "none", "index", "unpack" };

	for (size_t i = 0; value && i < G_N_ELEMENTS(names); i++) {
		if (strcmp(value, names[i]) == 0) {
			o->prefetch = (enum lfs_prefetch)i;
			return TRUE;
		}
	}
	return lfs_fail(error, EINVAL,
			"option prefetch= needs none, index or unpack");
}

static gboolean parse_one(struct lfs_options *o, const char *opt,
			  GError **error)
{
	const char *eq = strchr(opt, '=');
	g_autofree char *key = eq ? g_strndup(opt, (gsize)(eq - opt))
				  : g_strdup(opt);
	const char *value = eq ? eq + 1 : NULL;

	if (!*opt || ignored(opt))
		return TRUE;
	if (strcmp(key, "cache_dir") == 0 || strcmp(key, "cache-dir") == 0)
		return set_value(&o->cache_dir, key, value, error);
	if (strcmp(key, "platform") == 0)
		return set_value(&o->platform, key, value, error);
	if (strcmp(key, "span") == 0)
		return set_size(&o->span, key, value, 64u << 10, 1u << 30,
				error);
	if (strcmp(key, "handles") == 0)
		return set_count(&o->handles, key, value, 64, error);
	if (strcmp(key, "threads") == 0)
		return set_count(&o->threads, key, value, 256, error);
	if (strcmp(key, "prefetch") == 0)
		return set_prefetch(o, value, error);
	if (strcmp(key, "readahead") == 0)
		return set_size(&o->readahead, key, value, 4096, 16u << 20,
				error);
	if (strcmp(key, "meta_cache") == 0)
		return set_size(&o->meta_cache, key, value, 64u << 10,
				(uint64_t)64 << 30, error);
	if (strcmp(opt, "allow_other") == 0) {
		o->allow_other = true;
		return TRUE;
	}
	if (strcmp(opt, "noallow_other") == 0) {
		o->allow_other = false;
		return TRUE;
	}
	if (strcmp(opt, "splice") == 0 || strcmp(opt, "nosplice") == 0) {
		o->splice = opt[0] == 's';
		return TRUE;
	}
	if (strcmp(opt, "ro") == 0 || strcmp(opt, "default_permissions") == 0)
		return TRUE; /* always on */
	g_ptr_array_add(o->fuse_opts, g_strdup(opt));
	return TRUE;
}

gboolean lfs_options_parse_o(struct lfs_options *o, const char *arg,
			     GError **error)
{
	g_autoptr(GString) cur = g_string_new(NULL);

	for (const char *p = arg;; p++) {
		if (*p == '\\' && p[1]) {
			g_string_append_c(cur, *++p);
			continue;
		}
		if (*p && *p != ',') {
			g_string_append_c(cur, *p);
			continue;
		}
		if (!parse_one(o, cur->str, error))
			return FALSE;
		g_string_truncate(cur, 0);
		if (!*p)
			return TRUE;
	}
}

/* FUSE option values are comma-separated; escape what would split. */
static void append_escaped(GString *s, const char *value)
{
	for (const char *p = value; *p; p++) {
		if (*p == ',' || *p == '\\')
			g_string_append_c(s, '\\');
		g_string_append_c(s, *p);
	}
}

char *lfs_options_fuse_string(const struct lfs_options *o,
			      const char *fsname)
{
	GString *s = g_string_new("ro,default_permissions,subtype=layerfs");

	if (o->allow_other)
		g_string_append(s, ",allow_other");
	g_string_append(s, ",fsname=");
	append_escaped(s, fsname);
	for (guint i = 0; i < o->fuse_opts->len; i++) {
		g_string_append_c(s, ',');
		append_escaped(s, o->fuse_opts->pdata[i]);
	}
	return g_string_free(s, FALSE);
}
