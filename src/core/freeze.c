/* Quiescing a writable mount's changes (freeze.h). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "layerfs/freeze.h"

void lfs_freeze_init(struct lfs_freeze *z)
{
	g_mutex_init(&z->lock);
	g_cond_init(&z->cond);
	z->frozen = false;
	z->active = 0;
	z->wakefd = -1;
	z->watch = NULL;
}

/* What a watch thread needs: the freeze, and whose exit ends it. */
struct watch {
	struct lfs_freeze *z;
	pid_t holder;
	int pidfd, wakefd;
};

/* Stop the watch thread, if any (the lock not held). */
static void stop_watch(struct lfs_freeze *z)
{
	GThread *t;
	int wakefd;

	g_mutex_lock(&z->lock);
	t = g_steal_pointer(&z->watch);
	wakefd = z->wakefd;
	z->wakefd = -1;
	g_mutex_unlock(&z->lock);
	if (!t)
		return;
	eventfd_write(wakefd, 1);
	g_thread_join(t);
}

void lfs_freeze_clear(struct lfs_freeze *z)
{
	lfs_thaw(z);
	stop_watch(z);
	g_cond_clear(&z->cond);
	g_mutex_clear(&z->lock);
}

void lfs_freeze_enter(struct lfs_freeze *z)
{
	g_mutex_lock(&z->lock);
	while (z->frozen)
		g_cond_wait(&z->cond, &z->lock);
	z->active++;
	g_mutex_unlock(&z->lock);
}

void lfs_freeze_leave(struct lfs_freeze *z)
{
	g_mutex_lock(&z->lock);
	if (--z->active == 0)
		g_cond_broadcast(&z->cond);
	g_mutex_unlock(&z->lock);
}

/* Thaw, if @holder (0: anyone) holds the freeze. */
static void thaw_for(struct lfs_freeze *z, pid_t holder)
{
	g_mutex_lock(&z->lock);
	if (z->frozen && (!holder || z->holder == holder)) {
		z->frozen = false;
		z->holder = 0;
		g_cond_broadcast(&z->cond);
	}
	g_mutex_unlock(&z->lock);
}

void lfs_thaw(struct lfs_freeze *z)
{
	thaw_for(z, 0);
}

bool lfs_frozen(struct lfs_freeze *z)
{
	bool f;

	g_mutex_lock(&z->lock);
	f = z->frozen;
	g_mutex_unlock(&z->lock);
	return f;
}

/* Thaw when the holder exits, unless the freeze is another's by then;
 * end when woken. */
static gpointer watch(gpointer arg)
{
	struct watch *w = arg;
	struct pollfd p[2] = {
		{ .fd = w->pidfd, .events = POLLIN },
		{ .fd = w->wakefd, .events = POLLIN },
	};

	while (poll(p, 2, -1) < 0 && errno == EINTR)
		;
	if (p[0].revents)
		thaw_for(w->z, w->holder);
	/* Wait to be joined: the wake descriptor is ours to close. */
	while (!p[1].revents && poll(&p[1], 1, -1) < 0 && errno == EINTR)
		;
	close(w->pidfd);
	close(w->wakefd);
	g_free(w);
	return NULL;
}

int lfs_freeze(struct lfs_freeze *z, pid_t holder)
{
	struct watch *w;
	int pidfd, wakefd;

	g_mutex_lock(&z->lock);
	if (z->frozen) {
		int err = z->holder == holder ? 0 : -EBUSY;

		g_mutex_unlock(&z->lock);
		return err;
	}
	g_mutex_unlock(&z->lock);
	/* The last holder's watch goes first. */
	stop_watch(z);
	pidfd = (int)syscall(SYS_pidfd_open, holder, 0);
	if (pidfd < 0)
		return -errno;
	wakefd = eventfd(0, EFD_CLOEXEC);
	if (wakefd < 0) {
		int err = -errno;

		close(pidfd);
		return err;
	}
	w = g_new(struct watch, 1);
	*w = (struct watch){ z, holder, pidfd, wakefd };
	g_mutex_lock(&z->lock);
	if (z->frozen || z->watch) {
		/* Another holder came meanwhile. */
		g_mutex_unlock(&z->lock);
		close(pidfd);
		close(wakefd);
		g_free(w);
		return -EBUSY;
	}
	z->frozen = true;
	z->holder = holder;
	z->wakefd = wakefd;
	z->watch = g_thread_new("lfs-freeze", watch, w);
	while (z->active > 0 && z->frozen)
		g_cond_wait(&z->cond, &z->lock);
	g_mutex_unlock(&z->lock);
	return 0;
}
