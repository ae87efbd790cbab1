/* dumptree: print a canonical listing of a directory tree, one line per path,
 * so two trees (a layerfs mount and `umoci unpack` output, say) compare with
 * diff.  Lines are sorted bytewise by path; every byte that could make a line
 * ambiguous is escaped; hardlinks show as "the first path with this inode",
 * so the listing never depends on inode numbers.  Symlinks are never
 * followed.  Written in C so CI needs no Python (cf. composefs tests/dumpdir).
 *
 * Line format (fields separated by one space, optional ones only when they
 * apply):
 *   PATH TYPE MODE UID:GID [size=N] mtime=S.NSEC|- [nlink=N] [rdev=MAJ:MIN]
 *   [target=T] [xattr:NAME=HEX]... [sha256=H] [hardlink=FIRST]
 * size is for regular files and symlinks, nlink and hardlink= for anything
 * but directories (hardlink= only when nlink > 1), rdev for devices.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <glib.h>
#include <openssl/evp.h>

struct dt_opts {
	char **exclude_xattr;  /* name prefixes to leave out */
	GHashTable *no_mtime;  /* relative paths whose mtime prints as "-" */
	gboolean no_dir_mtime; /* "-" for every directory's mtime */
	gboolean no_hash;      /* skip file contents (fast, for huge trees) */
};

struct dt_entry {
	char *path; /* relative to the root, "." for the root */
	struct stat st;
};

static void dt_entry_free(gpointer p)
{
	struct dt_entry *e = p;

	g_free(e->path);
	g_free(e);
}

static int dt_error(const char *what, int err)
{
	fprintf(stderr, "dumptree: %s: %s\n", what, g_strerror(-err));
	return err;
}

/* C-style octal escapes for anything that is not a printable, non-space
 * ASCII byte, and for the backslash itself, so any name (newlines, invalid
 * UTF-8) stays on one line and splits unambiguously on spaces. */
static void dt_put_escaped(GString *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e || c == '\\')
			g_string_append_printf(out, "\\%03o", c);
		else
			g_string_append_c(out, (char)c);
	}
}

static void dt_put_hex(GString *out, const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		g_string_append_printf(out, "%02x", buf[i]);
}

static char *dt_join(const char *dir, const char *name)
{
	if (strcmp(dir, ".") == 0)
		return g_strdup(name);
	return g_strconcat(dir, "/", name, NULL);
}

/* Collect every entry below (and including) the root into @out.  Directories
 * are opened through the root fd by relative path, so the walk holds one
 * directory fd at a time whatever the depth. */
static int dt_walk(int rootfd, const char *rel, GPtrArray *out)
{
	g_autoptr(GPtrArray) subdirs = g_ptr_array_new_with_free_func(g_free);
	struct dirent *de;
	DIR *dir;
	int fd, err = 0;

	fd = openat(rootfd, rel,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return dt_error(rel, -errno);
	dir = fdopendir(fd);
	if (!dir) {
		err = -errno;
		close(fd);
		return dt_error(rel, err);
	}
	while ((errno = 0, de = readdir(dir))) {
		struct dt_entry *e;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		e = g_new0(struct dt_entry, 1);
		e->path = dt_join(rel, de->d_name);
		g_ptr_array_add(out, e);
		if (fstatat(dirfd(dir), de->d_name, &e->st,
			    AT_SYMLINK_NOFOLLOW) < 0) {
			err = dt_error(e->path, -errno);
			break;
		}
		if (S_ISDIR(e->st.st_mode))
			g_ptr_array_add(subdirs, g_strdup(e->path));
	}
	if (!err && errno)
		err = dt_error(rel, -errno);
	closedir(dir);

	for (guint i = 0; !err && i < subdirs->len; i++)
		err = dt_walk(rootfd, subdirs->pdata[i], out);
	return err;
}

/* strcmp compares as unsigned char: the bytewise order we promise. */
static gint dt_entry_cmp(gconstpointer a, gconstpointer b)
{
	const struct dt_entry *ea = *(struct dt_entry *const *)a;
	const struct dt_entry *eb = *(struct dt_entry *const *)b;

	return strcmp(ea->path, eb->path);
}

static const char *dt_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "reg";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "lnk";
	case S_IFCHR:
		return "chr";
	case S_IFBLK:
		return "blk";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "sock";
	}
	return "unknown";
}

