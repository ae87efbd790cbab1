/* Archive member names -> the canonical relative paths the index uses.
 *
 * Canonical form: components joined by single '/', no leading or trailing
 * '/', no "." components; the root directory is "".  Names that could reach
 * outside the tree are refused, never "repaired": the OCI image spec leaves
 * them undefined, and silently rewriting "../x" to "x" would change which file
 * a layer replaces. */
#ifndef LAYERFS_PATH_H
#define LAYERFS_PATH_H

#include <stddef.h>

/* Longest component we accept: Linux's NAME_MAX.  An unpacked tree could not
 * hold a longer one either. */
#define LFS_NAME_MAX 255

/* Longest path (and symlink target) we accept: one less than PATH_MAX, the
 * most any unpacker could create with one system call.  pax would allow
 * megabytes, which would only cost memory. */
#define LFS_PATH_MAX 4095

/* Normalise @name.  On success returns 0 and a new string in *out (free with
 * g_free).  On failure returns -EINVAL and sets *why to a static phrase for
 * the message ("absolute path", "'..' component", "empty name", "component
 * longer than 255 bytes", "path longer than 4095 bytes"). */
int lfs_path_normalize(const char *name, char **out, const char **why);

/* Split canonical @path into its parent ("" for top-level names) and its last
 * component.  Returns the length of the parent part; *base points into @path.
 * For the root ("") both are empty. */
size_t lfs_path_split(const char *path, const char **base);

#endif
