/*
 * tool_export.c — `cordon export`: the compliance export for an operator
 * on the machine (docs/CLI.md, docs/AUDIT.md "Compliance export"). Reads the
 * server's database directly like `cordon audit` (also while the server
 * runs) and writes the whole export into a new file, a page of the store at
 * a time (chat_export.h), so memory stays bounded whatever the size. The
 * export is audited as officer.export with actor "cli".
 */
#include "tool_cmd.h"
#include "tool_opts.h"
#include "tool_store.h"

#include "blob/blob.h"
#include "chat/chat_export.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CMD "export"

enum {
    OPT_DATA = TOOL_OPT_FIRST_FREE,
    OPT_CONFIG,
    OPT_CONV,
    OPT_USER,
    OPT_FROM,
    OPT_TO,
    OPT_FORMAT,
    OPT_REASON,
    OPT_NO_FILES
};

/* Bytes of files per message an export file carries (each read whole into
 * memory while its message is written); a larger file is named with a
 * note (chat_export.h). */
#define CLI_EXPORT_FILES_MAX ((size_t)64 << 20)

static const struct option export_longopts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"conversation", required_argument, NULL, OPT_CONV},
    {"user", required_argument, NULL, OPT_USER},
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"reason", required_argument, NULL, OPT_REASON},
    {"no-files", no_argument, NULL, OPT_NO_FILES},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void tool_export_help(FILE *f)
{
    fputs(
        "usage: cordon export (--data DIR | --config FILE) (--conversation ID | --user ID|LOGIN)\n"
        "                     --from MS --to MS [--format jsonl|eml] [--no-files] --reason TEXT\n"
        "                     OUT\n"
        "\n"
        "Writes the compliance export of a conversation, or of the messages a user sent,\n"
        "created in [from, to) (epoch milliseconds), followed by the audit entries of the\n"
        "same period and target, into OUT (a new file, created 0600; never overwritten).\n"
        "jsonl: JSON Lines; eml: an mbox of RFC 5322 messages. Recalled, contained and\n"
        "burned messages appear as such, without text. The files of the messages go\n"
        "with them (jsonl: \"file\" records in base64; eml: MIME attachments), at most\n"
        "64 MiB per message (a larger file is named with a note); --no-files exports\n"
        "their names and sizes only. The export is audited\n"
        "(officer.export, actor \"cli\"). Exit 0 on success, 2 on any error.\n",
        f);
}

typedef struct out_file {
    FILE *f;
} out_file;

static int to_file(void *ctx, const char *data, size_t len)
{
    out_file *o = ctx;

    return fwrite(data, 1, len, o->f) == len ? 0 : STORE_IO;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

static int audit_cli(store *s, const chat_export_req *q, const chat_export_result *res,
                     const char *path)
{
    json_t *d = chat_export_audit_detail(q, res);
    char target[48], *text;
    store_audit_new e = {.time = now_ms(), .actor = "cli", .event = "officer.export"};
    int rc;

    if (d)
        json_object_set_new(d, "output", json_string(path));
    text = d ? json_dumps(d, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    json_decref(d);
    if (!text)
        return STORE_NOMEM;
    chat_export_target(q, target, sizeof target);
    e.target = target;
    e.detail = text;
    rc = store_audit_append(s, &e, NULL);
    free(text);
    return rc;
}

/* What the command line asks for: the request q, and where from. */
typedef struct export_args {
    const char *data, *config, *user, *path;
    bool files;
} export_args;

/* Parses and checks the command line into q and a. Returns -1 when it is
 * fine, else the exit code (help asked for, or a usage error, reported). */
static int parse_args(int argc, char **argv, chat_export_req *q, export_args *a)
{
    const char *format = "jsonl", *bad;
    bool have_from = false, have_to = false;
    int c;

    a->files = true;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", export_longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DATA:
            a->data = optarg;
            break;
        case OPT_CONFIG:
            a->config = optarg;
            break;
        case OPT_CONV:
            if (!parse_i64(optarg, &q->conv_id) || q->conv_id <= 0) {
                fprintf(stderr, "cordon export: --conversation takes a conversation id\n");
                return TOOL_EXIT_ERROR;
            }
            break;
        case OPT_USER:
            a->user = optarg;
            break;
        case OPT_FROM:
            have_from = parse_i64(optarg, &q->from);
            if (!have_from) {
                fprintf(stderr, "cordon export: --from takes epoch milliseconds\n");
                return TOOL_EXIT_ERROR;
            }
            break;
        case OPT_TO:
            have_to = parse_i64(optarg, &q->to);
            if (!have_to) {
                fprintf(stderr, "cordon export: --to takes epoch milliseconds\n");
                return TOOL_EXIT_ERROR;
            }
            break;
        case OPT_FORMAT:
            format = optarg;
            break;
        case OPT_REASON:
            q->reason = optarg;
            break;
        case OPT_NO_FILES:
            a->files = false;
            break;
        case 'h':
            tool_export_help(stdout);
            return TOOL_EXIT_ALLOW;
        default:
            tool_export_help(stderr);
            return TOOL_EXIT_ERROR;
        }
    }
    if (optind != argc - 1 || !have_from || !have_to || (!q->conv_id == !a->user)) {
        tool_export_help(stderr);
        return TOOL_EXIT_ERROR;
    }
    a->path = argv[optind];
    if (!strcmp(format, "eml"))
        q->format = CHAT_EXPORT_EML;
    else if (strcmp(format, "jsonl")) {
        fprintf(stderr, "cordon export: --format is jsonl or eml\n");
        return TOOL_EXIT_ERROR;
    }
    q->user_id = a->user ? 1 : 0; /* checked by the caller once the login is resolved */
    q->actor = "cli";
    q->now = now_ms();
    bad = chat_export_check(q);
    if (bad) {
        fprintf(stderr, "cordon export: %s\n",
                !strcmp(bad, "reason_required")   ? "--reason is required"
                : !strcmp(bad, "reason_too_long") ? "the reason has at most 1000 bytes"
                                                  : "--from must be before --to");
        return TOOL_EXIT_ERROR;
    }
    return -1;
}

