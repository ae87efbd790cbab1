/* Content digests ("sha256:<hex>", "sha512:<hex>") as OCI descriptors use
 * them, and a streaming hasher to verify blobs while they are read.
 *
 * The hasher is OpenSSL's libcrypto: it uses the CPU's SHA extensions and runs
 * about three times faster than portable C (GLib's GChecksum), which matters
 * because every byte of every layer is hashed at mount (docs/decisions). */
#ifndef LAYERFS_DIGEST_H
#define LAYERFS_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

enum lfs_digest_algo {
	LFS_DIGEST_SHA256,
	LFS_DIGEST_SHA512,
};

#define LFS_DIGEST_MAX_BYTES 64

struct lfs_digest {
	enum lfs_digest_algo algo;
	unsigned int len; /* bytes used in @bytes: 32 or 64 */
	uint8_t bytes[LFS_DIGEST_MAX_BYTES];
};

/* The bytes a digest of @algo holds (32 or 64), or 0 for a value that
 * names no algorithm: one read from a file is checked with this before
 * anything uses it as an enum lfs_digest_algo. */
unsigned int lfs_digest_len(unsigned int algo);

/* Parse "algo:hex".  The OCI spec allows only lowercase hex of the exact
 * length.  Returns 0 or -EINVAL. */
int lfs_digest_parse(const char *s, struct lfs_digest *out);

/* "sha256:<hex>" in a new string (g_free). */
char *lfs_digest_to_string(const struct lfs_digest *d);

/* Lowercase hex of the digest bytes only, in a new string (g_free). */
char *lfs_digest_hex(const struct lfs_digest *d);

bool lfs_digest_equal(const struct lfs_digest *a, const struct lfs_digest *b);

struct lfs_hasher;

/* Returns 0 or -ENOMEM. */
int lfs_hasher_new(enum lfs_digest_algo algo, struct lfs_hasher **out);
/* The same, hashing on a thread of its own: update() queues a copy of the
 * bytes and returns, so hashing overlaps with the caller's work (an index
 * pass inflating and scanning on one core, hashing on another). */
int lfs_hasher_new_async(enum lfs_digest_algo algo,
			 struct lfs_hasher **out);
void lfs_hasher_update(struct lfs_hasher *h, const void *buf, size_t len);
/* Finish and write the digest to @out; the hasher may not be updated again. */
void lfs_hasher_finish(struct lfs_hasher *h, struct lfs_digest *out);
void lfs_hasher_free(struct lfs_hasher *h);

typedef struct lfs_hasher lfs_hasher;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(lfs_hasher, lfs_hasher_free)

#endif
