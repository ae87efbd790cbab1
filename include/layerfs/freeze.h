/* Quiescing a writable mount's changes while another process reads its
 * upper (`layerfs commit MOUNTPOINT`), as `podman commit` pauses the
 * container.
 *
 * Every change to the upper runs between lfs_freeze_enter() and
 * lfs_freeze_leave().  lfs_freeze() stops new changes at enter and waits
 * for those in flight to end, so the upper is whole and still when it
 * returns; reads go on.  The freeze ends at lfs_thaw(), or when the
 * process that asked for it exits (a commit killed half way must not
 * leave the mount frozen): a thread watches that process through a
 * pidfd. */
#ifndef LAYERFS_FREEZE_H
#define LAYERFS_FREEZE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>

struct lfs_freeze {
	GMutex lock;
	GCond cond;
	bool frozen;
	uint64_t active;  /* changes in flight */
	pid_t holder;	  /* who froze it */
	int wakefd;	  /* an eventfd that ends the watch; -1 */
	GThread *watch;	  /* the last holder's watch, or NULL */
};

void lfs_freeze_init(struct lfs_freeze *z);
/* Thaw, and stop the watch. */
void lfs_freeze_clear(struct lfs_freeze *z);

/* A change begins (waiting while frozen) and ends. */
void lfs_freeze_enter(struct lfs_freeze *z);
void lfs_freeze_leave(struct lfs_freeze *z);

/* Freeze for process @holder: returns once no change is in flight.
 * -EBUSY if another live process holds a freeze; -errno if @holder
 * cannot be watched (it has exited: -ESRCH). */
int lfs_freeze(struct lfs_freeze *z, pid_t holder);
/* End the freeze (none: nothing to do). */
void lfs_thaw(struct lfs_freeze *z);
bool lfs_frozen(struct lfs_freeze *z);

#endif
