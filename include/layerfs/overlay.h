/* The writable merged namespace: a live upper directory (live_dir.h) over
 * the packed lower stack (tree.h), merged by kernel overlayfs's rules.
 *
 * Two levels.  The lower stack is merged by the image's changeset rules
 * in tree.h (immutable, numbers are names); this one puts the upper on
 * top the way overlayfs puts its upperdir over its lowerdirs:
 *  - a name in the upper hides the lower one; a whiteout there hides it
 *    and itself;
 *  - an upper directory over a lower directory merges with it, unless it
 *    is opaque; one with a redirect merges with the lower directory at
 *    the redirect's path instead (a renamed directory);
 *  - a lower directory's children are looked up below only while the
 *    directory has no opaque upper.
 * See docs/upper-format.md for the on-disk side.
 *
 * Nodes.  Unlike the lower tree, objects here change, appear and go, so
 * every object the kernel holds is a node in a table, with the kernel's
 * lookup count (docs/decisions/0019):
 *  - a node's id is its FUSE node id, handed out once and never reused,
 *    so a removed object the kernel still holds open can never be
 *    mistaken for a new one;
 *  - a node's ino is its st_ino: the lower stack's number for anything
 *    that came from below (kept across copy-up, and across remounts by
 *    the origin the upper records), else UPPER_INO_BIT | the upper's own
 *    inode number; names of one object (hardlinks) share one node;
 *  - but a number is not an object: a name found in the upper is the node
 *    of its upper inode, whatever number it shows (an origin or redirect
 *    may name an object also found elsewhere: a lower hardlink's name a
 *    copy-up could not link, or any object, if the upper lies); a name
 *    found below is the node of its lower object while that has no
 *    upper, or while its copy-up links its names (same_object());
 *  - a node knows the names it is reached by (parent node + name); an
 *    operation on it finds its upper through its first name's parent.
 *
 * Locks.  ov->lock protects the tables, every node's count and names, and
 * the listing cache; it is held only for table work, never across I/O.
 * n->lock protects a node's upper state, only while it is read or set.
 * n->cu_lock is held across the node's copy-up (its data too), so two
 * writers copy a file up once, and nobody else waits for it: lookups,
 * attributes and reads of a file being copied go on from below.  Order:
 * a node's cu_lock, then other nodes' (a copy-up links a file's other
 * names into directories it copies up), then a node's lock, then its
 * ancestors' (a copy-up takes a parent's after its child's), then
 * ov->lock. */
#ifndef LAYERFS_OVERLAY_H
#define LAYERFS_OVERLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <glib.h>

#include "layerfs/live_dir.h"
#include "layerfs/log.h"
#include "layerfs/tree.h"

/* st_ino of an object that exists only in the upper: its upper inode
 * number with this bit set, apart from every lower number (those have
 * the layer in bits 32-62, and at most a few thousand layers). */
#define LFS_UPPER_INO_BIT (UINT64_C(1) << 63)

struct lfs_ovl;

/* One name of a node. */
struct lfs_alias {
	struct lfs_onode *parent; /* counted */
	char *name;
};

struct lfs_onode {
	uint64_t id;   /* FUSE node id */
	uint64_t ino;  /* st_ino */
	uint32_t type; /* S_IFMT bits; fixed for the node's life */
	gint refs;     /* the table's (while counted), plus users' */
	/* Protected by ov->lock: */
	uint64_t nlookup;   /* the kernel's count */
	GPtrArray *aliases; /* struct lfs_alias *; the first is used */
	bool hashed;	    /* found by its ino (ov->by_ino) */
	uint64_t upper_ino; /* its upper's st_ino, 0 while it has none */
	bool linking;	    /* its copy-up is linking its other names: a
			     * name found below is still this node
			     * (lfs_ovl_copying) */
	char *orphan;	    /* its upper's name in the work directory once
			     * its last name went while it was in use
			     * (lfs_ovl_orphaned), else NULL */
	struct lfs_olist *list; /* cached listing (DIR), or NULL */
	uint64_t list_gen;	/* bumped when the directory changes */
	GList lru;		/* link in the listing cache */
	GMutex cu_lock;	 /* held across its copy-up */
	/* Protected by lock: */
	GMutex lock;
	uint64_t lower;	 /* number in the lower tree, 0: nothing below */
	bool upper;	 /* present in the upper */
	bool opaque;	 /* DIR: the lower's children are hidden */
	bool metacopy;	 /* REG: upper metadata, the lower's data */
	int dirfd;	 /* DIR with an upper: O_PATH, -1 until opened */
	char *lower_path; /* where its lower part is ("" root), NULL: none */
};

/* An entry of a merged listing.  @cookie is its readdir offset: a hash of
 * its name, so an offset names the same place however the directory
 * changes between two reads (the listing is sorted by it). */
