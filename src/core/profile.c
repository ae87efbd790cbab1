/* The order a mount's files were first read in (see profile.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "layerfs/cache.h"
#include "layerfs/cleanup.h"
#include "layerfs/fdutil.h"
#include "layerfs/profile.h"

#define PROFILE_MAGIC "LFSPROF"
#define PROFILE_VERSION 1u

/* On disk: this header, then `count` struct lfs_profile_range, all in
 * the machine's byte order (a cache is not shared between machines of
 * another kind; the checksum would refuse it anyway). */
struct profile_header {
	char magic[8];
	uint32_t version;
	uint32_t count;
	uint64_t checksum; /* XXH3-64 of the ranges */
};

struct lfs_profile {
	GMutex lock;
	uint32_t nlayers;
	uint32_t *nentries;
	uint8_t **seen; /* per layer, a bit per entry, made when first needed */
	GArray *ranges;
};

struct lfs_profile *lfs_profile_new(uint32_t nlayers,
				    const uint32_t *nentries)
{
	struct lfs_profile *p = g_new0(struct lfs_profile, 1);

	g_mutex_init(&p->lock);
	p->nlayers = nlayers;
	p->nentries = g_memdup2(nentries, nlayers * sizeof(*nentries));
	p->seen = g_new0(uint8_t *, nlayers);
	p->ranges = g_array_new(FALSE, FALSE, sizeof(struct lfs_profile_range));
	return p;
}

void lfs_profile_free(struct lfs_profile *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < p->nlayers; i++)
		g_free(p->seen[i]);
	g_free(p->seen);
	g_free(p->nentries);
	g_array_unref(p->ranges);
	g_mutex_clear(&p->lock);
	g_free(p);
}

void lfs_profile_note(struct lfs_profile *p, uint32_t layer, uint32_t entry,
		      uint64_t off, uint64_t len)
{
	struct lfs_profile_range r = { .layer = layer, .off = off, .len = len };
	uint8_t bit = (uint8_t)(1u << (entry % 8));

	if (layer >= p->nlayers || entry >= p->nentries[layer])
		return;
	g_mutex_lock(&p->lock);
	if (!p->seen[layer])
		p->seen[layer] = g_malloc0(p->nentries[layer] / 8 + 1);
	if (!(p->seen[layer][entry / 8] & bit)) {
		p->seen[layer][entry / 8] |= bit;
		if (len > 0 && p->ranges->len < LFS_PROFILE_MAX)
			g_array_append_val(p->ranges, r);
	}
	g_mutex_unlock(&p->lock);
}

GArray *lfs_profile_ranges(struct lfs_profile *p)
{
	GArray *copy = g_array_new(FALSE, FALSE,
				   sizeof(struct lfs_profile_range));

	g_mutex_lock(&p->lock);
	g_array_append_vals(copy, p->ranges->data, p->ranges->len);
	g_mutex_unlock(&p->lock);
	return copy;
}

int lfs_profile_save(int dirfd, const char *name, const GArray *ranges)
{
	struct profile_header h = { .version = PROFILE_VERSION };
	size_t len = ranges->len * sizeof(struct lfs_profile_range);
	lfs_autofd fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC,
			       0644);
	int err;

	if (fd < 0)
		return -errno;
	memcpy(h.magic, PROFILE_MAGIC, sizeof(PROFILE_MAGIC));
	h.count = ranges->len;
	h.checksum = XXH3_64bits(ranges->data, len);
	err = lfs_pwrite_full(fd, &h, sizeof(h), 0);
	if (err == 0)
		err = lfs_pwrite_full(fd, ranges->data, len, sizeof(h));
	/* No fsync: a profile torn by a crash fails its checksum, and the
	 * next mount only reads nothing ahead. */
	if (err == 0)
		err = lfs_cache_publish(dirfd, fd, name);
	return err;
}

/* What is wrong with ranges read from a profile, or NULL. */
static const char *check_ranges(const struct lfs_profile_range *r,
				uint32_t n, uint32_t nlayers)
{
	for (uint32_t i = 0; i < n; i++) {
		if (r[i].layer >= nlayers)
			return "a range of a layer the image does not have";
		if (r[i].reserved || r[i].len == 0 ||
		    r[i].off + r[i].len < r[i].off)
			return "a malformed range";
	}
	return NULL;
}

int lfs_profile_load(int dirfd, const char *name, uint32_t nlayers,
		     GArray **ranges, const char **why)
{
	/* O_NONBLOCK: a FIFO in its place must not hang the mount. */
	lfs_autofd fd = openat(dirfd, name,
			       O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct profile_header h;
	struct stat st;
	g_autofree struct lfs_profile_range *r = NULL;
	size_t len;
	ssize_t n;

	*why = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < sizeof(h)) {
		*why = "not a profile";
		return -EINVAL;
	}
	n = lfs_pread_full(fd, &h, sizeof(h), 0);
	if (n < 0)
		return (int)n;
	if (n != sizeof(h)) {
		*why = "cut short";
		return -EINVAL;
	}
	if (memcmp(h.magic, PROFILE_MAGIC, sizeof(PROFILE_MAGIC)) != 0) {
		*why = "not a profile";
		return -EINVAL;
	}
	if (h.version != PROFILE_VERSION) {
		*why = "another format version";
		return -ESTALE;
	}
	if (h.count > LFS_PROFILE_MAX ||
	    (uint64_t)st.st_size !=
		    sizeof(h) + (uint64_t)h.count * sizeof(*r)) {
		*why = "cut short or too long";
		return -EINVAL;
	}
	len = h.count * sizeof(*r);
	r = g_malloc(len ? len : 1);
	n = lfs_pread_full(fd, r, len, sizeof(h));
	if (n < 0)
		return (int)n;
	if ((size_t)n != len) {
		*why = "cut short";
		return -EINVAL;
	}
	if (XXH3_64bits(r, len) != h.checksum) {
		*why = "its checksum does not match";
		return -EINVAL;
	}
	*why = check_ranges(r, h.count, nlayers);
	if (*why)
		return -EINVAL;
	*ranges = g_array_new(FALSE, FALSE, sizeof(*r));
	g_array_append_vals(*ranges, r, h.count);
	return 0;
}

char *lfs_profile_name(const char *const *keys, uint32_t n)
{
	XXH3_state_t *st = XXH3_createState();
	uint64_t h;

	if (!st)
		g_error("out of memory");
	XXH3_64bits_reset(st);
	for (uint32_t i = 0; i < n; i++) {
		XXH3_64bits_update(st, keys[i], strlen(keys[i]));
		XXH3_64bits_update(st, "\n", 1);
	}
	h = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return g_strdup_printf("%016" PRIx64 ".prof", h);
}
