/*
 * ex_worker.c — the extraction worker: the host executable started again by
 * guard_file.c with argv[1] = GUARD_FILE_WORKER_ARG.
 *
 *   argv: EXE __cordon-extract-worker scan  LIMITS ROOT OFFSET
 *         EXE __cordon-extract-worker strip LIMITS ROOT OFFSET   (output: fd 3)
 *         EXE __cordon-extract-worker thumb LIMITS ROOT OFFSET   (output: fd 3,
 *             a picture's or a PDF's first page's preview, ex_thumb.h)
 *         EXE __cordon-extract-worker watermark LIMITS ROOT OFFSET
 *         EXE __cordon-extract-worker mark LIMITS ROOT OFFSET    (output: fd 3,
 *             the picture after the job header marked for one viewer;
 *             ex_core_proto.h EXP_MARK_*)
 *         EXE __cordon-extract-worker wait KIND - 0
 *             (a pooled worker, guard_file_pool: fd 0 is a socket; it loads
 *             libmagic, and Tesseract's page engine when KIND is "ocr",
 *             then waits for its job — "MODE\0LIMITS\0ROOT\0OFFSET\0" with the
 *             input's descriptor and, for thumb and mark, the output's
 *             (SCM_RIGHTS) — and goes on as that mode, scan, thumb or mark)
 *             (output: fd 3, the luminance plane wm_measure() makes of an
 *             image found outside, for the watermark decoder; key-free)
 *   fd 0: the input (a regular file or memfd, mapped read-only from OFFSET)
 *   fd 1: the pipe to the parent, framed (ex_core_proto.h)
 *   fd 2: inherited, for diagnostics only
 *
 * Before the first byte of input is parsed the worker closes itself in:
 *   - rlimits: RLIMIT_AS = memory_bytes + the input mapping (not under
 *     AddressSanitizer, whose shadow memory needs terabytes of address
 *     space), RLIMIT_CPU from total_ms, RLIMIT_FSIZE 0 (scan), RLIMIT_CORE 0;
 *   - PR_SET_DUMPABLE 0 (no ptrace attach, no core), PR_SET_NO_NEW_PRIVS;
 *   - a seccomp filter (libseccomp), default allow, that refuses with EPERM:
 *     every socket call (no network), execve/execveat, fork/vfork and clone
 *     without CLONE_THREAD (threads are fine, processes are not), ptrace and
 *     process_vm_*, kill/tgkill of any other process, opening a file for
 *     writing, creating, renaming, removing or changing files, TIOCSTI on a
 *     terminal, and mount/namespace/module/keyring/bpf/perf calls. So a parser
 *     exploited by a hostile file can read what the user can read but cannot
 *     send it anywhere, write it anywhere or start anything.
 * libmagic's database is loaded before the filter. OMP_THREAD_LIMIT=1 is in
 * the environment the parent gave at exec, because libgomp reads it when it
 * is loaded, before main.
 *
 * The worker ends with _exit(): nothing needs to run at exit, and under
 * LeakSanitizer the leak check would need ptrace, which the filter refuses.
 */
#include "base/base_file.h"
#include "cordon/guard_file.h"
#include "ex_core.h"
#include "ex_core_proto.h"
#include "ex_image.h"
#include "ex_thumb.h"
#include "watermark/wm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define EX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EX_ASAN 1
#endif
#endif

/* Parses "n,n,...": the 11 limits in ex_limits order (guard_file.c writes
 * them). Returns 0 or -1. */
static int parse_limits(const char *s, ex_limits *l)
{
    unsigned long long v[11];
    char *end;

    for (int i = 0; i < 11; i++) {
        if (*s < '0' || *s > '9')
            return -1;
        errno = 0;
        v[i] = strtoull(s, &end, 10);
        if (errno || (i < 10 && *end != ',') || (i == 10 && *end))
            return -1;
        s = end + 1;
    }
    l->file_bytes = v[0];
    l->unpacked_bytes = v[1];
    l->member_bytes = v[2];
    l->ratio = (uint32_t)v[3];
    l->entries = (uint32_t)v[4];
    l->depth = (uint32_t)v[5];
    l->pixels = v[6];
    l->ocr_ms = (uint32_t)v[7];
    l->total_ms = (uint32_t)v[8];
    l->memory_bytes = v[9];
    l->ocr = v[10] != 0;
    return 0;
}

static int set_limit(int res, rlim_t v)
{
    struct rlimit r = {v, v};
    return setrlimit(res, &r);
}

