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
 * (short only at the end of the file) or -errno: -ENODATA when the layer
 * holds less data than its index promised (it changed or was cut short
 * since), -EBADMSG when inflated bytes differ from the checksums recorded
 * at indexing, -EUCLEAN when its compressed data no longer decompresses,
 * -ESTALE when a layer read in place was rewritten since it was indexed,
 * and whatever the disk said (-EIO) for that read only: the next read
 * tries the disk again. */
ssize_t lfs_read_entry(struct lfs_stream *s, uint32_t i, int fd, void *buf,
		       size_t len, uint64_t off);

/* The bytes of a read, where they lie in one plain file. */
struct lfs_read_map {
	int fd;	      /* borrowed: open as long as the file or stream */
	uint64_t pos; /* where the bytes start in @fd */
	size_t len;   /* the byte count lfs_read_entry() would return */
};

/* Where the bytes lfs_read_entry() would return lie, for a reader that
 * hands a descriptor to the kernel (splice) instead of copying them: a
 * directory layer's file, an uncompressed layer's own file or a
 * compressed layer's complete unpacked copy.  0 with @out filled (@out->
 * len is 0 at the end of the file); -EAGAIN when the bytes lie in no one
 * plain file (a compressed layer not unpacked, holes of a sparse file),
 * so read them with lfs_read_entry(); or -errno as there, -ENODATA too
 * when the file holding them has been cut short since. */
int lfs_read_map(struct lfs_stream *s, uint32_t i, int fd, size_t len,
		 uint64_t off, struct lfs_read_map *out);

/* A read path's error as a caller hears it: -EIO for the layer's own
 * troubles (-ENODATA, -EBADMSG, -EUCLEAN, -ESTALE above; -ESTALE, -EXDEV
 * and -ELOOP from lfs_layer_open_file()), which lfs_read_why() tells
 * apart; any other (-EIO from the disk, -ENOMEM) as it is. */
int lfs_read_errno(int err);

/* Why entry @i of layer @l could not be read, for a log line (g_free):
 * the layer's trouble in words, or for an error of the disk the file
 * that gave it (the blob, or the directory layer's file) and the error. */
char *lfs_read_why(const struct lfs_layer *l, uint32_t i, int err);

#endif
