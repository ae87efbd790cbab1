/* readdir_chunks: list a directory a few entries at a time, with other
 * directories looked up in between (t-meta-cache).
 *
 *   readdir_chunks BYTES DIR [OTHER...]
 *	Reads DIR with getdents64(2) into a buffer of BYTES, printing every
 *	name on a line of its own.  After each call it looks up, in every
 *	OTHER directory, a name none of them holds, a new one each time, so
 *	the kernel cannot answer from a cached negative entry and the daemon
 *	has to bring each OTHER into its directory cache.  Under a small
 *	-o meta_cache= that evicts DIR between two of its READDIR requests,
 *	so the next one continues at its offset in a rebuilt listing.
 *
 * readdir(3) reads 32 KiB at a time, and the kernel may fill that from
 * several READDIR requests in a row, with nothing in between; a small
 * buffer puts the lookups between any two of them. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's struct linux_dirent64. */
struct dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static void look_up_others(char **others, int n, unsigned long round)
{
	char path[4096];
	struct stat st;

	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/.readdir-chunks-%lu", others[i],
			 round);
		/* Missing, as intended; any other answer is the test's to
		 * notice through the listing. */
		(void)lstat(path, &st);
	}
}

int main(int argc, char **argv)
{
	unsigned long bytes, round = 0;
	char *buf, *end;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: readdir_chunks BYTES DIR [OTHER...]\n");
		return 2;
	}
	errno = 0;
	bytes = strtoul(argv[1], &end, 10);
	if (errno || *end || bytes < 64 || bytes > (1u << 20)) {
		fprintf(stderr, "readdir_chunks: bad size %s\n", argv[1]);
		return 2;
	}
	fd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "readdir_chunks: %s: %s\n", argv[2],
			strerror(errno));
		return 1;
	}
	buf = malloc(bytes);
	if (!buf) {
		fprintf(stderr, "readdir_chunks: out of memory\n");
		return 1;
	}
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, bytes);

		if (n < 0) {
			fprintf(stderr, "readdir_chunks: %s: %s\n", argv[2],
				strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);

			puts(d->d_name);
			off += d->d_reclen;
		}
		look_up_others(argv + 3, argc - 3, round++);
	}
	free(buf);
	close(fd);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "readdir_chunks: stdout: %s\n",
			strerror(errno));
		return 1;
	}
	return 0;
}
