/* Option parsing (see options.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "layerfs/error.h"
#include "layerfs/options.h"
#include "layerfs/span_cache.h"

struct lfs_options *lfs_options_new(void)
{
	struct lfs_options *o = g_new0(struct lfs_options, 1);

	o->layers = g_ptr_array_new_with_free_func(g_free);
	o->fuse_opts = g_ptr_array_new_with_free_func(g_free);
	o->allow_other = geteuid() == 0;
	o->prefetch = LFS_PREFETCH_AUTO;
	o->readahead = LFS_READAHEAD_DEFAULT;
	o->splice = true;
	o->metacopy = true;
	o->profile = true;
	o->span_cache = LFS_SPAN_CACHE_DEFAULT;
	return o;
}

void lfs_options_free(struct lfs_options *o)
{
	if (!o)
		return;
	g_free(o->source);
	g_free(o->platform);
	g_free(o->cache_dir);
	g_free(o->upper);
	g_free(o->work);
	g_free(o->mountpoint);
	g_free(o->fsname);
	lfs_idmap_clear(&o->uids);
	lfs_idmap_clear(&o->gids);
	g_ptr_array_unref(o->layers);
	g_ptr_array_unref(o->fuse_opts);
	g_free(o);
}

/* mount(8) and fstab words that mean nothing to a FUSE mount, and "rw",
 * which a read-only image cannot honour and mount(8) passes by default;
 * words starting with one of @ignored_prefixes too. */
static const char *const ignored_words[] = {
	"rw",	 "defaults", "auto",  "noauto", "nofail",   "_netdev",
	"user",	 "users",    "owner", "group",	"nonempty",
};
static const char *const ignored_prefixes[] = { "x-", "comment=" };

static bool ignored(const char *opt)
{
	for (size_t i = 0; i < G_N_ELEMENTS(ignored_words); i++) {
		if (strcmp(opt, ignored_words[i]) == 0)
			return true;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(ignored_prefixes); i++) {
		if (g_str_has_prefix(opt, ignored_prefixes[i]))
			return true;
	}
	return false;
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

/* One setter per option of our own (see own_options[]): @value is NULL
 * for a flag, and for a key given without one. */
typedef gboolean (*set_fn)(struct lfs_options *o, const char *key,
			   const char *value, GError **error);

static gboolean set_cache_dir(struct lfs_options *o, const char *key,
			      const char *value, GError **error)
{
	return set_value(&o->cache_dir, key, value, error);
}

static gboolean set_platform(struct lfs_options *o, const char *key,
			     const char *value, GError **error)
{
	return set_value(&o->platform, key, value, error);
}

static gboolean set_threads(struct lfs_options *o, const char *key,
			    const char *value, GError **error)
{
	return set_count(&o->threads, key, value, 256, error);
}

static gboolean set_span(struct lfs_options *o, const char *key,
			 const char *value, GError **error)
{
	return set_size(&o->span, key, value, 64u << 10, 1u << 30, error);
}

static gboolean set_handles(struct lfs_options *o, const char *key,
			    const char *value, GError **error)
{
	return set_count(&o->handles, key, value, 64, error);
}

static gboolean set_prefetch(struct lfs_options *o, const char *key,
			     const char *value, GError **error)
{
	static const char *const names[] = { "none", "index", "unpack",
					     "auto" };

	(void)key;
	for (size_t i = 0; value && i < G_N_ELEMENTS(names); i++) {
		if (strcmp(value, names[i]) == 0) {
			o->prefetch = (enum lfs_prefetch)i;
			return TRUE;
		}
	}
	return lfs_fail(error, EINVAL,
			"option prefetch= needs none, index, unpack or auto");
}

static gboolean set_meta_cache(struct lfs_options *o, const char *key,
			       const char *value, GError **error)
{
	return set_size(&o->meta_cache, key, value, 64u << 10,
			(uint64_t)64 << 30, error);
}

static gboolean set_readahead(struct lfs_options *o, const char *key,
			      const char *value, GError **error)
{
	return set_size(&o->readahead, key, value, 4096, 16u << 20, error);
}

static gboolean set_allow_other(struct lfs_options *o, const char *key,
				const char *value, GError **error)
{
	(void)value;
	(void)error;
	o->allow_other = key[0] == 'a';
	return TRUE;
}

static gboolean set_splice(struct lfs_options *o, const char *key,
			   const char *value, GError **error)
{
	(void)value;
	(void)error;
	o->splice = key[0] == 's';
	return TRUE;
}

static gboolean set_upper(struct lfs_options *o, const char *key,
			  const char *value, GError **error)
{
	return set_value(&o->upper, key, value, error);
}

static gboolean set_work(struct lfs_options *o, const char *key,
			 const char *value, GError **error)
{
	return set_value(&o->work, key, value, error);
}

/* lowerdir=A:B:C, the leftmost on top as overlayfs stacks them; "\:"
 * is a colon in a name. */
static gboolean set_lowerdir(struct lfs_options *o, const char *key,
			     const char *value, GError **error)
{
	g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) cur = g_string_new(NULL);

	if (!value || !*value)
		return lfs_fail(error, EINVAL, "option %s= needs a value", key);
	if (o->lowerdir)
		return lfs_fail(error, EINVAL, "option %s= given twice", key);
	for (const char *p = value;; p++) {
		if (*p == '\\' && p[1]) {
			g_string_append_c(cur, *++p);
			continue;
		}
		if (*p && *p != ':') {
			g_string_append_c(cur, *p);
			continue;
		}
		if (!cur->len)
			return lfs_fail(error, EINVAL,
					"option %s=%s: an empty directory "
					"name",
					key, value);
		g_ptr_array_add(dirs, g_strdup(cur->str));
		g_string_truncate(cur, 0);
		if (!*p)
			break;
	}
	for (guint i = dirs->len; i-- > 0;)
		g_ptr_array_add(o->layers, g_strdup(dirs->pdata[i]));
	o->lowerdir = true;
	return TRUE;
}

