/* Whiteout naming (see whiteout.h): the AUFS names OCI layers use and
 * overlayfs's on-disk names, in one place so that whatever reads a layer
 * and whatever writes an upper directory cannot disagree on a spelling. */
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <glib.h>

#include "layerfs/whiteout.h"

/* Bytes of a string literal, without its NUL. */
#define LIT_LEN(s) (sizeof(s) - 1)

enum lfs_wh_kind lfs_whiteout_classify(const char *base, const char **name)
{
	const char *rest = base + LIT_LEN(LFS_WH_PREFIX);

	if (strncmp(base, LFS_WH_PREFIX, LIT_LEN(LFS_WH_PREFIX)) != 0)
		return LFS_WH_NONE;
	if (strcmp(base, LFS_WH_OPAQUE_NAME) == 0)
		return LFS_WH_OPAQUE;
	if (strncmp(base, LFS_WH_META_PREFIX, LIT_LEN(LFS_WH_META_PREFIX)) == 0)
		return LFS_WH_META;
	if (!*rest || strcmp(rest, ".") == 0 || strcmp(rest, "..") == 0)
		return LFS_WH_INVALID;
	*name = rest;
	return LFS_WH_DELETE;
}

/* By namespace, then key, as the enums number them. */
#define OVL_NAMES(prefix)                                               \
	{                                                               \
		[LFS_OVL_OPAQUE] = prefix "opaque",                     \
		[LFS_OVL_REDIRECT] = prefix "redirect",                 \
		[LFS_OVL_ORIGIN] = prefix "origin",                     \
		[LFS_OVL_METACOPY] = prefix "metacopy",                 \
		[LFS_OVL_WHITEOUT] = prefix "whiteout",                 \
		[LFS_OVL_LAYERFS_ORIGIN] = prefix "layerfs.origin",     \
	}

static const char *const ovl_names[][LFS_OVL_NKEYS] = {
	[LFS_OVL_NS_TRUSTED] = OVL_NAMES(LFS_OVL_TRUSTED_PREFIX),
	[LFS_OVL_NS_USER] = OVL_NAMES(LFS_OVL_USER_PREFIX),
};

const char *lfs_ovl_xattr_name(enum lfs_ovl_ns ns, enum lfs_ovl_xattr key)
{
	if ((unsigned)ns >= G_N_ELEMENTS(ovl_names) ||
	    (unsigned)key >= G_N_ELEMENTS(ovl_names[0]))
		return NULL;
	return ovl_names[ns][key];
}

bool lfs_ovl_private_xattr(const char *name)
{
	return strncmp(name, LFS_OVL_TRUSTED_PREFIX,
		       LIT_LEN(LFS_OVL_TRUSTED_PREFIX)) == 0 ||
	       strncmp(name, LFS_OVL_USER_PREFIX,
		       LIT_LEN(LFS_OVL_USER_PREFIX)) == 0;
}

static const char *ns_prefix(enum lfs_ovl_ns ns)
{
	return ns == LFS_OVL_NS_USER ? LFS_OVL_USER_PREFIX
				     : LFS_OVL_TRUSTED_PREFIX;
}

/* The part of @name after @ns's prefix, or NULL. */
static const char *after_prefix(enum lfs_ovl_ns ns, const char *name)
{
	const char *p = ns_prefix(ns);
	size_t n = strlen(p);

	return strncmp(name, p, n) == 0 ? name + n : NULL;
}

bool lfs_ovl_private(enum lfs_ovl_ns ns, const char *name)
{
	const char *rest = after_prefix(ns, name);

	return rest && !g_str_has_prefix(rest, "overlay.");
}

char *lfs_ovl_escape(enum lfs_ovl_ns ns, const char *name)
{
	const char *rest = after_prefix(ns, name);

	if (!rest)
		return g_strdup(name);
	return g_strconcat(ns_prefix(ns), "overlay.", rest, NULL);
}

char *lfs_ovl_unescape(enum lfs_ovl_ns ns, const char *name)
{
	const char *rest = after_prefix(ns, name);

	if (!rest)
		return g_strdup(name);
	if (!g_str_has_prefix(rest, "overlay."))
		return NULL;
	return g_strconcat(ns_prefix(ns), rest + strlen("overlay."), NULL);
}

bool lfs_ovl_is_whiteout(mode_t mode, dev_t rdev)
{
	return S_ISCHR(mode) && rdev == makedev(0, 0);
}
