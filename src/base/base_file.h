/*
 * base_file.h — files written so that a crash never leaves half of one:
 * write a temporary file beside the target, fsync it, rename it over the
 * target, fsync the directory. Used for policy and lexicon saves, keys and
 * the blob store.
 *
 * Never use these on a file an SQLite connection of this process holds:
 * a POSIX close() drops every fcntl lock of the process on that file.
 */
#ifndef BASE_FILE_H
#define BASE_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Writes data[0..len) to a new hidden file beside target (same directory,
 * so the rename stays on one filesystem), with the given mode, and syncs
 * it. *tmp gets its path (heap, the caller frees). Returns 0, or -1 with
 * errno set; no file is left behind on error. */
int base_file_write_temp(const char *target, const void *data, size_t len, mode_t mode, char **tmp);

/* Makes a rename, link or unlink in path's directory durable (fsync of the
 * directory). Returns 0, or -1 with errno. */
int base_file_sync_dir(const char *path);

/* The whole sequence: target holds data[0..len) with mode, or (on error,
 * -1 with errno) is as it was. */
int base_file_write_atomic(const char *target, const void *data, size_t len, mode_t mode);

/* Creates the directory path and any missing parents with mode (existing
 * ones are left as they are). Returns 0, or -1 with errno. */
int base_file_mkdir_p(const char *path, mode_t mode);

/* Writes all of p[0..n) to fd, retrying short writes and EINTR. Returns 0,
 * or -1 with errno. */
int base_file_write_all(int fd, const void *p, size_t n);

#endif