static gboolean set_flag(bool *field, bool on)
{
	*field = on;
	return TRUE;
}

static gboolean set_userxattr(struct lfs_options *o, const char *key,
			      const char *value, GError **error)
{
	(void)key, (void)value, (void)error;
	return set_flag(&o->userxattr, true);
}

static gboolean set_volatile(struct lfs_options *o, const char *key,
			     const char *value, GError **error)
{
	(void)key, (void)value, (void)error;
	return set_flag(&o->volatile_, true);
}

static gboolean set_on_off(bool *field, const char *key, const char *value,
			   GError **error)
{
	if (value && strcmp(value, "on") == 0)
		return set_flag(field, true);
	if (value && strcmp(value, "off") == 0)
		return set_flag(field, false);
	return lfs_fail(error, EINVAL, "option %s= needs on or off", key);
}

static gboolean set_metacopy(struct lfs_options *o, const char *key,
			     const char *value, GError **error)
{
	return set_on_off(&o->metacopy, key, value, error);
}

static gboolean set_span_cache(struct lfs_options *o, const char *key,
			       const char *value, GError **error)
{
	return set_size(&o->span_cache, key, value, 0, 1u << 30, error);
}

static gboolean set_profile(struct lfs_options *o, const char *key,
			    const char *value, GError **error)
{
	return set_on_off(&o->profile, key, value, error);
}

/* overlayfs options that only name a feature layerfs has, always on:
 * accepted where the value asks for what layerfs does, refused where it
 * asks for something else (docs/upper-format.md). */
static gboolean set_feature(struct lfs_options *o, const char *key,
			    const char *value, GError **error)
{
	static const struct {
		const char *key;
		const char *const ok[3];
	} features[] = {
		{ "redirect_dir", { "on", "follow", NULL } },
		{ "index", { "off", NULL } },
		{ "xino", { "auto", "on", "off" } },
		{ "nfs_export", { "off", NULL } },
	};

	(void)o;
	for (size_t i = 0; i < G_N_ELEMENTS(features); i++) {
		if (strcmp(key, features[i].key) != 0)
			continue;
		for (size_t k = 0; value && k < 3 && features[i].ok[k]; k++) {
			if (strcmp(value, features[i].ok[k]) == 0)
				return TRUE;
		}
		return lfs_fail(error, EINVAL,
				"option %s=%s: layerfs does not do that "
				"(see docs/upper-format.md)",
				key, value ? value : "");
	}
	return lfs_fail(error, EINVAL, "option %s: unknown", key);
}

static gboolean set_uidmapping(struct lfs_options *o, const char *key,
			       const char *value, GError **error)
{
	return lfs_idmap_parse(&o->uids, key, value, error);
}

