/* Unit tests for util/digest.c: parsing "algo:hex" strictly as the OCI spec
 * asks (lowercase, exact length, known algorithm), printing digests back,
 * comparing them, and the streaming hasher against the FIPS 180 test
 * vectors for "" and "abc". */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "layerfs/digest.h"

#define SHA256_EMPTY                                                           \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC                                                             \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA512_EMPTY                                                           \
	"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"     \
	"47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define SHA512_ABC                                                             \
	"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"     \
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

static void test_parse_sha256(void **state)
{
	struct lfs_digest d;

	(void)state;
	memset(&d, 0xaa, sizeof(d));
	assert_int_equal(lfs_digest_parse("sha256:" SHA256_ABC, &d), 0);
	assert_int_equal(d.algo, LFS_DIGEST_SHA256);
	assert_int_equal(d.len, 32);
	assert_int_equal(d.bytes[0], 0xba);
	assert_int_equal(d.bytes[1], 0x78);
	assert_int_equal(d.bytes[30], 0x15);
	assert_int_equal(d.bytes[31], 0xad);
}

static void test_parse_sha512(void **state)
{
	struct lfs_digest d;

	(void)state;
	assert_int_equal(lfs_digest_parse("sha512:" SHA512_ABC, &d), 0);
	assert_int_equal(d.algo, LFS_DIGEST_SHA512);
	assert_int_equal(d.len, 64);
	assert_int_equal(d.bytes[0], 0xdd);
	assert_int_equal(d.bytes[63], 0x9f);
}

static const char *const invalid_digests[] = {
    /* uppercase hex */
    "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aD",
    /* wrong length: one short, one long, sha512 length under sha256 */
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
    "sha256:" SHA256_ABC "0",
    "sha256:" SHA512_ABC,
    "sha512:" SHA256_ABC,
    "sha256:",
    /* not hex */
    "sha256:ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "sha256: a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    /* unknown or misspelt algorithm */
    "md5:900150983cd24fb0d6963f7d28e17f72",
    "sha384:cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5b"
    "ed8086072ba1e7cc2358baeca134c825a7",
    "SHA256:" SHA256_ABC,
    "sha25:" SHA256_ABC,
    "sha2566:" SHA256_ABC,
    ":" SHA256_ABC,
    /* no colon, or nothing */
    SHA256_ABC,
    "sha256" SHA256_ABC,
    "",
};

static void test_parse_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(invalid_digests); i++) {
		struct lfs_digest d;

		print_message("# \"%s\"\n", invalid_digests[i]);
		assert_int_equal(lfs_digest_parse(invalid_digests[i], &d),
				 -EINVAL);
	}
}

static void test_parse_null(void **state)
{
	struct lfs_digest d;

	(void)state;
	assert_int_equal(lfs_digest_parse(NULL, &d), -EINVAL);
}

static void test_to_string_and_hex_round_trip(void **state)
{
	static const char *const good[] = {
	    "sha256:" SHA256_EMPTY,
	    "sha256:" SHA256_ABC,
	    "sha512:" SHA512_EMPTY,
	    "sha512:" SHA512_ABC,
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
		struct lfs_digest d, again;
		g_autofree char *s = NULL, *hex = NULL;

		assert_int_equal(lfs_digest_parse(good[i], &d), 0);
		s = lfs_digest_to_string(&d);
		assert_string_equal(s, good[i]);
		hex = lfs_digest_hex(&d);
		assert_string_equal(hex, strchr(good[i], ':') + 1);
		assert_int_equal(lfs_digest_parse(s, &again), 0);
		assert_true(lfs_digest_equal(&d, &again));
	}
}

static void test_equal(void **state)
{
	struct lfs_digest a, b, c, e512;

	(void)state;
	assert_int_equal(lfs_digest_parse("sha256:" SHA256_ABC, &a), 0);
	assert_int_equal(lfs_digest_parse("sha256:" SHA256_ABC, &b), 0);
	assert_int_equal(lfs_digest_parse("sha256:" SHA256_EMPTY, &c), 0);
	assert_int_equal(lfs_digest_parse("sha512:" SHA512_ABC, &e512), 0);
	assert_true(lfs_digest_equal(&a, &b));
	assert_false(lfs_digest_equal(&a, &c));
	assert_false(lfs_digest_equal(&a, &e512));
	/* Only the last byte differs. */
	b.bytes[31] ^= 1;
	assert_false(lfs_digest_equal(&a, &b));
	/* The same leading bytes under another algorithm are not equal. */
	memcpy(c.bytes, e512.bytes, 32);
	e512.len = 32;
	assert_false(lfs_digest_equal(&c, &e512));
}

