/* Opening a mount: source -> image -> indexed layers -> merged tree. */
#include <errno.h>
#include <malloc.h>
#include <sys/stat.h>
#include <string.h>
#include <xxhash.h>
#include <json-glib/json-glib.h>

#include "layerfs/error.h"
#include "layerfs/fsops.h"
#include "layerfs/index_file.h"
#include "layerfs/mount.h"
#include "layerfs/profile.h"
#include "layerfs/source.h"
#include "layerfs/stats.h"
#include "layerfs/upper.h"

gboolean lfs_mount_load_image(const struct lfs_options *o,
			      struct lfs_image **out, GError **error)
{
	gboolean ok;

	if (o->source)
		ok = lfs_source_open(o->source, o->platform, out, error);
	else
		ok = lfs_source_from_layers(
			(const char *const *)o->layers->pdata, o->layers->len,
			out, error);
	/* Whatever kept the source from being an image (its digest and
	 * size checks have their own cause). */
	if (!ok)
		lfs_error_set_cause(error, LFS_CAUSE_SOURCE);
	return ok;
}

/* One layer's indexing, run by a worker. */
struct index_job {
	const struct lfs_options *o;
	struct lfs_layer_options lo;
	struct lfs_mount_progress ev;
	struct lfs_layer **out;
	gint *stop; /* shared: set by the first layer that fails */
	GError *error;
};

static void report(struct index_job *x, enum lfs_progress_state state)
{
	x->ev.state = state;
	if (x->o->progress)
		x->o->progress(x->o->progress_ctx, &x->ev);
}

static void layer_progress(void *ctx, const struct lfs_layer_spec *spec,
			   const struct lfs_layer_progress *p)
{
	struct index_job *x = ctx;

	(void)spec;
	x->ev.p = *p;
	report(x, LFS_PROGRESS_RUNNING);
}

static enum lfs_job_result index_one(struct lfs_job *job, void *arg)
{
	struct index_job *x = arg;
	struct lfs_layer *l;

	(void)job;
	if (!lfs_layer_open(x->ev.spec, &x->lo, x->out, &x->error)) {
		g_atomic_int_set(x->stop, 1);
		report(x, LFS_PROGRESS_FAILED);
		return LFS_JOB_DONE;
	}
	l = *x->out;
	x->ev.p.done = x->ev.p.total = l->stored_size;
	x->ev.p.entries = l->index->stat_entries;
	report(x, l->loaded ? LFS_PROGRESS_CACHED : LFS_PROGRESS_BUILT);
	return LFS_JOB_DONE;
}

/* The error to report: the lowest layer's, other than the cancellations
 * it caused in the rest. */
static GError *first_error(struct index_job *x, uint32_t n)
{
	GError *cancelled = NULL;

	for (uint32_t i = 0; i < n; i++) {
		if (!x[i].error)
			continue;
		if (!g_error_matches(x[i].error, LFS_ERROR, ECANCELED))
			return g_steal_pointer(&x[i].error);
		if (!cancelled)
			cancelled = x[i].error;
	}
	return cancelled ? g_error_copy(cancelled) : NULL;
}

/* Index every layer, all at once on the workers (each layer is one
 * sequential pass; the layers of an image are independent). */
/* The time of the directories no layer has an entry for (the root, and
 * parents the layers only imply): the image's creation time from its
 * config, else the newest of its layers' files' mtimes (a list of layers
 * has no config), never the epoch. */
static struct timespec image_time(const struct lfs_image *img)
{
	struct timespec newest = { 0, 0 };

	if (img->has_created)
		return img->created;
	for (guint i = 0; i < img->layers->len; i++) {
		const struct lfs_layer_spec *spec = img->layers->pdata[i];
		struct stat st;

		if (stat(spec->path, &st) == 0 &&
		    (st.st_mtim.tv_sec > newest.tv_sec ||
		     (st.st_mtim.tv_sec == newest.tv_sec &&
		      st.st_mtim.tv_nsec > newest.tv_nsec)))
			newest = st.st_mtim;
	}
	return newest;
}

