/*
 * store_locate.c — finding the database from --data / --config, the same
 * way `cordon serve` does (docs/SERVER.md: top-level `data_dir`), so that
 * `cordon user` and `cordon audit` work on the server's database.
 */
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define DEFAULT_DATA_DIR "./cordon-data"

static char *msg(const char *fmt, const char *a, const char *b)
{
    char buf[512];

    snprintf(buf, sizeof buf, fmt, a, b);
    return strdup(buf);
}

/* The scalar value of the top-level key `data_dir`, or NULL (*found false)
 * when absent. Only the top-level mapping is looked at. */
static int config_data_dir(const char *file, char **out, char **errmsg)
{
    yaml_parser_t p;
    yaml_event_t ev;
    FILE *f = fopen(file, "rb");
    int depth = 0, rc = STORE_IO;
    bool is_key = true, want = false, parser = false;

    *out = NULL;
    if (!f) {
        if (errmsg)
            *errmsg = msg("%s: %s", file, strerror(errno));
        goto fail;
    }
    if (!yaml_parser_initialize(&p)) {
        rc = STORE_NOMEM;
        goto fail;
    }
    parser = true;
    yaml_parser_set_input_file(&p, f);
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            if (errmsg)
                *errmsg = msg("%s: invalid YAML (%s)", file, p.problem ? p.problem : "?");
            rc = STORE_INVAL;
            goto fail;
        }
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        switch (ev.type) {
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            if (depth == 1 && !is_key)
                is_key = true; /* a nested value of a top-level key */
            depth++;
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        case YAML_SCALAR_EVENT:
            if (depth != 1)
                break;
            if (is_key) {
                want = !strcmp((const char *)ev.data.scalar.value, "data_dir");
                is_key = false;
            } else {
                if (want && !*out) {
                    *out = strdup((const char *)ev.data.scalar.value);
                    if (!*out) {
                        yaml_event_delete(&ev);
                        rc = STORE_NOMEM;
                        goto fail;
                    }
                }
                is_key = true;
            }
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    rc = STORE_OK;
fail:
    if (parser)
        yaml_parser_delete(&p);
    if (f)
        fclose(f);
    return rc;
}

int store_locate(const char *data_dir, const char *config_file, char **db_path, char **dir,
                 char **errmsg)
{
    char *from_config = NULL;
    const char *d;
    size_t n;
    int rc = STORE_OK;

    *db_path = NULL;
    if (dir)
        *dir = NULL;
    if (errmsg)
        *errmsg = NULL;
    if (!data_dir && config_file) {
        rc = config_data_dir(config_file, &from_config, errmsg);
        if (rc)
            goto fail;
    }
    d = data_dir ? data_dir : from_config && *from_config ? from_config : DEFAULT_DATA_DIR;
    n = strlen(d) + sizeof STORE_DB_FILE + 1;
    *db_path = malloc(n);
    if (!*db_path || (dir && !(*dir = strdup(d)))) {
        rc = STORE_NOMEM;
        goto fail;
    }
    snprintf(*db_path, n, "%s/%s", d, STORE_DB_FILE);
fail:
    if (rc) {
        free(*db_path);
        *db_path = NULL;
    }
    free(from_config);
    return rc;
}
