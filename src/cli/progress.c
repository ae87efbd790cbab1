/* Indexing progress for a terminal: one line per layer, redrawn in place
 * at most ten times a second, with bytes, entries, rate and time left,
 * from one second into the work (shorter work shows nothing); and a
 * one-line summary at the end. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "layerfs/digest.h"

#define REDRAW_US (100 * 1000)
#define QUIET_US (1000 * 1000)

struct slot {
	char *name;
	enum lfs_progress_state state;
	bool seen;	     /* any event yet */
	struct lfs_layer_progress p;
	gint64 started;	     /* first RUNNING event, monotonic µs */
};

/* A short name: a digest's first 12 hex digits, or a path's last part. */
static char *short_name(const struct lfs_layer_spec *spec)
{
	const char *base;

	if (spec->has_digest) {
		g_autofree char *d = lfs_digest_to_string(&spec->digest);
		const char *hex = strchr(d, ':');

		return g_strndup(hex ? hex + 1 : d, 12);
	}
	base = strrchr(spec->path, '/');
	base = base && base[1] ? base + 1 : spec->path;
	if (strlen(base) <= 24)
		return g_strdup(base);
	return g_strdup_printf("...%s", base + strlen(base) - 21);
}

void lfs_cli_progress_init(struct lfs_cli_progress *pr, FILE *tty)
{
	memset(pr, 0, sizeof(*pr));
	g_mutex_init(&pr->lock);
	pr->tty = tty && isatty(fileno(tty)) ? tty : NULL;
	pr->start = g_get_monotonic_time();
}

void lfs_cli_progress_clear(struct lfs_cli_progress *pr)
{
	for (uint32_t i = 0; pr->slots && i < pr->nlayers; i++)
		g_free(pr->slots[i].name);
	g_free(pr->slots);
	g_mutex_clear(&pr->lock);
}

static char *mib(uint64_t bytes)
{
	return g_strdup_printf("%.1f MiB", (double)bytes / (1 << 20));
}

static void draw_slot(struct lfs_cli_progress *pr, uint32_t i, gint64 now)
{
	static const char *const states[] = { "indexing", "indexed",
					      "cached", "FAILED" };
	const struct slot *s = &pr->slots[i];
	g_autofree char *done = mib(s->p.done);
	g_autofree char *total = s->p.total ? mib(s->p.total) : g_strdup("?");
	double secs = (double)(now - s->started) / G_USEC_PER_SEC;
	double rate = secs > 0.2 ? (double)s->p.done / secs : 0;

	fprintf(pr->tty, "\r\033[K[%u/%u] %-24s ", i + 1, pr->nlayers,
		s->name ? s->name : "");
	if (!s->seen) {
		fputs("waiting\n", pr->tty);
		return;
	}
	fprintf(pr->tty, "%-9s %10s / %-10s %9llu entries",
		s->state == LFS_PROGRESS_RUNNING && s->p.verifying
			? "verifying"
			: states[s->state],
		done, total, (unsigned long long)s->p.entries);
	if (s->state == LFS_PROGRESS_RUNNING && rate > 0) {
		fprintf(pr->tty, "  %6.1f MiB/s", rate / (1 << 20));
		if (s->p.total > s->p.done)
			fprintf(pr->tty, "  ETA %.0f s",
				(double)(s->p.total - s->p.done) / rate);
	}
	fputc('\n', pr->tty);
}

/* Redraw every line (called with the lock held). */
static void draw(struct lfs_cli_progress *pr, gint64 now)
{
	if (pr->drawn)
		fprintf(pr->tty, "\033[%uA", pr->drawn);
	for (uint32_t i = 0; i < pr->nlayers; i++)
		draw_slot(pr, i, now);
	pr->drawn = pr->nlayers;
	fflush(pr->tty);
	pr->last_draw = now;
}

