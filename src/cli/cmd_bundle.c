/* `layerfs bundle`: an OCI runtime bundle (runc, crun) whose root file
 * system is a layerfs mount of an image: DIR/rootfs mounted, read-only or
 * writable, and DIR/config.json made from the image's config (command,
 * environment, user, working directory), as `umoci unpack` makes one
 * from an unpacked copy. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "cli.h"
#include "layerfs/cleanup.h"
#include "layerfs/error.h"
#include "layerfs/mount.h"

/* Where a command word needs quoting for a shell. */
static bool plain_word(const char *w)
{
	if (!*w)
		return false;
	for (; *w; w++) {
		if (!g_ascii_isalnum(*w) && !strchr("_./:=@%+,-", *w))
			return false;
	}
	return true;
}

char *lfs_cli_run_command(const struct lfs_image_run *r)
{
	GString *s = g_string_new(NULL);
	char *const *parts[] = { r->entrypoint, r->cmd };

	for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
		for (char *const *w = parts[i]; w && *w; w++) {
			g_autofree char *q = plain_word(*w)
						     ? g_strdup(*w)
						     : g_shell_quote(*w);

			if (s->len)
				g_string_append_c(s, ' ');
			g_string_append(s, q);
		}
	}
	if (!s->len) {
		g_string_free(s, TRUE);
		return NULL;
	}
	return g_string_free(s, FALSE);
}

/* @path of the image, opened as if @rootfd were "/": the image's
 * symlinks cannot lead out of it. */
static FILE *open_in_root(int rootfd, const char *path)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT |
					   RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (!f)
		close(fd);
	return f;
}

/* The fields of the first line of colon-separated @path (passwd, group)
 * whose field @key_field is @key, if it has at least four (g_strfreev);
 * NULL if none. */
static char **lookup(int rootfd, const char *path, int key_field,
		     const char *key)
{
	FILE *f = open_in_root(rootfd, path);
	char *line = NULL, **found = NULL;
	size_t cap = 0;

	if (!f)
		return NULL;
	while (!found && getline(&line, &cap, f) > 0) {
		char **parts;

		line[strcspn(line, "\n")] = '\0';
		parts = g_strsplit(line, ":", -1);
		if (g_strv_length(parts) >= 4 &&
		    strcmp(parts[key_field], key) == 0)
			found = parts;
		else
			g_strfreev(parts);
	}
	free(line);
	fclose(f);
	return found;
}

static bool number(const char *s, guint32 *out)
{
	guint64 v;

	if (!g_ascii_string_to_unsigned(s, 10, 0, G_MAXUINT32, &v, NULL))
		return false;
	*out = (guint32)v;
	return true;
}

/* The image's "user[:group]" as numbers, from its own etc/passwd and
 * etc/group where they are names, as runtimes resolve it.  A user
 * without a group takes the passwd entry's (0 for a bare number not
 * listed). */
static gboolean resolve_user(int rootfd, const char *spec, guint32 *uid,
			     guint32 *gid, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(spec ? spec : "0", ":", 2);
	g_auto(GStrv) pw = NULL, gr = NULL;
	const char *user = parts[0], *group = parts[1];
	bool numeric = number(user, uid);

	/* passwd: NAME:PASSWORD:UID:GID:... */
	*gid = 0;
	pw = lookup(rootfd, "etc/passwd", numeric ? 2 : 0, user);
	if (numeric) {
		if (pw)
			number(pw[3], gid);
	} else if (!pw || !number(pw[2], uid) || !number(pw[3], gid)) {
		return lfs_fail(error, ENOENT,
				"user \"%s\" of the image is not in its "
				"etc/passwd",
				user);
	}
	/* group: NAME:PASSWORD:GID:MEMBERS */
	if (group && *group && !number(group, gid)) {
		gr = lookup(rootfd, "etc/group", 0, group);
		if (!gr || !number(gr[2], gid))
			return lfs_fail(error, ENOENT,
					"group \"%s\" of the image is not in "
					"its etc/group",
					group);
	}
	return TRUE;
}

