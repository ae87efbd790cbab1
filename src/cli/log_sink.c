/* The CLI's log sink: "layerfs: <message>" on stderr, or syslog once the
 * daemon has no terminal. */
#include <stdio.h>
#include <syslog.h>

#include "cli.h"

void lfs_cli_log_write(void *ctx, enum lfs_log_level level, const char *msg)
{
	struct lfs_cli_log *c = ctx;

	if (g_atomic_int_get(&c->syslog))
		syslog((int)level, "%s", msg);
	else
		fprintf(stderr, "layerfs: %s\n", msg);
}

void lfs_cli_log_to_syslog(struct lfs_cli_log *c)
{
	openlog("layerfs", LOG_PID, LOG_DAEMON);
	g_atomic_int_set(&c->syslog, TRUE);
}
