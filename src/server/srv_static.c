/*
 * srv_static.c — the worker half of static serving (see srv_static.h):
 * resolve a mapped path inside the web root and read the file into the
 * reply. Runs on a worker, so a slow disk never stalls the event loop; the
 * loop writes the buffer like any other answer (srv_http.c).
 */
#include "srv_static.h"

#include "srv_handlers.h"
#include "srv_log.h"
#include "srv_req.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { LOAD_OK, LOAD_NOTFOUND, LOAD_TOOBIG, LOAD_ERROR };

/* Reads root/rel into r->out. root is a realpath. */
static int load(srv_req *r, const char *root, const char *rel)
{
    char full[PATH_MAX + SRV_STATIC_PATH_MAX + 2], *real = NULL;
    struct stat st;
    srv_buf *b = NULL;
    size_t got = 0;
    int fd = -1, rc = LOAD_NOTFOUND;

    if ((size_t)snprintf(full, sizeof full, "%s/%s", root, rel) >= sizeof full)
        goto out;
    /* Follows every symlink, so the prefix check below sees where the
     * file really is: a link out of the root is refused. */
    real = realpath(full, NULL);
    if (!real)
        goto out;
    if (!srv_static_inside(root, real)) {
        SRV_WARN("static", "refused %s: resolves outside the web root", rel);
        goto out;
    }
    fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode))
        goto out;
    if ((uint64_t)st.st_size > SRV_STATIC_MAX_BYTES) {
        SRV_WARN("static", "refused %s: %lld bytes is over the limit", rel, (long long)st.st_size);
        rc = LOAD_TOOBIG;
        goto out;
    }
    rc = LOAD_ERROR;
    b = srv_buf_new((size_t)st.st_size);
    if (!b)
        goto out;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, srv_buf_payload(b) + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    /* A file that shrank while being read is served as what was read. */
    b->len = got;
    srv_buf_payload(b)[got] = 0;
    srv_buf_unref(r->out);
    r->out = b;
    b = NULL;
    r->status = 200;
    r->content_type = srv_static_mime(rel);
    r->cache_control = srv_static_cache_control(rel);
    rc = LOAD_OK;
out:
    srv_buf_unref(b);
    if (fd >= 0)
        close(fd);
    free(real);
    return rc;
}

bool srv_static_work(srv_job *j, srv_worker *w)
{
    srv_req *r = (srv_req *)j;
    const char *root = r->srv->cfg->web_root;
    char rel[SRV_STATIC_PATH_MAX], *root_real = NULL;
    bool spa = false;
    int rc;

    (void)w;
    if (r->method != SRV_GET && r->method != SRV_HEAD) {
        srv_error(r, 405, "method_not_allowed", "only GET and HEAD outside /api/");
        goto done;
    }
    /* Resolved per request: a rebuilt client (new dist/) is picked up. */
    root_real = root && *root ? realpath(root, NULL) : NULL;
    if (!root_real) {
        srv_error(r, 404, "not_found", "no web client is installed");
        goto done;
    }
    if (srv_static_map(r->path, rel, sizeof rel, &spa)) {
        srv_error(r, 404, "not_found", "no such file");
        goto done;
    }
    rc = load(r, root_real, rel);
    /* A client-side route (/chat/12): the app's index.html handles it. */
    if (rc == LOAD_NOTFOUND && spa)
        rc = load(r, root_real, "index.html");
    if (rc == LOAD_NOTFOUND)
        srv_error(r, 404, "not_found", "no such file");
    else if (rc != LOAD_OK)
        srv_error(r, 500, "internal", "the file cannot be served");
done:
    free(root_real);
    if (srv_log_enabled(SRV_LOG_DEBUG))
        SRV_DEBUG("static", "%s -> %d", r->path ? r->path : "", r->status);
    srv_req_serialise(r);
    return true;
}