int tool_export_main(int argc, char **argv)
{
    const char *data, *config, *user, *path;
    chat_export_req q = {0};
    chat_export_result res = {0};
    export_args a = {0};
    out_file o = {0};
    store *s = NULL;
    store_user u = {0};
    blob_store *blobs = NULL;
    char *dir = NULL, *blob_dir = NULL;
    bool files;
    int fd, rc, exit_code = parse_args(argc, argv, &q, &a);

    if (exit_code >= 0)
        return exit_code;
    exit_code = TOOL_EXIT_ERROR;
    data = a.data;
    config = a.config;
    user = a.user;
    path = a.path;
    files = a.files;
    if (tool_store_open(CMD, data, config, false, &s, &dir))
        return TOOL_EXIT_ERROR;
    if (files) {
        /* the server's blob store: DATA/blobs (srv_upload.c) */
        if (!dir || asprintf(&blob_dir, "%s/blobs", dir) < 0) {
            blob_dir = NULL;
            fprintf(stderr, "cordon export: out of memory\n");
            goto fail;
        }
        rc = blob_local_open(blob_dir, &blobs);
        if (rc) {
            fprintf(stderr, "cordon export: blob store %s: %s\n", blob_dir, blob_strerror(rc));
            goto fail;
        }
        q.blobs = blobs;
        q.files_max = CLI_EXPORT_FILES_MAX;
    }
    if (user) {
        if (!parse_i64(user, &q.user_id)) {
            rc = store_user_get_by_login(s, user, &u);
            q.user_id = rc ? 0 : u.id;
        } else
            rc = store_user_get(s, q.user_id, &u);
        if (rc) {
            fprintf(stderr, "cordon export: no such user '%s'\n", user);
            goto fail;
        }
    }
    /* A new file only, readable by its owner: an export is the content. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || !(o.f = fdopen(fd, "w"))) {
        fprintf(stderr, "cordon export: %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto fail;
    }
    rc = chat_export_run(s, &q, to_file, &o, &res);
    if (fclose(o.f) && !rc)
        rc = STORE_IO;
    o.f = NULL;
    if (rc) {
        fprintf(stderr, "cordon export: %s\n",
                rc == STORE_NOTFOUND ? "no such conversation or user" : store_strerror(rc));
        unlink(path);
        goto fail;
    }
    rc = audit_cli(s, &q, &res, path);
    if (rc) {
        /* No export without its audit row. */
        fprintf(stderr, "cordon export: could not audit: %s\n", store_strerror(rc));
        unlink(path);
        goto fail;
    }
    fprintf(stderr,
            "cordon export: %lld messages (%lld without text), %lld files (%lld named only), "
            "%lld audit entries -> %s\n",
            (long long)res.messages, (long long)res.recalled, (long long)res.files,
            (long long)res.files_omitted, (long long)res.audit_entries, path);
    exit_code = TOOL_EXIT_ALLOW;
fail:
    store_user_clear(&u);
    if (blobs)
        blob_close(blobs);
    free(blob_dir);
    free(dir);
    store_close(s);
    return exit_code;
}
