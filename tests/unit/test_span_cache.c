/* io/span_cache.c: chunks kept per owner, reads served only when every
 * chunk they touch is kept, the least recently used leaving first within
 * the bound, an owner's chunks forgotten with it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <glib.h>

#include "layerfs/span_cache.h"

#define CHUNK 1024u

static int owner_a, owner_b;

/* Chunk @k of a stream: each byte its offset's low bits, plus @salt. */
static void fill(uint8_t *buf, uint32_t k, size_t len, uint8_t salt)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((k * CHUNK + i) * 7 + salt);
}

static void put(struct lfs_span_cache *c, const void *owner, uint32_t k,
		uint8_t salt)
{
	uint8_t buf[CHUNK];

	fill(buf, k, CHUNK, salt);
	lfs_span_cache_put(c, owner, k, buf, CHUNK);
}

/* A read of [off, off + len) is served, with the right bytes. */
static void served(struct lfs_span_cache *c, const void *owner, uint64_t off,
		   size_t len, uint8_t salt)
{
	g_autofree uint8_t *got = g_malloc(len);

	assert_true(lfs_span_cache_read(c, owner, CHUNK, got, len, off));
	for (size_t i = 0; i < len; i++)
		assert_int_equal(got[i], (uint8_t)((off + i) * 7 + salt));
}

static bool misses(struct lfs_span_cache *c, const void *owner, uint64_t off,
		   size_t len)
{
	g_autofree uint8_t *got = g_malloc(len);

	return !lfs_span_cache_read(c, owner, CHUNK, got, len, off);
}

static void test_reads_across_chunks(void **state)
{
	struct lfs_span_cache *c = lfs_span_cache_new(64 * CHUNK);
	struct lfs_span_cache_stats st;

	(void)state;
	put(c, &owner_a, 3, 0);
	put(c, &owner_a, 4, 0);
	put(c, &owner_a, 6, 0);
	served(c, &owner_a, 3 * CHUNK, CHUNK, 0);
	served(c, &owner_a, 3 * CHUNK + 100, CHUNK + 500, 0);
	served(c, &owner_a, 4 * CHUNK + 1023, 1, 0);
	assert_true(misses(c, &owner_a, 4 * CHUNK + 1000, 100)); /* 5 */
	assert_true(misses(c, &owner_a, 2 * CHUNK, 10));
	assert_true(misses(c, &owner_b, 3 * CHUNK, 10)); /* another's */
	assert_true(misses(c, &owner_a, 3 * CHUNK, 0));
	lfs_span_cache_stats(c, &st);
	assert_int_equal(st.hits, 3);
	assert_int_equal(st.bytes, 3 * CHUNK);
	lfs_span_cache_free(c);
}

/* The last chunk of a stream is shorter: a read up to its end is served,
 * one past it is not. */
static void test_short_last_chunk(void **state)
{
	struct lfs_span_cache *c = lfs_span_cache_new(64 * CHUNK);
	uint8_t buf[300];

	(void)state;
	fill(buf, 9, sizeof(buf), 5);
	lfs_span_cache_put(c, &owner_a, 9, buf, sizeof(buf));
	served(c, &owner_a, 9 * CHUNK + 10, 290, 5);
	assert_true(misses(c, &owner_a, 9 * CHUNK + 10, 291));
	lfs_span_cache_free(c);
}

static void test_least_recent_leaves(void **state)
{
	struct lfs_span_cache *c = lfs_span_cache_new(4 * CHUNK);
	struct lfs_span_cache_stats st;

	(void)state;
	for (uint32_t k = 0; k < 4; k++)
		put(c, &owner_a, k, 1);
	served(c, &owner_a, 0, 10, 1); /* 0 is now the most recent */
	put(c, &owner_a, 10, 1);	      /* 1 leaves */
	assert_true(misses(c, &owner_a, CHUNK, 10));
	served(c, &owner_a, 0, 10, 1);
	served(c, &owner_a, 2 * CHUNK, 10, 1);
	served(c, &owner_a, 10 * CHUNK, 10, 1);
	/* The same chunk again changes nothing. */
	put(c, &owner_a, 10, 99);
	served(c, &owner_a, 10 * CHUNK, 10, 1);
	lfs_span_cache_stats(c, &st);
	assert_int_equal(st.bytes, 4 * CHUNK);
	assert_int_equal(st.max, 4 * CHUNK);
	lfs_span_cache_free(c);
}

static void test_forget(void **state)
{
	struct lfs_span_cache *c = lfs_span_cache_new(64 * CHUNK);
	struct lfs_span_cache_stats st;

	(void)state;
	put(c, &owner_a, 1, 2);
	put(c, &owner_b, 1, 3);
	put(c, &owner_a, 2, 2);
	lfs_span_cache_forget(c, &owner_a);
	assert_true(misses(c, &owner_a, CHUNK, 10));
	assert_true(misses(c, &owner_a, 2 * CHUNK, 10));
	served(c, &owner_b, CHUNK, 10, 3);
	lfs_span_cache_stats(c, &st);
	assert_int_equal(st.bytes, CHUNK);
	lfs_span_cache_free(c);
}

/* A chunk bigger than the whole cache is not kept (and evicts nothing). */
static void test_too_big(void **state)
{
	struct lfs_span_cache *c = lfs_span_cache_new(CHUNK / 2);
	struct lfs_span_cache_stats st;

	(void)state;
	put(c, &owner_a, 0, 0);
	assert_true(misses(c, &owner_a, 0, 10));
	lfs_span_cache_stats(c, &st);
	assert_int_equal(st.bytes, 0);
	lfs_span_cache_free(c);
}

struct worker {
	struct lfs_span_cache *c;
	uint32_t seed;
	bool ok;
};

static gpointer work(gpointer data)
{
	struct worker *w = data;
	GRand *r = g_rand_new_with_seed(w->seed);
	uint8_t buf[3 * CHUNK];

	w->ok = true;
	for (int i = 0; i < 20000 && w->ok; i++) {
		uint32_t k = (uint32_t)g_rand_int_range(r, 0, 64);

		if (g_rand_boolean(r)) {
			put(w->c, &owner_a, k, 4);
		} else if (lfs_span_cache_read(w->c, &owner_a, CHUNK, buf,
					       2 * CHUNK, k * CHUNK + 17)) {
			for (size_t j = 0; j < 2 * CHUNK; j++)
				if (buf[j] !=
				    (uint8_t)((k * CHUNK + 17 + j) * 7 + 4))
					w->ok = false;
		}
	}
	g_rand_free(r);
	return NULL;
}

static void test_threads(void **state)
{
	struct lfs_span_cache *c = lfs_span_cache_new(16 * CHUNK);
	struct worker w[4];
	GThread *t[4];
	struct lfs_span_cache_stats st;

	(void)state;
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ c, (uint32_t)i + 1, false };
		t[i] = g_thread_new("work", work, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		g_thread_join(t[i]);
		assert_true(w[i].ok);
	}
	lfs_span_cache_stats(c, &st);
	assert_true(st.bytes <= 16 * CHUNK);
	assert_true(st.hits > 0);
	lfs_span_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_across_chunks),
		cmocka_unit_test(test_short_last_chunk),
		cmocka_unit_test(test_least_recent_leaves),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("span_cache", tests, NULL, NULL);
}