static void add_strings(JsonBuilder *b, const char *const *v)
{
	json_builder_begin_array(b);
	for (; v && *v; v++)
		json_builder_add_string_value(b, *v);
	json_builder_end_array(b);
}

static void member_str(JsonBuilder *b, const char *name, const char *v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, v);
}

static void add_mount(JsonBuilder *b, const char *dest, const char *type,
		      const char *source, const char *const *options)
{
	json_builder_begin_object(b);
	member_str(b, "destination", dest);
	member_str(b, "type", type);
	member_str(b, "source", source);
	json_builder_set_member_name(b, "options");
	add_strings(b, options);
	json_builder_end_object(b);
}

/* Docker's default capabilities: enough for package managers. */
static const char *const caps[] = {
	"CAP_CHOWN",	      "CAP_DAC_OVERRIDE", "CAP_FSETID",
	"CAP_FOWNER",	      "CAP_MKNOD",	  "CAP_NET_RAW",
	"CAP_SETGID",	      "CAP_SETUID",	  "CAP_SETFCAP",
	"CAP_SETPCAP",	      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
	"CAP_KILL",	      "CAP_AUDIT_WRITE",  NULL,
};

struct process {
	char **args;
	char **env;
	const char *cwd;
	guint32 uid, gid;
	bool terminal;
	bool readonly;
};

/* config.json: runc's default container (namespaces, mounts, masked
 * paths) running @p. */
static char *runtime_config(const struct process *p)
{
	static const char *const masked[] = {
		"/proc/acpi",	  "/proc/asound",    "/proc/kcore",
		"/proc/keys",	  "/proc/latency_stats", "/proc/timer_list",
		"/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
		"/proc/scsi",	  NULL,
	};
	static const char *const ro[] = { "/proc/bus", "/proc/fs",
					  "/proc/irq", "/proc/sys",
					  "/proc/sysrq-trigger", NULL };
	static const char *const ns[] = { "pid", "network", "ipc", "uts",
					  "mount", "cgroup", NULL };
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	member_str(b, "ociVersion", "1.0.2");
	json_builder_set_member_name(b, "process");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "terminal");
	json_builder_add_boolean_value(b, p->terminal);
	json_builder_set_member_name(b, "user");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "uid");
	json_builder_add_int_value(b, p->uid);
	json_builder_set_member_name(b, "gid");
	json_builder_add_int_value(b, p->gid);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "args");
	add_strings(b, (const char *const *)p->args);
	json_builder_set_member_name(b, "env");
	add_strings(b, (const char *const *)p->env);
	member_str(b, "cwd", p->cwd);
	json_builder_set_member_name(b, "capabilities");
	json_builder_begin_object(b);
	for (const char *const *set = (const char *const[]){
		     "bounding", "effective", "permitted", NULL };
	     *set; set++) {
		json_builder_set_member_name(b, *set);
		add_strings(b, caps);
	}
	json_builder_end_object(b);
	json_builder_set_member_name(b, "rlimits");
	json_builder_begin_array(b);
	json_builder_begin_object(b);
	member_str(b, "type", "RLIMIT_NOFILE");
	json_builder_set_member_name(b, "hard");
	json_builder_add_int_value(b, 1024);
	json_builder_set_member_name(b, "soft");
	json_builder_add_int_value(b, 1024);
	json_builder_end_object(b);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "noNewPrivileges");
	json_builder_add_boolean_value(b, true);
	json_builder_end_object(b);

	json_builder_set_member_name(b, "root");
	json_builder_begin_object(b);
	member_str(b, "path", "rootfs");
	json_builder_set_member_name(b, "readonly");
	json_builder_add_boolean_value(b, p->readonly);
	json_builder_end_object(b);
	member_str(b, "hostname", "layerfs");

	json_builder_set_member_name(b, "mounts");
	json_builder_begin_array(b);
	add_mount(b, "/proc", "proc", "proc", (const char *const[]){ NULL });
	add_mount(b, "/dev", "tmpfs", "tmpfs",
		  (const char *const[]){ "nosuid", "strictatime", "mode=755",
					 "size=65536k", NULL });
	add_mount(b, "/dev/pts", "devpts", "devpts",
		  (const char *const[]){ "nosuid", "noexec", "newinstance",
					 "ptmxmode=0666", "mode=0620",
					 "gid=5", NULL });
	add_mount(b, "/dev/shm", "tmpfs", "shm",
		  (const char *const[]){ "nosuid", "noexec", "nodev",
					 "mode=1777", "size=65536k", NULL });
	add_mount(b, "/dev/mqueue", "mqueue", "mqueue",
		  (const char *const[]){ "nosuid", "noexec", "nodev", NULL });
	add_mount(b, "/sys", "sysfs", "sysfs",
		  (const char *const[]){ "nosuid", "noexec", "nodev", "ro",
					 NULL });
	add_mount(b, "/sys/fs/cgroup", "cgroup", "cgroup",
		  (const char *const[]){ "nosuid", "noexec", "nodev",
					 "relatime", "ro", NULL });
	json_builder_end_array(b);

	json_builder_set_member_name(b, "linux");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "resources");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "devices");
	json_builder_begin_array(b);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "allow");
	json_builder_add_boolean_value(b, false);
	member_str(b, "access", "rwm");
	json_builder_end_object(b);
	json_builder_end_array(b);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "namespaces");
	json_builder_begin_array(b);
	for (const char *const *n = ns; *n; n++) {
		json_builder_begin_object(b);
		member_str(b, "type", *n);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "maskedPaths");
	add_strings(b, masked);
	json_builder_set_member_name(b, "readonlyPaths");
	add_strings(b, ro);
	json_builder_end_object(b);
	json_builder_end_object(b);

	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	return json_generator_to_data(gen, NULL);
}