static gboolean open_layers(struct lfs_mount *m, const struct lfs_options *o,
			    GError **error)
{
	gint own_stop = 0;
	gint *stop = o->stop ? o->stop : &own_stop;
	struct lfs_layer_options lo = { .cache = m->cache, .lg = &m->log,
					.span = o->span,
					.progress = layer_progress,
					.stop = stop };
	uint32_t n = m->image->layers->len;
	g_autofree struct index_job *x = g_new0(struct index_job, n);
	g_autofree struct lfs_job **jobs = g_new0(struct lfs_job *, n);
	GError *failed;

	m->nlayers = n;
	m->layers = g_new0(struct lfs_layer *, n);
	for (uint32_t i = 0; i < n; i++) {
		x[i] = (struct index_job){ .o = o, .lo = lo,
					   .out = &m->layers[i],
					   .stop = stop };
		x[i].lo.progress_ctx = &x[i];
		x[i].ev.layer = i;
		x[i].ev.nlayers = n;
		x[i].ev.spec = m->image->layers->pdata[i];
		jobs[i] = lfs_workers_submit(m->workers, LFS_WORK_MOUNT,
					     index_one, &x[i], NULL);
	}
	for (uint32_t i = 0; i < n; i++) {
		lfs_job_wait(jobs[i]);
		lfs_job_unref(jobs[i]);
	}
	failed = first_error(x, n);
	for (uint32_t i = 0; i < n; i++)
		g_clear_error(&x[i].error);
	if (failed) {
		g_propagate_error(error, failed);
		return FALSE;
	}
	return TRUE;
}

/* Streams over the layers, once the tree is built: building it may give
 * a layer another index (tree/relocate.c), and a stream keeps the one it
 * was made with. */
static void open_streams(struct lfs_mount *m, const struct lfs_options *o)
{
	struct lfs_stream_options so = { .handles = o->handles,
					 .cache = m->cache,
					 .workers = m->workers,
					 .lg = &m->log };

	if (o->span_cache)
		m->span_cache = lfs_span_cache_new(o->span_cache);
	so.span_cache = m->span_cache;
	m->streams = g_new0(struct lfs_stream *, m->nlayers);
	for (uint32_t i = 0; i < m->nlayers; i++) {
		struct lfs_layer *l = m->layers[i];

		m->streams[i] = lfs_stream_new(l, &so);
		m->total_entries += l->index->nentries;
		m->total_bytes += l->tar_size;
		lfs_info(&m->log, "%s: %u entries, %llu bytes (%s)%s",
			 l->spec->name, l->index->nentries,
			 (unsigned long long)l->tar_size,
			 lfs_compression_name(l->comp),
			 l->loaded ? ", index from the cache" : "");
	}
}

/* The cache, or NULL (with a warning) when it cannot be used. */
static struct lfs_cache *open_cache(const struct lfs_options *o,
				    const struct lfs_logger *lg)
{
	g_autofree char *dir = o->cache_dir ? g_strdup(o->cache_dir)
					    : lfs_cache_default_dir();
	g_autoptr(GError) error = NULL;
	struct lfs_cache *c = NULL;

	if (!lfs_cache_open(dir, &c, &error))
		lfs_warn(lg, "%s; going on without a cache: every layer is "
			     "indexed now and nothing is kept",
			 error->message);
	return c;
}

/* Names the lower stack, for the origins the upper records (live_dir.h):
 * each layer's digest, or where it has none (a directory, a --layer
 * file) its cache key or name. */
static uint64_t stack_id(const struct lfs_mount *m)
{
	XXH3_state_t *st = XXH3_createState();
	uint64_t id;

	XXH3_64bits_reset(st);
	for (uint32_t i = 0; i < m->nlayers; i++) {
		const struct lfs_layer *l = m->layers[i];
		g_autofree char *d = l->has_digest
					     ? lfs_digest_to_string(&l->digest)
					     : g_strdup(l->cache_key
								? l->cache_key
								: l->spec->name);

		XXH3_64bits_update(st, d, strlen(d) + 1);
	}
	id = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return id;
}