struct lfs_odirent {
	const char *name;
	uint32_t type; /* S_IFMT bits */
	uint64_t ino;
	uint64_t cookie;
};

struct lfs_olist {
	gint refs;
	uint32_t n;
	uint32_t nsubdirs;
	GStringChunk *names;
	struct lfs_odirent ents[]; /* by cookie */
};

void lfs_olist_unref(struct lfs_olist *l);

/* The smallest cookie a listing entry gets: 0, 1 and 2 are ".", ".." and
 * the start. */
#define LFS_OLIST_FIRST_COOKIE 3

struct lfs_ovl_options {
	struct lfs_tree *lower;	      /* borrowed */
	const struct lfs_live *upper; /* borrowed */
	const struct lfs_logger *lg;
	uint64_t cache_bytes; /* listings cached; 0: LFS_TREE_CACHE_DEFAULT */
	/* The work directory, where an object removed while in use keeps
	 * its upper (lfs_ovl_orphaned), and how to remove it from there
	 * once the last user is gone. */
	int workfd; /* borrowed */
	void (*drop_orphan)(void *ctx, const char *name);
	void *ctx;
};

/* Open the namespace; the root is node 1 (FUSE's root id). */
int lfs_ovl_new(const struct lfs_ovl_options *o, struct lfs_ovl **out);
void lfs_ovl_free(struct lfs_ovl *ov);

/* Node @id with a reference for the caller (lfs_ovl_put), or NULL. */
struct lfs_onode *lfs_ovl_get(struct lfs_ovl *ov, uint64_t id);
struct lfs_onode *lfs_onode_ref(struct lfs_onode *n);
void lfs_ovl_put(struct lfs_ovl *ov, struct lfs_onode *n);

/* Child @name of directory node @parent, with one more kernel count and
 * a reference for the caller.  -ENOENT, -ENOTDIR, -ENAMETOOLONG, -EIO. */
int lfs_ovl_lookup(struct lfs_ovl *ov, struct lfs_onode *parent,
		   const char *name, struct lfs_onode **out);
/* The node of @parent/@name with a reference and no kernel count, for a
 * change the kernel did not name the object for (its other names, the
 * contents it checks). */
int lfs_ovl_node(struct lfs_ovl *ov, struct lfs_onode *parent,
		 const char *name, struct lfs_onode **out);
/* Drop @n kernel counts of node @id (forget). */
void lfs_ovl_forget(struct lfs_ovl *ov, uint64_t id, uint64_t n);
/* One more kernel count on @n (a reply that hands it out again). */
void lfs_ovl_count(struct lfs_ovl *ov, struct lfs_onode *n);

/* Attributes as stat(2) gives them. */
int lfs_ovl_stat(struct lfs_ovl *ov, struct lfs_onode *n, struct stat *st);
/* Symlink target (g_free). */
int lfs_ovl_readlink(struct lfs_ovl *ov, struct lfs_onode *n,
		     char **target);
ssize_t lfs_ovl_getxattr(struct lfs_ovl *ov, struct lfs_onode *n,
			 const char *name, void *buf, size_t size);
ssize_t lfs_ovl_listxattr(struct lfs_ovl *ov, struct lfs_onode *n,
			  char *buf, size_t size);
/* The merged listing of directory @n, counted (lfs_olist_unref). */
int lfs_ovl_dirlist(struct lfs_ovl *ov, struct lfs_onode *n,
		    struct lfs_olist **out);
/* The parent of directory @n (the root's is the root). */
uint64_t lfs_ovl_parent_id(struct lfs_ovl *ov, struct lfs_onode *n);

/* ---- for upper/, which changes the upper and tells the namespace ---- */

/* What a name resolves to. */
struct lfs_ovl_res {
	uint32_t type;	  /* S_IFMT bits */
	uint64_t ino;	  /* the node's ino */
	bool upper;	  /* the upper has it */
	nlink_t upper_nlink; /* ... with this many links */
	uint64_t upper_ino;  /* ... and this st_ino there */
	bool opaque;	  /* DIR: hides what is below */
	bool metacopy;	  /* REG: upper metadata over lower data */
	uint64_t lower;	  /* lower number of its lower part, 0: none */
	char *lower_path; /* where that is ("" the root), or NULL */
};

int lfs_ovl_resolve(struct lfs_ovl *ov, struct lfs_onode *parent,
		    const char *name, struct lfs_ovl_res *res);
void lfs_ovl_res_clear(struct lfs_ovl_res *res);
/* Resolve @name in @parent and find the node the kernel holds for it, if
 * any (*node NULL if none; else referenced, with no kernel count). */
int lfs_ovl_child(struct lfs_ovl *ov, struct lfs_onode *parent,
		  const char *name, struct lfs_ovl_res *res,
		  struct lfs_onode **node);
/* The directory node in the table that shows the lower directory at
 * @path (from the root of the lower stack) as its lower part, wherever
 * it is now (a renamed directory shows the one it had), referenced; NULL
 * if there is none. */