static gboolean set_gidmapping(struct lfs_options *o, const char *key,
			       const char *value, GError **error)
{
	return lfs_idmap_parse(&o->gids, key, value, error);
}

static gboolean set_id(struct lfs_idmap *m, const char *key, const char *value,
		       GError **error)
{
	guint64 n;

	if (!value || !g_ascii_string_to_unsigned(value, 10, 0, UINT32_MAX - 1,
						  &n, NULL))
		return lfs_fail(error, EINVAL, "option %s= needs an id", key);
	m->squash = true;
	m->squash_to = (uint32_t)n;
	return TRUE;
}

/* squash_to_uid= and squash_to_gid= win over squash_to_root, whatever
 * the order (as fuse-overlayfs has it). */
static gboolean set_squash(struct lfs_options *o, const char *key,
			   const char *value, GError **error)
{
	if (strcmp(key, "squash_to_uid") == 0)
		return set_id(&o->uids, key, value, error);
	if (strcmp(key, "squash_to_gid") == 0)
		return set_id(&o->gids, key, value, error);
	if (!o->uids.squash)
		o->uids = (struct lfs_idmap){ o->uids.ranges, true, 0 };
	if (!o->gids.squash)
		o->gids = (struct lfs_idmap){ o->gids.ranges, true, 0 };
	return TRUE;
}

static gboolean set_static_nlink(struct lfs_options *o, const char *key,
				 const char *value, GError **error)
{
	(void)key, (void)value, (void)error;
	return set_flag(&o->static_nlink, true);
}

/* fuse-overlayfs's switches that take 0 or 1. */
static gboolean set_switch(struct lfs_options *o, const char *key,
			   const char *value, GError **error)
{
	bool on;

	if (!value || (strcmp(value, "0") && strcmp(value, "1")))
		return lfs_fail(error, EINVAL, "option %s= needs 0 or 1", key);
	on = value[0] == '1';
	if (strcmp(key, "noxattrs") == 0)
		o->noxattrs = on;
	else if (strcmp(key, "writeback") == 0 && on)
		return lfs_fail(error, EINVAL,
				"option writeback=1: layerfs does not use the "
				"kernel's writeback cache, which would report a "
				"full or failing upper only at fsync "
				"(docs/decisions/0020)");
	else if (strcmp(key, "fsync") == 0)
		o->volatile_ = !on;
	/* threaded=: always threaded; fast_ino=: numbers are always
	 * computed without a stat of every layer. */
	return TRUE;
}

static gboolean set_xattr_permissions(struct lfs_options *o, const char *key,
				      const char *value, GError **error)
{
	if (!value || strlen(value) != 1 || value[0] < '0' || value[0] > '2')
		return lfs_fail(error, EINVAL, "option %s= needs 0, 1 or 2",
				key);
	o->xattr_permissions = (unsigned int)(value[0] - '0');
	return TRUE;
}

static gboolean set_timeout(struct lfs_options *o, const char *key,
			    const char *value, GError **error)
{
	char *end = NULL;
	double t = value ? g_ascii_strtod(value, &end) : -1;

	if (!value || end == value || *end || t < 0 || t > 1e9)
		return lfs_fail(error, EINVAL,
				"option %s= needs seconds, as in %s=1", key,
				key);
	o->timeout = t;
	return TRUE;
}

/* "ro" and "default_permissions": always on, so nothing to do. */
static gboolean set_nothing(struct lfs_options *o, const char *key,
			    const char *value, GError **error)
{
	(void)o;
	(void)key;
	(void)value;
	(void)error;
	return TRUE;
}

/* layerfs's own options: the one list the parser, `--help` and the test
 * that holds layerfs(1) to the code all read. */