/* The writable part: the upper directory over the tree. */
static gboolean check_upper(const struct lfs_options *o,
			    const struct lfs_logger *lg, GError **error)
{
	struct lfs_upper_options uo = {
		.upper = o->upper, .work = o->work,
		.mountpoint = o->mountpoint, .userxattr = o->userxattr,
		.lg = lg,
	};

	if (o->upper_readonly)
		return TRUE; /* lfs_upper_open() checks the one directory */
	if (!o->upper != !o->work)
		return lfs_fail(error, EINVAL,
				"a writable mount needs both upper= and work=");
	return !o->upper || lfs_upper_check(&uo, error);
}

static gboolean open_upper(struct lfs_mount *m, const struct lfs_options *o,
			   GError **error)
{
	struct lfs_upper_options uo = {
		.upper = o->upper, .work = o->work,
		.mountpoint = o->mountpoint, .userxattr = o->userxattr,
		.volatile_ = o->volatile_, .metacopy = o->metacopy,
		.xattr_permissions = o->xattr_permissions,
		.stack_id = stack_id(m), .readonly = o->upper_readonly,
		.lg = &m->log,
	};
	struct lfs_ovl_options vo = { .lower = m->tree, .lg = &m->log,
				      .cache_bytes = o->meta_cache };
	int err;

	if (!o->upper_readonly && !o->upper != !o->work)
		return lfs_fail(error, EINVAL,
				"a writable mount needs both upper= and work=");
	if (!o->upper)
		return TRUE;
	if (!lfs_upper_open(&uo, &m->upper, error))
		return FALSE;
	m->upper->layers = m->layers;
	m->upper->streams = m->streams;
	m->upper->nlayers = m->nlayers;
	vo.upper = &m->upper->live;
	vo.workfd = m->upper->workfd;
	vo.drop_orphan = lfs_upper_drop_orphan;
	vo.ctx = m->upper;
	err = lfs_ovl_new(&vo, &m->ovl);
	if (err)
		return lfs_fail(error, -err, "upper directory %s: %s",
				o->upper, g_strerror(-err));
	m->upper->ov = m->ovl;
	if (o->upper_readonly)
		return TRUE;
	err = lfs_upper_adopt_root(m->upper);
	if (err)
		return lfs_fail(error, -err, "upper directory %s: %s",
				o->upper, g_strerror(-err));
	return TRUE;
}

/* The profile of these layers (profile.h): a recorder for this mount,
 * and the last mount's ranges to read ahead.  Only with a cache that has
 * room for profiles; a bad profile is said and left for this mount's to
 * replace. */
static void open_profile(struct lfs_mount *m)
{
	int dirfd = m->cache ? lfs_cache_profile_dir(m->cache) : -1;
	g_autofree uint32_t *nentries = NULL;
	g_autofree const char **keys = NULL;
	const char *why;
	int err;

	if (dirfd < 0 || m->nlayers == 0)
		return;
	nentries = g_new(uint32_t, m->nlayers);
	keys = g_new(const char *, m->nlayers);
	for (uint32_t i = 0; i < m->nlayers; i++) {
		const struct lfs_layer *l = m->layers[i];

		nentries[i] = l->index->nentries;
		keys[i] = l->cache_key ? l->cache_key : l->spec->name;
	}
	m->profile = lfs_profile_new(m->nlayers, nentries);
	m->profile_name = lfs_profile_name(keys, m->nlayers);
	err = lfs_profile_load(dirfd, m->profile_name, m->nlayers, &m->replay,
			       &why);
	if (err < 0 && err != -ENOENT)
		lfs_info(&m->log, "profile %s/profile/%s not used (%s)",
			 lfs_cache_path(m->cache), m->profile_name,
			 why ? why : g_strerror(-err));
}

/* This mount's first reads, for the next mount of the same layers; a
 * mount that read nothing keeps the last one's. */
