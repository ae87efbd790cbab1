/* What the fuzz targets share (tests/fuzz/, docs/testing.md "Fuzzing").
 *
 * Each target is one LLVMFuzzerTestOneInput() over the core library (no
 * FUSE).  It is built twice: with clang and -fsanitize=fuzzer (meson
 * -Dfuzz=true, scripts/fuzz) to search for inputs, and in every ordinary
 * build with replay.c, which runs it over the saved corpus as a test.
 *
 * A target aborts when an input breaks a promise the code makes (an index
 * the builder finished that does not validate, a random read that differs
 * from the sequential one): that is a crash to the fuzzer and a failure to
 * the replay test, the same as a sanitizer report. */
#ifndef LAYERFS_FUZZ_H
#define LAYERFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "layerfs/blob.h"
#include "layerfs/index.h"
#include "layerfs/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Once per process: GLib criticals abort (they are bugs), and a private
 * temporary directory, removed at exit. */
void fz_init(void);

/* The private directory, by path and as an open descriptor. */
const char *fz_dir(void);
int fz_dirfd(void);

/* Write @len bytes to @name under fz_dir() (parents made); returns the
 * full path (g_free).  Aborts on failure: the harness is broken. */
char *fz_write(const char *name, const void *data, size_t len);

/* Remove everything under fz_dir(), for the next input. */
void fz_clean(void);

/* A blob over @len bytes at @data (borrowed): reads copy from memory. */
struct lfs_blob *fz_mem_blob(const void *data, size_t len);

/* A logger that formats every message (so format strings and their
 * arguments are exercised) and drops it. */
extern const struct lfs_logger fz_logger;

/* A line on stderr when FUZZ_VERBOSE is set in the environment: what a
 * target made of an input (why it was refused), to check seeds by. */
void fz_note(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Abort with a message: an input broke a promise. */
void fz_fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;

/* Promises every index a reader gets must keep, beyond what
 * lfs_index_validate() checks: every entry's path looks up to the entry,
 * every child is found by name in its directory. */
void fz_check_paths(const struct lfs_index *ix);

/* Build a tree over the two indexes (bottom @a, top @b; both taken, and
 * freed) as two tar layers, and walk it: lookups, listings, attributes,
 * symlinks, xattrs, hardlink names, at most a few thousand objects. */
void fz_walk_tree(struct lfs_index *a, struct lfs_index *b);

/* Little-endian reads from a cursor over the input; zero past the end. */
struct fz_in {
	const uint8_t *p;
	size_t len;
};

uint8_t fz_u8(struct fz_in *in);
uint16_t fz_u16(struct fz_in *in);
uint32_t fz_u32(struct fz_in *in);
uint64_t fz_u64(struct fz_in *in);

/* Split @data at each @sep into at most @max parts (g_strfreev; every
 * part NUL-terminated, the input's own NULs kept within @lens). */
guint fz_split(const uint8_t *data, size_t size, const char *sep,
	       guint max, char **parts, size_t *lens);

#endif
