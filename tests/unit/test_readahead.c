/* Unit tests for layer/readahead.c: chunks come out whole and in order
 * whatever the speeds of producer and consumer, the end and an error
 * repeat, memory stays bounded (the producer never runs more than the
 * ring ahead), and freeing stops a producer that is blocked on a full
 * ring or still reading. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "layerfs/readahead.h"

#define CHUNK 4096

/* A source of @chunks chunks; chunk k is CHUNK bytes of (k & 0xff), the
 * last one shorter; then 0, or @fail_with.  Optional delays per read. */
struct source {
	unsigned int chunks;
	int fail_with;	       /* 0: end normally */
	gulong delay_us;       /* per read */
	unsigned int reads;    /* calls made (atomic) */
	unsigned int after_end; /* calls after the end was given (atomic) */
	gint ended;
};

static ssize_t source_read(void *ctx, void *buf, size_t len)
{
	struct source *s = ctx;
	unsigned int k = (unsigned int)g_atomic_int_add(&s->reads, 1);
	size_t n;

	assert_true(len >= CHUNK);
	if (g_atomic_int_get(&s->ended))
		g_atomic_int_inc(&s->after_end);
	if (s->delay_us)
		g_usleep(s->delay_us);
	if (k >= s->chunks) {
		g_atomic_int_set(&s->ended, 1);
		return s->fail_with ? -s->fail_with : 0;
	}
	n = k + 1 == s->chunks ? CHUNK / 2 : CHUNK;
	memset(buf, (int)(k & 0xff), n);
	return (ssize_t)n;
}

/* Consume everything, checking each chunk; returns the final value. */
static ssize_t consume_all(struct lfs_readahead *ra, unsigned int chunks,
			   gulong delay_us)
{
	ssize_t n;
	unsigned int k = 0;
	const void *buf;

	while ((n = lfs_readahead_next(ra, &buf)) > 0) {
		const unsigned char *p = buf;

		assert_true(k < chunks);
		assert_int_equal(n, k + 1 == chunks ? CHUNK / 2 : CHUNK);
		for (ssize_t i = 0; i < n; i++)
			if (p[i] != (k & 0xff))
				fail_msg("chunk %u byte %zd is wrong", k, i);
		k++;
		if (delay_us)
			g_usleep(delay_us);
	}
	assert_int_equal(k, chunks);
	return n;
}

static void test_in_order(void **state)
{
	struct source s = { .chunks = 1000 };
	struct lfs_readahead *ra = lfs_readahead_new(source_read, &s,
						     CHUNK, 4);
	const void *buf;

	(void)state;
	assert_int_equal(consume_all(ra, s.chunks, 0), 0);
	/* The end repeats, and the source is not asked again. */
	assert_int_equal(lfs_readahead_next(ra, &buf), 0);
	assert_int_equal(lfs_readahead_next(ra, &buf), 0);
	lfs_readahead_free(ra);
	assert_int_equal(s.reads, s.chunks + 1);
	assert_int_equal(s.after_end, 0);
}

/* Slow producer, then slow consumer: same bytes either way. */
static void test_speeds(void **state)
{
	struct source slow = { .chunks = 50, .delay_us = 2000 };
	struct source fast = { .chunks = 50 };
	struct lfs_readahead *ra;

	(void)state;
	ra = lfs_readahead_new(source_read, &slow, CHUNK, 3);
	assert_int_equal(consume_all(ra, slow.chunks, 0), 0);
	lfs_readahead_free(ra);
	ra = lfs_readahead_new(source_read, &fast, CHUNK, 3);
	assert_int_equal(consume_all(ra, fast.chunks, 2000), 0);
	lfs_readahead_free(ra);
}

static void test_error_repeats(void **state)
{
	struct source s = { .chunks = 10, .fail_with = EIO };
	struct lfs_readahead *ra = lfs_readahead_new(source_read, &s,
						     CHUNK, 2);
	const void *buf;

	(void)state;
	assert_int_equal(consume_all(ra, s.chunks, 0), -EIO);
	assert_int_equal(lfs_readahead_next(ra, &buf), -EIO);
	lfs_readahead_free(ra);
	assert_int_equal(s.after_end, 0);
}

/* An empty source: the end at once. */
static void test_empty(void **state)
{
	struct source s = { .chunks = 0 };
	struct lfs_readahead *ra = lfs_readahead_new(source_read, &s,
						     CHUNK, 2);
	const void *buf;

	(void)state;
	assert_int_equal(lfs_readahead_next(ra, &buf), 0);
	lfs_readahead_free(ra);
}

/* With nobody consuming, the producer fills the ring and waits: it is
 * never more than the ring ahead of the consumer. */
static void test_bounded(void **state)
{
	struct source s = { .chunks = 1000 };
	struct lfs_readahead *ra = lfs_readahead_new(source_read, &s,
						     CHUNK, 4);
	const void *buf;

	(void)state;
	g_usleep(100000);
	assert_int_equal(g_atomic_int_get(&s.reads), 4);
	assert_int_equal(lfs_readahead_next(ra, &buf), CHUNK);
	/* The chunk handed out stays put until the next call: still no
	 * room for another read. */
	g_usleep(100000);
	assert_int_equal(g_atomic_int_get(&s.reads), 4);
	assert_int_equal(((const unsigned char *)buf)[0], 0);
	/* Taking the next one frees the first one's buffer: one read. */
	assert_int_equal(lfs_readahead_next(ra, &buf), CHUNK);
	g_usleep(100000);
	assert_int_equal(g_atomic_int_get(&s.reads), 5);
	assert_int_equal(((const unsigned char *)buf)[0], 1);
	lfs_readahead_free(ra);
	assert_int_equal(s.reads, 5);
}

/* Freed mid-stream, with the producer blocked or reading: it stops. */
static void test_free_early(void **state)
{
	struct source blocked = { .chunks = 1000 };
	struct source reading = { .chunks = 1000, .delay_us = 50000 };
	struct lfs_readahead *ra;
	const void *buf;

	(void)state;
	ra = lfs_readahead_new(source_read, &blocked, CHUNK, 2);
	assert_int_equal(lfs_readahead_next(ra, &buf), CHUNK);
	g_usleep(20000);
	lfs_readahead_free(ra);
	ra = lfs_readahead_new(source_read, &reading, CHUNK, 2);
	g_usleep(10000);
	lfs_readahead_free(ra);
	assert_true(reading.reads <= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_speeds),
		cmocka_unit_test(test_error_repeats),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_free_early),
	};

	return cmocka_run_group_tests_name("readahead", tests, NULL, NULL);
}
