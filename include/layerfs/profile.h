/* The order a mount's files were first read in, kept per image in the
 * cache (profile/KEY.prof) and read ahead in that order by the next mount
 * of the same layers, as the lazy-pulling snapshotters replay a recorded
 * start-up: a container that reads the same files at every start finds
 * them on their way into the page cache (docs/decisions/0035).
 *
 * A record is a byte range of a layer's uncompressed tar stream: where a
 * file's data lies.  Ranges, not file names or index entries, so a profile
 * stays right for the same layers whatever build indexed them.  Recording
 * is thread-safe. */
#ifndef LAYERFS_PROFILE_H
#define LAYERFS_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

/* At most this many ranges are recorded (24 bytes each on disk). */
#define LFS_PROFILE_MAX 65536

struct lfs_profile_range {
	uint32_t layer; /* 0 = the bottom layer */
	uint32_t reserved;
	uint64_t off, len;
};

struct lfs_profile;

/* A recorder for a mount of @nlayers layers, the i-th holding
 * @nentries[i] index entries. */
struct lfs_profile *lfs_profile_new(uint32_t nlayers,
				    const uint32_t *nentries);
void lfs_profile_free(struct lfs_profile *p);

/* Entry @entry of layer @layer, its data at [@off, @off + @len) of the
 * layer's stream, is being opened: recorded the first time only. */
void lfs_profile_note(struct lfs_profile *p, uint32_t layer, uint32_t entry,
		      uint64_t off, uint64_t len);

/* The ranges recorded so far, in order (a copy; g_array_unref). */
GArray *lfs_profile_ranges(struct lfs_profile *p);

/* Write @ranges as @name in @dirfd, whole or not at all (a temporary
 * file renamed).  Returns 0 or -errno. */
int lfs_profile_save(int dirfd, const char *name, const GArray *ranges);

/* Read profile @name from @dirfd: its ranges, each of a layer below
 * @nlayers (the caller checks they lie inside the layer).  Returns 0,
 * -ENOENT when there is none, or another -errno with *why saying what is
 * wrong with the file. */
int lfs_profile_load(int dirfd, const char *name, uint32_t nlayers,
		     GArray **ranges, const char **why);

/* The file name of the profile of a stack of layers whose cache keys are
 * @keys (bottom first): the same layers, the same profile. */
char *lfs_profile_name(const char *const *keys, uint32_t n);

#endif
