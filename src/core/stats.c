/* The mount's counters as text and as JSON (see stats.h). */
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "layerfs/profile.h"
#include "layerfs/stats.h"
#include "layerfs/upper.h"

static const char *const unpack_states[] = { "-", "running", "complete",
					     "failed" };

/* kB values of /proc/self/status, where the kernel keeps them: VmRSS,
 * RssAnon, RssFile, VmHWM.  False where it cannot be read. */
static bool memory_kb(unsigned long long kb[4])
{
	static const char *const keys[] = { "VmRSS:", "RssAnon:", "RssFile:",
					    "VmHWM:" };
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	memset(kb, 0, 4 * sizeof(kb[0]));
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
			if (strncmp(line, keys[i], strlen(keys[i])) == 0)
				kb[i] = g_ascii_strtoull(
					line + strlen(keys[i]), NULL, 10);
		}
	}
	fclose(f);
	return true;
}

static void memory_line(GString *s)
{
	unsigned long long kb[4];

	if (!memory_kb(kb))
		return;
	g_string_append_printf(s,
			       "memory: rss %.1f MiB (anonymous %.1f, file "
			       "%.1f), peak %.1f MiB\n",
			       kb[0] / 1024.0, kb[1] / 1024.0, kb[2] / 1024.0,
			       kb[3] / 1024.0);
}

static void tree_lines(GString *s, struct lfs_mount *m)
{
	struct lfs_tree_stats t;

	lfs_tree_stats(m->tree, &t);
	g_string_append_printf(
		s,
		"directory cache: %llu directories, %.1f of %.1f MiB, %llu "
		"hits, %llu misses, %llu evictions, %llu listings built\n",
		(unsigned long long)t.dirs, t.bytes / 1048576.0,
		(m->meta_cache ? m->meta_cache : LFS_TREE_CACHE_DEFAULT) /
			1048576.0,
		(unsigned long long)t.hits, (unsigned long long)t.misses,
		(unsigned long long)t.evictions,
		(unsigned long long)t.listings);
	g_string_append_printf(s, "index pages released: %llu times\n",
			       (unsigned long long)t.trims);
}

/* The span cache (span_cache.h). */
static void span_cache_line(GString *s, struct lfs_mount *m)
{
	struct lfs_span_cache_stats c;

	if (!m->span_cache) {
		g_string_append(s, "span cache: off\n");
		return;
	}
	lfs_span_cache_stats(m->span_cache, &c);
	g_string_append_printf(s, "span cache: %llu reads served, %.1f of "
				  "%.1f MiB kept\n",
			       (unsigned long long)c.hits, c.bytes / 1048576.0,
			       c.max / 1048576.0);
}

/* First reads recorded, and the last mount's read ahead (profile.h). */
static void profile_line(GString *s, struct lfs_mount *m)
{
	g_autoptr(GArray) ranges = NULL;

	if (!m->profile) {
		g_string_append(s, "profile: off\n");
		return;
	}
	ranges = lfs_profile_ranges(m->profile);
	g_string_append_printf(
		s,
		"profile: %u files recorded; %llu of the last mount's %u read "
		"ahead (%llu bytes)\n",
		ranges->len,
		(unsigned long long)__atomic_load_n(&m->replayed,
						    __ATOMIC_RELAXED),
		m->replay ? m->replay->len : 0,
		(unsigned long long)__atomic_load_n(&m->replayed_bytes,
						    __ATOMIC_RELAXED));
}

/* Which listings carried attributes (dirplus.h). */
static void listing_line(GString *s, struct lfs_mount *m)
{
	struct lfs_dirplus_stats d;

	lfs_dirplus_stats(m->dirplus, &d);
	g_string_append_printf(s, "directory listings: %llu with attributes, "
				  "%llu names only, %llu switches, now %s\n",
			       (unsigned long long)d.with_attrs,
			       (unsigned long long)d.names_only,
			       (unsigned long long)d.switches,
			       d.attrs ? "with attributes" : "names only");
}

