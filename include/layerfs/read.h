/* Reading a file's bytes out of its layer: a pread at the indexed offset of
 * the tar stream, holes of sparse files filled with zeros (never stored),
 * or the real file of a directory layer. */
#ifndef LAYERFS_READ_H
#define LAYERFS_READ_H

#include <stdint.h>
#include <sys/types.h>

#include "layerfs/stream.h"

/* Up to @len bytes at @off of regular-file entry @i of @s's layer; @fd is
 * the open file for directory layers, else -1.  Returns the byte count
 * (short only at the end of the file) or -errno; -ENODATA when the layer
 * holds less data than its index promised (it changed or was cut short
 * since). */
ssize_t lfs_read_entry(struct lfs_stream *s, uint32_t i, int fd, void *buf,
		       size_t len, uint64_t off);

#endif
