/*
 * tool_scan.c — `cordon scan`: inspect files, directories and stdin.
 *
 * The shape of a run:
 *   1. compile the rules once (one engine, one ruleset reference);
 *   2. walk every PATH into a list of items (tool_walk.c), so the total is
 *      known before scanning starts;
 *   3. N worker threads take items off the list by an atomic cursor, each
 *      with its own guard scanner, inspect each item with the file guard
 *      (tool_read.c: plain text in process, anything else in a sandboxed
 *      worker process per file), render the item in the
 *      chosen format (tool_report.h) and write it whole under the output
 *      lock, so items never interleave;
 *   4. the format finishes (SARIF writes its log), the summary goes to
 *      stderr, and the exit code says allow (0), findings (1) or error (2).
 */
#include "tool_cmd.h"
#include "tool_opts.h"
#include "tool_progress.h"
#include "tool_read.h"
#include "tool_report.h"
#include "tool_term.h"
#include "tool_walk.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 1024

/* Set by SIGINT/SIGTERM: the one piece of process-wide state, because a
 * signal handler can reach nothing else. */
static volatile sig_atomic_t scan_stop;

enum {
    OPT_FORMAT = TOOL_OPT_FIRST_FREE,
    OPT_NO_PROGRESS,
    OPT_COLOR,
};

static const struct option scan_longopts[] = {
    TOOL_GUARD_LONGOPTS,
    {"format", required_argument, NULL, OPT_FORMAT},
    {"threads", required_argument, NULL, 'j'},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"color", required_argument, NULL, OPT_COLOR},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct scan_opts {
    tool_guard_opts g;
    const tool_format *fmt;
    unsigned long threads; /* 0: one per online CPU */
    bool no_progress;
    tool_color color;
    char **paths;
    size_t n_paths;
} scan_opts;

typedef struct scan_stats {
    uint64_t items, bytes, errors;
    uint64_t verdicts[GUARD_ACTION_COUNT];
    uint64_t status[GUARD_STATUS_UNSCANNABLE + 1];
} scan_stats;

/* What all workers share. */
typedef struct scan_job {
    const tool_items *items;
    atomic_size_t next;
    guard_ruleset *rs;
    guard_scope scope;
    tool_report rp;
    tool_progress pg;
    pthread_mutex_t out_lock; /* stdout and stderr writes, progress drawing */
    bool wrote_any;           /* under out_lock */
} scan_job;

typedef struct scan_worker {
    scan_job *job;
    pthread_t thread;
    bool started;
    tool_reader rd;
    base_buf out, err;
    scan_stats st;
} scan_worker;

void tool_scan_help(FILE *f)
{
    fputs("usage: cordon scan [OPTIONS] PATH...\n"
          "\n"
          "Inspect files, directories (recursively) and stdin ('-') for classified\n"
          "markings, lexicon terms, personal data, secrets and risky links, and report\n"
          "what the policy makes of them. Files are read by their type, by content:\n"
          "text in any encoding, archives, documents, e-mail and images, in a sandboxed\n"
          "worker process (docs/FILES.md); what cannot be read is reported, never\n"
          "passed.\n"
          "\n"
          "Rules:\n"
          "      --policy FILE        policy file (default: the built-in policy)\n"
          "      --lexicon FILE       extra lexicon file; may be repeated\n"
          "      --cache-dir DIR      cache compiled rules in DIR\n"
          "      --scope SCOPE        internal (default) or external recipients, or\n"
          "                           inbound: sent in by an outside sender\n"
          "Output:\n"
          "      --format FORMAT      text (default), json (JSON Lines) or sarif\n"
          "      --color WHEN         auto (default), always or never\n"
          "      --no-progress        no progress line on stderr\n"
          "Performance:\n"
          "  -j, --threads N          worker threads (default: online CPUs)\n"
          "  -h, --help               this help\n"
          "\n"
          "Exit status: 0 all allowed, 1 something above allow, 2 error.\n"
          "See docs/CLI.md for the formats.\n",
          f);
}

