/* Whiteout naming: the two ways a layer says "this name is deleted" or
 * "this directory hides what is below", kept in one place so the scanners
 * that read them and a writer of an upper directory spell them alike.
 *
 *  - The AUFS form that OCI layers use: a file ".wh.NAME" deletes NAME, a
 *    file ".wh..wh..opq" makes its directory opaque, and other
 *    ".wh..wh.*" names are aufs bookkeeping.
 *  - overlayfs's on-disk form: a character device 0/0 is a whiteout, and
 *    its private xattrs (trusted.overlay.*, or user.overlay.* with the
 *    userxattr mount option) mark opaque directories ("y"), redirects and
 *    origins. */
#ifndef LAYERFS_WHITEOUT_H
#define LAYERFS_WHITEOUT_H

#include <stdbool.h>
#include <sys/types.h>

/* ---- AUFS / OCI names --------------------------------------------------- */

#define LFS_WH_PREFIX ".wh."
#define LFS_WH_META_PREFIX ".wh..wh."
#define LFS_WH_OPAQUE_NAME ".wh..wh..opq"

/* What a member's last component says under the whiteout naming rules. */
enum lfs_wh_kind {
	LFS_WH_NONE,	/* an ordinary name */
	LFS_WH_OPAQUE,	/* ".wh..wh..opq": the directory is opaque */
	LFS_WH_META,	/* other ".wh..wh.*": aufs bookkeeping, never shown */
	LFS_WH_DELETE,	/* ".wh.NAME": NAME is deleted */
	LFS_WH_INVALID, /* ".wh." with an empty, "." or ".." NAME */
};

/* Classify @base; for LFS_WH_DELETE *name points at NAME inside @base. */
enum lfs_wh_kind lfs_whiteout_classify(const char *base, const char **name);

/* ---- overlayfs's on-disk format ----------------------------------------- */

#define LFS_OVL_TRUSTED_PREFIX "trusted.overlay."
#define LFS_OVL_USER_PREFIX "user.overlay."

/* The value of the opaque xattr that makes a directory opaque. */
#define LFS_OVL_OPAQUE_YES "y"

/* Where overlayfs keeps its xattrs: trusted.* by default, which only
 * CAP_SYS_ADMIN may read, user.* with the userxattr mount option. */
enum lfs_ovl_ns {
	LFS_OVL_NS_TRUSTED,
	LFS_OVL_NS_USER,
};

/* The overlayfs xattrs, by what comes after the namespace's prefix. */
enum lfs_ovl_xattr {
	LFS_OVL_OPAQUE,	  /* "opaque": a directory hides the lower ones */
	LFS_OVL_REDIRECT, /* "redirect": where a renamed directory's lower
			   * part is */
	LFS_OVL_ORIGIN,	  /* "origin": the lower object copied up (a
			   * file handle; layerfs never writes it) */
	LFS_OVL_METACOPY, /* "metacopy": a regular file whose data is the
			   * lower file's */
	LFS_OVL_WHITEOUT, /* "whiteout": an empty regular file that is a
			   * whiteout (overlayfs's second spelling) */
	/* "layerfs.origin": the inode number an object had below, which
	 * layerfs records at copy-up; overlayfs hides it as any of its
	 * names, and knows nothing of it. */
	LFS_OVL_LAYERFS_ORIGIN,
	LFS_OVL_NKEYS,
};

/* The full name of @key in namespace @ns ("trusted.overlay.opaque"), in
 * static storage; NULL for a value outside the enums. */
const char *lfs_ovl_xattr_name(enum lfs_ovl_ns ns, enum lfs_ovl_xattr key);

/* @name is one of overlayfs's private xattrs (trusted.overlay.* or
 * user.overlay.*), which a layer or an overlay mount never shows. */
bool lfs_ovl_private_xattr(const char *name);

/* The user's own xattrs in the upper's overlay prefix.  Since Linux 6.7
 * overlayfs lets a user set "trusted.overlay.X" (in its trusted
 * namespace; "user.overlay.X" with userxattr) on an overlay, and stores it
 * escaped, as "trusted.overlay.overlay.X"; every other name with the
 * prefix is the upper's own bookkeeping.  Names outside the prefix are
 * the user's, stored as they are.  @ns's prefix:
 *  - lfs_ovl_private() says whether stored name @name is bookkeeping
 *    (never shown);
 *  - lfs_ovl_escape() gives the name the upper stores the user's @name
 *    under (g_free);
 *  - lfs_ovl_unescape() gives the user's name for stored @name (g_free),
 *    or NULL for bookkeeping. */
bool lfs_ovl_private(enum lfs_ovl_ns ns, const char *name);
char *lfs_ovl_escape(enum lfs_ovl_ns ns, const char *name);
char *lfs_ovl_unescape(enum lfs_ovl_ns ns, const char *name);

/* A file of type @mode (S_IFMT bits; others ignored) and device @rdev is an
 * overlayfs whiteout: a character device 0/0. */
bool lfs_ovl_is_whiteout(mode_t mode, dev_t rdev);

#endif
