/* Digest strings and a libcrypto-backed streaming hasher (see digest.h). */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "layerfs/digest.h"

/* Bytes an asynchronous hasher may have queued before update() waits:
 * enough to ride out bursts, little enough to stay out of the way. */
#define ASYNC_MAX_QUEUED (16u << 20)

/* An asynchronous hasher makes every libcrypto call on its own thread,
 * which frees libcrypto's state for that thread (OPENSSL_thread_stop())
 * before it ends.  Otherwise the caller's thread (a worker of a GLib pool,
 * which may outlive libcrypto's exit handler) would keep a per-thread
 * error state that nothing frees. */
struct lfs_hasher {
	EVP_MD_CTX *ctx;
	enum lfs_digest_algo algo;
	/* Asynchronous hashers only: */
	GThread *thread;
	GAsyncQueue *queue; /* GBytes *; an empty one ends the thread */
	GMutex lock;
	GCond drained;
	size_t queued;		  /* bytes in the queue; protected by lock */
	int started;		  /* 1 ready, -1 failed; protected by lock */
	struct lfs_digest result; /* written by the thread as it ends */
};

static const struct {
	const char *name;
	unsigned int len;
} algos[] = {
	[LFS_DIGEST_SHA256] = { "sha256", 32 },
	[LFS_DIGEST_SHA512] = { "sha512", 64 },
};

unsigned int lfs_digest_len(unsigned int algo)
{
	return algo < G_N_ELEMENTS(algos) ? algos[algo].len : 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int lfs_digest_parse(const char *s, struct lfs_digest *out)
{
	const char *colon = s ? strchr(s, ':') : NULL;

	if (!colon)
		return -EINVAL;
	for (size_t a = 0; a < G_N_ELEMENTS(algos); a++) {
		size_t nlen = strlen(algos[a].name);
		const char *hex = colon + 1;

		if ((size_t)(colon - s) != nlen ||
		    memcmp(s, algos[a].name, nlen) != 0)
			continue;
		if (strlen(hex) != 2 * algos[a].len)
			return -EINVAL;
		for (unsigned int i = 0; i < algos[a].len; i++) {
			int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			out->bytes[i] = (uint8_t)(hi << 4 | lo);
		}
		out->algo = (enum lfs_digest_algo)a;
		out->len = algos[a].len;
		return 0;
	}
	return -EINVAL;
}

char *lfs_digest_hex(const struct lfs_digest *d)
{
	static const char digits[] = "0123456789abcdef";
	char *hex = g_malloc(2 * d->len + 1);

	for (unsigned int i = 0; i < d->len; i++) {
		hex[2 * i] = digits[d->bytes[i] >> 4];
		hex[2 * i + 1] = digits[d->bytes[i] & 0xf];
	}
	hex[2 * d->len] = '\0';
	return hex;
}

char *lfs_digest_to_string(const struct lfs_digest *d)
{
	g_autofree char *hex = lfs_digest_hex(d);

	return g_strconcat(algos[d->algo].name, ":", hex, NULL);
}

bool lfs_digest_equal(const struct lfs_digest *a, const struct lfs_digest *b)
{
	return a->algo == b->algo && a->len == b->len &&
	       memcmp(a->bytes, b->bytes, a->len) == 0;
}

static EVP_MD_CTX *new_ctx(enum lfs_digest_algo algo)
{
	const EVP_MD *md = algo == LFS_DIGEST_SHA512 ? EVP_sha512()
						     : EVP_sha256();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx && EVP_DigestInit_ex(ctx, md, NULL) != 1)
		g_clear_pointer(&ctx, EVP_MD_CTX_free);
	return ctx;
}

static void final(EVP_MD_CTX *ctx, enum lfs_digest_algo algo,
		  struct lfs_digest *out)
{
	unsigned int len = 0;

	EVP_DigestFinal_ex(ctx, out->bytes, &len);
	out->algo = algo;
	out->len = len;
}

int lfs_hasher_new(enum lfs_digest_algo algo, struct lfs_hasher **out)
{
	struct lfs_hasher *h = g_new0(struct lfs_hasher, 1);

	h->algo = algo;
	h->ctx = new_ctx(algo);
	if (!h->ctx) {
		lfs_hasher_free(h);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

static void set_started(struct lfs_hasher *h, int how)
{
	g_mutex_lock(&h->lock);
	h->started = how;
	g_cond_signal(&h->drained);
	g_mutex_unlock(&h->lock);
}

static gpointer hash_thread(gpointer data)
{
	struct lfs_hasher *h = data;
	EVP_MD_CTX *ctx = new_ctx(h->algo);
	GBytes *b;

	set_started(h, ctx ? 1 : -1);
	while (ctx && (b = g_async_queue_pop(h->queue)) != NULL) {
		gsize len;
		const void *p = g_bytes_get_data(b, &len);

		if (len == 0) {
			g_bytes_unref(b);
			break;
		}
		EVP_DigestUpdate(ctx, p, len);
		g_bytes_unref(b);
		g_mutex_lock(&h->lock);
		h->queued -= len;
		g_cond_signal(&h->drained);
		g_mutex_unlock(&h->lock);
	}
	if (ctx) {
		final(ctx, h->algo, &h->result);
		EVP_MD_CTX_free(ctx);
	}
	OPENSSL_thread_stop();
	return NULL;
}

int lfs_hasher_new_async(enum lfs_digest_algo algo, struct lfs_hasher **out)
{
	struct lfs_hasher *h = g_new0(struct lfs_hasher, 1);
	int started;

	h->algo = algo;
	g_mutex_init(&h->lock);
	g_cond_init(&h->drained);
	h->queue = g_async_queue_new();
	h->thread = g_thread_new("layerfs-hash", hash_thread, h);
	g_mutex_lock(&h->lock);
	while (!h->started)
		g_cond_wait(&h->drained, &h->lock);
	started = h->started;
	g_mutex_unlock(&h->lock);
	if (started < 0) {
		lfs_hasher_free(h);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

void lfs_hasher_update(struct lfs_hasher *h, const void *buf, size_t len)
{
	if (!h->thread) {
		EVP_DigestUpdate(h->ctx, buf, len);
		return;
	}
	if (len == 0)
		return;
	g_mutex_lock(&h->lock);
	while (h->queued > ASYNC_MAX_QUEUED)
		g_cond_wait(&h->drained, &h->lock);
	h->queued += len;
	g_mutex_unlock(&h->lock);
	g_async_queue_push(h->queue, g_bytes_new(buf, len));
}

/* An asynchronous hasher's thread: hash what is queued, then end. */
static void stop_thread(struct lfs_hasher *h)
{
	if (!h->thread)
		return;
	g_async_queue_push(h->queue, g_bytes_new(NULL, 0));
	g_thread_join(h->thread);
	h->thread = NULL;
}

void lfs_hasher_finish(struct lfs_hasher *h, struct lfs_digest *out)
{
	if (h->queue) {
		stop_thread(h);
		*out = h->result;
		return;
	}
	final(h->ctx, h->algo, out);
}

void lfs_hasher_free(struct lfs_hasher *h)
{
	if (!h)
		return;
	if (h->queue) {
		stop_thread(h);
		g_async_queue_unref(h->queue);
		g_cond_clear(&h->drained);
		g_mutex_clear(&h->lock);
	}
	EVP_MD_CTX_free(h->ctx);
	g_free(h);
}