static void on_signal(int sig)
{
    scan_stop = 1;
    /* a second signal ends the process the default way */
    signal(sig, SIG_DFL);
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: a read blocked on a pipe returns EINTR and notices */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Parses argv; returns 0, 1 when help was printed, or -1 (usage error). */
static int parse_scan_args(int argc, char **argv, scan_opts *o)
{
    bool stdin_seen = false;
    unsigned long v;
    int c, rc;

    memset(o, 0, sizeof *o);
    o->fmt = &tool_format_text;
    opterr = 0;
    optind = 0; /* full re-initialisation of getopt (GNU) */
    while ((c = getopt_long(argc, argv, ":j:h", scan_longopts, NULL)) != -1) {
        rc = tool_guard_opt(&o->g, c, optarg, "scan");
        if (rc < 0)
            return -1;
        if (rc > 0)
            continue;
        switch (c) {
        case OPT_FORMAT:
            o->fmt = tool_format_find(optarg);
            if (!o->fmt) {
                tool_usage_error("scan", "--format must be text, json or sarif, not '%s'", optarg);
                return -1;
            }
            break;
        case 'j':
            if (tool_parse_ulong(optarg, 1, MAX_THREADS, &v)) {
                tool_usage_error("scan", "--threads must be a number from 1 to %d, not '%s'",
                                 MAX_THREADS, optarg);
                return -1;
            }
            o->threads = v;
            break;
        case OPT_NO_PROGRESS:
            o->no_progress = true;
            break;
        case OPT_COLOR:
            if (tool_color_parse(optarg, &o->color)) {
                tool_usage_error("scan", "--color must be auto, always or never, not '%s'", optarg);
                return -1;
            }
            break;
        case 'h':
            tool_scan_help(stdout);
            return 1;
        default:
            tool_getopt_error("scan", c, argv);
            return -1;
        }
    }
    o->paths = argv + optind;
    o->n_paths = (size_t)(argc - optind);
    if (!o->n_paths) {
        tool_usage_error("scan", "no PATH given (use '-' for stdin)");
        return -1;
    }
    for (size_t i = 0; i < o->n_paths; i++) {
        if (strcmp(o->paths[i], "-"))
            continue;
        if (stdin_seen) {
            tool_usage_error("scan", "stdin ('-') named more than once");
            return -1;
        }
        stdin_seen = true;
    }
    return 0;
}

static void account(scan_stats *st, const tool_outcome *oc)
{
    st->items++;
    st->bytes += oc->bytes_read;
    if (oc->error[0])
        st->errors++;
    /* an item that failed before inspection is counted as an error only */
    if (oc->r) {
        st->verdicts[oc->r->verdict < GUARD_ACTION_COUNT ? oc->r->verdict : GUARD_BLOCK]++;
        st->status[oc->r->status <= GUARD_STATUS_UNSCANNABLE ? oc->r->status
                                                             : GUARD_STATUS_UNSCANNABLE]++;
    }
}

/* Writes one item's output and error, whole, under the output lock. */
static void emit(scan_job *job, scan_worker *w)
{
    pthread_mutex_lock(&job->out_lock);
    if (w->out.len) {
        tool_progress_hide_locked(&job->pg, false);
        if (job->wrote_any && job->rp.fmt->separator)
            fputs(job->rp.fmt->separator, stdout);
        fwrite(w->out.p, 1, w->out.len, stdout);
        job->wrote_any = true;
        if (job->pg.enabled && job->pg.stdout_tty)
            fflush(stdout);
    }
    if (w->err.len) {
        tool_progress_hide_locked(&job->pg, true);
        /* the report so far comes first, so the error lands after its item */
        fflush(stdout);
        fwrite(w->err.p, 1, w->err.len, stderr);
    }
    pthread_mutex_unlock(&job->out_lock);
}

static void *worker_main(void *arg)
{
    scan_worker *w = arg;
    scan_job *job = w->job;
    tool_outcome oc;

    while (!scan_stop) {
        size_t i = atomic_fetch_add(&job->next, 1);
        const tool_item *it;

        if (i >= job->items->n)
            break;
        it = &job->items->v[i];
        tool_read_item(&w->rd, it, i, &oc);
        if (oc.interrupted) {
            tool_outcome_clear(&oc);
            break;
        }
        base_buf_reset(&w->out);
        base_buf_reset(&w->err);
        int failed = job->rp.fmt->item(&job->rp, &oc, &w->out);
        /* Too many findings to render within TOOL_OUT_MAX (a policy may
         * keep up to a million): show as many as fit, count the rest as
         * dropped, so the item's verdict is never lost. The verdict was
         * decided on all of them. */
        while (failed && oc.r && oc.r->n_findings > 0) {
            size_t keep = oc.r->n_findings / 2;
            oc.r->findings_dropped += oc.r->n_findings - keep;
            oc.r->n_findings = keep;
            base_buf_reset(&w->out);
            failed = job->rp.fmt->item(&job->rp, &oc, &w->out);
        }
        if (failed) {
            base_buf_reset(&w->out);
            if (!oc.error[0])
                snprintf(oc.error, sizeof oc.error,
                         "report could not be produced (out of memory or too large)");
        }
        if (oc.error[0]) {
            const char *shown = tool_item_display(it);
            base_buf_adds(&w->err, "cordon scan: ");
            tool_term_escape(&w->err, shown, strlen(shown), 4096);
            base_buf_printf(&w->err, ": %s\n", oc.error);
        }
        account(&w->st, &oc);
        emit(job, w);
        tool_outcome_clear(&oc);
        atomic_fetch_add(&job->pg.done, 1);
    }
    return NULL;
}

static unsigned long default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (unsigned long)n;
}

