/*
 * guard_file_pool.c — workers started before their file (guard_file_pool in
 * cordon/guard_file.h; docs/FILES.md, "The pool").
 *
 * A pool keeps one waiting worker per kind: SPARE_OCR for images (it has
 * loaded libmagic and Tesseract's page engine), SPARE_PLAIN for everything
 * else (libmagic only). A waiting worker is the host executable started as
 *   EXE __cordon-extract-worker wait ocr|plain - 0
 * with a SOCK_SEQPACKET socket as fd 0 and the frame pipe as fd 1. The job
 * is one message, "MODE\0LIMITS\0ROOT\0OFFSET\0", with the input's
 * descriptor and, for the thumb and mark modes, the output's (SCM_RIGHTS);
 * the worker makes them its fd 0 and fd 3 and goes on exactly like a
 * spawned worker of that mode (ex_worker.c): rlimits, seccomp, then the
 * file. A preview (guard_file_make_preview) and a watermarked copy
 * (guard_file_watermark_embed) take the plain spare.
 * guard_file.c takes a worker from here (gf_pool_take) or spawns one, and
 * starts the next of the kind once the file's answer is in (gf_pool_refill).
 */
#include "cordon/guard_file.h"
#include "gf_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A started worker ("wait" mode) that has loaded what does not depend on
 * the file (libmagic; Tesseract's page engine for SPARE_OCR) and waits on
 * its socket for the job. */
enum { SPARE_PLAIN, SPARE_OCR, SPARE_KINDS };

typedef struct gf_spare {
    pid_t pid; /* -1: none */
    int sock;  /* the job goes here (SOCK_SEQPACKET) */
    int out;   /* its frames (fd 1) */
} gf_spare;

struct guard_file_pool {
    char *exe;
    bool plain_only; /* guard_file_pool_new_plain: no OCR spare */
    gf_spare s[SPARE_KINDS];
};

static void spare_drop(gf_spare *sp)
{
    if (sp->pid > 0) {
        kill(sp->pid, SIGKILL);
        while (waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (sp->sock >= 0)
        close(sp->sock);
    if (sp->out >= 0)
        close(sp->out);
    *sp = (gf_spare){.pid = -1, .sock = -1, .out = -1};
}

/* Starts the spare of a kind (nothing when it cannot: the next file then
 * starts its own worker, as without a pool). */
static void spare_start(guard_file_pool *p, int kind)
{
    gf_spare *sp = &p->s[kind];
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    char *argv[7];
    char **env;
    int sv[2] = {-1, -1}, pp[2] = {-1, -1}, e;

    if (sp->pid > 0 || (kind == SPARE_OCR && p->plain_only))
        return;
    env = gf_worker_env();
    if (!env)
        return;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) || pipe2(pp, O_CLOEXEC))
        goto out;
    argv[0] = p->exe;
    argv[1] = (char *)GUARD_FILE_WORKER_ARG;
    argv[2] = (char *)"wait";
    argv[3] = (char *)(kind == SPARE_OCR ? "ocr" : "plain");
    argv[4] = (char *)"-";
    argv[5] = (char *)"0";
    argv[6] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    posix_spawn_file_actions_adddup2(&fa, pp[1], 1);
    e = posix_spawn(&sp->pid, p->exe, &fa, &at, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (e) {
        sp->pid = -1;
        goto out;
    }
    sp->sock = sv[0];
    sp->out = pp[0];
    sv[0] = pp[0] = -1;
out:
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0)
            close(sv[i]);
        if (pp[i] >= 0)
            close(pp[i]);
    }
    free(env);
}

static guard_err pool_new(const char *worker_path, bool plain_only, guard_file_pool **out,
                          guard_error *err)
{
    guard_file_pool *p = calloc(1, sizeof *p);

    *out = NULL;
    if (!p || !(p->exe = strdup(worker_path ? worker_path : "/proc/self/exe"))) {
        free(p);
        if (err) {
            err->code = GUARD_ENOMEM;
            snprintf(err->message, sizeof err->message, "out of memory");
        }
        return GUARD_ENOMEM;
    }
    p->plain_only = plain_only;
    for (int k = 0; k < SPARE_KINDS; k++) {
        p->s[k] = (gf_spare){.pid = -1, .sock = -1, .out = -1};
        spare_start(p, k);
    }
    *out = p;
    return GUARD_OK;
}

guard_err guard_file_pool_new(const char *worker_path, guard_file_pool **out, guard_error *err)
{
    return pool_new(worker_path, false, out, err);
}

guard_err guard_file_pool_new_plain(const char *worker_path, guard_file_pool **out,
                                    guard_error *err)
{
    return pool_new(worker_path, true, out, err);
}

void guard_file_pool_free(guard_file_pool *p)
{
    if (!p)
        return;
    for (int k = 0; k < SPARE_KINDS; k++)
        spare_drop(&p->s[k]);
    free(p->exe);
    free(p);
}

/* Hands the job to the spare of its kind: w becomes that worker, the same
 * as a freshly spawned one from here on (its sandbox is closed once it has
 * the file). -1 when there is none or it is gone: the caller spawns. */
int gf_pool_take(guard_file_pool *p, bool ocr, const char *mode, const guard_limits *l,
                 const char *root, int in_fd, int out_fd, uint64_t offset, pid_t *pid, int *fd)
{
    gf_spare *sp = &p->s[ocr ? SPARE_OCR : SPARE_PLAIN];
    char msg[6144], lim[256], cbuf[CMSG_SPACE(2 * sizeof(int))];
    int fds[2] = {in_fd, out_fd}, nfd = out_fd >= 0 ? 2 : 1;
    struct iovec iov;
    struct msghdr mh = {0};
    struct cmsghdr *cm;
    int n, st;

    if (sp->pid <= 0)
        return -1;
    if (waitpid(sp->pid, &st, WNOHANG) == sp->pid) { /* it died waiting */
        sp->pid = -1;
        spare_drop(sp);
        return -1;
    }
    gf_limits_arg(l, lim, sizeof lim);
    n = snprintf(msg, sizeof msg, "%s%c%s%c%s%c%llu", mode, 0, lim, 0, root, 0,
                 (unsigned long long)offset);
    if (n < 0 || (size_t)n + 1 >= sizeof msg)
        return -1; /* a name too long for one message: a worker of its own */
    iov = (struct iovec){msg, (size_t)n + 1};
    memset(cbuf, 0, sizeof cbuf);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
    cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(nfd * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, nfd * sizeof(int));
    if (sendmsg(sp->sock, &mh, MSG_NOSIGNAL) != (ssize_t)iov.iov_len) {
        spare_drop(sp);
        return -1;
    }
    *pid = sp->pid;
    *fd = sp->out;
    close(sp->sock);
    *sp = (gf_spare){.pid = -1, .sock = -1, .out = -1};
    return 0;
}

bool gf_head_is_image(const unsigned char *h, size_t n)
{
    return (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) ||        /* JPEG */
           (n >= 8 && !memcmp(h, "\x89PNG\r\n\x1a\n", 8)) ||                  /* PNG */
           (n >= 12 && !memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WEBP", 4)) || /* WebP */
           (n >= 4 && (!memcmp(h, "II*\0", 4) || !memcmp(h, "MM\0*", 4))) ||  /* TIFF */
           (n >= 6 && (!memcmp(h, "GIF87a", 6) || !memcmp(h, "GIF89a", 6))) ||
           (n >= 2 && h[0] == 'B' && h[1] == 'M');
}

void gf_pool_refill(guard_file_pool *p, bool ocr)
{
    spare_start(p, ocr ? SPARE_OCR : SPARE_PLAIN);
}
