/*
 * tool_user.c — `cordon user`: account management on the server's database
 * (add, list, disable, enable, reset-password, role). Works while the
 * server runs: SQLite WAL lets this process write between the server's
 * commits, and the server re-reads accounts and sessions from the store.
 *
 * Every change is audited with actor "cli" (docs/AUDIT.md). One-time
 * passwords are printed once on stdout and never stored in clear.
 */
#include "base/base_text.h"
#include "tool_store.h"
#include "tool_cmd.h"
#include "tool_opts.h"

#include "account/acct.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CMD "user"

enum { OPT_DATA = TOOL_OPT_FIRST_FREE, OPT_CONFIG, OPT_NAME, OPT_ROLE, OPT_EXTERNAL, OPT_STDIN };

static const struct option user_longopts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"name", required_argument, NULL, OPT_NAME},
    {"role", required_argument, NULL, OPT_ROLE},
    {"external", no_argument, NULL, OPT_EXTERNAL},
    {"password-stdin", no_argument, NULL, OPT_STDIN},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct user_opts {
    const char *data, *config, *name, *role;
    bool external, password_stdin, json;
} user_opts;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fail_msg(const char *what, int rc)
{
    fprintf(stderr, "cordon user: %s: %s\n", what, acct_strerror(rc));
}

static int open_store(const user_opts *o, bool create, store **s)
{
    return tool_store_open(CMD, o->data, o->config, create, s, NULL);
}

/* Reads a password from stdin (first line, newline removed). */
static int read_password(char *buf, size_t cap)
{
    size_t n;

    if (!fgets(buf, (int)cap, stdin))
        return -1;
    n = strcspn(buf, "\r\n");
    buf[n] = 0;
    return 0;
}

static int find_user(store *s, const char *login, store_user *u)
{
    char name[STORE_LOGIN_MAX + 1];
    int rc;

    snprintf(name, sizeof name, "%s", login);
    rc = store_user_get_by_login(s, acct_login_normalise(name), u);
    if (rc == STORE_NOTFOUND)
        fprintf(stderr, "cordon user: no such user '%s'\n", login);
    else if (rc)
        fail_msg(login, rc);
    return rc;
}