/* The environment: the image's, with a PATH where it has none (as
 * runtimes add one), and TERM on a terminal. */
static char **environment(const struct lfs_image_run *r, bool terminal)
{
	GPtrArray *env = g_ptr_array_new();
	bool path = false;

	for (char *const *e = r ? r->env : NULL; e && *e; e++) {
		path |= g_str_has_prefix(*e, "PATH=");
		g_ptr_array_add(env, g_strdup(*e));
	}
	if (!path)
		g_ptr_array_add(env, g_strdup("PATH=/usr/local/sbin:/usr/local/"
					      "bin:/usr/sbin:/usr/bin:/sbin:"
					      "/bin"));
	if (terminal)
		g_ptr_array_add(env, g_strdup("TERM=xterm"));
	g_ptr_array_add(env, NULL);
	return (char **)g_ptr_array_free(env, FALSE);
}

/* The command: the one given after "--", else the image's entrypoint
 * and cmd. */
static char **command(const struct lfs_image_run *r, char **given)
{
	GPtrArray *args = g_ptr_array_new();

	if (given && *given) {
		for (char **w = given; *w; w++)
			g_ptr_array_add(args, g_strdup(*w));
	} else if (r) {
		for (char **w = r->entrypoint; w && *w; w++)
			g_ptr_array_add(args, g_strdup(*w));
		for (char **w = r->cmd; w && *w; w++)
			g_ptr_array_add(args, g_strdup(*w));
	}
	g_ptr_array_add(args, NULL);
	return (char **)g_ptr_array_free(args, FALSE);
}

struct bundle_args {
	char *dir;
	char **mount_argv; /* argv for lfs_cmd_mount() */
	char **given;	   /* the command after "--", or NULL */
	bool terminal;
	bool writable;
};

