/* mkdata: deterministic benchmark data (scripts/bench).
 *
 *   mkdata tree DIR FILES MEAN-BYTES SEED
 *	FILES text files of MEAN-BYTES on average (sizes vary from a tenth
 *	to twice the mean), 256 to a directory, two levels deep:
 *	DIR/dNNN/dNNN/fNNNNNNN.txt.
 *   mkdata tar OUT FILES MEAN-BYTES SEED [STEP]
 *	The same tree as a tar stream written straight to OUT ("-":
 *	standard output), in ustar format: directories 0755, files 0644
 *	(0640 for an even SEED), owner 0:0, mtime 1700000000 + SEED.
 *	Writing the archive directly is far faster than a tree and then
 *	tar (a million files in seconds).  With STEP > 1 it is a layer
 *	to put above the STEP 1 one: it holds new contents for files 0,
 *	STEP, 2*STEP, ... and a whiteout (.wh.NAME) for files 1, STEP+1,
 *	..., under the same names.
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
	int rc = 1;

	if (!buf || make_dir(dir) < 0)
		goto out;
	for (unsigned long i = 0; i < files; i++) {
		/* Sizes from mean/10 to about 2 * mean. */
		uint64_t size = mean / 10 + next(&s) % (mean * 19 / 10 + 1);

		if (size > CHUNK)
			size = CHUNK;
		if (i % 256 == 0) {
			snprintf(path, sizeof(path), "%s/d%03lu", dir,
				 i / 65536);
			if (i % 65536 == 0 && make_dir(path) < 0)
				goto out;
			snprintf(path, sizeof(path), "%s/d%03lu/d%03lu", dir,
				 i / 65536, i / 256 % 256);
			if (make_dir(path) < 0)
				goto out;
		}
		snprintf(path, sizeof(path), "%s/d%03lu/d%03lu/f%07lu.txt",
			 dir, i / 65536, i / 256 % 256, i);
		if (write_file(path, &s, size, 1, buf) < 0)
			goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* One 512-byte ustar header.  Every name mkdata makes fits in the 100
 * bytes of the name field. */
static void tar_header(FILE *out, const char *name, char type,
		       unsigned int mode, uint64_t size, uint64_t mtime)
{
	unsigned char h[512];
	unsigned int sum = 0;

	memset(h, 0, sizeof(h));
	memcpy(h, name, strlen(name));
	snprintf((char *)h + 100, 8, "%07o", mode);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	snprintf((char *)h + 136, 12, "%011llo", (unsigned long long)mtime);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	/* The checksum counts its own field as eight spaces. */
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	fwrite(h, 1, sizeof(h), out);
}

/* A member's data, padded to a whole block. */
static void tar_data(FILE *out, const char *buf, size_t len)
{
	static const char zeros[512];

	fwrite(buf, 1, len, out);
	if (len % 512)
		fwrite(zeros, 1, 512 - len % 512, out);
}

static int tar(const char *path, unsigned long files, unsigned long mean,
	       uint64_t seed, unsigned long step)
{
	static const char zeros[1024];
	char *buf = malloc(CHUNK);
	char name[128];
	uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
	uint64_t mtime = 1700000000 + seed;
	unsigned int mode = seed % 2 ? 0644 : 0640;
	FILE *out = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
	int rc = 1;

	if (!buf || !out) {
		fprintf(stderr, "mkdata: %s: %s\n", path, strerror(errno));
		goto out;
	}
	setvbuf(out, NULL, _IOFBF, CHUNK);
	for (unsigned long i = 0; i < files; i++) {
		uint64_t size;

		if (i % 65536 == 0) {
			snprintf(name, sizeof(name), "d%03lu/", i / 65536);
			tar_header(out, name, '5', 0755, 0, mtime);
		}
		if (i % 256 == 0) {
			snprintf(name, sizeof(name), "d%03lu/d%03lu/",
				 i / 65536, i / 256 % 256);
			tar_header(out, name, '5', 0755, 0, mtime);
		}
		if (step > 1 && i % step == 1) {
			snprintf(name, sizeof(name),
				 "d%03lu/d%03lu/.wh.f%07lu.txt", i / 65536,
				 i / 256 % 256, i);
			tar_header(out, name, '0', 0644, 0, mtime);
			continue;
		}
		if (i % step)
			continue;
		/* As tree(): the same sizes and bytes from the same seed. */
		size = mean / 10 + next(&s) % (mean * 19 / 10 + 1);
		if (size > CHUNK)
			size = CHUNK;
		fill_text(&s, buf, (size_t)size);
		snprintf(name, sizeof(name), "d%03lu/d%03lu/f%07lu.txt",
			 i / 65536, i / 256 % 256, i);
		tar_header(out, name, '0', mode, size, mtime);
		tar_data(out, buf, (size_t)size);
	}
	/* The end of the archive: two zero blocks. */
	fwrite(zeros, 1, sizeof(zeros), out);
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "mkdata: %s: %s\n", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (out && out != stdout && fclose(out) != 0 && rc == 0) {
		fprintf(stderr, "mkdata: %s: %s\n", path, strerror(errno));
		rc = 1;
	}
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "tree") == 0)
		return tree(argv[2], strtoul(argv[3], NULL, 10),
			    strtoul(argv[4], NULL, 10),
			    strtoull(argv[5], NULL, 10));
	if ((argc == 6 || argc == 7) && strcmp(argv[1], "tar") == 0) {
		unsigned long step =
			argc == 7 ? strtoul(argv[6], NULL, 10) : 1;

		if (step < 1)
			step = 1;
		return tar(argv[2], strtoul(argv[3], NULL, 10),
			   strtoul(argv[4], NULL, 10),
			   strtoull(argv[5], NULL, 10), step);
	}
	if (argc == 6 && strcmp(argv[1], "file") == 0) {
		char *buf = malloc(CHUNK);
		uint64_t s = strtoull(argv[4], NULL, 10) *
				     0x9E3779B97F4A7C15ULL +
			     1;

		int rc = !buf || write_file(argv[2], &s,
					    strtoull(argv[3], NULL, 10),
					    strcmp(argv[5], "text") == 0,
					    buf) < 0;

		free(buf);
		return rc;
	}
	fprintf(stderr, "usage: mkdata tree DIR FILES MEAN-BYTES SEED\n"
			"       mkdata tar OUT FILES MEAN-BYTES SEED [STEP]\n"
			"       mkdata file PATH BYTES SEED text|random\n");
	return 2;
}
