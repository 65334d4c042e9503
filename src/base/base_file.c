/*
 * base_file.c — atomic file writes (see base_file.h).
 */
#include "base_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int base_file_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n) {
        ssize_t w = write(fd, c, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int base_file_write_temp(const char *target, const void *data, size_t len, mode_t mode, char **tmp)
{
    const char *slash = strrchr(target, '/');
    size_t dl = slash ? (size_t)(slash - target) + 1 : 0, n = strlen(target) + 10;
    char *p = malloc(n);
    int fd = -1, rc = -1, e;
    bool made = false;

    if (!p)
        goto fail;
    snprintf(p, n, "%.*s.%s.XXXXXX", (int)dl, target, target + dl);
    fd = mkostemp(p, O_CLOEXEC);
    if (fd < 0)
        goto fail;
    made = true;
    if (fchmod(fd, mode) || base_file_write_all(fd, data, len))
        goto fail;
    /* Durable before a rename makes it the file in force. */
    if (fsync(fd))
        goto fail;
    e = close(fd);
    fd = -1;
    if (e)
        goto fail;
    rc = 0;
fail:
    e = errno;
    if (fd >= 0)
        close(fd);
    if (rc && made)
        unlink(p);
    if (rc)
        free(p);
    else
        *tmp = p;
    errno = e;
    return rc;
}

int base_file_sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1, rc = -1, e;

    if (fd >= 0) {
        rc = fsync(fd);
        e = errno;
        close(fd);
        errno = e;
    }
    free(dir);
    return rc;
}

int base_file_write_atomic(const char *target, const void *data, size_t len, mode_t mode)
{
    char *tmp = NULL;
    int e;

    if (base_file_write_temp(target, data, len, mode, &tmp))
        return -1;
    if (rename(tmp, target)) {
        e = errno;
        unlink(tmp);
        free(tmp);
        errno = e;
        return -1;
    }
    free(tmp);
    return base_file_sync_dir(target);
}

int base_file_mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    size_t n = strlen(path);

    if (!n || n >= sizeof buf) {
        errno = n ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0)
            continue;
        buf[i] = 0;
        if (mkdir(buf, mode) && errno != EEXIST)
            return -1;
        buf[i] = i < n ? '/' : 0;
    }
    return 0;
}