/* Starts the workers, waits for them and sums their counts. Returns 0, or -1
 * when not even one worker could be set up (message printed). */
static int run_workers(scan_job *job, unsigned long n, scan_stats *total)
{
    scan_worker *w = calloc(n, sizeof *w);
    guard_error gerr = {0};
    unsigned long started = 0;
    int rc = -1;

    if (!w) {
        fprintf(stderr, "cordon scan: out of memory\n");
        return -1;
    }
    for (unsigned long i = 0; i < n; i++) {
        w[i].job = job;
        base_buf_init(&w[i].out, TOOL_OUT_MAX);
        base_buf_init(&w[i].err, BASE_CAP_TOOL_ERR);
        if (tool_reader_init(&w[i].rd, job->rs, job->scope, &gerr)) {
            fprintf(stderr, "cordon scan: %s\n", gerr.message);
            goto out;
        }
        w[i].rd.progress_bytes = &job->pg.bytes;
        w[i].rd.stop = &scan_stop;
    }
    for (unsigned long i = 0; i < n; i++) {
        /* fewer threads than asked is still a scan; none is not */
        if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]))
            break;
        w[i].started = true;
        started++;
    }
    if (!started)
        fprintf(stderr, "cordon scan: cannot start worker threads: %s\n", strerror(errno));
    for (unsigned long i = 0; i < n; i++) {
        if (!w[i].started)
            continue;
        pthread_join(w[i].thread, NULL);
        total->items += w[i].st.items;
        total->bytes += w[i].st.bytes;
        total->errors += w[i].st.errors;
        for (int k = 0; k < GUARD_ACTION_COUNT; k++)
            total->verdicts[k] += w[i].st.verdicts[k];
        for (int k = 0; k <= GUARD_STATUS_UNSCANNABLE; k++)
            total->status[k] += w[i].st.status[k];
    }
    rc = started ? 0 : -1;
out:
    for (unsigned long i = 0; i < n; i++) {
        tool_reader_free(&w[i].rd);
        base_buf_free(&w[i].out);
        base_buf_free(&w[i].err);
    }
    free(w);
    return rc;
}

/* elapsed: walk and scan; rules: compiling (or loading) the rules, shown
 * apart so the rate says how fast content is inspected. */
static void print_summary(const scan_stats *st, const tool_items *items, double elapsed,
                          double rules)
{
    char bytes[32], rate[32];

    tool_human_bytes(st->bytes, bytes, sizeof bytes);
    tool_human_bytes(elapsed > 0 ? (uint64_t)((double)st->bytes / elapsed) : 0, rate, sizeof rate);
    fprintf(stderr,
            "cordon scan: %llu item%s, %s in %.2f s (%s/s, rules %.2f s): %llu allow, "
            "%llu warn, %llu mask, %llu confirm, %llu block",
            (unsigned long long)st->items, st->items == 1 ? "" : "s", bytes, elapsed, rate, rules,
            (unsigned long long)st->verdicts[GUARD_ALLOW],
            (unsigned long long)st->verdicts[GUARD_WARN],
            (unsigned long long)st->verdicts[GUARD_MASK],
            (unsigned long long)st->verdicts[GUARD_CONFIRM],
            (unsigned long long)st->verdicts[GUARD_BLOCK]);
    if (st->status[GUARD_STATUS_PARTIAL])
        fprintf(stderr, "; %llu partial", (unsigned long long)st->status[GUARD_STATUS_PARTIAL]);
    if (st->status[GUARD_STATUS_UNSCANNABLE])
        fprintf(stderr, "; %llu unscannable",
                (unsigned long long)st->status[GUARD_STATUS_UNSCANNABLE]);
    if (st->errors)
        fprintf(stderr, "; %llu error%s", (unsigned long long)st->errors,
                st->errors == 1 ? "" : "s");
    if (items->skipped_links || items->skipped_special)
        fprintf(stderr, "; skipped %zu symlink%s to directories or nowhere, %zu special file%s",
                items->skipped_links, items->skipped_links == 1 ? "" : "s", items->skipped_special,
                items->skipped_special == 1 ? "" : "s");
    fputc('\n', stderr);
}