/* `fsize`: what the mode may write to fd 3 (0 for scan). */
static int set_rlimits(const ex_limits *l, uint64_t mapped, rlim_t fsize)
{
    uint64_t cpu = (uint64_t)l->total_ms / 1000 + 2;

    if (set_limit(RLIMIT_CORE, 0) || set_limit(RLIMIT_CPU, (rlim_t)cpu) ||
        set_limit(RLIMIT_FSIZE, fsize))
        return -1;
#ifndef EX_ASAN
    if (l->memory_bytes && set_limit(RLIMIT_AS, (rlim_t)(l->memory_bytes + mapped)))
        return -1;
#else
    (void)mapped;
#endif
    return 0;
}

#define DENY(call) rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(call), 0)

static int sandbox(void)
{
    scmp_filter_ctx ctx;
    int rc = 0;
    scmp_datum_t me = (scmp_datum_t)getpid();
    static const scmp_datum_t wr[] = {O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND};

    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        return -1;
    ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return -1;
    /* network */
    DENY(socket);
    DENY(socketpair);
    DENY(connect);
    DENY(bind);
    DENY(listen);
    DENY(accept);
    DENY(accept4);
    DENY(sendto);
    DENY(sendmsg);
    DENY(sendmmsg);
    DENY(recvfrom);
    DENY(recvmsg);
    DENY(recvmmsg);
    /* other programs and processes */
    DENY(execve);
    DENY(execveat);
    DENY(fork);
    DENY(vfork);
    DENY(ptrace);
    DENY(process_vm_readv);
    DENY(process_vm_writev);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                           SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    /* glibc falls back to clone() when clone3 is "not implemented" */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_NE, me));
    rc |=
        seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_NE, me));
    DENY(tkill);
    DENY(pidfd_open);
    DENY(pidfd_send_signal);
    DENY(pidfd_getfd);
    /* the file system is read-only: no open for writing, creating,
     * truncating or appending (one rule per flag bit; libseccomp compares
     * masked values for equality only) */
    for (size_t i = 0; i < sizeof wr / sizeof wr[0]; i++) {
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(open), 1,
                               SCMP_A1(SCMP_CMP_MASKED_EQ, wr[i], wr[i]));
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(openat), 1,
                               SCMP_A2(SCMP_CMP_MASKED_EQ, wr[i], wr[i]));
    }
    DENY(creat);
    DENY(openat2);
    DENY(truncate);
    DENY(rename);
    DENY(renameat);
    DENY(renameat2);
    DENY(unlink);
    DENY(unlinkat);
    DENY(rmdir);
    DENY(mkdir);
    DENY(mkdirat);
    DENY(link);
    DENY(linkat);
    DENY(symlink);
    DENY(symlinkat);
    DENY(chmod);
    DENY(fchmodat);
    DENY(chown);
    DENY(fchownat);
    DENY(lchown);
    DENY(mknod);
    DENY(mknodat);
    DENY(utimensat);
    /* the terminal, the system */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                           SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)TIOCSTI));
    DENY(mount);
    DENY(umount2);
    DENY(pivot_root);
    DENY(chroot);
    DENY(setns);
    DENY(unshare);
    DENY(keyctl);
    DENY(add_key);
    DENY(request_key);
    DENY(bpf);
    DENY(perf_event_open);
    DENY(init_module);
    DENY(finit_module);
    DENY(delete_module);
    DENY(kexec_load);
    DENY(reboot);
    DENY(userfaultfd);
    DENY(io_uring_setup);
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    return rc ? -1 : 0;
}

/* Maps fd 0 from `offset`. Returns 0 with *data and *len (NULL and 0 when empty),
 * or -1. */
static int map_input(uint64_t offset, uint64_t max, const unsigned char **data, size_t *len,
                     uint64_t *mapped)
{
    struct stat st;
    void *p;

    *data = NULL;
    *len = 0;
    *mapped = 0;
    if (fstat(0, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < offset)
        return -1;
    if ((uint64_t)st.st_size - offset > max)
        return -1; /* the parent checks this first */
    if ((uint64_t)st.st_size == offset)
        return 0;
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, 0, 0);
    if (p == MAP_FAILED)
        return -1;
    *data = (const unsigned char *)p + offset;
    *len = (size_t)((uint64_t)st.st_size - offset);
    *mapped = (uint64_t)st.st_size;
    return 0;
}

/* Poppler, libgsf, GMime, libpng and Tesseract print warnings about the
 * hostile files they are given; the user of `cordon scan` should see the
 * findings, not those. The worker's stderr goes to /dev/null unless
 * CORDON_WORKER_STDERR is set, or the build has AddressSanitizer (whose
 * reports must reach the test log). */
static void quiet_stderr(void)
{
#ifndef EX_ASAN
    int fd;

    if (getenv("CORDON_WORKER_STDERR"))
        return;
    fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, 2);
        close(fd);
    }
#endif
}

/* watermark mode: the plane of the image on fd 3, or an X frame saying why
 * there is none. Returns 0, or -1 when the parent is gone. */