void lfs_cli_progress_event(void *ctx, const struct lfs_mount_progress *ev)
{
	struct lfs_cli_progress *pr = ctx;
	gint64 now = g_get_monotonic_time();
	struct slot *s;

	g_mutex_lock(&pr->lock);
	if (!pr->slots) {
		pr->nlayers = ev->nlayers;
		pr->slots = g_new0(struct slot, ev->nlayers);
	}
	s = &pr->slots[ev->layer];
	if (!s->name)
		s->name = short_name(ev->spec);
	if (!s->seen)
		s->started = now;
	s->seen = true;
	s->state = ev->state;
	s->p = ev->p;
	/* Nothing for work done within a second; after that, every end of
	 * a layer is drawn, running ones now and then. */
	if (pr->tty && now - pr->start >= QUIET_US &&
	    (ev->state != LFS_PROGRESS_RUNNING ||
	     now - pr->last_draw >= REDRAW_US))
		draw(pr, now);
	g_mutex_unlock(&pr->lock);
}

char *lfs_cli_progress_summary(struct lfs_cli_progress *pr)
{
	uint32_t built = 0, cached = 0;
	uint64_t entries = 0, bytes = 0;
	double secs = (double)(g_get_monotonic_time() - pr->start) /
		      G_USEC_PER_SEC;
	g_autofree char *size = NULL;

	g_mutex_lock(&pr->lock);
	for (uint32_t i = 0; i < pr->nlayers; i++) {
		const struct slot *s = &pr->slots[i];

		built += s->state == LFS_PROGRESS_BUILT;
		cached += s->state == LFS_PROGRESS_CACHED;
		entries += s->p.entries;
		bytes += s->p.done;
	}
	g_mutex_unlock(&pr->lock);
	size = mib(bytes);
	return g_strdup_printf("%u layers (%u indexed now, %u from the "
			       "cache), %llu entries, %s, in %.2f s",
			       pr->nlayers, built, cached,
			       (unsigned long long)entries, size, secs);
}

/* ---- one line for a long step (unpacking, committing) ---- */

#define TICK_US (200 * 1000)

struct lfs_cli_ticker {
	FILE *tty;
	char *(*line)(void *ctx);
	void *ctx;
	GMutex lock;
	GCond cond;
	bool stop;
	bool drawn;
	GThread *thread;
};

static gpointer tick(gpointer arg)
{
	struct lfs_cli_ticker *t = arg;
	gint64 next = g_get_monotonic_time() + QUIET_US;

	g_mutex_lock(&t->lock);
	while (!t->stop) {
		if (!g_cond_wait_until(&t->cond, &t->lock, next)) {
			g_autofree char *text = t->line(t->ctx);

			fprintf(t->tty, "\r\033[K%s", text);
			fflush(t->tty);
			t->drawn = true;
			next = g_get_monotonic_time() + TICK_US;
		}
	}
	g_mutex_unlock(&t->lock);
	return NULL;
}

struct lfs_cli_ticker *lfs_cli_ticker_start(FILE *tty,
					    char *(*line)(void *ctx),
					    void *ctx)
{
	struct lfs_cli_ticker *t;

	if (!tty || !isatty(fileno(tty)))
		return NULL;
	t = g_new0(struct lfs_cli_ticker, 1);
	t->tty = tty;
	t->line = line;
	t->ctx = ctx;
	g_mutex_init(&t->lock);
	g_cond_init(&t->cond);
	t->thread = g_thread_new("lfs-ticker", tick, t);
	return t;
}

void lfs_cli_ticker_stop(struct lfs_cli_ticker *t)
{
	if (!t)
		return;
	g_mutex_lock(&t->lock);
	t->stop = true;
	g_cond_signal(&t->cond);
	g_mutex_unlock(&t->lock);
	g_thread_join(t->thread);
	if (t->drawn) {
		fputs("\r\033[K", t->tty);
		fflush(t->tty);
	}
	g_mutex_clear(&t->lock);
	g_cond_clear(&t->cond);
	g_free(t);
}
