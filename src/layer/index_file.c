/* Index files: writing, mapping, validating (see index_file.h and
 * docs/index-format.md).
 *
 * The file is written in native byte order and record layout: it is a
 * local cache, so a file from another machine or build is simply rejected
 * (the endian mark, the record sizes and the version are checked) and
 * rebuilt. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "layerfs/cache.h"
#include "layerfs/cleanup.h"
#include "layerfs/fdutil.h"
#include "layerfs/index_file.h"

void lfs_blob_id_of(struct lfs_blob_id *id, const struct stat *st,
		    uint64_t offset, uint64_t length)
{
	/* Every byte set: the record is compared with memcmp() and is part
	 * of the file. */
	memset(id, 0, sizeof(*id));
	id->dev = (uint64_t)st->st_dev;
	id->ino = (uint64_t)st->st_ino;
	id->size = (uint64_t)st->st_size;
	id->mtime_sec = st->st_mtim.tv_sec;
	id->mtime_nsec = (uint64_t)st->st_mtim.tv_nsec;
	id->ctime_sec = st->st_ctim.tv_sec;
	id->ctime_nsec = (uint64_t)st->st_ctim.tv_nsec;
	id->offset = offset;
	id->length = length;
}

bool lfs_blob_id_same_file(const struct lfs_blob_id *id,
			   const struct stat *st)
{
	return id->ino == (uint64_t)st->st_ino &&
	       id->size == (uint64_t)st->st_size &&
	       id->mtime_sec == st->st_mtim.tv_sec &&
	       id->mtime_nsec == (uint64_t)st->st_mtim.tv_nsec &&
	       id->ctime_sec == st->st_ctim.tv_sec &&
	       id->ctime_nsec == (uint64_t)st->st_ctim.tv_nsec;
}

/* Sections start 8-aligned, so records in them are aligned in the map. */
#define ALIGN 8

/* The entry layout is part of the format. */
G_STATIC_ASSERT(sizeof(struct lfs_index_entry) == 64);
G_STATIC_ASSERT(offsetof(struct lfs_index_entry, mtime_sec) == 32);
G_STATIC_ASSERT(offsetof(struct lfs_index_entry, u) == 48);
G_STATIC_ASSERT(sizeof(struct lfs_index_xattr) == 12);
G_STATIC_ASSERT(sizeof(struct lfs_index_extent) == 24);
G_STATIC_ASSERT(sizeof(struct lfs_index_checkpoint) == 40);
G_STATIC_ASSERT(sizeof(struct lfs_index_frame) == 16);

G_STATIC_ASSERT(sizeof(struct lfs_index_file_header) % ALIGN == 0);
G_STATIC_ASSERT(offsetof(struct lfs_index_file_header, checksum) ==
		LFS_INDEX_FILE_CHECKSUM_AT);

/* Record size of each section (1: bytes). */
static const size_t record_size[LFS_SEC_COUNT] = {
	[LFS_SEC_ENTRIES] = sizeof(struct lfs_index_entry),
	[LFS_SEC_STRTAB] = 1,
	[LFS_SEC_XATTRS] = sizeof(struct lfs_index_xattr),
	[LFS_SEC_EXTENTS] = sizeof(struct lfs_index_extent),
	[LFS_SEC_HARDLINKS] = sizeof(uint32_t),
	[LFS_SEC_CHECKPOINTS] = sizeof(struct lfs_index_checkpoint),
	[LFS_SEC_WINDOWS] = 1,
	[LFS_SEC_FRAMES] = sizeof(struct lfs_index_frame),
	[LFS_SEC_IMPLICIT] = sizeof(uint32_t),
	[LFS_SEC_SUMS] = sizeof(uint64_t),
};

struct piece {
	const void *data;
	uint64_t size;
};

