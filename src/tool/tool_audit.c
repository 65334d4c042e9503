/*
 * tool_audit.c — `cordon audit`: verify the hash-chained audit log (and
 * that it still holds its signed checkpoints), write a checkpoint, or
 * export the log as JSON Lines (docs/AUDIT.md). Reads the server's
 * database, also while the server runs (WAL readers never block the writer).
 */
#include "tool_cmd.h"
#include "tool_opts.h"
#include "tool_store.h"

#include "server/srv.h"
#include "store/store.h"
#include "store/store_ckpt.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define CMD "audit"

enum { OPT_DATA = TOOL_OPT_FIRST_FREE, OPT_CONFIG, OPT_CHECKPOINT, OPT_KEY };

static const struct option audit_longopts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"output", required_argument, NULL, 'o'},
    {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
    {"key", required_argument, NULL, OPT_KEY},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int open_store(const char *data, const char *config, store **s)
{
    return tool_store_open(CMD, data, config, false, s, NULL);
}

/* What the command line and the configuration say. */
typedef struct audit_args {
    const char *data, *config, *out;
    const char *checkpoint;   /* --checkpoint FILE or "-"; NULL: the configured file */
    const char *key;          /* --key; NULL: the configured key */
    char *cfg_key, *cfg_file; /* configured (or default) paths, heap */
} audit_args;

/* The checkpoint key and file as `cordon serve` would use them: from the
 * config file's audit: section, else under the data directory. */
static int config_paths(audit_args *a)
{
    srv_config cfg;
    char err[1024];
    int rc = -1;

    if (srv_config_defaults(&cfg)) {
        fputs("cordon audit: out of memory\n", stderr);
        return -1;
    }
    if (a->config && srv_config_load(&cfg, a->config, err, sizeof err)) {
        fprintf(stderr, "cordon audit: %s\n", err);
        goto fail;
    }
    if (a->data && srv_config_set_str(&cfg.data_dir, a->data)) {
        fputs("cordon audit: out of memory\n", stderr);
        goto fail;
    }
    if (srv_config_audit_paths(&cfg, &a->cfg_key, &a->cfg_file)) {
        fputs("cordon audit: out of memory\n", stderr);
        goto fail;
    }
    rc = 0;
fail:
    srv_config_free(&cfg);
    return rc;
}

/* The checkpoints to check: --checkpoint FILE or - (stdin), else the
 * configured file when it exists. *f NULL: nothing to check. */
static int open_checkpoints(const audit_args *a, FILE **f, const char **name)
{
    *name = a->checkpoint ? a->checkpoint : a->cfg_file;
    *f = NULL;
    if (a->checkpoint && !strcmp(a->checkpoint, "-")) {
        *f = stdin;
        *name = "standard input";
        return 0;
    }
    *f = fopen(*name, "re");
    if (*f || (!a->checkpoint && errno == ENOENT))
        return 0;
    fprintf(stderr, "cordon audit: %s: %s\n", *name, strerror(errno));
    return -1;
}

static int cmd_verify(store *s, const audit_args *a)
{
    store_audit_verify_result r;
    store_ckpt_report rep;
    uint8_t head[STORE_AUDIT_HASH_LEN], pk[STORE_CKPT_PK_LEN];
    char hex[2 * STORE_AUDIT_HASH_LEN + 1], err[512], msg[400];
    const char *name = NULL;
    int64_t seq = 0;
    FILE *f = NULL;
    int rc, ret = TOOL_EXIT_ERROR;

    /* The checkpoint file is opened before the chain is read: whatever the
     * server appends to it meanwhile names a head the chain has reached. */
    if (open_checkpoints(a, &f, &name))
        goto out;
    if (f && store_ckpt_pubkey(a->key ? a->key : a->cfg_key, pk, err, sizeof err)) {
        fprintf(stderr, "cordon audit: checkpoint key: %s (give the public key with --key)\n", err);
        goto out;
    }
    rc = store_audit_verify(s, &r);
    if (rc) {
        fprintf(stderr, "cordon audit: cannot read the audit log: %s\n", store_strerror(rc));
        goto out;
    }
    if (!r.ok) {
        printf("audit log BROKEN at entry %lld: %s (%lld entries verified before it)\n",
               (long long)r.first_bad, r.reason, (long long)r.entries);
        ret = TOOL_EXIT_FINDINGS;
        goto out;
    }
    rc = store_audit_head(s, &seq, head);
    if (rc) {
        fprintf(stderr, "cordon audit: %s\n", store_strerror(rc));
        goto out;
    }
    sodium_bin2hex(hex, sizeof hex, head, sizeof head);
    printf("audit log intact up to seq %lld: %lld entries, head %s\n", (long long)r.entries,
           (long long)r.entries, hex);
    if (!f) {
        /* Without a checkpoint, cutting the end of the log goes unseen. */
        printf("no checkpoint file (%s): a truncated end of the log cannot be detected\n", name);
        ret = TOOL_EXIT_ALLOW;
        goto out;
    }
    rc = store_ckpt_check(s, f, pk, r.entries, &rep);
    if (rc) {
        fprintf(stderr, "cordon audit: %s: %s\n", name, store_strerror(rc));
        goto out;
    }
    store_ckpt_describe(&rep, msg, sizeof msg);
    if (rep.status == STORE_CKPT_NONE) {
        printf("no checkpoint in %s\n", name);
        /* An explicit checkpoint that holds none is a mistake, not a pass. */
        ret = a->checkpoint ? TOOL_EXIT_ERROR : TOOL_EXIT_ALLOW;
    } else {
        printf("%s%s\n", rep.status == STORE_CKPT_VERIFIED ? "" : "audit log BROKEN: ", msg);
        ret = rep.status == STORE_CKPT_VERIFIED ? TOOL_EXIT_ALLOW : TOOL_EXIT_FINDINGS;
    }
out:
    if (f && f != stdin)
        fclose(f);
    return ret;
}

/* Signs the head now: to the checkpoint file (unless --checkpoint -),
 * syslog, and stdout. */
static int cmd_checkpoint(store *s, const audit_args *a)
{
    const char *key = a->key ? a->key : a->cfg_key;
    const char *file = a->checkpoint ? a->checkpoint : a->cfg_file;
    char line[STORE_CKPT_LINE_MAX], err[512], pk[2 * STORE_CKPT_PK_LEN + 1];
    store_ckpt_key k;
    store_ckpt c;
    struct timespec ts;
    bool created = false;
    int rc, ret = TOOL_EXIT_ERROR;

    if (store_ckpt_key_load(key, true, &k, &created, err, sizeof err)) {
        fprintf(stderr, "cordon audit: checkpoint key: %s\n", err);
        goto out;
    }
    sodium_bin2hex(pk, sizeof pk, k.pk, sizeof k.pk);
    if (created)
        fprintf(stderr, "cordon audit: created the signing key %s (public key %s)\n", key, pk);
    clock_gettime(CLOCK_REALTIME, &ts);
    rc = store_ckpt_make(s, &k, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &c, line);
    if (rc) {
        fprintf(stderr, "cordon audit: checkpoint: %s\n", store_strerror(rc));
        goto out;
    }
    if (strcmp(file, "-") && store_ckpt_append(file, line, err, sizeof err)) {
        fprintf(stderr, "cordon audit: %s\n", err);
        goto out;
    }
    syslog(LOG_AUTHPRIV | LOG_NOTICE, "%s", line);
    printf("%s\n", line);
    ret = TOOL_EXIT_ALLOW;
out:
    sodium_memzero(&k, sizeof k);
    return ret;
}

static int cmd_export(store *s, const char *out)
{
    FILE *f = out && strcmp(out, "-") ? fopen(out, "w") : stdout;
    int rc;

    if (!f) {
        perror(out);
        return TOOL_EXIT_ERROR;
    }
    rc = store_audit_export(s, f);
    if (f != stdout && fclose(f) && !rc)
        rc = STORE_IO;
    if (rc) {
        fprintf(stderr, "cordon audit: export failed: %s\n", store_strerror(rc));
        return TOOL_EXIT_ERROR;
    }
    return TOOL_EXIT_ALLOW;
}

int tool_audit_main(int argc, char **argv)
{
    audit_args a = {0};
    const char *sub;
    store *s = NULL;
    int c, rc = TOOL_EXIT_ERROR;

    while ((c = getopt_long(argc, argv, ":ho:", audit_longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DATA:
            a.data = optarg;
            break;
        case OPT_CONFIG:
            a.config = optarg;
            break;
        case OPT_CHECKPOINT:
            a.checkpoint = optarg;
            break;
        case OPT_KEY:
            a.key = optarg;
            break;
        case 'o':
            a.out = optarg;
            break;
        case 'h':
            tool_audit_help(stdout);
            return TOOL_EXIT_ALLOW;
        default:
            tool_getopt_error(CMD, c, argv);
            return TOOL_EXIT_ERROR;
        }
    }
    if (optind + 1 != argc) {
        fputs("cordon audit: expected one subcommand: verify, checkpoint or export\n"
              "Try 'cordon help audit'.\n",
              stderr);
        return TOOL_EXIT_ERROR;
    }
    sub = argv[optind];
    if (strcmp(sub, "verify") && strcmp(sub, "export") && strcmp(sub, "checkpoint")) {
        fprintf(stderr, "cordon audit: unknown subcommand '%s'\nTry 'cordon help audit'.\n", sub);
        return TOOL_EXIT_ERROR;
    }
    /* export needs no checkpoint paths */
    if (sodium_init() < 0 || (strcmp(sub, "export") && config_paths(&a)) ||
        open_store(a.data, a.config, &s))
        goto fail;
    if (!strcmp(sub, "verify"))
        rc = cmd_verify(s, &a);
    else if (!strcmp(sub, "checkpoint"))
        rc = cmd_checkpoint(s, &a);
    else
        rc = cmd_export(s, a.out);
fail:
    store_close(s);
    free(a.cfg_key);
    free(a.cfg_file);
    return rc;
}

void tool_audit_help(FILE *f)
{
    fputs("usage: cordon audit verify [--checkpoint FILE|-] [--key PUBKEY|PATH]\n"
          "                           [--data DIR | --config FILE]\n"
          "       cordon audit checkpoint [--checkpoint FILE|-] [--key PATH]\n"
          "                               [--data DIR | --config FILE]\n"
          "       cordon audit export [-o FILE] [--data DIR | --config FILE]\n"
          "\n"
          "verify walks the hash chain of the audit log and either proves it intact\n"
          "(printing the last seq and the head hash) or names the first altered,\n"
          "missing or reordered entry; then it checks that the log still holds every\n"
          "signed checkpoint (seq and hash) of the checkpoint file, so that a cut end\n"
          "of the log is seen: 'log truncated: checkpoint at seq M ... but the log ends\n"
          "at seq K'. A checkpoint whose signature fails is an error, never skipped.\n"
          "checkpoint signs the current head, appends it to the checkpoint file, sends\n"
          "it to syslog (authpriv.notice) and prints it.\n"
          "export writes every entry as JSON Lines (stdout, or FILE with -o).\n"
          "\n"
          "Options:\n"
          "  --data DIR          data directory (default ./cordon-data)\n"
          "  --config FILE       the server's configuration: data_dir and the audit:\n"
          "                      checkpoint_key and checkpoint_file\n"
          "  --checkpoint FILE   checkpoints to verify against, or - for one line on stdin\n"
          "                      (a syslog line as it is); default: the configured file,\n"
          "                      when it exists. checkpoint: where to append (- = print only)\n"
          "  --key PUBKEY|PATH   verify: the public key (64 hex digits, a .pub file or the\n"
          "                      key file); checkpoint: the signing key file. Default: the\n"
          "                      configured key (DATA/audit-checkpoint.key)\n"
          "  -o, --output F      export to F instead of stdout\n"
          "\n"
          "Exit status: 0 intact (and the checkpoints verified) / written / exported;\n"
          "1 the chain is broken, the log was truncated or rewritten past a checkpoint,\n"
          "or a checkpoint is forged, malformed or of another database; 2 error.\n",
          f);
}