static const struct own_option {
	const char *name;
	const char *alias; /* another spelling, or NULL */
	const char *value; /* how help shows the value; NULL: a flag */
	bool index;	   /* `layerfs index` takes it too */
	set_fn set;
	const char *help;
} own_options[] = {
	{ "cache_dir", "cache-dir", "DIR", true, set_cache_dir,
	  "the cache directory, as --cache-dir" },
	{ "platform", NULL, "OS/ARCH", true, set_platform, "as --platform" },
	{ "threads", NULL, "N", true, set_threads, "worker threads" },
	{ "span", NULL, "SIZE", true, set_span,
	  "distance between gzip access points" },
	{ "handles", NULL, "N", false, set_handles,
	  "decompressors per compressed layer" },
	{ "prefetch", NULL, "none|index|unpack|auto", false, set_prefetch,
	  "background work once mounted" },
	{ "meta_cache", NULL, "SIZE", false, set_meta_cache,
	  "memory for cached directories" },
	{ "span_cache", NULL, "SIZE", false, set_span_cache,
	  "inflated chunks kept for later reads (32M; 0: none)" },
	{ "readahead", NULL, "SIZE", false, set_readahead,
	  "kernel readahead" },
	{ "allow_other", NULL, NULL, false, set_allow_other,
	  "every user sees the mount (default for root)" },
	{ "noallow_other", NULL, NULL, false, set_allow_other,
	  "only the mounting user does" },
	{ "splice", NULL, NULL, false, set_splice,
	  "splice reads from plain files (the default)" },
	{ "nosplice", NULL, NULL, false, set_splice, "copy every read" },
	{ "profile", NULL, "on|off", false, set_profile,
	  "record the order files are first read; read ahead in it (on)" },
	{ "upper", "upperdir", "DIR", false, set_upper,
	  "the upper directory: the mount is writable" },
	{ "work", "workdir", "DIR", false, set_work,
	  "the work directory, on the upper's file system" },
	{ "lowerdir", NULL, "DIR[:DIR...]", false, set_lowerdir,
	  "the layers, the first on top (as overlayfs)" },
	{ "userxattr", NULL, NULL, false, set_userxattr,
	  "user.overlay.* xattrs in the upper, even as root" },
	{ "volatile", NULL, NULL, false, set_volatile,
	  "no fsync of copied-up data" },
	{ "metacopy", NULL, "on|off", false, set_metacopy,
	  "chmod, chown, utimens and xattrs copy no data (on)" },
	{ "redirect_dir", NULL, "on|follow", false, set_feature,
	  "accepted: directories are always renamed in place" },
	{ "index", NULL, "off", false, set_feature, "accepted" },
	{ "xino", NULL, "auto|on|off", false, set_feature,
	  "accepted: inode numbers are always layerfs's own" },
	{ "nfs_export", NULL, "off", false, set_feature, "accepted" },
	{ "uidmapping", NULL, "C:H:L[:C:H:L...]", false, set_uidmapping,
	  "show host uid H+i as C+i (fuse-overlayfs's)" },
	{ "gidmapping", NULL, "C:H:L[:C:H:L...]", false, set_gidmapping,
	  "the same for gids" },
	{ "squash_to_uid", NULL, "N", false, set_squash,
	  "every file shows owner N" },
	{ "squash_to_gid", NULL, "N", false, set_squash,
	  "every file shows group N" },
	{ "squash_to_root", NULL, NULL, false, set_squash,
	  "every file shows 0:0" },
	{ "static_nlink", NULL, NULL, false, set_static_nlink,
	  "directories show 1 link" },
	{ "noxattrs", NULL, "0|1", false, set_switch,
	  "1: no xattrs (ENOTSUP)" },
	{ "fsync", NULL, "0|1", false, set_switch,
	  "0: as volatile" },
	{ "writeback", NULL, "0|1", false, set_switch,
	  "0 only: no writeback cache (docs/decisions/0020)" },
	{ "threaded", NULL, "0|1", false, set_switch,
	  "accepted: always threaded" },
	{ "fast_ino", NULL, "0|1", false, set_switch, "accepted" },
	{ "xattr_permissions", NULL, "0|1|2", false, set_xattr_permissions,
	  "keep owners and modes in an xattr too (fuse-overlayfs's)" },
	{ "timeout", NULL, "SECONDS", false, set_timeout,
	  "entry and attribute timeouts (default a year)" },
	{ "ro", NULL, NULL, false, set_nothing,
	  "read-only unless upper= is given" },
	{ "default_permissions", NULL, NULL, false, set_nothing,
	  "always on" },
};

static const struct own_option *find_own(const char *key)
{
	for (size_t i = 0; i < G_N_ELEMENTS(own_options); i++) {
		const struct own_option *op = &own_options[i];

		if (strcmp(key, op->name) == 0 ||
		    (op->alias && strcmp(key, op->alias) == 0))
			return op;
	}
	return NULL;
}