/* A writable mount's namespace and upper. */
static void upper_lines(GString *s, struct lfs_mount *m)
{
	const struct lfs_upper_stats *u = &m->upper->st;
	struct lfs_ovl_stats o;

	lfs_ovl_stats(m->ovl, &o);
	g_string_append_printf(s, "writable: %llu nodes the kernel holds, "
				  "%llu listings built\n",
			       (unsigned long long)o.nodes,
			       (unsigned long long)o.listings);
	g_string_append_printf(
		s,
		"copy-up: %llu objects (regular files: %llu with their "
		"data, %llu metadata only), %llu bytes; %llu whiteouts\n",
		(unsigned long long)__atomic_load_n(&u->copy_ups,
						    __ATOMIC_RELAXED),
		(unsigned long long)__atomic_load_n(&u->data_copies,
						    __ATOMIC_RELAXED),
		(unsigned long long)__atomic_load_n(&u->metacopies,
						    __ATOMIC_RELAXED),
		(unsigned long long)__atomic_load_n(&u->copied,
						    __ATOMIC_RELAXED),
		(unsigned long long)__atomic_load_n(&u->whiteouts,
						    __ATOMIC_RELAXED));
}

/* Add one layer's pool counters to the mount's. */
static void add_pool(struct lfs_pool_stats *sum, const struct lfs_pool_stats *p)
{
	sum->hits += p->hits;
	sum->misses += p->misses;
	sum->evictions += p->evictions;
	sum->waits += p->waits;
	sum->inflated += p->inflated;
	sum->served += p->served;
	sum->thrashed += p->thrashed;
	sum->peak += p->peak;
	sum->handles += p->handles;
}

char *lfs_mount_stats_text(struct lfs_mount *m)
{
	GString *s = g_string_new(NULL);
	GString *per = g_string_new(NULL);
	struct lfs_pool_stats pool = { 0 };
	uint64_t copy_reads = 0;
	uint32_t cached = 0, compressed = 0, unpacked = 0;

	for (uint32_t i = 0; i < m->nlayers; i++) {
		const struct lfs_layer *l = m->layers[i];
		struct lfs_stream_stats st;

		lfs_stream_stats(m->streams[i], &st);
		cached += l->loaded;
		compressed += l->stored && l->comp != LFS_COMP_NONE;
		unpacked += st.unpack == LFS_UNPACK_DONE;
		add_pool(&pool, &st.pool);
		copy_reads += st.copy_reads;
		g_string_append_printf(
			per,
			"layer %u: %s, %s, %llu entries, %llu whiteouts, "
			"index %s, %u handles, "
			"%llu hits, %llu misses, %llu bytes inflated, copy "
			"%s (%llu bytes), %llu reads from it\n",
			i + 1, l->spec->name,
			l->spec->kind == LFS_LAYER_DIR
				? "directory"
				: lfs_compression_name(l->comp),
			/* As `layerfs inspect` counts them. */
			(unsigned long long)l->index->stat_entries,
			(unsigned long long)l->index->stat_whiteouts,
			l->loaded ? "from the cache" : "built at mount",
			st.pool.handles, (unsigned long long)st.pool.hits,
			(unsigned long long)st.pool.misses,
			(unsigned long long)st.pool.inflated,
			unpack_states[st.unpack],
			(unsigned long long)st.unpacked,
			(unsigned long long)st.copy_reads);
	}
	g_string_append_printf(s, "source: %s\n", m->image->source);
	g_string_append_printf(s,
			       "layers: %u (%u indexes from the cache, %u "
			       "compressed, %u of them unpacked)\n",
			       m->nlayers, cached, compressed, unpacked);
	g_string_append_printf(s,
			       "handle pool: %u handles, %llu hits, %llu "
			       "misses, %llu evictions (%llu came back: grown "
			       "to %u), %llu waits\n",
			       pool.handles, (unsigned long long)pool.hits,
			       (unsigned long long)pool.misses,
			       (unsigned long long)pool.evictions,
			       (unsigned long long)pool.thrashed, pool.peak,
			       (unsigned long long)pool.waits);
	/* Inflated and not returned: what restarts at access points cost
	 * (reads far apart, or handles taken away from their readers). */
	g_string_append_printf(s, "bytes inflated: %llu (%llu of them to "
				  "reach a read)\n",
			       (unsigned long long)pool.inflated,
			       (unsigned long long)(pool.inflated -
						    MIN(pool.inflated,
							pool.served)));
	span_cache_line(s, m);
	g_string_append_printf(s, "reads from unpacked copies: %llu\n",
			       (unsigned long long)copy_reads);
	g_string_append_printf(
		s, "file reads: %llu spliced from a plain file, %llu copied\n",
		(unsigned long long)__atomic_load_n(&m->reads_spliced,
						    __ATOMIC_RELAXED),
		(unsigned long long)__atomic_load_n(&m->reads_copied,
						    __ATOMIC_RELAXED));
	g_mutex_lock(&m->files_lock);
	g_string_append_printf(s, "open files: %llu\n",
			       (unsigned long long)m->nfiles);
	g_mutex_unlock(&m->files_lock);
	tree_lines(s, m);
	listing_line(s, m);
	profile_line(s, m);
	if (m->ovl)
		upper_lines(s, m);
	memory_line(s);
	g_string_append(s, per->str);
	g_string_free(per, TRUE);
	return g_string_free(s, FALSE);
}

