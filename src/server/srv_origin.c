/*
 * srv_origin.c — Origin and Content-Type checks (see srv_origin.h).
 */
#include "srv_origin.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Splits "host[:port]" (host may be "[v6]") into its host part and port;
 * def when the port is absent. Returns false on a malformed port. */
static bool split_hostport(const char *s, size_t len, size_t *host_len, long *port, long def)
{
    const char *colon = NULL;
    char *end;

    if (len && s[0] == '[') {
        const char *rb = memchr(s, ']', len);

        if (!rb)
            return false;
        if ((size_t)(rb - s) + 1 < len) {
            if (rb[1] != ':')
                return false;
            colon = rb + 1;
        }
    } else
        colon = memchr(s, ':', len);
    *host_len = colon ? (size_t)(colon - s) : len;
    *port = def;
    if (!colon)
        return *host_len > 0;
    {
        char buf[8];
        size_t pl = len - (size_t)(colon - s) - 1;

        if (!pl || pl >= sizeof buf)
            return false;
        memcpy(buf, colon + 1, pl);
        buf[pl] = 0;
        *port = strtol(buf, &end, 10);
        if (*end || *port <= 0 || *port > 65535)
            return false;
    }
    return *host_len > 0;
}

static bool same_origin(const char *origin, const char *host)
{
    const char *hp;
    long def, oport, hport;
    size_t olen, ohl, hhl;

    if (!strncasecmp(origin, "http://", 7)) {
        hp = origin + 7;
        def = 80;
    } else if (!strncasecmp(origin, "https://", 8)) {
        hp = origin + 8;
        def = 443;
    } else
        return false;
    olen = strlen(hp);
    if (olen && hp[olen - 1] == '/')
        olen--;
    if (memchr(hp, '/', olen) || !split_hostport(hp, olen, &ohl, &oport, def))
        return false;
    /* A Host without a port is the scheme's default port of the origin. */
    if (!split_hostport(host, strlen(host), &hhl, &hport, def))
        return false;
    return ohl == hhl && !strncasecmp(hp, host, ohl) && oport == hport;
}

bool srv_origin_allowed(const char *origin, const char *host, char *const *allowed,
                        size_t n_allowed)
{
    size_t olen;

    if (!origin || !*origin || !strcasecmp(origin, "null"))
        return false;
    if (host && *host && same_origin(origin, host))
        return true;
    olen = strlen(origin);
    if (origin[olen - 1] == '/')
        olen--;
    for (size_t i = 0; i < n_allowed; i++) {
        size_t al = strlen(allowed[i]);

        if (al && allowed[i][al - 1] == '/')
            al--;
        if (al == olen && !strncasecmp(allowed[i], origin, olen))
            return true;
    }
    return false;
}

bool srv_content_type_json(const char *value)
{
    size_t n = strlen("application/json");

    if (!value)
        return false;
    while (*value == ' ' || *value == '\t')
        value++;
    if (strncasecmp(value, "application/json", n))
        return false;
    value += n;
    while (*value == ' ' || *value == '\t')
        value++;
    return !*value || *value == ';';
}