static void pieces_of(const struct lfs_index *ix, struct piece *p)
{
	p[LFS_SEC_ENTRIES] = (struct piece){ ix->entries,
					 (uint64_t)ix->nentries *
						 sizeof(ix->entries[0]) };
	p[LFS_SEC_STRTAB] = (struct piece){ ix->strtab, ix->strtab_len };
	p[LFS_SEC_XATTRS] = (struct piece){ ix->xattrs,
					(uint64_t)ix->nxattrs *
						sizeof(ix->xattrs[0]) };
	p[LFS_SEC_EXTENTS] = (struct piece){ ix->extents,
					 (uint64_t)ix->nextents *
						 sizeof(ix->extents[0]) };
	p[LFS_SEC_HARDLINKS] = (struct piece){ ix->hardlinks,
					   (uint64_t)ix->nhardlinks *
						   sizeof(uint32_t) };
	p[LFS_SEC_CHECKPOINTS] = (struct piece){
		ix->checkpoints,
		(uint64_t)ix->ncheckpoints * sizeof(ix->checkpoints[0])
	};
	p[LFS_SEC_WINDOWS] = (struct piece){ ix->windows, ix->windows_len };
	p[LFS_SEC_FRAMES] = (struct piece){ ix->frames,
					(uint64_t)ix->nframes *
						sizeof(ix->frames[0]) };
	p[LFS_SEC_IMPLICIT] = (struct piece){ ix->implicit,
					  (uint64_t)ix->nimplicit *
						  sizeof(uint32_t) };
	p[LFS_SEC_SUMS] = (struct piece){ ix->sums, (uint64_t)ix->nsums *
							    sizeof(uint64_t) };
}

static uint64_t align_up(uint64_t n)
{
	return (n + ALIGN - 1) & ~(uint64_t)(ALIGN - 1);
}

void lfs_index_file_header_init(struct lfs_index_file_header *h,
				const struct lfs_index_meta *meta)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, LFS_INDEX_FILE_MAGIC, sizeof(h->magic));
	h->version = LFS_INDEX_FILE_VERSION;
	h->endian = LFS_INDEX_FILE_ENDIAN;
	h->header_size = sizeof(*h);
	h->entry_size = sizeof(struct lfs_index_entry);
	h->blob = meta->blob;
	h->stored_size = meta->stored_size;
	h->tar_size = meta->tar_size;
	h->compression = meta->compression;
	if (meta->has_digest) {
		h->digest_algo = meta->digest.algo;
		h->digest_len = meta->digest.len;
		memcpy(h->digest, meta->digest.bytes, meta->digest.len);
	}
	h->span = meta->span;
}

static void fill_header(struct lfs_index_file_header *h, const struct lfs_index *ix,
			const struct lfs_index_meta *meta,
			const struct piece *p)
{
	uint64_t off = sizeof(*h);

	lfs_index_file_header_init(h, meta);
	h->stat_entries = ix->stat_entries;
	h->stat_whiteouts = ix->stat_whiteouts;
	h->sum_chunk = ix->sum_chunk;
	for (int s = 0; s < LFS_SEC_COUNT; s++) {
		h->sec[s].offset = off;
		h->sec[s].size = p[s].size;
		off = align_up(off + p[s].size);
	}
	h->file_size = off;
}

static const uint8_t zeros[ALIGN];

/* Write the header, then each section padded to ALIGN, hashing as we go;
 * the checksum is written into the header last. */
static int write_all(int fd, struct lfs_index_file_header *h, const struct piece *p)
{
	XXH3_state_t *st = XXH3_createState();
	int err;

	if (!st)
		return -ENOMEM;
	XXH3_64bits_reset(st);
	XXH3_64bits_update(st, h, sizeof(*h));
	err = lfs_write_full(fd, h, sizeof(*h));
	for (int s = 0; !err && s < LFS_SEC_COUNT; s++) {
		size_t pad = (size_t)(align_up(p[s].size) - p[s].size);

		XXH3_64bits_update(st, p[s].data, (size_t)p[s].size);
		XXH3_64bits_update(st, zeros, pad);
		err = lfs_write_full(fd, p[s].data, (size_t)p[s].size);
		if (!err)
			err = lfs_write_full(fd, zeros, pad);
	}
	h->checksum = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	if (!err) {
		ssize_t n = pwrite(fd, &h->checksum, sizeof(h->checksum),
				   offsetof(struct lfs_index_file_header, checksum));

		if (n < 0)
			err = -errno;
		else if ((size_t)n != sizeof(h->checksum))
			err = -EIO;
	}
	return err;
}

int lfs_index_file_write(int dirfd, const char *name,
			 const struct lfs_index *ix,
			 const struct lfs_index_meta *meta)
{
	lfs_autofd fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
			       0644);
	struct piece p[LFS_SEC_COUNT];
	struct lfs_index_file_header h;
	int err;

	if (fd < 0)
		return -errno;
	pieces_of(ix, p);
	fill_header(&h, ix, meta, p);
	err = write_all(fd, &h, p);
	/* On disk before it has a name: a crash never leaves a named,
	 * half-written index. */
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (!err)
		err = lfs_cache_publish(dirfd, fd, name);
	return err;
}

/* Bytes the checksum of a written file is read back in. */
#define SEAL_CHUNK (1u << 20)

