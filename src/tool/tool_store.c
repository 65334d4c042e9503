/*
 * tool_store.c — opening the server's database from the command line (see
 * tool_store.h).
 */
#include "tool_store.h"

#include "server/srv_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tool_locate(const char *data, const char *config, char **db_path, char **dir, char *err,
                size_t errlen)
{
    srv_config cfg;
    int rc = -1;

    *db_path = NULL;
    if (dir)
        *dir = NULL;
    if (srv_config_defaults(&cfg)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (config && srv_config_load(&cfg, config, err, errlen))
        goto out;
    if ((data && srv_config_set_str(&cfg.data_dir, data)) ||
        !(*db_path = srv_config_store_path(&cfg)) || (dir && !(*dir = strdup(cfg.data_dir)))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    if (rc) {
        free(*db_path);
        *db_path = NULL;
    }
    srv_config_free(&cfg);
    return rc;
}

int tool_locate_blobs(const char *data, const char *config, char **blob_dir, char *err,
                      size_t errlen)
{
    srv_config cfg;
    int rc = -1;

    *blob_dir = NULL;
    if (srv_config_defaults(&cfg)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (config && srv_config_load(&cfg, config, err, errlen))
        goto out;
    if (data && srv_config_set_str(&cfg.data_dir, data))
        goto oom;
    if (cfg.blob_dir ? !(*blob_dir = strdup(cfg.blob_dir))
                     : asprintf(blob_dir, "%s/blobs", cfg.data_dir) < 0) {
        *blob_dir = NULL;
        goto oom;
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    srv_config_free(&cfg);
    return rc;
}

int tool_store_open(const char *cmd, const char *data, const char *config, bool create, store **s,
                    char **dir_out)
{
    store_options so = {.version = 1};
    char *path = NULL, *dir = NULL, *err = NULL, why[512];
    int rc;

    *s = NULL;
    if (dir_out)
        *dir_out = NULL;
    if (tool_locate(data, config, &path, &dir, why, sizeof why)) {
        fprintf(stderr, "cordon %s: %s\n", cmd, why);
        rc = STORE_INVAL;
        goto fail;
    }
    if (create && mkdir(dir, 0700) && errno != EEXIST) {
        fprintf(stderr, "cordon %s: %s: %s\n", cmd, dir, strerror(errno));
        rc = STORE_IO;
        goto fail;
    }
    /* a file that is not there is a wrong --data; a PostgreSQL URL is
     * checked by connecting */
    if (!create && !strcmp(store_backend_for(path), "sqlite") && access(path, F_OK)) {
        fprintf(stderr, "cordon %s: no database at %s (use --data DIR or --config FILE)\n", cmd,
                path);
        rc = STORE_NOTFOUND;
        goto fail;
    }
    so.path = path;
    rc = store_open(&so, s, &err);
    if (rc) {
        char shown[512];

        fprintf(stderr, "cordon %s: %s: %s\n", cmd, store_path_redacted(path, shown, sizeof shown),
                err ? err : store_strerror(rc));
    }
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