static int dt_put_target(GString *out, const char *full, off_t size)
{
	g_autofree char *buf = g_malloc(size + 1);
	ssize_t n;

	n = readlink(full, buf, size + 1);
	if (n < 0)
		return dt_error(full, -errno);
	/* A target longer than st_size means the filesystem reports a wrong
	 * size; that is a difference worth failing on, not truncating. */
	if (n != size)
		return dt_error(full, -EIO);
	g_string_append(out, " target=");
	dt_put_escaped(out, buf, n);
	return 0;
}

static bool dt_xattr_excluded(const struct dt_opts *o, const char *name)
{
	for (char **p = o->exclude_xattr; p && *p; p++)
		if (g_str_has_prefix(name, *p))
			return true;
	return false;
}

static gint dt_str_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The list of names when @name is NULL, else the value of @name. */
static ssize_t dt_xattr_get(const char *full, const char *name, char *buf,
			    size_t size)
{
	if (name)
		return lgetxattr(full, name, buf, size);
	return llistxattr(full, buf, size);
}

/* Read a list or a value whose size may change between the size query and
 * the read (ERANGE): retry until both calls agree. */
static ssize_t dt_xattr_read(const char *full, const char *name, char **buf)
{
	for (;;) {
		ssize_t len, n;

		len = dt_xattr_get(full, name, NULL, 0);
		if (len < 0)
			return -errno;
		g_free(*buf);
		*buf = g_malloc(len + 1);
		n = dt_xattr_get(full, name, *buf, len);
		if (n >= 0)
			return n;
		if (errno != ERANGE)
			return -errno;
	}
}

static int dt_put_xattrs(GString *out, const char *full,
			 const struct dt_opts *o)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autofree char *list = NULL;
	ssize_t len;

	len = dt_xattr_read(full, NULL, &list);
	if (len == -ENOTSUP)
		return 0;
	if (len < 0)
		return dt_error(full, len);
	for (ssize_t i = 0; i < len; i += strlen(list + i) + 1)
		if (!dt_xattr_excluded(o, list + i))
			g_ptr_array_add(names, list + i);
	g_ptr_array_sort(names, dt_str_cmp);

	for (guint i = 0; i < names->len; i++) {
		const char *name = names->pdata[i];
		g_autofree char *val = NULL;
		ssize_t n = dt_xattr_read(full, name, &val);

		if (n < 0)
			return dt_error(full, n);
		g_string_append(out, " xattr:");
		dt_put_escaped(out, name, strlen(name));
		g_string_append_c(out, '=');
		dt_put_hex(out, (unsigned char *)val, n);
	}
	return 0;
}

static int dt_hash_fd(int fd, unsigned char *md, unsigned int *mdlen)
{
	g_autofree char *buf = g_malloc(1 << 16);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int err = 0;
	ssize_t n;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	while ((n = read(fd, buf, 1 << 16)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		EVP_DigestUpdate(ctx, buf, n);
	}
	if (!err && !EVP_DigestFinal_ex(ctx, md, mdlen))
		err = -EIO;
	EVP_MD_CTX_free(ctx);
	return err;
}

/* Hashing also catches a size that disagrees with the data: a short or long
 * read changes the digest, and st_size is printed separately. */
static int dt_put_sha256(GString *out, int rootfd, const char *rel)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int fd, err;

	fd = openat(rootfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return dt_error(rel, -errno);
	err = dt_hash_fd(fd, md, &mdlen);
	close(fd);
	if (err)
		return dt_error(rel, err);
	g_string_append(out, " sha256=");
	dt_put_hex(out, md, mdlen);
	return 0;
}

static bool dt_show_mtime(const struct dt_opts *o, const struct dt_entry *e)
{
	if (o->no_dir_mtime && S_ISDIR(e->st.st_mode))
		return false;
	return !g_hash_table_contains(o->no_mtime, e->path);
}

/* The fields that come straight from struct stat. */
static void dt_put_stat(GString *out, const struct dt_entry *e,
			const struct dt_opts *o)
{
	const struct stat *st = &e->st;

	g_string_append_printf(out, " %s %04o %u:%u", dt_type(st->st_mode),
			       st->st_mode & 07777, st->st_uid, st->st_gid);
	if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode))
		g_string_append_printf(out, " size=%jd", (intmax_t)st->st_size);
	if (dt_show_mtime(o, e))
		g_string_append_printf(out, " mtime=%jd.%09ld",
				       (intmax_t)st->st_mtim.tv_sec,
				       st->st_mtim.tv_nsec);
	else
		g_string_append(out, " mtime=-");
	if (!S_ISDIR(st->st_mode))
		g_string_append_printf(out, " nlink=%ju",
				       (uintmax_t)st->st_nlink);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		g_string_append_printf(out, " rdev=%u:%u", major(st->st_rdev),
				       minor(st->st_rdev));
}

