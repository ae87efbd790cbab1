/* The changes of a writable mount, or of an upper directory left by one,
 * opened in this process to be read: `layerfs diff` and `layerfs commit`.
 *
 * A mount says what it is made of in a virtual xattr on its root
 * (LFS_MOUNT_JSON_XATTR): its source or layer list, its upper, the cache
 * it used and an id of its layer stack.  The same image and upper are
 * opened here again, read-only (lfs_options.upper_readonly): the indexes
 * come from the cache, and the stack id must match, or the upper would
 * be read over other layers than the ones it was written over. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "cli.h"
#include "layerfs/cleanup.h"
#include "layerfs/error.h"
#include "layerfs/fsops.h"
#include "layerfs/stats.h"
#include "layerfs/upper.h"

/* @mnt's description, or NULL with @error set. */
static JsonObject *read_description(const char *mnt, JsonParser *parser,
				    GError **error)
{
	size_t n = 0;
	g_autofree char *buf = lfs_cli_read_xattr(mnt, LFS_MOUNT_JSON_XATTR, &n);
	JsonNode *root;

	if (!buf) {
		lfs_fail(error, errno, "%s: %s", mnt,
			 errno == ENODATA || errno == ENOTSUP
				 ? "not a layerfs mount (or one made by an "
				   "older layerfs)"
				 : g_strerror(errno));
		return NULL;
	}
	if (!json_parser_load_from_data(parser, buf, (gssize)n, NULL) ||
	    !(root = json_parser_get_root(parser)) ||
	    !JSON_NODE_HOLDS_OBJECT(root) ||
	    g_strcmp0(json_object_get_string_member_with_default(
			      json_node_get_object(root), "schema", ""),
		      LFS_MOUNT_JSON_SCHEMA) != 0) {
		lfs_fail(error, EPROTO,
			 "%s: its description (%s) is not %s", mnt,
			 LFS_MOUNT_JSON_XATTR, LFS_MOUNT_JSON_SCHEMA);
		return NULL;
	}
	return json_node_get_object(root);
}

static const char *member_str(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);

	return n && JSON_NODE_HOLDS_VALUE(n) &&
			       json_node_get_value_type(n) == G_TYPE_STRING
		       ? json_node_get_string(n)
		       : NULL;
}

/* Fill @o from mount @mnt's description; *@stack: the stack id it
 * reports. */
static gboolean from_mount(const char *mnt, struct lfs_options *o,
			   char **stack, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *d = read_description(mnt, parser, error);
	JsonNode *layers;
	lfs_autofd fd = -1;

	if (!d)
		return FALSE;
	if (!member_str(d, "upper"))
		return lfs_fail(error, EINVAL,
				"%s: a read-only mount (no upper directory): "
				"it has no changes",
				mnt);
	o->upper = g_strdup(member_str(d, "upper"));
	o->userxattr = json_object_get_boolean_member_with_default(
		d, "userxattr", false);
	o->platform = g_strdup(member_str(d, "platform"));
	if (!o->cache_dir)
		o->cache_dir = g_strdup(member_str(d, "cache"));
	*stack = g_strdup(member_str(d, "stack"));
	layers = json_object_get_member(d, "layers");
	if (layers && JSON_NODE_HOLDS_ARRAY(layers)) {
		JsonArray *a = json_node_get_array(layers);

		for (guint i = 0; i < json_array_get_length(a); i++)
			g_ptr_array_add(o->layers,
					g_strdup(json_array_get_string_element(
						a, i)));
	} else if (member_str(d, "source")) {
		o->source = g_strdup(member_str(d, "source"));
	} else {
		return lfs_fail(error, EPROTO,
				"%s: its description names no source", mnt);
	}
	/* What the kernel holds in its cache of written pages reaches the
	 * upper first (before the freeze: those writes would wait for the
	 * thaw, and this process with them). */
	fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd) < 0)
		return lfs_fail(error, errno, "%s: cannot flush it: %s", mnt,
				g_strerror(errno));
	return TRUE;
}

/* The freeze is held by a child of ours, which sets the xattr and waits
 * to be killed: the mount thaws when it exits.  Removing the xattr
 * instead would take the root directory's lock, which a change waiting
 * in the root (a create) holds until the thaw. */
static gboolean freeze_mount(struct lfs_cli_view *v, GError **error)
{
	pid_t parent = getpid();
	int p[2], err = 0;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return lfs_fail(error, errno, "pipe: %s", g_strerror(errno));
	v->freezer = fork();
	if (v->freezer < 0) {
		err = errno;
		close(p[0]);
		close(p[1]);
		return lfs_fail(error, err, "fork: %s", g_strerror(err));
	}
	if (v->freezer == 0) {
		/* Gone with the commit, however it ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		close(p[0]);
		if (setxattr(v->mountpoint, LFS_FREEZE_XATTR, "1", 1, 0) < 0)
			err = errno;
		if (write(p[1], &err, sizeof(err)) != sizeof(err) || err)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	n = read(p[0], &err, sizeof(err));
	close(p[0]);
	if (n != sizeof(err) || err) {
		lfs_cli_view_thaw(v);
		if (n != sizeof(err))
			err = EIO;
		return lfs_fail(error, err, "%s: cannot stop its changes: %s",
				v->mountpoint,
				err == EBUSY ? "another commit has them stopped"
					     : g_strerror(err));
	}
	return TRUE;
}

void lfs_cli_view_thaw(struct lfs_cli_view *v)
{
	if (v->freezer <= 0)
		return;
	kill(v->freezer, SIGKILL);
	waitpid(v->freezer, NULL, 0);
	v->freezer = 0;
}

gboolean lfs_cli_view_open(struct lfs_cli_view *v, struct lfs_options *o,
			   const struct lfs_logger *lg, struct lfs_mount **out,
			   GError **error)
{
	g_autofree char *stack = NULL;
	struct lfs_mount *m = NULL;

	if (v->mountpoint) {
		if (!from_mount(v->mountpoint, o, &stack, error) ||
		    (v->freeze && !freeze_mount(v, error)))
			return FALSE;
	} else {
		o->upper = g_strdup(v->upper);
		o->userxattr = v->userxattr;
	}
	o->upper_readonly = true;
	o->profile = false;
	if (!lfs_mount_open(o, lg, &m, error)) {
		lfs_cli_view_thaw(v);
		return FALSE;
	}
	if (stack) {
		g_autofree char *now = lfs_mount_stack_name(m);

		if (g_strcmp0(now, stack) != 0) {
			lfs_fail(error, ESTALE,
				 "%s: its image %s has other layers now than "
				 "when it was mounted",
				 v->mountpoint, m->image->source);
			lfs_mount_close(m);
			lfs_cli_view_thaw(v);
			return FALSE;
		}
	}
	*out = m;
	return TRUE;
}
