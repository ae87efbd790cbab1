/* Archive member names -> the canonical relative paths the index uses.
 *
 * Canonical form: components joined by single '/', no leading or trailing
 * '/', no "." components; the root directory is "".  A name cannot reach
 * outside the tree: as umoci reads a layer (its CleanPath, Go's
 * filepath.Clean of the name joined to "/"), a leading '/' is dropped and
 * each ".." takes away the component before it, at the root nothing
 * (decision 0023), before any symlink is followed. */
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
 * the message ("empty name", "component longer than 255 bytes", "path
 * longer than 4095 bytes"). */
int lfs_path_normalize(const char *name, char **out, const char **why);

/* Split canonical @path into its parent ("" for top-level names) and its last
 * component.  Returns the length of the parent part; *base points into @path.
 * For the root ("") both are empty. */
size_t lfs_path_split(const char *path, const char **base);

#endif
