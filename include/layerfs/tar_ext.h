/* Checks on a tar member's extension headers that libarchive cannot make
 * for us.  libarchive hands names over as C strings, so a pax "path" or
 * "linkpath" record, or a GNU long name ('L') or long link ('K') body,
 * that holds a NUL byte arrives cut short at the NUL: "a\0/../../x"
 * silently becomes "a", naming another file, perhaps one a lower layer
 * has.  Go's archive/tar (docker, containerd, umoci) refuses such a pax
 * record; layerfs skips the member with a warning.
 *
 * The input is the raw bytes of one member's headers, from its first
 * header block up to its data, as the tar scanner captured them. */
#ifndef LAYERFS_TAR_EXT_H
#define LAYERFS_TAR_EXT_H

#include <stddef.h>
#include <stdint.h>

#define LFS_TAR_BLOCK 512

/* NULL if every name in @hdrs[0..@len) is whole, else a short reason the
 * member must be skipped ("name holds a NUL byte", ...).  Headers are
 * walked the way libarchive reads them: pax 'x'/'X', GNU 'L'/'K', pax
 * global 'g' and Solaris 'A' carry a body, a GNU volume header 'V' does
 * not, and the first other type flag is the member's own header. */
const char *lfs_tar_ext_problem(const uint8_t *hdrs, size_t len);

#endif