/* ---- JSON: schema layerfs.stats/1 (docs/json.md) --------------------- */

static void j_uint(JsonBuilder *b, const char *name, uint64_t v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, (gint64)MIN(v, (uint64_t)G_MAXINT64));
}

static void j_str(JsonBuilder *b, const char *name, const char *v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, v);
}

static void j_begin(JsonBuilder *b, const char *name)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
}

static void j_null(JsonBuilder *b, const char *name)
{
	json_builder_set_member_name(b, name);
	json_builder_add_null_value(b);
}

static void j_layer(JsonBuilder *b, uint32_t i, const struct lfs_layer *l,
		    const struct lfs_stream_stats *st)
{
	static const char *const unpack[] = { "none", "running", "complete",
					      "failed" };

	json_builder_begin_object(b);
	j_uint(b, "number", i + 1);
	j_str(b, "name", l->spec->name);
	j_str(b, "compression", l->spec->kind == LFS_LAYER_DIR
					? "directory"
					: lfs_compression_name(l->comp));
	j_uint(b, "entries", l->index->stat_entries);
	j_uint(b, "whiteouts", l->index->stat_whiteouts);
	j_str(b, "index", l->loaded ? "cache" : "built");
	j_uint(b, "handles", st->pool.handles);
	j_uint(b, "hits", st->pool.hits);
	j_uint(b, "misses", st->pool.misses);
	j_uint(b, "bytes_inflated", st->pool.inflated);
	j_str(b, "unpacked", unpack[st->unpack]);
	j_uint(b, "unpacked_bytes", st->unpacked);
	j_uint(b, "unpacked_reads", st->copy_reads);
	json_builder_end_object(b);
}

static void j_caches(JsonBuilder *b, struct lfs_mount *m)
{
	struct lfs_tree_stats t;
	struct lfs_dirplus_stats d;

	if (m->span_cache) {
		struct lfs_span_cache_stats c;

		lfs_span_cache_stats(m->span_cache, &c);
		j_begin(b, "span_cache");
		j_uint(b, "reads_served", c.hits);
		j_uint(b, "bytes", c.bytes);
		j_uint(b, "max_bytes", c.max);
		json_builder_end_object(b);
	} else {
		j_null(b, "span_cache");
	}
	lfs_tree_stats(m->tree, &t);
	j_begin(b, "directory_cache");
	j_uint(b, "directories", t.dirs);
	j_uint(b, "bytes", t.bytes);
	j_uint(b, "max_bytes",
	       m->meta_cache ? m->meta_cache : LFS_TREE_CACHE_DEFAULT);
	j_uint(b, "hits", t.hits);
	j_uint(b, "misses", t.misses);
	j_uint(b, "evictions", t.evictions);
	j_uint(b, "listings_built", t.listings);
	json_builder_end_object(b);
	j_uint(b, "index_pages_released", t.trims);
	lfs_dirplus_stats(m->dirplus, &d);
	j_begin(b, "directory_listings");
	j_uint(b, "with_attributes", d.with_attrs);
	j_uint(b, "names_only", d.names_only);
	j_uint(b, "switches", d.switches);
	j_str(b, "now", d.attrs ? "with_attributes" : "names_only");
	json_builder_end_object(b);
}