int tool_scan_main(int argc, char **argv)
{
    scan_opts o;
    scan_job job;
    scan_stats st = {0};
    tool_items items = {0};
    guard_engine *engine = NULL;
    bool progress_on = false, lock_ready = false, report_open = false;
    unsigned long threads;
    double t0, t_rules;
    int rc, exit_code = TOOL_EXIT_ERROR;

    memset(&job, 0, sizeof job);
    rc = parse_scan_args(argc, argv, &o);
    if (rc)
        goto out_opts;
    t0 = tool_now();
    if (tool_engine_open(&o.g, "scan", &engine, &job.rs))
        goto out_opts;
    t_rules = tool_now() - t0;
    t0 += t_rules;
    job.scope = o.g.scope;
    job.rp.fmt = o.fmt;
    job.rp.color = tool_term_use_color(STDOUT_FILENO, o.color);
    pthread_mutex_init(&job.out_lock, NULL);
    lock_ready = true;
    install_signals();
    if (tool_progress_start(&job.pg, isatty(STDERR_FILENO) && !o.no_progress, &job.out_lock)) {
        fprintf(stderr, "cordon scan: cannot start the progress display\n");
        goto out;
    }
    progress_on = true;

    if (tool_walk(&items, o.paths, o.n_paths, &scan_stop, &job.pg.found)) {
        if (!scan_stop)
            fprintf(stderr, "cordon scan: out of memory while walking\n");
        goto out;
    }
    job.items = &items;
    atomic_init(&job.next, 0);
    tool_progress_scanning(&job.pg, items.n, items.bytes);

    if (o.fmt->open && o.fmt->open(&job.rp, items.n)) {
        fprintf(stderr, "cordon scan: out of memory\n");
        goto out;
    }
    report_open = true;
    threads = o.threads ? o.threads : default_threads();
    if (threads > items.n)
        threads = items.n ? items.n : 1;
    if (run_workers(&job, threads, &st))
        goto out;
    tool_progress_stop(&job.pg);
    progress_on = false;
    if (scan_stop)
        goto out;

    if (o.fmt->finish && o.fmt->finish(&job.rp, stdout)) {
        fprintf(stderr, "cordon scan: cannot write the %s report\n", o.fmt->name);
        st.errors++;
    }
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "cordon scan: write error: %s\n", strerror(errno));
        st.errors++;
    }
    if (o.fmt == &tool_format_text || isatty(STDERR_FILENO))
        print_summary(&st, &items, tool_now() - t0, t_rules);
    if (st.errors)
        exit_code = TOOL_EXIT_ERROR;
    else if (st.items > st.verdicts[GUARD_ALLOW])
        exit_code = TOOL_EXIT_FINDINGS;
    else
        exit_code = TOOL_EXIT_ALLOW;
out:
    if (progress_on)
        tool_progress_stop(&job.pg);
    if (scan_stop) {
        fprintf(stderr, "cordon scan: interrupted\n");
        exit_code = TOOL_EXIT_INTERRUPTED;
    }
    if (report_open && o.fmt->close)
        o.fmt->close(&job.rp);
    if (lock_ready)
        pthread_mutex_destroy(&job.out_lock);
    tool_items_free(&items);
    if (job.rs)
        guard_ruleset_unref(job.rs);
    if (engine)
        guard_engine_free(engine);
out_opts:
    tool_guard_opts_free(&o.g);
    if (rc > 0)
        return TOOL_EXIT_ALLOW;
    return exit_code;
}