static int audit_cli(store *s, const char *event, int64_t user_id, json_t *detail)
{
    store_audit_new e = {.time = now_ms(), .actor = "cli", .event = event};
    char target[32], *text = detail ? json_dumps(detail, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    int rc;

    snprintf(target, sizeof target, "user:%lld", (long long)user_id);
    e.target = target;
    e.detail = text;
    rc = store_audit_append(s, &e, NULL);
    free(text);
    json_decref(detail);
    return rc;
}

static int cmd_add(store *s, const user_opts *o, const char *login)
{
    char otp[ACCT_OTP_LEN + 1], pw[ACCT_PASSWORD_MAX + 2];
    const char *reason = NULL;
    int role = o->role ? store_role_parse(o->role) : STORE_ROLE_MEMBER;
    int64_t id = 0;
    int rc;

    if (role < 0) {
        fprintf(stderr, "cordon user: unknown role '%s' (member, officer, admin)\n", o->role);
        return TOOL_EXIT_ERROR;
    }
    /* the rule the API applies to display names (docs/API.md) */
    switch (o->name ? base_text_check(o->name, strlen(o->name), BASE_TEXT_NAME_MAX)
                    : BASE_TEXT_OK) {
    case BASE_TEXT_OK:
        break;
    case BASE_TEXT_TOO_LONG:
        fprintf(stderr, "cordon user: --name is longer than %d characters\n", BASE_TEXT_NAME_MAX);
        return TOOL_EXIT_ERROR;
    default:
        fputs("cordon user: --name must be UTF-8 without control or bidirectional-override "
              "characters\n",
              stderr);
        return TOOL_EXIT_ERROR;
    }
    if (o->password_stdin) {
        if (read_password(pw, sizeof pw)) {
            fputs("cordon user: no password on stdin\n", stderr);
            return TOOL_EXIT_ERROR;
        }
        if (acct_password_check(pw, login, o->name, &reason) != ACCT_OK) {
            fprintf(stderr, "cordon user: password refused: %s\n", reason);
            sodium_memzero(pw, sizeof pw);
            return TOOL_EXIT_ERROR;
        }
    }
    rc = acct_user_add(s, NULL, login, o->name, (store_role)role, o->external,
                       o->password_stdin ? pw : NULL, otp, 0, "cli", now_ms(), &id);
    sodium_memzero(pw, sizeof pw);
    if (rc) {
        fail_msg(login, rc);
        return TOOL_EXIT_ERROR;
    }
    if (o->password_stdin)
        printf("created user %s (id %lld)\n", login, (long long)id);
    else
        printf("created user %s (id %lld)\none-time password: %s\n"
               "(must be changed at first login)\n",
               login, (long long)id, otp);
    sodium_memzero(otp, sizeof otp);
    return TOOL_EXIT_ALLOW;
}

static int cmd_list(store *s, const user_opts *o)
{
    store_users l = {0};
    int rc = store_user_list(s, true, &l);

    if (rc) {
        fail_msg("list", rc);
        return TOOL_EXIT_ERROR;
    }
    if (!o->json)
        printf("%-6s %-20s %-8s %-24s %s\n", "ID", "LOGIN", "ROLE", "FLAGS", "NAME");
    for (size_t i = 0; i < l.n; i++) {
        const store_user *u = &l.items[i];

        if (o->json) {
            json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:b, s:b, s:b, s:b}", "id",
                                  (json_int_t)u->id, "login", u->login, "display_name",
                                  u->display_name, "role", store_role_name(u->role), "external",
                                  u->external, "disabled", u->disabled, "must_change_password",
                                  u->must_change_password, "totp", u->totp_enabled);

            if (j) {
                json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
                fputc('\n', stdout);
                json_decref(j);
            }
        } else {
            char flags[64];

            snprintf(flags, sizeof flags, "%s%s%s%s", u->disabled ? "disabled," : "",
                     u->external ? "external," : "", u->must_change_password ? "must-change," : "",
                     u->totp_enabled ? "totp," : "");
            if (*flags)
                flags[strlen(flags) - 1] = 0;
            else
                snprintf(flags, sizeof flags, "-");
            printf("%-6lld %-20s %-8s %-24s %s\n", (long long)u->id, u->login,
                   store_role_name(u->role), flags, u->display_name);
        }
    }
    store_users_free(&l);
    return TOOL_EXIT_ALLOW;
}

/* disable / enable / role: a patch plus its audit entry, atomically. */
static int cmd_patch(store *s, const char *login, const store_user_patch *p, const char *event,
                     json_t *detail)
{
    store_user u = {0};
    int rc = find_user(s, login, &u);

    if (rc)
        goto fail;
    rc = store_tx_begin(s);
    if (rc)
        goto fail;
    rc = store_user_update(s, u.id, p);
    if (!rc) {
        rc = audit_cli(s, event, u.id, detail);
        detail = NULL;
    }
    if (rc)
        store_tx_rollback(s);
    else
        rc = store_tx_commit(s);
    if (rc)
        fail_msg(login, rc);
fail:
    json_decref(detail);
    store_user_clear(&u);
    return rc ? TOOL_EXIT_ERROR : TOOL_EXIT_ALLOW;
}

static int cmd_reset(store *s, const char *login)
{
    store_user u = {0};
    char otp[ACCT_OTP_LEN + 1];
    int rc = find_user(s, login, &u);

    if (rc)
        goto fail;
    rc = acct_password_reset(s, NULL, u.id, otp, 0, "cli", now_ms());
    if (rc) {
        fail_msg(login, rc);
        goto fail;
    }
    printf("one-time password for %s: %s\n(must be changed at next login; sessions revoked)\n",
           u.login, otp);
    sodium_memzero(otp, sizeof otp);
fail:
    store_user_clear(&u);
    return rc ? TOOL_EXIT_ERROR : TOOL_EXIT_ALLOW;
}

static int usage_error(const char *m)
{
    fprintf(stderr, "cordon user: %s\nTry 'cordon help user'.\n", m);
    return TOOL_EXIT_ERROR;
}

