/*
 * srv_route.c — segment-by-segment path matching (see srv_route.h).
 *
 * The table is a few dozen rows; a linear scan with early exits on the
 * first differing byte costs less than building a trie would save.
 */
#include "srv_route.h"

#include <string.h>

static const char *const method_names[] = {"GET",    "POST",    "PUT", "PATCH",
                                           "DELETE", "OPTIONS", "HEAD"};

srv_method srv_method_parse(const char *s)
{
    for (int i = 0; i < (int)(sizeof method_names / sizeof method_names[0]); i++)
        if (!strcmp(s, method_names[i]))
            return (srv_method)i;
    return SRV_METHOD_OTHER;
}

const char *srv_method_name(srv_method m)
{
    return (size_t)m < sizeof method_names / sizeof method_names[0] ? method_names[m] : "OTHER";
}

/* Matches one path against one pattern; fills ids. */
static int path_matches(const char *pat, const char *path, int64_t ids[SRV_ROUTE_MAX_IDS])
{
    int nid = 0;

    while (*pat && *path) {
        if (!strncmp(pat, "{id}", 4)) {
            int64_t v = 0;
            int digits = 0;

            while (*path >= '0' && *path <= '9') {
                if (++digits > 18)
                    return 0;
                v = v * 10 + (*path - '0');
                path++;
            }
            if (!digits || v <= 0 || nid >= SRV_ROUTE_MAX_IDS || (*path && *path != '/'))
                return 0;
            ids[nid++] = v;
            pat += 4;
            continue;
        }
        if (!strncmp(pat, "{name}", 6)) {
            int len = 0;

            while ((*path >= 'a' && *path <= 'z') || (*path >= '0' && *path <= '9') ||
                   *path == '_' || *path == '-') {
                if (++len > SRV_ROUTE_NAME_MAX)
                    return 0;
                path++;
            }
            if (!len || (*path && *path != '/'))
                return 0;
            pat += 6;
            continue;
        }
        if (*pat != *path)
            return 0;
        pat++;
        path++;
    }
    /* A trailing slash is tolerated: "/api/v1/me/" is "/api/v1/me". */
    if (!*pat && path[0] == '/' && !path[1])
        return 1;
    return !*pat && !*path;
}

const srv_route *srv_route_by_frame(const srv_route *table, size_t n, const char *type)
{
    for (size_t i = 0; type && i < n; i++)
        if (table[i].ws_type && !strcmp(table[i].ws_type, type))
            return &table[i];
    return NULL;
}

srv_match srv_route_match(const srv_route *table, size_t n, srv_method method, const char *path,
                          const srv_route **out, int64_t ids[SRV_ROUTE_MAX_IDS])
{
    srv_match res = SRV_MATCH_NOT_FOUND;
    int64_t tmp[SRV_ROUTE_MAX_IDS];

    for (size_t i = 0; i < n; i++) {
        memset(tmp, 0, sizeof tmp);
        if (!path_matches(table[i].pattern, path, tmp))
            continue;
        /* HEAD is answered like GET without a body. */
        if (table[i].method == method || (method == SRV_HEAD && table[i].method == SRV_GET)) {
            *out = &table[i];
            memcpy(ids, tmp, sizeof tmp);
            return SRV_MATCH_OK;
        }
        res = SRV_MATCH_METHOD;
    }
    return res;
}
