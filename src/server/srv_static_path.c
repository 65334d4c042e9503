/*
 * srv_static_path.c — the pure half of static serving (see srv_static.h):
 * URL path sanitising, Content-Type, caching. No I/O here, so every rule
 * is unit-tested without a server.
 */
#include "srv_static.h"

#include <string.h>
#include <strings.h>

int srv_static_map(const char *url, char *rel, size_t cap, bool *spa)
{
    size_t n = 0;
    const char *p = url, *last = NULL;
    size_t last_len = 0;
    bool dir = true; /* the path so far names a directory ("/" or ".../") */

    if (!url || url[0] != '/' || cap < sizeof "index.html")
        return -1;
    while (*p) {
        const char *seg;
        size_t len;

        while (*p == '/')
            p++;
        if (!*p)
            break;
        seg = p;
        while (*p && *p != '/')
            p++;
        len = (size_t)(p - seg);
        /* ".", ".." and hidden files (.git, .env) are never served. */
        if (seg[0] == '.')
            return -1;
        for (size_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char)seg[i];

            /* A backslash is a separator on other systems and never in a
             * built asset's name; control characters never are either. */
            if (ch < 0x20 || ch == 0x7f || ch == '\\')
                return -1;
        }
        if (n + (n ? 1 : 0) + len + 1 > cap || n + len + 1 > SRV_STATIC_PATH_MAX)
            return -1;
        if (n)
            rel[n++] = '/';
        memcpy(rel + n, seg, len);
        n += len;
        last = seg;
        last_len = len;
        dir = *p == '/';
    }
    if (dir) {
        /* "/" or "dir/": its index.html (not a client-side route). */
        static const char idx[] = "index.html";

        if (n + (n ? 1 : 0) + sizeof idx > cap || n + sizeof idx > SRV_STATIC_PATH_MAX)
            return -1;
        if (n)
            rel[n++] = '/';
        memcpy(rel + n, idx, sizeof idx);
        *spa = false;
        return 0;
    }
    rel[n] = 0;
    *spa = !memchr(last, '.', last_len);
    return 0;
}

static const struct {
    const char *ext, *type;
} mime_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    /* Chromium refuses module scripts under nosniff without a JS type. */
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"wasm", "application/wasm"},
};

const char *srv_static_mime(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    const char *dot = strrchr(slash ? slash + 1 : rel, '.');

    if (dot)
        for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++)
            if (!strcasecmp(dot + 1, mime_types[i].ext))
                return mime_types[i].type;
    return "application/octet-stream";
}

const char *srv_static_cache_control(const char *rel)
{
    /* Vite names everything under assets/ by content hash: a changed file
     * is a new name, so the old one can be cached for good. */
    if (!strncmp(rel, "assets/", 7))
        return "public, max-age=31536000, immutable";
    return "no-cache";
}

bool srv_static_inside(const char *root, const char *real)
{
    size_t n = strlen(root);

    /* root "/" (a web root at the file system root) contains everything. */
    if (n == 1 && root[0] == '/')
        return real[0] == '/';
    return !strncmp(root, real, n) && (real[n] == 0 || real[n] == '/');
}