static void j_profile_upper_memory(JsonBuilder *b, struct lfs_mount *m)
{
	unsigned long long kb[4];

	if (m->profile) {
		g_autoptr(GArray) ranges = lfs_profile_ranges(m->profile);

		j_begin(b, "profile");
		j_uint(b, "files_recorded", ranges->len);
		j_uint(b, "read_ahead", __atomic_load_n(&m->replayed,
							__ATOMIC_RELAXED));
		j_uint(b, "to_read_ahead", m->replay ? m->replay->len : 0);
		j_uint(b, "read_ahead_bytes",
		       __atomic_load_n(&m->replayed_bytes, __ATOMIC_RELAXED));
		json_builder_end_object(b);
	} else {
		j_null(b, "profile");
	}
	if (m->ovl) {
		const struct lfs_upper_stats *u = &m->upper->st;
		struct lfs_ovl_stats o;

		lfs_ovl_stats(m->ovl, &o);
		j_begin(b, "writable");
		j_uint(b, "nodes", o.nodes);
		j_uint(b, "listings_built", o.listings);
		j_uint(b, "copy_ups",
		       __atomic_load_n(&u->copy_ups, __ATOMIC_RELAXED));
		j_uint(b, "data_copies",
		       __atomic_load_n(&u->data_copies, __ATOMIC_RELAXED));
		j_uint(b, "metadata_copies",
		       __atomic_load_n(&u->metacopies, __ATOMIC_RELAXED));
		j_uint(b, "bytes_copied",
		       __atomic_load_n(&u->copied, __ATOMIC_RELAXED));
		j_uint(b, "whiteouts",
		       __atomic_load_n(&u->whiteouts, __ATOMIC_RELAXED));
		json_builder_end_object(b);
	} else {
		j_null(b, "writable");
	}
	if (memory_kb(kb)) {
		j_begin(b, "memory");
		j_uint(b, "rss_bytes", kb[0] * 1024);
		j_uint(b, "anonymous_bytes", kb[1] * 1024);
		j_uint(b, "file_bytes", kb[2] * 1024);
		j_uint(b, "peak_bytes", kb[3] * 1024);
		json_builder_end_object(b);
	} else {
		j_null(b, "memory");
	}
}

char *lfs_mount_stats_json(struct lfs_mount *m)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	struct lfs_pool_stats pool = { 0 };
	uint64_t copy_reads = 0;

	json_builder_begin_object(b);
	j_str(b, "schema", LFS_STATS_JSON_SCHEMA);
	j_str(b, "source", m->image->source);
	json_builder_set_member_name(b, "layers");
	json_builder_begin_array(b);
	for (uint32_t i = 0; i < m->nlayers; i++) {
		struct lfs_stream_stats st;

		lfs_stream_stats(m->streams[i], &st);
		add_pool(&pool, &st.pool);
		copy_reads += st.copy_reads;
		j_layer(b, i, m->layers[i], &st);
	}
	json_builder_end_array(b);
	j_begin(b, "handle_pool");
	j_uint(b, "handles", pool.handles);
	j_uint(b, "hits", pool.hits);
	j_uint(b, "misses", pool.misses);
	j_uint(b, "evictions", pool.evictions);
	j_uint(b, "came_back", pool.thrashed);
	j_uint(b, "grown_to", pool.peak);
	j_uint(b, "waits", pool.waits);
	json_builder_end_object(b);
	j_uint(b, "bytes_inflated", pool.inflated);
	j_uint(b, "bytes_inflated_to_reach_reads",
	       pool.inflated - MIN(pool.inflated, pool.served));
	j_uint(b, "unpacked_reads", copy_reads);
	j_begin(b, "file_reads");
	j_uint(b, "spliced", __atomic_load_n(&m->reads_spliced,
					     __ATOMIC_RELAXED));
	j_uint(b, "copied", __atomic_load_n(&m->reads_copied,
					    __ATOMIC_RELAXED));
	json_builder_end_object(b);
	g_mutex_lock(&m->files_lock);
	j_uint(b, "open_files", m->nfiles);
	g_mutex_unlock(&m->files_lock);
	j_caches(b, m);
	j_profile_upper_memory(b, m);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	return json_generator_to_data(gen, NULL);
}
