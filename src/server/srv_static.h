/*
 * srv_static.h — serving the built web client (web_root) over HTTP.
 *
 * Two halves:
 *   pure    srv_static_map / _mime / _cache_control: a URL path to a path
 *           relative to the web root, its Content-Type and caching. No I/O,
 *           unit-tested (tests/server/unit/test_srv_static.c).
 *   job     srv_static_work runs on a worker (never the loop): resolves
 *           the path with realpath() inside the root, reads the file
 *           (bounded) into the reply buffer; the loop only writes it.
 *
 * Safety: a path with a `.`/`..`/hidden segment, a backslash or a control
 * character is refused before any file system call; what survives is
 * resolved with realpath() and must stay under realpath(web_root), so a
 * symlink out of the root is refused too. Only regular files are served.
 */
#ifndef SRV_STATIC_H
#define SRV_STATIC_H

#include <stdbool.h>
#include <stddef.h>

/* Largest file served (the built client's files are well below). */
#define SRV_STATIC_MAX_BYTES (8u << 20)
/* Longest relative path accepted. */
#define SRV_STATIC_PATH_MAX 1024

/* Maps the URL path `url` (already percent-decoded by lws, no query) to a
 * path relative to the web root in rel[0..cap). "/" and paths ending in
 * "/" name the directory's index.html. Empty segments ("//") are skipped.
 * *spa is set when the last segment has no extension: a client-side route
 * that falls back to index.html when no such file exists.
 * Returns 0, or -1 when the path is malformed, names a hidden file, tries
 * to leave the root or does not fit (rel is then unspecified). */
int srv_static_map(const char *url, char *rel, size_t cap, bool *spa);

/* The Content-Type for a relative path, by extension (case-insensitive);
 * "application/octet-stream" when unknown. Never NULL. */
const char *srv_static_mime(const char *rel);

/* Cache-Control for a relative path: hashed build assets (assets/...) are
 * immutable for a year; everything else (index.html above all) is
 * revalidated on each use. */
const char *srv_static_cache_control(const char *rel);

/* True when `real` (a realpath) is `root` (a realpath) itself or inside it. */
bool srv_static_inside(const char *root, const char *real);

#endif