/* config.json, written beside itself and renamed. */
static gboolean write_config(const char *dir, const char *text,
			     GError **error)
{
	g_autofree char *tmp = g_build_filename(dir, ".config.json.tmp",
						NULL);
	g_autofree char *path = g_build_filename(dir, "config.json", NULL);

	if (!g_file_set_contents(tmp, text, -1, error))
		return FALSE;
	if (rename(tmp, path) < 0)
		return lfs_fail(error, errno, "%s: %s", path,
				g_strerror(errno));
	return TRUE;
}

/* Mount DIR/rootfs as `layerfs mount` does, in a child: its parent
 * process returns when the mount is ready, with its status. */
static int mount_rootfs(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		fprintf(stderr, "layerfs: fork: %s\n", g_strerror(errno));
		return LFS_EXIT_FAIL;
	}
	if (pid == 0)
		_exit(lfs_cmd_mount((int)g_strv_length(argv), argv));
	if (waitpid(pid, &status, 0) < 0)
		return LFS_EXIT_FAIL;
	return WIFEXITED(status) ? WEXITSTATUS(status) : LFS_EXIT_FAIL;
}

static gboolean make_bundle(const struct bundle_args *a,
			    const struct lfs_image *img, GError **error)
{
	g_autofree char *rootfs = g_build_filename(a->dir, "rootfs", NULL);
	g_autofree char *text = NULL;
	g_auto(GStrv) args = command(img->run, a->given);
	g_auto(GStrv) env = environment(img->run, a->terminal);
	struct process p = { .args = args, .env = env, .cwd = "/",
			     .terminal = a->terminal,
			     .readonly = !a->writable };
	lfs_autofd rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (rootfd < 0)
		return lfs_fail(error, errno, "%s: %s", rootfs,
				g_strerror(errno));
	if (img->run && img->run->working_dir)
		p.cwd = img->run->working_dir;
	if (!resolve_user(rootfd, img->run ? img->run->user : NULL, &p.uid,
			  &p.gid, error))
		return FALSE;
	text = runtime_config(&p);
	return write_config(a->dir, text, error);
}