static int measure(ex_job *j, const unsigned char *data, size_t len, const ex_limits *lim)
{
    static float plane[WM_PLANE * WM_PLANE];
    char why[256];

    signal(SIGXFSZ, SIG_IGN); /* a library warning on stderr: see ex_image.c */
    if (wm_measure(data, len, lim->pixels, plane, why, sizeof why))
        return ex_job_fail(j, why);
    if (base_file_write_all(3, plane, sizeof plane))
        return ex_job_fail(j, "cannot write the plane");
    return 0;
}

/* mark mode: the picture marked with the job's chips, on fd 3, or an X
 * frame saying why it cannot be. `job` is the header (EXP_MARK_HDR bytes,
 * checked by the caller of the worker too). Returns 0, or -1 when the
 * parent is gone. */
static int mark(ex_job *j, const unsigned char *job, const unsigned char *data, size_t len,
                const ex_limits *lim)
{
    int8_t chips[WM_CELLS];
    unsigned char *out = NULL, *un;
    size_t n = 0;
    char why[256];
    int rc;

    _Static_assert(WM_CELLS == EXP_MARK_CHIPS, "the mark job's chips");
    for (size_t i = 0; i < EXP_MARK_CHIPS; i++) {
        if (job[8 + i] != 1 && job[8 + i] != 0xff)
            return ex_job_fail(j, "the job's chips are not +1 or -1");
        chips[i] = job[8 + i] == 1 ? 1 : -1;
    }
    signal(SIGXFSZ, SIG_IGN);           /* over the cap: the write fails, reported */
    un = ex_tiff_unoriented(data, len); /* a TIFF decoded as stored, turned by wm_upright */
    rc = wm_embed_chips(un ? un : data, len, guard_file_image_orientation(data, len), lim->pixels,
                        chips, job[4] ? WM_OUT_PNG : WM_OUT_JPEG, job[5], &out, &n, NULL, why,
                        sizeof why);
    free(un);
    if (rc)
        return ex_job_fail(j, why);
    rc = base_file_write_all(3, out, n) ? ex_job_fail(j, "the marked copy is over its size limit")
                                        : 0;
    free(out);
    return rc;
}

/* wait mode: the job's arguments and its input, received on fd 0 (a
 * socket) before the sandbox is closed; the input becomes fd 0, and the
 * output, when one came (thumb, mark), fd 3. Returns 0 with args[0..4) pointing
 * into buf, or -1 (the parent is gone). */
static int receive_job(char *buf, size_t cap, char *args[4])
{
    char cbuf[CMSG_SPACE(2 * sizeof(int))];
    struct iovec iov = {buf, cap - 1};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *cm;
    ssize_t n;
    int fd = -1, out = -1;
    size_t o = 0;

    do
        n = recvmsg(0, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
            (cm->cmsg_len == CMSG_LEN(sizeof(int)) || cm->cmsg_len == CMSG_LEN(2 * sizeof(int)))) {
            memcpy(&fd, CMSG_DATA(cm), sizeof fd);
            if (cm->cmsg_len == CMSG_LEN(2 * sizeof(int)))
                memcpy(&out, CMSG_DATA(cm) + sizeof(int), sizeof out);
        }
    for (int i = 0; i < 4; i++) {
        if (o >= (size_t)n)
            goto fail;
        args[i] = buf + o;
        o += strlen(buf + o) + 1;
    }
    /* only thumb's and mark's output comes with the job, and only they take one */
    if (fd < 0 || (out >= 0) != (!strcmp(args[0], "thumb") || !strcmp(args[0], "mark")))
        goto fail;
    if (dup2(fd, 0) < 0) /* the socket goes: fd 0 is the input now */
        goto fail;
    close(fd); /* before fd 3 is placed: the input may have come as fd 3 */
    fd = -1;
    if (out >= 0 && out != 3) {
        if (dup2(out, 3) < 0)
            goto fail;
        close(out);
    }
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    if (out >= 0)
        close(out);
    return -1;
}

