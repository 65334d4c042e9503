/*
 * tool_store.c — opening the server's database from the command line (see
 * tool_store.h).
 */
#include "tool_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tool_store_open(const char *cmd, const char *data, const char *config, bool create, store **s,
                    char **dir_out)
{
    store_options so = {.version = 1};
    char *path = NULL, *dir = NULL, *err = NULL;
    int rc;

    *s = NULL;
    if (dir_out)
        *dir_out = NULL;
    rc = store_locate(data, config, &path, &dir, &err);
    if (rc) {
        fprintf(stderr, "cordon %s: %s\n", cmd, err ? err : store_strerror(rc));
        goto fail;
    }
    if (create && mkdir(dir, 0700) && errno != EEXIST) {
        fprintf(stderr, "cordon %s: %s: %s\n", cmd, dir, strerror(errno));
        rc = STORE_IO;
        goto fail;
    }
    if (!create && access(path, F_OK)) {
        fprintf(stderr, "cordon %s: no database at %s (use --data DIR or --config FILE)\n", cmd,
                path);
        rc = STORE_NOTFOUND;
        goto fail;
    }
    so.path = path;
    rc = store_open(&so, s, &err);
    if (rc)
        fprintf(stderr, "cordon %s: %s: %s\n", cmd, path, err ? err : store_strerror(rc));
    if (!rc && dir_out) {
        *dir_out = dir;
        dir = NULL;
    }
fail:
    free(path);
    free(dir);
    free(err);
    return rc;
}