/* The options `layerfs index` takes, as "a=, b= and c=" (g_free). */
static char *index_names(void)
{
	GString *s = g_string_new(NULL);
	guint n = 0, i = 0;

	for (size_t k = 0; k < G_N_ELEMENTS(own_options); k++)
		n += own_options[k].index;
	for (size_t k = 0; k < G_N_ELEMENTS(own_options); k++) {
		if (!own_options[k].index)
			continue;
		if (i++)
			g_string_append(s, i == n ? " and " : ", ");
		g_string_append_printf(s, "%s%s", own_options[k].name,
				       own_options[k].value ? "=" : "");
	}
	return g_string_free(s, FALSE);
}

static gboolean parse_one(struct lfs_options *o, const char *opt,
			  enum lfs_options_use use, GError **error)
{
	const char *eq = strchr(opt, '=');
	g_autofree char *key = eq ? g_strndup(opt, (gsize)(eq - opt))
				  : g_strdup(opt);
	const char *value = eq ? eq + 1 : NULL;
	const struct own_option *own = find_own(key);

	if (!*opt)
		return TRUE;
	/* Indexing has no use for what only a mount means (FUSE options,
	 * fstab words, how reads are served): say so rather than let a
	 * mistake pass. */
	if (use == LFS_OPTIONS_INDEX && (!own || !own->index)) {
		g_autofree char *names = index_names();

		return lfs_fail(error, EINVAL,
				"option %s only applies to a mount; this "
				"command takes %s",
				opt, names);
	}
	if (ignored(opt))
		return TRUE;
	if (!own) {
		g_ptr_array_add(o->fuse_opts, g_strdup(opt));
		return TRUE;
	}
	if (!own->value && value)
		return lfs_fail(error, EINVAL, "option %s takes no value",
				key);
	return own->set(o, key, value, error);
}

gboolean lfs_options_parse_for(struct lfs_options *o, const char *arg,
			       enum lfs_options_use use, GError **error)
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
		if (!parse_one(o, cur->str, use, error))
			return FALSE;
		g_string_truncate(cur, 0);
		if (!*p)
			return TRUE;
	}
}

gboolean lfs_options_parse_o(struct lfs_options *o, const char *arg,
			     GError **error)
{
	return lfs_options_parse_for(o, arg, LFS_OPTIONS_MOUNT, error);
}

/* The ignored words, comma-separated, in indented lines of at most 72
 * columns. */
static void append_ignored(GString *s)
{
	g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func(g_free);
	gsize col = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(ignored_words); i++)
		g_ptr_array_add(words, g_strdup(ignored_words[i]));
	for (size_t i = 0; i < G_N_ELEMENTS(ignored_prefixes); i++)
		g_ptr_array_add(words, g_strconcat(ignored_prefixes[i], "*",
						   NULL));
	for (guint i = 0; i < words->len; i++) {
		const char *w = words->pdata[i];

		if (col && col + strlen(w) + 2 > 72) {
			g_string_append(s, ",\n");
			col = 0;
		}
		g_string_append(s, col ? ", " : "    ");
		g_string_append(s, w);
		col += (col ? 2 : 4) + strlen(w);
	}
	g_string_append_c(s, '\n');
}

char *lfs_options_help(enum lfs_options_use use)
{
	GString *s = g_string_new("Options for -o (comma-separated; "
				  "layerfs(1) describes each):\n");
	g_autoptr(GString) line = g_string_new(NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(own_options); i++) {
		const struct own_option *op = &own_options[i];
		const char *v = op->value ? op->value : "";
		const char *eq = op->value ? "=" : "";

		if (use == LFS_OPTIONS_INDEX && !op->index)
			continue;
		g_string_printf(line, "%s%s%s", op->name, eq, v);
		if (op->alias)
			g_string_append_printf(line, ", %s%s%s", op->alias, eq,
					       v);
		g_string_append_printf(s, "  %-30s  %s\n", line->str,
				       op->help);
	}
	if (use == LFS_OPTIONS_INDEX) {
		g_string_append(s, "Any other option only applies to a mount "
				   "and is refused.");
	} else {
		g_string_append(s, "Ignored (mount(8) and fstab words):\n");
		append_ignored(s);
		g_string_append(s, "Any other option goes to the FUSE mount "
				   "(e.g. suid, dev, noexec).");
	}
	return g_string_free(s, FALSE);
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
	GString *s = g_string_new(o->upper ? "default_permissions"
					   : "ro,default_permissions");

	g_string_append(s, ",subtype=layerfs");

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