int tool_user_main(int argc, char **argv)
{
    user_opts o = {0};
    store_user_patch p = {0};
    const char *sub, *login = NULL;
    store *s = NULL;
    int c, rc = TOOL_EXIT_ERROR, nargs, role;

    while ((c = getopt_long(argc, argv, ":hj", user_longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DATA:
            o.data = optarg;
            break;
        case OPT_CONFIG:
            o.config = optarg;
            break;
        case OPT_NAME:
            o.name = optarg;
            break;
        case OPT_ROLE:
            o.role = optarg;
            break;
        case OPT_EXTERNAL:
            o.external = true;
            break;
        case OPT_STDIN:
            o.password_stdin = true;
            break;
        case 'j':
            o.json = true;
            break;
        case 'h':
            tool_user_help(stdout);
            return TOOL_EXIT_ALLOW;
        default:
            tool_getopt_error(CMD, c, argv);
            return TOOL_EXIT_ERROR;
        }
    }
    if (optind >= argc)
        return usage_error("missing subcommand (add, list, disable, enable, reset-password, role)");
    sub = argv[optind];
    nargs = argc - optind - 1;
    if (nargs >= 1)
        login = argv[optind + 1];
    if (acct_init() != ACCT_OK) {
        fputs("cordon user: cannot initialise libsodium\n", stderr);
        return TOOL_EXIT_ERROR;
    }
    if (!strcmp(sub, "list")) {
        if (nargs != 0)
            return usage_error("list takes no argument");
        if (open_store(&o, false, &s))
            goto out;
        rc = cmd_list(s, &o);
    } else if (!strcmp(sub, "add")) {
        if (nargs != 1)
            return usage_error("usage: cordon user add LOGIN [--name NAME] [--role ROLE] "
                               "[--external] [--password-stdin]");
        if (open_store(&o, true, &s))
            goto out;
        rc = cmd_add(s, &o, login);
    } else if (!strcmp(sub, "disable") || !strcmp(sub, "enable")) {
        bool dis = !strcmp(sub, "disable");

        if (nargs != 1)
            return usage_error("usage: cordon user disable|enable LOGIN");
        if (open_store(&o, false, &s))
            goto out;
        p.fields = STORE_USER_DISABLED;
        p.disabled = dis;
        p.now = now_ms();
        rc = cmd_patch(s, login, &p, dis ? "user.disable" : "user.enable", NULL);
        if (!rc)
            printf("%s %s%s\n", dis ? "disabled" : "enabled", login,
                   dis ? " (sessions revoked)" : "");
    } else if (!strcmp(sub, "reset-password")) {
        if (nargs != 1)
            return usage_error("usage: cordon user reset-password LOGIN");
        if (open_store(&o, false, &s))
            goto out;
        rc = cmd_reset(s, login);
    } else if (!strcmp(sub, "role")) {
        if (nargs != 2)
            return usage_error("usage: cordon user role LOGIN member|officer|admin");
        role = store_role_parse(argv[optind + 2]);
        if (role < 0)
            return usage_error("role must be member, officer or admin");
        if (open_store(&o, false, &s))
            goto out;
        p.fields = STORE_USER_ROLE;
        p.role = (store_role)role;
        p.now = now_ms();
        rc = cmd_patch(s, login, &p, "user.role", json_pack("{s:s}", "role", argv[optind + 2]));
        if (!rc)
            printf("%s is now %s\n", login, argv[optind + 2]);
    } else {
        fprintf(stderr, "cordon user: unknown subcommand '%s'\nTry 'cordon help user'.\n", sub);
    }
out:
    store_close(s);
    return rc;
}

void tool_user_help(FILE *f)
{
    fputs("usage: cordon user add LOGIN [--name NAME] [--role ROLE] [--external]\n"
          "                           [--password-stdin]\n"
          "       cordon user list [--json]\n"
          "       cordon user disable|enable LOGIN\n"
          "       cordon user reset-password LOGIN\n"
          "       cordon user role LOGIN member|officer|admin\n"
          "\n"
          "Manages accounts in the server's database; safe while the server runs.\n"
          "add and reset-password print a one-time password that must be changed at\n"
          "the first login (add --password-stdin reads a password instead, checked\n"
          "against the password policy). disable revokes the user's sessions.\n"
          "Every change is recorded in the audit log.\n"
          "\n"
          "Options:\n"
          "  --data DIR      data directory (default ./cordon-data)\n"
          "  --config FILE   take data_dir from the server's configuration file\n"
          "  --name NAME     display name (add)\n"
          "  --role ROLE     member (default), officer or admin (add)\n"
          "  --external      an external account (add)\n"
          "  --json          list as JSON Lines\n"
          "\n"
          "Exit status: 0 done, 2 error.\n",
          f);
}