struct lfs_onode *lfs_ovl_lower_dir_node(struct lfs_ovl *ov, const char *path);
/* A directory descriptor and a name there for @n's upper ("." for the
 * root); *hold (put it) keeps the descriptor's owner alive. */
int lfs_ovl_upper_at(struct lfs_ovl *ov, struct lfs_onode *n,
		     struct lfs_onode **hold, char **name);

/* @n's upper directory descriptor (a DIR with an upper); borrowed, valid
 * while the caller holds @n.  -ENOENT if it has no upper. */
int lfs_ovl_dirfd(struct lfs_ovl *ov, struct lfs_onode *n);
/* @n's first name: its parent (referenced: lfs_ovl_put) and name
 * (g_free).  -ESTALE for a node with no name left (removed). */
int lfs_ovl_alias(struct lfs_ovl *ov, struct lfs_onode *n,
		  struct lfs_onode **parent, char **name);
/* A new object made in the upper at @parent/@name, with attributes @st
 * and (a directory) opaque or not: its node, with a kernel count and a
 * reference, as lfs_ovl_lookup() gives.  Nothing below has the name (the
 * caller made sure), so nothing is read again. */
void lfs_ovl_created(struct lfs_ovl *ov, struct lfs_onode *parent,
		     const char *name, const struct stat *st, bool opaque,
		     struct lfs_onode **out);
/* Name bookkeeping after the upper changed. */
void lfs_ovl_linked(struct lfs_ovl *ov, struct lfs_onode *n,
		    struct lfs_onode *parent, const char *name);
/* @parent/@name went away; @n is what it named, @last if that was the
 * object's last name (its ino may now be reused by the upper). */
void lfs_ovl_unlinked(struct lfs_ovl *ov, struct lfs_onode *n,
		      struct lfs_onode *parent, const char *name, bool last);
/* Copy-up of @n: its upper is about to appear as st_ino @upper_ino, or
 * is there (found, copied up by another node), or (@upper_ino 0) did not
 * come.  From the first call on, a name of @n's lower object found below
 * is @n too (a name the copy-up is linking), until lfs_ovl_copied() says
 * every name is linked. */
void lfs_ovl_copying(struct lfs_ovl *ov, struct lfs_onode *n,
		     uint64_t upper_ino);
/* The names @n has that are not in @seen (keys the call adds), to link
 * to the copy (struct lfs_alias *, parents referenced; free the array);
 * NULL when there is none, and from then on a name found below is never
 * @n again (it is another object: the lower one, at a name the copy-up
 * could not link). */
GPtrArray *lfs_ovl_copied(struct lfs_ovl *ov, struct lfs_onode *n,
			  GHashTable *seen);
/* Whether @n, which the caller holds once, is still in use otherwise (an
 * open file; a directory always, as the kernel may hold one as a working
 * directory with no reference to show for it) and has no name but
 * @parent/@name: if that name goes, its upper must be kept (orphaned). */
bool lfs_ovl_in_use(struct lfs_ovl *ov, struct lfs_onode *n,
		    const struct lfs_onode *parent, const char *name);
/* @n's upper, its last name gone, is now @name in the work directory
 * (taken over); it is removed from there when @n is freed.  Until then
 * @n's attributes, xattrs and data are there, as a local file system
 * keeps an unlinked inode for its open files: nlink 0, fstat, fchmod and
 * reads to the end still work. */
void lfs_ovl_orphaned(struct lfs_ovl *ov, struct lfs_onode *n, char *name);
void lfs_ovl_renamed(struct lfs_ovl *ov, struct lfs_onode *n,
		     struct lfs_onode *parent, const char *name,
		     struct lfs_onode *newparent, const char *newname);
/* @dir's entries changed: its cached listing goes. */
void lfs_ovl_dir_changed(struct lfs_ovl *ov, struct lfs_onode *dir);
/* Whether a name @name in directory @dir would show something from
 * below if the upper had nothing there: removing it then needs a
 * whiteout. */
bool lfs_ovl_lower_has(struct lfs_ovl *ov, struct lfs_onode *dir,
		       const char *name);
/* The lower object @n's lower part is (for copy-up), or -ENOENT. */
int lfs_ovl_lower_obj(struct lfs_ovl *ov, struct lfs_onode *n,
		      struct lfs_obj *out);
struct lfs_tree *lfs_ovl_lower_tree(struct lfs_ovl *ov);
const struct lfs_live *lfs_ovl_upper(struct lfs_ovl *ov);
const struct lfs_logger *lfs_ovl_logger(struct lfs_ovl *ov);

struct lfs_ovl_stats {
	uint64_t nodes;	   /* nodes the kernel holds now */
	uint64_t listings; /* merged listings built */
};

void lfs_ovl_stats(struct lfs_ovl *ov, struct lfs_ovl_stats *st);

#endif
