/*
 * tool_check.c — `cordon check`: rule on one message read from stdin.
 *
 * What the server does for a chat message, on the command line: the message
 * is read whole (up to CHECK_MAX bytes; more is refused, not cut), inspected
 * with guard_file_scan_message() (its text, and files pasted into it as
 * base64 or data: URLs) and the verdict printed as one JSON object with every
 * finding field, plus the masked text when the verdict is mask. The same
 * exit codes as scan: 0 allow, 1 above allow, 2 error.
 */
#include "tool_cmd.h"
#include "tool_json.h"
#include "tool_opts.h"
#include "tool_read.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The guard's default max_message_bytes: the public API does not expose a
 * ruleset's own limit, so a policy with a lower one is enforced by
 * guard_scan() itself (reported as an error), and this cap keeps stdin from
 * being read without bound. */
#define CHECK_MAX ((size_t)64 * 1024 * 1024)

static const struct option check_longopts[] = {
    TOOL_GUARD_LONGOPTS,
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void tool_check_help(FILE *f)
{
    fputs("usage: cordon check [OPTIONS] < MESSAGE\n"
          "\n"
          "Read one message on stdin and print the guard's verdict on it as one JSON\n"
          "object: verdict, decided_by, status, findings (with action, policy_rule,\n"
          "evasion, explanation) and, when the verdict is mask, the masked text.\n"
          "\n"
          "      --policy FILE        policy file (default: the built-in policy)\n"
          "      --lexicon FILE       extra lexicon file; may be repeated\n"
          "      --cache-dir DIR      cache compiled rules in DIR\n"
          "      --scope SCOPE        internal (default) or external recipients, or\n"
          "                           inbound: sent in by an outside sender\n"
          "  -h, --help               this help\n"
          "\n"
          "A message larger than 64 MiB (or the policy's max_message_bytes) is refused.\n"
          "Exit status: 0 allow, 1 above allow, 2 error.\n",
          f);
}

/* Reads all of stdin into *out. Returns 0, -1 on a read error or out of
 * memory (errno set), or 1 when there is more than `max` bytes. */
static int read_stdin(size_t max, char **out, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    int rc = -1;

    if (!buf)
        return -1;
    for (;;) {
        ssize_t k;
        if (n == cap) {
            /* one byte past max is enough to know it is too large */
            size_t nc = cap > max / 2 ? max + 1 : cap * 2;
            char *q;
            if (nc <= cap) {
                rc = 1;
                goto out;
            }
            q = realloc(buf, nc);
            if (!q)
                goto out;
            buf = q;
            cap = nc;
        }
        k = read(STDIN_FILENO, buf + n, cap - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            goto out;
        if (k == 0)
            break;
        n += (size_t)k;
        if (n > max) {
            rc = 1;
            goto out;
        }
    }
    *out = buf;
    *len = n;
    return 0;
out:
    free(buf);
    return rc;
}

/* Parses argv; returns 0, 1 when help was printed, or -1 (usage error). */
static int parse_check_args(int argc, char **argv, tool_guard_opts *g)
{
    int c, rc;

    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", check_longopts, NULL)) != -1) {
        rc = tool_guard_opt(g, c, optarg, "check");
        if (rc < 0)
            return -1;
        if (rc > 0)
            continue;
        if (c == 'h') {
            tool_check_help(stdout);
            return 1;
        }
        tool_getopt_error("check", c, argv);
        return -1;
    }
    if (optind < argc) {
        tool_usage_error("check", "unexpected argument '%s' (the message is read from stdin)",
                         argv[optind]);
        return -1;
    }
    return 0;
}

static int print_verdict(const tool_outcome *oc)
{
    const guard_result *r = oc->r;
    base_buf out = {0};
    tool_jw w;
    int rc = -1;

    base_buf_init(&out, SIZE_MAX);
    tool_jw_init(&w, &out);
    TOOL_JW_LIT(&w, "{");
    tool_jw_result(&w, r, oc->pos);
    if (r->verdict == GUARD_MASK && r->masked) {
        TOOL_JW_LIT(&w, ",\"masked\":");
        tool_jw_str(&w, r->masked, r->masked_len);
    }
    TOOL_JW_LIT(&w, "}\n");
    if (tool_jw_finish(&w) || fwrite(out.p, 1, out.len, stdout) != out.len || fflush(stdout))
        goto out;
    rc = 0;
out:
    base_buf_free(&out);
    return rc;
}

int tool_check_main(int argc, char **argv)
{
    tool_guard_opts g = {0};
    guard_engine *engine = NULL;
    guard_ruleset *rs = NULL;
    tool_reader rd = {0};
    tool_outcome oc = {0};
    guard_error gerr = {0};
    char *msg = NULL;
    size_t len = 0;
    int rc, exit_code = TOOL_EXIT_ERROR;

    rc = parse_check_args(argc, argv, &g);
    if (rc) {
        exit_code = rc > 0 ? TOOL_EXIT_ALLOW : TOOL_EXIT_ERROR;
        goto out;
    }
    if (tool_engine_open(&g, "check", &engine, &rs))
        goto out;
    rc = read_stdin(CHECK_MAX, &msg, &len);
    if (rc > 0) {
        fprintf(stderr, "cordon check: message too large: more than %zu MiB on stdin\n",
                CHECK_MAX >> 20);
        goto out;
    }
    if (rc < 0) {
        fprintf(stderr, "cordon check: cannot read stdin: %s\n", strerror(errno));
        goto out;
    }
    if (tool_reader_init(&rd, rs, g.scope, &gerr)) {
        fprintf(stderr, "cordon check: %s\n", gerr.message);
        goto out;
    }
    if (tool_read_buffer(&rd, msg, len, &oc, &gerr)) {
        /* a policy's max_message_bytes below CHECK_MAX is enforced here */
        fprintf(stderr, "cordon check: message refused: %s\n", gerr.message);
        goto out;
    }
    if (print_verdict(&oc)) {
        fprintf(stderr, "cordon check: cannot write the verdict: %s\n", strerror(errno));
        goto out;
    }
    exit_code = oc.r->verdict == GUARD_ALLOW ? TOOL_EXIT_ALLOW : TOOL_EXIT_FINDINGS;
out:
    tool_outcome_clear(&oc);
    if (rd.sc || rd.chunk)
        tool_reader_free(&rd);
    free(msg);
    if (rs)
        guard_ruleset_unref(rs);
    if (engine)
        guard_engine_free(engine);
    tool_guard_opts_free(&g);
    return exit_code;
}