static void save_profile(struct lfs_mount *m)
{
	g_autoptr(GArray) ranges = NULL;
	int err;

	if (!m->profile)
		return;
	ranges = lfs_profile_ranges(m->profile);
	if (ranges->len == 0)
		return;
	err = lfs_profile_save(lfs_cache_profile_dir(m->cache),
			       m->profile_name, ranges);
	if (err < 0)
		lfs_info(&m->log, "cannot save the profile %s/profile/%s: %s",
			 lfs_cache_path(m->cache), m->profile_name,
			 g_strerror(-err));
}

static void j_str(JsonBuilder *b, const char *member, const char *value)
{
	json_builder_set_member_name(b, member);
	if (value)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

char *lfs_mount_stack_name(const struct lfs_mount *m)
{
	if (!m->upper)
		return NULL;
	return g_strdup_printf("%016" G_GINT64_MODIFIER "x",
			       (guint64)m->upper->live.stack_id);
}

/* struct lfs_mount.described: what another process needs to open the same
 * layers and upper; paths absolute, the stack checked by its id. */
static char *describe(const struct lfs_mount *m, const struct lfs_options *o)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *stack = NULL;
	bool listed = strcmp(m->image->transport, "layers") == 0;

	json_builder_begin_object(b);
	j_str(b, "schema", LFS_MOUNT_JSON_SCHEMA);
	j_str(b, "source", listed ? NULL : m->image->source);
	json_builder_set_member_name(b, "layers");
	if (listed) {
		json_builder_begin_array(b);
		for (guint i = 0; i < m->image->layers->len; i++) {
			const struct lfs_layer_spec *s =
				m->image->layers->pdata[i];
			g_autofree char *abs = lfs_image_abspath(s->path);

			json_builder_add_string_value(b, abs);
		}
		json_builder_end_array(b);
	} else {
		json_builder_add_null_value(b);
	}
	j_str(b, "platform", o->platform);
	j_str(b, "manifest", m->image->manifest_digest);
	if (m->upper) {
		g_autofree char *upper = lfs_image_abspath(o->upper);
		g_autofree char *work = o->work ? lfs_image_abspath(o->work)
						: NULL;

		stack = lfs_mount_stack_name(m);
		j_str(b, "upper", upper);
		j_str(b, "work", work);
		json_builder_set_member_name(b, "userxattr");
		json_builder_add_boolean_value(
			b, m->upper->live.ns == LFS_OVL_NS_USER);
	} else {
		j_str(b, "upper", NULL);
		j_str(b, "work", NULL);
		json_builder_set_member_name(b, "userxattr");
		json_builder_add_boolean_value(b, false);
	}
	j_str(b, "stack", stack);
	j_str(b, "cache", m->cache ? lfs_cache_path(m->cache) : NULL);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	return json_generator_to_data(gen, NULL);
}

gboolean lfs_mount_open(const struct lfs_options *o,
			const struct lfs_logger *lg, struct lfs_mount **out,
			GError **error)
{
	struct lfs_mount *m = g_new0(struct lfs_mount, 1);

	g_mutex_init(&m->files_lock);
	lfs_freeze_init(&m->freeze);
	m->dirplus = lfs_dirplus_new();
	if (lg)
		m->log = *lg;
	if (!lfs_mount_load_image(o, &m->image, error)) {
		lfs_mount_close(m);
		return FALSE;
	}
	/* What the upper and work directories can be checked for without
	 * the layers, before indexing them, which can take minutes. */
	if (!check_upper(o, &m->log, error)) {
		lfs_mount_close(m);
		return FALSE;
	}
	m->cache = open_cache(o, &m->log);
	m->workers = lfs_workers_new(o->threads);
	if (!open_layers(m, o, error)) {
		lfs_mount_close(m);
		return FALSE;
	}
	m->meta_cache = o->meta_cache;
	m->uids = o->uids;
	m->gids = o->gids;
	if (o->uids.ranges)
		m->uids.ranges = g_array_ref(o->uids.ranges);
	if (o->gids.ranges)
		m->gids.ranges = g_array_ref(o->gids.ranges);
	m->static_nlink = o->static_nlink;
	m->noxattrs = o->noxattrs;

	m->tree = lfs_tree_new(m->layers, m->nlayers, &m->log,
			       &(struct lfs_tree_options){
				       .cache_bytes = o->meta_cache,
				       .synth_time = image_time(m->image) });
	open_streams(m, o);
	if (!open_upper(m, o, error)) {
		lfs_mount_close(m);
		return FALSE;
	}
	if (o->profile)
		open_profile(m);
	m->described = describe(m, o);
	/* Index builders freed a lot of small blocks: hand the memory back
	 * rather than keep it in the daemon for its whole life. */
	malloc_trim(0);
	*out = m;
	return TRUE;
}

