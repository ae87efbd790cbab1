/* Declarations shared by src/tree/overlay.c and olist.c only. */
#ifndef LAYERFS_OVERLAY_INTERNAL_H
#define LAYERFS_OVERLAY_INTERNAL_H

#include "layerfs/overlay.h"

struct lfs_ovl {
	struct lfs_tree *lower;
	const struct lfs_live *upper;
	const struct lfs_logger *lg;
	int workfd; /* borrowed; see lfs_ovl_options */
	void (*drop_orphan)(void *ctx, const char *name);
	void *ctx;
	struct lfs_onode *root;
	uint64_t seed;	 /* for listing cookies: per mount, never guessed */
	uint64_t budget; /* bytes cached listings may take */
	GMutex lock;	 /* protects what follows, and see overlay.h */
	GHashTable *by_id;  /* id -> struct lfs_onode * (the table's ref) */
	GHashTable *by_ino; /* ino -> struct lfs_onode * (not counted) */
	uint64_t next_id;
	uint64_t nodes;
	GQueue lru;	     /* nodes with a cached listing, newest first */
	uint64_t list_bytes; /* what those listings take */
	uint64_t listings;   /* listings built */
};

/* A snapshot of a node's upper state (taken under its lock). */
struct ovl_state {
	bool upper, opaque, metacopy;
	uint64_t lower;
};

size_t lfs_olist_bytes(const struct lfs_olist *l);

#endif
