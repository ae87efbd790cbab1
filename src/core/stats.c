/* The mount's counters as text (see stats.h). */
#include <stdio.h>
#include <string.h>

#include "layerfs/profile.h"
#include "layerfs/stats.h"
#include "layerfs/upper.h"

static const char *const unpack_states[] = { "-", "running", "complete",
					     "failed" };

/* kB values of /proc/self/status, where the kernel keeps them. */
static void memory_line(GString *s)
{
	static const char *const keys[] = { "VmRSS:", "RssAnon:", "RssFile:",
					    "VmHWM:" };
	unsigned long long kb[G_N_ELEMENTS(keys)] = { 0 };
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
			if (strncmp(line, keys[i], strlen(keys[i])) == 0)
				kb[i] = g_ascii_strtoull(
					line + strlen(keys[i]), NULL, 10);
		}
	}
	fclose(f);
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
		pool.hits += st.pool.hits;
		pool.misses += st.pool.misses;
		pool.evictions += st.pool.evictions;
		pool.waits += st.pool.waits;
		pool.inflated += st.pool.inflated;
		pool.served += st.pool.served;
		pool.thrashed += st.pool.thrashed;
		pool.peak += st.pool.peak;
		pool.handles += st.pool.handles;
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