void lfs_mount_close(struct lfs_mount *m)
{
	if (!m)
		return;
	/* First: no job may run on what is freed below. */
	lfs_workers_free(m->workers);
	lfs_fs_release_all(m);
	save_profile(m);
	lfs_profile_free(m->profile);
	g_free(m->profile_name);
	if (m->replay)
		g_array_unref(m->replay);
	g_mutex_clear(&m->files_lock);
	lfs_freeze_clear(&m->freeze);
	lfs_dirplus_free(m->dirplus);
	lfs_ovl_free(m->ovl);
	lfs_upper_free(m->upper);
	lfs_tree_free(m->tree);
	for (uint32_t i = 0; i < m->nlayers; i++) {
		if (m->streams)
			lfs_stream_free(m->streams[i]);
		lfs_layer_free(m->layers[i]);
	}
	g_free(m->streams);
	lfs_span_cache_free(m->span_cache);
	g_free(m->layers);
	lfs_cache_free(m->cache);
	lfs_idmap_clear(&m->uids);
	lfs_idmap_clear(&m->gids);
	lfs_image_free(m->image);
	g_free(m->described);
	g_free(m);
}

static enum lfs_job_result prefetch_indexes(struct lfs_job *job, void *arg)
{
	struct lfs_mount *m = arg;

	for (uint32_t i = 0; i < m->nlayers && !lfs_job_cancelled(job); i++)
		lfs_index_file_prefetch(m->layers[i]->index);
	return LFS_JOB_DONE;
}

/* Read ahead what the last mount of these layers read first, in its
 * order: the kernel reads it in while the programs that asked for it
 * last time start again. */
static enum lfs_job_result replay_profile(struct lfs_job *job, void *arg)
{
	struct lfs_mount *m = arg;

	for (guint i = 0; i < m->replay->len && !lfs_job_cancelled(job); i++) {
		const struct lfs_profile_range *r = &g_array_index(
			m->replay, struct lfs_profile_range, i);
		int64_t n = lfs_stream_willneed(m->streams[r->layer], r->off,
						r->len);

		if (n > 0) {
			__atomic_add_fetch(&m->replayed, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&m->replayed_bytes, (uint64_t)n,
					   __ATOMIC_RELAXED);
		}
	}
	return LFS_JOB_DONE;
}

void lfs_mount_prefetch(struct lfs_mount *m, enum lfs_prefetch mode)
{
	if (mode == LFS_PREFETCH_NONE)
		return;
	if (m->replay && m->replay->len)
		lfs_job_unref(lfs_workers_submit(m->workers,
						 LFS_WORK_BACKGROUND,
						 replay_profile, m, NULL));
	/* Fire and forget: the pool keeps the job until it ends. */
	lfs_job_unref(lfs_workers_submit(m->workers, LFS_WORK_BACKGROUND,
					 prefetch_indexes, m, NULL));
	for (uint32_t i = 0; i < m->nlayers; i++) {
		if (mode == LFS_PREFETCH_UNPACK)
			lfs_stream_prefetch(m->streams[i]);
		else if (mode == LFS_PREFETCH_AUTO)
			lfs_stream_unpack_when_scattered(m->streams[i],
							 LFS_SCATTER_WASTE);
	}
}