int lfs_cmd_bundle(int argc, char **argv)
{
	g_auto(GStrv) layers = NULL, opts = NULL;
	g_autofree char *platform = NULL, *cache_dir = NULL;
	gboolean version = FALSE, tty = FALSE;
	GOptionEntry entries[] = {
		{ "layer", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &layers,
		  "A layer: tar, tar.gz, tar.zst or directory; repeat, bottom "
		  "first (no config: give the command after --)",
		  "PATH" },
		{ "cache-dir", 0, 0, G_OPTION_ARG_FILENAME, &cache_dir,
		  "Cache directory, as for layerfs mount", "DIR" },
		{ "platform", 0, 0, G_OPTION_ARG_STRING, &platform,
		  "Platform to pick from a multi-platform image",
		  "OS/ARCH[/VARIANT]" },
		{ "options", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &opts,
		  "Mount options, as for layerfs mount (upper=, work=: a "
		  "writable root)",
		  "OPT[,OPT]" },
		{ "tty", 't', 0, G_OPTION_ARG_NONE, &tty,
		  "The container's process gets a terminal", NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version,
		  "Print the version and exit", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(
		"SOURCE DIR [-- COMMAND...] | --layer PATH... DIR [-- "
		"COMMAND...]");
	g_autoptr(lfs_options) o = lfs_options_new();
	g_autoptr(lfs_image) img = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) margv = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *rootfs = NULL;
	struct bundle_args a = { 0 };
	const char *why = NULL;
	int status, dashes = -1, nargs;

	/* What follows "--" is the container's command, not ours. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			dashes = i;
			break;
		}
	}
	if (dashes >= 0) {
		a.given = argv + dashes + 1;
		argc = dashes;
	}
	g_option_context_set_summary(
		ctx, "Make DIR an OCI runtime bundle (runc run -b DIR): the "
		     "image mounted at DIR/rootfs, read-only or, with -o "
		     "upper=,work=, writable, and DIR/config.json running "
		     "the image's command as its user, in its working "
		     "directory, with its environment.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_set_prgname("layerfs bundle");
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		why = error->message;
	else if (version) {
		printf("layerfs %s\n", LFS_VERSION);
		return LFS_EXIT_OK;
	}
	nargs = layers ? 2 : 3;
	if (!why && argc != nargs)
		why = layers ? "expected --layer PATH... DIR"
			     : "expected SOURCE DIR";
	for (char **opt = opts; !why && opt && *opt; opt++) {
		if (!lfs_options_parse_o(o, *opt, &error))
			why = error->message;
	}
	if (why) {
		fprintf(stderr,
			"layerfs bundle: %s (see layerfs bundle --help)\n",
			why);
		return LFS_EXIT_USAGE;
	}
	a.dir = argv[nargs - 1];
	a.terminal = tty;
	a.writable = o->upper != NULL;
	o->source = layers ? NULL : g_strdup(argv[1]);
	o->platform = g_strdup(platform);
	for (char **l = layers; l && *l; l++)
		g_ptr_array_add(o->layers, g_strdup(*l));
	if (!lfs_mount_load_image(o, &img, &error))
		return lfs_cli_fail(error);
	/* Before the mount, which may index for minutes. */
	if (!a.given || !*a.given) {
		g_auto(GStrv) args = command(img->run, NULL);

		if (!args[0]) {
			lfs_fail_cause(&error, LFS_CAUSE_SOURCE, EINVAL,
				       "%s names no command to run: give one "
				       "after --",
				       img->source);
			return lfs_cli_fail(error);
		}
	}
	rootfs = g_build_filename(a.dir, "rootfs", NULL);
	if (g_mkdir_with_parents(rootfs, 0755) < 0) {
		fprintf(stderr, "layerfs: %s: %s\n", rootfs, g_strerror(errno));
		return errno == EACCES || errno == EPERM ? LFS_EXIT_PERMISSION
							 : LFS_EXIT_FAIL;
	}
	/* `layerfs mount [OPTIONS] SOURCE DIR/rootfs`. */
	g_ptr_array_add(margv, g_strdup("mount"));
	if (cache_dir) {
		g_ptr_array_add(margv, g_strdup("--cache-dir"));
		g_ptr_array_add(margv, g_strdup(cache_dir));
	}
	if (platform) {
		g_ptr_array_add(margv, g_strdup("--platform"));
		g_ptr_array_add(margv, g_strdup(platform));
	}
	for (char **opt = opts; opt && *opt; opt++) {
		g_ptr_array_add(margv, g_strdup("-o"));
		g_ptr_array_add(margv, g_strdup(*opt));
	}
	for (char **l = layers; l && *l; l++) {
		g_ptr_array_add(margv, g_strdup("--layer"));
		g_ptr_array_add(margv, g_strdup(*l));
	}
	if (!layers)
		g_ptr_array_add(margv, g_strdup(argv[1]));
	g_ptr_array_add(margv, g_strdup(rootfs));
	g_ptr_array_add(margv, NULL);
	status = mount_rootfs((char **)margv->pdata);
	if (status != LFS_EXIT_OK)
		return status;
	if (!make_bundle(&a, img, &error)) {
		status = lfs_cli_fail(error);
		/* No bundle: no mount left behind either. */
		if (umount2(rootfs, 0) < 0) {
			const char *u[] = { "fusermount3", "-u", rootfs, NULL };

			g_spawn_sync(NULL, (char **)u, NULL,
				     G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
				     NULL, NULL, NULL);
		}
		return status;
	}
	printf("%s: a bundle of %s (%s root); run it with runc run -b %s "
	       "NAME, and unmount with fusermount3 -u %s\n",
	       a.dir, img->source, a.writable ? "writable" : "read-only",
	       a.dir, rootfs);
	return LFS_EXIT_OK;
}
