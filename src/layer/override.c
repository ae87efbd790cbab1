/* fuse-overlayfs's owner and mode records (see override.h). */
#include <stdio.h>
#include <string.h>

#include "layerfs/override.h"

static const char *const names[] = {
	[LFS_OVERRIDE_NONE] = NULL,
	[LFS_OVERRIDE_PRIVILEGED] = "security.fuseoverlayfs.override_stat",
	[LFS_OVERRIDE_USER] = "user.fuseoverlayfs.override_stat",
	[LFS_OVERRIDE_CONTAINERS] = "user.containers.override_stat",
};

const char *lfs_override_xattr(enum lfs_override k)
{
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k]
							       : NULL;
}

bool lfs_override_name(const char *name)
{
	for (size_t i = 1; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0)
			return true;
	}
	return false;
}

bool lfs_override_parse(const char *v, size_t len, uid_t *uid, gid_t *gid,
			mode_t *mode)
{
	char buf[64], tail;
	unsigned int u, g, m;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (sscanf(buf, "%u:%u:%o%c", &u, &g, &m, &tail) != 3)
		return false;
	*uid = u;
	*gid = g;
	*mode = m & 07777;
	return true;
}

size_t lfs_override_format(char *buf, uid_t uid, gid_t gid, mode_t mode)
{
	return (size_t)snprintf(buf, 64, "%u:%u:%o", (unsigned int)uid,
				(unsigned int)gid, (unsigned int)(mode & 07777));
}
