/* Which directory listings carry their entries' attributes (see
 * dirplus.h and docs/decisions/0033-names-only-listings.md). */
#include <glib.h>

#include "layerfs/dirplus.h"

#define NO_DIR UINT64_MAX

/* A probe with fewer files than this tells nothing; the next listing is
 * probed instead. */
#define PROBE_MIN 8
/* With names only: the files listed before the lookups are weighed, and
 * the count at which both are halved, so that the choice follows what the
 * programs do now rather than what they did long ago (a program that
 * begins to stat directories of 256 files after a long names-only walk
 * gets attributes back at its second or third listing). */
#define WINDOW_MIN 64
#define WINDOW_MAX 1024

struct lfs_dirplus {
	GMutex lock;
	bool attrs;
	/* With attributes: listings begun since the last probe, and the
	 * probe out, a listing of probe_dir sent with names only. */
	uint64_t since_probe;
	uint64_t probe_dir;
	uint64_t probe_files, probe_looked;
	/* With names only: files listed and files looked up. */
	uint64_t files, looked;
	struct lfs_dirplus_stats st;
};

struct lfs_dirplus *lfs_dirplus_new(void)
{
	struct lfs_dirplus *p = g_new0(struct lfs_dirplus, 1);

	g_mutex_init(&p->lock);
	p->attrs = true;
	p->probe_dir = NO_DIR;
	return p;
}

void lfs_dirplus_free(struct lfs_dirplus *p)
{
	if (!p)
		return;
	g_mutex_clear(&p->lock);
	g_free(p);
}

static void start_probe(struct lfs_dirplus *p, uint64_t dir)
{
	p->probe_dir = dir;
	p->probe_files = 0;
	p->probe_looked = 0;
	p->since_probe = 0;
}

static void set_attrs(struct lfs_dirplus *p, bool attrs)
{
	p->attrs = attrs;
	p->st.switches++;
	p->probe_dir = NO_DIR;
	p->since_probe = 0;
	p->files = 0;
	p->looked = 0;
}

/* A listing begins while attributes are on. */
static bool begin_with_attrs(struct lfs_dirplus *p, uint64_t dir)
{
	p->since_probe++;
	if (p->probe_dir == NO_DIR) {
		if (p->since_probe < LFS_DIRPLUS_PROBE_EVERY)
			return true;
		start_probe(p, dir);
		return false;
	}
	if (p->probe_files < PROBE_MIN) {
		start_probe(p, dir);
		return false;
	}
	/* Give the program the time to get to the probe's entries: it may
	 * list the directories below before it stats the files. */
	if (p->since_probe < LFS_DIRPLUS_PROBE_EVERY)
		return true;
	if (p->probe_looked * 4 < p->probe_files) {
		set_attrs(p, false);
		return false;
	}
	p->probe_dir = NO_DIR;
	p->since_probe = 0;
	return true;
}

/* A listing begins while names only go out. */
static bool begin_names_only(struct lfs_dirplus *p)
{
	if (p->files >= WINDOW_MIN && p->looked * 4 >= p->files) {
		set_attrs(p, true);
		return true;
	}
	if (p->files >= WINDOW_MAX) {
		p->files /= 2;
		p->looked /= 2;
	}
	return false;
}

bool lfs_dirplus_begin(struct lfs_dirplus *p, uint64_t dir, uint64_t off)
{
	bool attrs;

	g_mutex_lock(&p->lock);
	if (off != 0) {
		/* The rest of a listing goes as its start went, or as the
		 * choice is now. */
		attrs = p->attrs && dir != p->probe_dir;
	} else {
		attrs = p->attrs ? begin_with_attrs(p, dir)
				 : begin_names_only(p);
		if (attrs)
			p->st.with_attrs++;
		else
			p->st.names_only++;
	}
	g_mutex_unlock(&p->lock);
	return attrs;
}

void lfs_dirplus_sent(struct lfs_dirplus *p, uint64_t dir, bool attrs,
		      uint32_t files)
{
	if (attrs)
		return;
	g_mutex_lock(&p->lock);
	if (p->attrs && dir == p->probe_dir)
		p->probe_files += files;
	else if (!p->attrs)
		p->files += files;
	g_mutex_unlock(&p->lock);
}

void lfs_dirplus_lookup(struct lfs_dirplus *p, uint64_t parent)
{
	g_mutex_lock(&p->lock);
	if (p->attrs && parent == p->probe_dir)
		p->probe_looked++;
	else if (!p->attrs)
		p->looked++;
	g_mutex_unlock(&p->lock);
}

void lfs_dirplus_stats(struct lfs_dirplus *p, struct lfs_dirplus_stats *st)
{
	g_mutex_lock(&p->lock);
	*st = p->st;
	st->attrs = p->attrs;
	g_mutex_unlock(&p->lock);
}