/* First path (in sorted order) of each multiply-linked inode; keyed by
 * "dev:ino" so the map owns nothing but its keys. */
static const char *dt_hardlink_first(GHashTable *seen, const struct dt_entry *e)
{
	char *key = g_strdup_printf("%ju:%ju", (uintmax_t)e->st.st_dev,
				    (uintmax_t)e->st.st_ino);
	const char *first = g_hash_table_lookup(seen, key);

	if (first) {
		g_free(key);
		return first;
	}
	g_hash_table_insert(seen, key, e->path);
	return e->path;
}

static int dt_print_entry(FILE *f, int rootfd, const char *root,
			  const struct dt_entry *e, const struct dt_opts *o,
			  GHashTable *seen)
{
	g_autoptr(GString) line = g_string_new(NULL);
	g_autofree char *full = g_build_filename(root, e->path, NULL);
	const struct stat *st = &e->st;
	int err = 0;

	dt_put_escaped(line, e->path, strlen(e->path));
	dt_put_stat(line, e, o);
	if (S_ISLNK(st->st_mode))
		err = dt_put_target(line, full, st->st_size);
	if (!err)
		err = dt_put_xattrs(line, full, o);
	if (!err && S_ISREG(st->st_mode) && !o->no_hash)
		err = dt_put_sha256(line, rootfd, e->path);
	if (err)
		return err;
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		const char *first = dt_hardlink_first(seen, e);

		g_string_append(line, " hardlink=");
		dt_put_escaped(line, first, strlen(first));
	}
	g_string_append_c(line, '\n');
	if (fwrite(line->str, 1, line->len, f) != line->len)
		return dt_error("stdout", -errno);
	return 0;
}

static int dt_dump(const char *root, const struct dt_opts *o)
{
	g_autoptr(GPtrArray) entries =
	    g_ptr_array_new_with_free_func(dt_entry_free);
	g_autoptr(GHashTable) seen =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	struct dt_entry *top = g_new0(struct dt_entry, 1);
	int rootfd, err;

	top->path = g_strdup(".");
	g_ptr_array_add(entries, top);
	if (lstat(root, &top->st) < 0)
		return dt_error(root, -errno);
	if (!S_ISDIR(top->st.st_mode))
		return dt_error(root, -ENOTDIR);
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return dt_error(root, -errno);

	err = dt_walk(rootfd, ".", entries);
	if (!err)
		g_ptr_array_sort(entries, dt_entry_cmp);
	for (guint i = 0; !err && i < entries->len; i++)
		err = dt_print_entry(stdout, rootfd, root, entries->pdata[i], o,
				     seen);
	close(rootfd);
	if (!err && fflush(stdout) != 0)
		err = dt_error("stdout", -errno);
	return err;
}

static int dt_parse_args(int *argc, char ***argv, struct dt_opts *o)
{
	g_auto(GStrv) no_mtime = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GOptionContext) ctx = NULL;
	GOptionEntry entries[] = {
	    {"exclude-xattr", 0, 0, G_OPTION_ARG_STRING_ARRAY,
	     &o->exclude_xattr, "Leave out xattrs whose name starts so",
	     "PREFIX"},
	    {"no-mtime", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &no_mtime,
	     "Print \"-\" as the mtime of PATH (relative, . for the root)",
	     "PATH"},
	    {"no-dir-mtime", 0, 0, G_OPTION_ARG_NONE, &o->no_dir_mtime,
	     "Print \"-\" as the mtime of every directory", NULL},
	    {"no-hash", 0, 0, G_OPTION_ARG_NONE, &o->no_hash,
	     "Do not read file contents", NULL},
	    {NULL}};

	ctx = g_option_context_new("DIR - print a canonical listing of a tree");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		fprintf(stderr, "dumptree: %s\n", error->message);
		return -EINVAL;
	}
	if (*argc != 2) {
		fprintf(stderr, "usage: dumptree [OPTION...] DIR\n");
		return -EINVAL;
	}
	o->no_mtime =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (char **p = no_mtime; p && *p; p++)
		g_hash_table_add(o->no_mtime, g_strdup(*p));
	return 0;
}

int main(int argc, char **argv)
{
	struct dt_opts o = {0};
	int err;

	err = dt_parse_args(&argc, &argv, &o);
	if (!err)
		err = dt_dump(argv[1], &o);
	if (o.no_mtime)
		g_hash_table_unref(o.no_mtime);
	g_strfreev(o.exclude_xattr);
	return err ? 1 : 0;
}