static int run(int argc, char **argv)
{
    ex_limits lim;
    const unsigned char *data;
    size_t len;
    uint64_t offset, mapped;
    ex_job *j = NULL;
    bool strip, wm, thumb, marking;
    unsigned char mjob[EXP_MARK_HDR];
    rlim_t fsize;
    char *end;
    const char *crash;
    int code = EXP_EXIT_USAGE;
    static char job[8192];
    char *jargs[4], *wargv[6];

    if (argc == 6 && !strcmp(argv[2], "wait")) {
        /* a pooled worker: what does not depend on the file is loaded while
         * no one waits for it; then the job arrives and it goes on as a
         * scan worker (sandboxed below, before the file is parsed) */
        signal(SIGPIPE, SIG_IGN);
        code = EXP_EXIT_SETUP;
        quiet_stderr();
        if (ex_magic_preload())
            goto out;
        if (!strcmp(argv[3], "ocr"))
            ex_ocr_preload();
        if (receive_job(job, sizeof job, jargs))
            goto out;
        code = EXP_EXIT_USAGE;
        wargv[0] = argv[0];
        wargv[1] = argv[1];
        if (strcmp(jargs[0], "scan") && strcmp(jargs[0], "thumb") && strcmp(jargs[0], "mark"))
            goto out;
        wargv[2] = jargs[0];
        wargv[3] = jargs[1];
        wargv[4] = jargs[2];
        wargv[5] = jargs[3];
        argv = wargv;
    }
    if (argc != 6 ||
        (strcmp(argv[2], "scan") && strcmp(argv[2], "strip") && strcmp(argv[2], "watermark") &&
         strcmp(argv[2], "thumb") && strcmp(argv[2], "mark")))
        goto out;
    strip = !strcmp(argv[2], "strip");
    thumb = !strcmp(argv[2], "thumb");
    wm = !strcmp(argv[2], "watermark");
    marking = !strcmp(argv[2], "mark");
    if (parse_limits(argv[3], &lim))
        goto out;
    errno = 0;
    offset = strtoull(argv[5], &end, 10);
    if (errno || *end || argv[5][0] < '0' || argv[5][0] > '9')
        goto out;
    code = EXP_EXIT_SETUP;
    signal(SIGPIPE, SIG_IGN);
    /* RLIMIT_FSIZE is 0: a library warning written to an inherited stderr that
     * is a regular file (`cordon scan 2>log`) would raise SIGXFSZ and turn a
     * harmless file into a "crash". Ignored, the write just fails. */
    signal(SIGXFSZ, SIG_IGN);
    quiet_stderr();
    /* libmagic only where the mode detects a type: the mark and watermark
     * modes read a picture the caller has named, and start faster without
     * loading its database */
    if (map_input(offset, lim.file_bytes, &data, &len, &mapped) ||
        (!marking && !wm && ex_magic_preload()))
        goto out;
    if (marking && (offset != EXP_MARK_HDR || pread(0, mjob, sizeof mjob, 0) != sizeof mjob ||
                    memcmp(mjob, EXP_MARK_MAGIC, 4))) {
        code = EXP_EXIT_USAGE;
        goto out;
    }
    fsize = strip     ? (rlim_t)lim.file_bytes + 65536
            : wm      ? (rlim_t)(WM_PLANE * WM_PLANE * sizeof(float)) + 65536
            : thumb   ? (rlim_t)GUARD_FILE_THUMB_MAX_BYTES
            : marking ? (rlim_t)GUARD_FILE_MARK_OUT_MAX
                      : 0;
    if (set_rlimits(&lim, mapped, fsize) || sandbox())
        goto out;
    /* test hooks: a parser crash (every mode, or only the one named:
     * "thumb" crashes the preview maker alone, "mark" the watermark
     * writer) and a parser that never returns */
    crash = getenv("CORDON_TEST_WORKER_CRASH");
    if (crash && (!strcmp(crash, argv[2]) || (strcmp(crash, "thumb") && strcmp(crash, "mark"))))
        abort();
    if (getenv("CORDON_TEST_WORKER_HANG"))
        for (;;)
            pause();
    code = EXP_EXIT_NOMEM;
    j = ex_job_new(1, &lim, argv[4]);
    if (!j)
        goto out;
    if (strip) {
        char mime[EX_MIME_CAP], why[256];
        ex_detect(data, len, mime, sizeof mime);
        if (ex_job_mime(j, mime) ||
            (ex_strip(data, len, mime, 3, why, sizeof why) && ex_job_fail(j, why)))
            goto broken;
    } else if (thumb) {
        char mime[EX_MIME_CAP], why[256];

        signal(SIGXFSZ, SIG_IGN); /* over the cap: the write fails, reported */
        ex_detect(data, len, mime, sizeof mime);
        if (ex_thumb(data, len, mime, lim.pixels, 3, why, sizeof why) && ex_job_fail(j, why))
            goto broken;
    } else if (wm) {
        if (measure(j, data, len, &lim))
            goto broken;
    } else if (marking) {
        if (mark(j, mjob, data, len, &lim))
            goto broken;
    } else {
        ex_dispatch_root(j, argv[4], data, len);
    }
    if (ex_job_done(j))
        goto broken;
    code = 0;
    goto out;
broken:
    code = EXP_EXIT_PARENT;
out:
    ex_job_free(j);
    return code;
}

int guard_file_worker_dispatch(int argc, char **argv)
{
    if (argc < 2 || !argv[1] || strcmp(argv[1], GUARD_FILE_WORKER_ARG))
        return -1;
    _exit(run(argc, argv));
}
