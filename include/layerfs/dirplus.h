/* Which directory listings carry their entries' attributes.
 *
 * A listing can come with every entry's attributes (FUSE's readdirplus),
 * which saves a lookup per entry to a program that then stats them all
 * (`ls -l`, `du`, `find -ls`), but makes the kernel build an inode and a
 * dentry for every entry, which a program that only wants names (`find`,
 * `find -name`, shell globs) pays for and never uses: on a million-file
 * tree, 2.2 s of a cold `find` against 0.5 s with names only.  The
 * kernel's own choice (READDIRPLUS_AUTO) gives attributes to the first
 * batch of every listing, which is the whole of most directories.
 *
 * So layerfs watches: a mount starts giving attributes; one listing in
 * LFS_DIRPLUS_PROBE_EVERY goes out with names only, and if most of its
 * files are not looked up afterwards, listings go on with names only.
 * With names only, the files that are looked up are counted against the
 * files listed; once they are a quarter of them, attributes come back.
 * Thread-safe. */
#ifndef LAYERFS_DIRPLUS_H
#define LAYERFS_DIRPLUS_H

#include <stdbool.h>
#include <stdint.h>

/* One listing in this many is a probe while attributes are on. */
#define LFS_DIRPLUS_PROBE_EVERY 16

struct lfs_dirplus;

struct lfs_dirplus_stats {
	uint64_t with_attrs;   /* listings sent with attributes */
	uint64_t names_only;   /* listings sent with names only */
	uint64_t switches;     /* times the choice changed */
	bool attrs;	       /* the current choice */
};

struct lfs_dirplus *lfs_dirplus_new(void);
void lfs_dirplus_free(struct lfs_dirplus *p);

/* A listing of directory @dir is about to be sent from position @off (0:
 * its start): should its entries carry attributes? */
bool lfs_dirplus_begin(struct lfs_dirplus *p, uint64_t dir, uint64_t off);

/* That listing went out with @files entries that are not directories,
 * with attributes or not as lfs_dirplus_begin() said. */
void lfs_dirplus_sent(struct lfs_dirplus *p, uint64_t dir, bool attrs,
		      uint32_t files);

/* A lookup found a non-directory in directory @parent. */
void lfs_dirplus_lookup(struct lfs_dirplus *p, uint64_t parent);

void lfs_dirplus_stats(struct lfs_dirplus *p, struct lfs_dirplus_stats *st);

#endif
