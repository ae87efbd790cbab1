/* mkdata: deterministic benchmark data (scripts/bench).
 *
 *   mkdata tree DIR FILES MEAN-BYTES SEED
 *	FILES text files of MEAN-BYTES on average (sizes vary from a tenth
 *	to twice the mean), 256 to a directory, two levels deep:
 *	DIR/dNNN/dNNN/fNNNNNNN.txt.
 *   mkdata file PATH BYTES SEED text|random
 *	One file of text (compressible about as well as prose) or of
 *	incompressible bytes.
 *
 * The same arguments give the same bytes on every machine: the generator
 * is xorshift64*, seeded from SEED. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static uint64_t next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Words made of common syllables, with spaces, commas and line breaks:
 * gzip gets it to about 40% of its size, like source code or prose. */
static size_t fill_text(uint64_t *s, char *buf, size_t len)
{
	static const char *const syl[] = {
		"the", "an", "re", "in", "on", "at", "en", "er", "es", "ti",
		"con", "for", "st", "al", "de", "ing", "ion", "ou", "ar", "le",
		"se", "co", "it", "ma", "ro", "la", "ne", "te", "pro", "ve",
		"di", "ra", "ce", "ri", "li", "mi", "si", "sta", "tra", "io",
		"un", "pa", "po", "ca", "mo", "ho", "ke", "fa", "so", "ex",
		"ta", "be", "ga", "wo", "pre", "ty", "ab", "im", "sh", "ch",
		"gu", "vo", "zi", "bu",
	};
	size_t n = 0;

	while (n < len) {
		uint64_t r = next(s);
		unsigned int nsyl = 1 + (unsigned int)(r & 3);
		const char *sep;

		for (unsigned int i = 0; i < nsyl && n < len; i++) {
			const char *w = syl[(r >> (8 + 6 * i)) & 63];

			while (*w && n < len)
				buf[n++] = *w++;
		}
		r >>= 40;
		sep = (r & 15) == 0 ? ".\n" : (r & 15) == 1 ? ", " : " ";
		while (*sep && n < len)
			buf[n++] = *sep++;
	}
	return n;
}

static void fill_random(uint64_t *s, char *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = next(s);

		memcpy(buf + i, &r, len - i < 8 ? len - i : 8);
	}
}

static int write_file(const char *path, uint64_t *s, uint64_t bytes,
		      int text, char *buf)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0) {
		fprintf(stderr, "mkdata: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (bytes > 0) {
		size_t n = bytes < CHUNK ? (size_t)bytes : CHUNK;

		if (text)
			fill_text(s, buf, n);
		else
			fill_random(s, buf, n);
		if (write(fd, buf, n) != (ssize_t)n) {
			fprintf(stderr, "mkdata: %s: %s\n", path,
				strerror(errno));
			close(fd);
			return -1;
		}
		bytes -= n;
	}
	return close(fd);
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "mkdata: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int tree(const char *dir, unsigned long files, unsigned long mean,
		uint64_t seed)
{
	char *buf = malloc(CHUNK);
	char path[4096];
	uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;

	if (!buf || make_dir(dir) < 0)
		return 1;
	for (unsigned long i = 0; i < files; i++) {
		/* Sizes from mean/10 to about 2 * mean. */
		uint64_t size = mean / 10 + next(&s) % (mean * 19 / 10 + 1);

		if (size > CHUNK)
			size = CHUNK;
		if (i % 256 == 0) {
			snprintf(path, sizeof(path), "%s/d%03lu", dir,
				 i / 65536);
			if (i % 65536 == 0 && make_dir(path) < 0)
				return 1;
			snprintf(path, sizeof(path), "%s/d%03lu/d%03lu", dir,
				 i / 65536, i / 256 % 256);
			if (make_dir(path) < 0)
				return 1;
		}
		snprintf(path, sizeof(path), "%s/d%03lu/d%03lu/f%07lu.txt",
			 dir, i / 65536, i / 256 % 256, i);
		if (write_file(path, &s, size, 1, buf) < 0)
			return 1;
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "tree") == 0)
		return tree(argv[2], strtoul(argv[3], NULL, 10),
			    strtoul(argv[4], NULL, 10),
			    strtoull(argv[5], NULL, 10));
	if (argc == 6 && strcmp(argv[1], "file") == 0) {
		char *buf = malloc(CHUNK);
		uint64_t s = strtoull(argv[4], NULL, 10) *
				     0x9E3779B97F4A7C15ULL +
			     1;

		return !buf || write_file(argv[2], &s,
					  strtoull(argv[3], NULL, 10),
					  strcmp(argv[5], "text") == 0,
					  buf) < 0;
	}
	fprintf(stderr, "usage: mkdata tree DIR FILES MEAN-BYTES SEED\n"
			"       mkdata file PATH BYTES SEED text|random\n");
	return 2;
}