/* Lengths by algorithm, and none for a number no algorithm has (as an
 * index file could hold). */
static void test_len(void **state)
{
	(void)state;
	assert_int_equal(lfs_digest_len(LFS_DIGEST_SHA256), 32);
	assert_int_equal(lfs_digest_len(LFS_DIGEST_SHA512), 64);
	assert_int_equal(lfs_digest_len(LFS_DIGEST_SHA512 + 1), 0);
	assert_int_equal(lfs_digest_len(0x7fffffff), 0);
	assert_int_equal(lfs_digest_len(UINT32_MAX), 0);
}

struct vector {
	enum lfs_digest_algo algo;
	const char *input;
	const char *want;
};

static const struct vector vectors[] = {
    {LFS_DIGEST_SHA256, "", "sha256:" SHA256_EMPTY},
    {LFS_DIGEST_SHA256, "abc", "sha256:" SHA256_ABC},
    {LFS_DIGEST_SHA512, "", "sha512:" SHA512_EMPTY},
    {LFS_DIGEST_SHA512, "abc", "sha512:" SHA512_ABC},
};

static void test_hasher_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
		g_autoptr(lfs_hasher) h = NULL;
		g_autofree char *got = NULL;
		struct lfs_digest d, want;

		assert_int_equal(lfs_hasher_new(vectors[i].algo, &h), 0);
		lfs_hasher_update(h, vectors[i].input,
				  strlen(vectors[i].input));
		memset(&d, 0, sizeof(d));
		lfs_hasher_finish(h, &d);
		assert_int_equal(d.algo, vectors[i].algo);
		assert_int_equal(
		    d.len, vectors[i].algo == LFS_DIGEST_SHA256 ? 32 : 64);
		got = lfs_digest_to_string(&d);
		assert_string_equal(got, vectors[i].want);
		assert_int_equal(lfs_digest_parse(vectors[i].want, &want), 0);
		assert_true(lfs_digest_equal(&d, &want));
	}
}

/* Feeding the input in pieces, including empty ones, gives the same
 * digest as one update. */
static void test_hasher_incremental(void **state)
{
	g_autoptr(lfs_hasher) h = NULL;
	g_autofree char *got = NULL;
	struct lfs_digest d;

	(void)state;
	assert_int_equal(lfs_hasher_new(LFS_DIGEST_SHA256, &h), 0);
	lfs_hasher_update(h, "a", 1);
	lfs_hasher_update(h, "", 0);
	lfs_hasher_update(h, "bc", 2);
	lfs_hasher_finish(h, &d);
	got = lfs_digest_to_string(&d);
	assert_string_equal(got, "sha256:" SHA256_ABC);
}

/* The asynchronous hasher gives the same digests, over many more bytes
 * than it may queue (so updates wait for the thread), and can be freed
 * without finishing. */
static void test_hasher_async(void **state)
{
	enum { CHUNK = 1 << 20, N = 40 };
	g_autofree guint8 *buf = g_malloc(CHUNK);
	struct lfs_digest a, b;
	struct lfs_hasher *sync = NULL, *async = NULL;

	(void)state;
	for (size_t i = 0; i < CHUNK; i++)
		buf[i] = (guint8)(i * 7 + i / 251);
	assert_int_equal(lfs_hasher_new(LFS_DIGEST_SHA512, &sync), 0);
	assert_int_equal(lfs_hasher_new_async(LFS_DIGEST_SHA512, &async), 0);
	for (int i = 0; i < N; i++) {
		/* Each round changes the buffer after handing it over: the
		 * async hasher must have taken a copy. */
		lfs_hasher_update(sync, buf, CHUNK - (size_t)i);
		lfs_hasher_update(async, buf, CHUNK - (size_t)i);
		buf[i] ^= 0x5a;
	}
	lfs_hasher_update(async, "", 0);
	lfs_hasher_finish(sync, &a);
	lfs_hasher_finish(async, &b);
	assert_true(lfs_digest_equal(&a, &b));
	assert_int_equal(b.len, 64);
	lfs_hasher_free(sync);
	lfs_hasher_free(async);

	assert_int_equal(lfs_hasher_new_async(LFS_DIGEST_SHA256, &async), 0);
	lfs_hasher_update(async, buf, CHUNK);
	lfs_hasher_free(async); /* never finished */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_sha256),
	    cmocka_unit_test(test_parse_sha512),
	    cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_parse_null),
	    cmocka_unit_test(test_to_string_and_hex_round_trip),
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_len),
	    cmocka_unit_test(test_hasher_vectors),
	    cmocka_unit_test(test_hasher_incremental),
	    cmocka_unit_test(test_hasher_async),
	};

	return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