int lfs_index_file_seal(int fd, struct lfs_index_file_header *h)
{
	g_autofree uint8_t *buf = g_malloc(SEAL_CHUNK);
	XXH3_state_t *st = XXH3_createState();
	int err;

	if (!st)
		return -ENOMEM;
	h->checksum = 0;
	err = lfs_pwrite_full(fd, h, sizeof(*h), 0);
	if (err == 0 && ftruncate(fd, (off_t)h->file_size) < 0)
		err = -errno;
	XXH3_64bits_reset(st);
	for (uint64_t at = 0; err == 0 && at < h->file_size;) {
		size_t want = (size_t)MIN((uint64_t)SEAL_CHUNK,
					  h->file_size - at);
		ssize_t n = pread(fd, buf, want, (off_t)at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		XXH3_64bits_update(st, buf, (size_t)n);
		at += (uint64_t)n;
	}
	h->checksum = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	if (err == 0)
		err = lfs_pwrite_full(fd, &h->checksum, sizeof(h->checksum),
				      offsetof(struct lfs_index_file_header,
					       checksum));
	return err;
}

/* ---- loading ---------------------------------------------------------- */

static const char *check_header(const struct lfs_index_file_header *h, uint64_t size)
{
	if (size < sizeof(*h) || memcmp(h->magic, LFS_INDEX_FILE_MAGIC, sizeof(h->magic)))
		return "not an index file";
	if (h->version != LFS_INDEX_FILE_VERSION)
		return "another format version";
	if (h->endian != LFS_INDEX_FILE_ENDIAN || h->header_size != sizeof(*h) ||
	    h->entry_size != sizeof(struct lfs_index_entry))
		return "written by another kind of machine or build";
	if (h->file_size != size)
		return "truncated or extended";
	if (h->compression > LFS_COMP_ZSTD)
		return "bad header";
	/* Checked before meta_of() makes it an enum: lfs_digest_to_string()
	 * (layerfs inspect) looks the algorithm's name up in a table. */
	if (h->digest_len &&
	    lfs_digest_len(h->digest_algo) != h->digest_len)
		return "bad digest";
	for (int s = 0; s < LFS_SEC_COUNT; s++) {
		const struct lfs_index_file_section *d = &h->sec[s];

		if (d->offset < sizeof(*h) || d->offset % ALIGN ||
		    d->offset > size || d->size > size - d->offset ||
		    d->size % record_size[s])
			return "section out of bounds";
	}
	if (h->sec[LFS_SEC_ENTRIES].size / sizeof(struct lfs_index_entry) >
		    UINT32_MAX ||
	    h->sec[LFS_SEC_STRTAB].size > UINT32_MAX)
		return "section too large";
	return NULL;
}

static bool checksum_ok(const uint8_t *map, uint64_t size)
{
	const struct lfs_index_file_header *h = (const struct lfs_index_file_header *)map;
	uint64_t zero = 0;
	XXH3_state_t *st = XXH3_createState();
	uint64_t sum;
	size_t at = offsetof(struct lfs_index_file_header, checksum);

	if (!st)
		return false;
	XXH3_64bits_reset(st);
	XXH3_64bits_update(st, map, at);
	XXH3_64bits_update(st, &zero, sizeof(zero));
	XXH3_64bits_update(st, map + at + sizeof(zero),
			   (size_t)size - at - sizeof(zero));
	sum = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return sum == h->checksum;
}

static void *section(uint8_t *map, const struct lfs_index_file_header *h, int s,
		     uint32_t *count)
{
	*count = (uint32_t)(h->sec[s].size / record_size[s]);
	return h->sec[s].size ? map + h->sec[s].offset : NULL;
}

/* An index whose arrays point into @map. */
static struct lfs_index *index_over(uint8_t *map, uint64_t size)
{
	const struct lfs_index_file_header *h = (const struct lfs_index_file_header *)map;
	struct lfs_index *ix = g_new0(struct lfs_index, 1);
	uint32_t n;

	ix->map = map;
	ix->map_len = (size_t)size;
	ix->entries = section(map, h, LFS_SEC_ENTRIES, &ix->nentries);
	ix->strtab = section(map, h, LFS_SEC_STRTAB, &ix->strtab_len);
	ix->xattrs = section(map, h, LFS_SEC_XATTRS, &ix->nxattrs);
	ix->extents = section(map, h, LFS_SEC_EXTENTS, &ix->nextents);
	ix->hardlinks = section(map, h, LFS_SEC_HARDLINKS, &ix->nhardlinks);
	ix->checkpoints = section(map, h, LFS_SEC_CHECKPOINTS,
				  &ix->ncheckpoints);
	ix->windows = section(map, h, LFS_SEC_WINDOWS, &n);
	ix->windows_len = h->sec[LFS_SEC_WINDOWS].size;
	ix->frames = section(map, h, LFS_SEC_FRAMES, &ix->nframes);
	ix->implicit = section(map, h, LFS_SEC_IMPLICIT, &ix->nimplicit);
	ix->sums = section(map, h, LFS_SEC_SUMS, &ix->nsums);
	ix->sum_chunk = h->sum_chunk;
	ix->stat_entries = h->stat_entries;
	ix->stat_whiteouts = h->stat_whiteouts;
	return ix;
}

static void meta_of(const struct lfs_index_file_header *h, struct lfs_index_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	meta->blob = h->blob;
	meta->stored_size = h->stored_size;
	meta->tar_size = h->tar_size;
	meta->compression = (enum lfs_compression)h->compression;
	meta->span = h->span;
	meta->has_digest = h->digest_len > 0;
	meta->digest.algo = (enum lfs_digest_algo)h->digest_algo;
	meta->digest.len = h->digest_len;
	memcpy(meta->digest.bytes, h->digest, h->digest_len);
}

/* Every inflate checks what it produced against the checksums
 * (seek_index.h): an index of a compressed layer without them would let a
 * changed layer be served, so it is not trusted. */
static bool sums_present(const struct lfs_index *ix,
			 const struct lfs_index_meta *meta, const char **why)
{
	if (meta->compression == LFS_COMP_NONE || meta->tar_size == 0 ||
	    ix->nsums > 0)
		return true;
	*why = "no checksums of the uncompressed stream";
	return false;
}

int lfs_index_file_load(int dirfd, const char *name, struct lfs_index **out,
			struct lfs_index_meta *meta, const char **why)
{
	return lfs_index_file_load_written(dirfd, name, NULL, out, meta, why);
}

int lfs_index_file_load_written(int dirfd, const char *name,
				const struct stat *written,
				struct lfs_index **out,
				struct lfs_index_meta *meta, const char **why)
{
	/* O_NONBLOCK: a FIFO in its place must not hang the mount (fstat
	 * then refuses it). */
	lfs_autofd fd = openat(dirfd, name,
			       O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct lfs_index *ix;
	struct stat st;
	uint8_t *map;

	*why = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < sizeof(struct lfs_index_file_header)) {
		*why = "not an index file";
		return -EINVAL;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	*why = check_header((const struct lfs_index_file_header *)map, (uint64_t)st.st_size);
	/* The file this process sealed a moment ago (the same inode): its
	 * checksum was made from these bytes. */
	if (!*why && !(written && written->st_dev == st.st_dev &&
		       written->st_ino == st.st_ino) &&
	    !checksum_ok(map, (uint64_t)st.st_size))
		*why = "checksum mismatch";
	if (*why) {
		/* Another version is an upgrade, not damage. */
		bool other_version = memcmp(map, LFS_INDEX_FILE_MAGIC, 8) == 0 &&
				     ((const struct lfs_index_file_header *)map)
						     ->version !=
					     LFS_INDEX_FILE_VERSION;

		munmap(map, (size_t)st.st_size);
		return other_version ? -ESTALE : -EINVAL;
	}
	ix = index_over(map, (uint64_t)st.st_size);
	meta_of((const struct lfs_index_file_header *)map, meta);
	if (!lfs_index_validate(ix, meta->tar_size, meta->stored_size, why) ||
	    !sums_present(ix, meta, why)) {
		lfs_index_free(ix);
		return -EINVAL;
	}
	/* Checking touched every page; lookups fault back what they use. */
	lfs_index_file_release(ix);
	*out = ix;
	return 0;
}

int lfs_index_file_adopt(int fd, struct lfs_index **out)
{
	struct stat st;
	uint8_t *map;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < sizeof(struct lfs_index_file_header))
		return -EINVAL;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	*out = index_over(map, (uint64_t)st.st_size);
	return 0;
}

void lfs_index_file_prefetch(const struct lfs_index *ix)
{
	if (ix->map)
		madvise(ix->map, ix->map_len, MADV_WILLNEED);
}

void lfs_index_file_release(const struct lfs_index *ix)
{
	/* A read-only shared file mapping: nothing is lost. */
	if (ix->map)
		madvise(ix->map, ix->map_len, MADV_DONTNEED);
}
