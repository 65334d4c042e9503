/*
 * tool_opts.c — shared options, engine setup and usage errors (see
 * tool_opts.h).
 */
#include "tool_opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tool_guard_opt(tool_guard_opts *o, int opt, const char *arg, const char *cmd)
{
    const char **v;

    switch (opt) {
    case TOOL_OPT_POLICY:
        o->policy = arg;
        return 1;
    case TOOL_OPT_LEXICON:
        v = realloc(o->lexicons, (o->n_lexicons + 1) * sizeof *v);
        if (!v) {
            fprintf(stderr, "cordon %s: out of memory\n", cmd);
            return -1;
        }
        v[o->n_lexicons++] = arg;
        o->lexicons = v;
        return 1;
    case TOOL_OPT_CACHE_DIR:
        o->cache_dir = arg;
        return 1;
    case TOOL_OPT_NO_CACHE:
        o->no_cache = 1;
        return 1;
    case TOOL_OPT_SCOPE:
        if (!strcmp(arg, "internal")) {
            o->scope = GUARD_SCOPE_INTERNAL;
        } else if (!strcmp(arg, "external")) {
            o->scope = GUARD_SCOPE_EXTERNAL;
        } else if (!strcmp(arg, "inbound")) {
            o->scope = GUARD_SCOPE_INBOUND;
        } else {
            tool_usage_error(cmd, "--scope must be internal, external or inbound, not '%s'", arg);
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}

void tool_guard_opts_free(tool_guard_opts *o)
{
    free(o->lexicons);
    o->lexicons = NULL;
    o->n_lexicons = 0;
}

int tool_engine_open(const tool_guard_opts *o, const char *cmd, guard_engine **e,
                     guard_ruleset **rs)
{
    guard_options gopt = {o->policy, o->lexicons, o->n_lexicons, o->cache_dir};
    guard_error err = {0};
    char dflt[4096];

    /* Compiling the rules costs ~0.5 s even with no lexicon (and a minute for
     * a million terms); a cached database loads in milliseconds. The cache is
     * keyed by everything compiled, so it can never serve stale rules. */
    if (o->no_cache) {
        gopt.cache_dir = NULL;
    } else if (!gopt.cache_dir) {
        const char *env = getenv("CORDON_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"),
                   *home = getenv("HOME");
        if (env && *env)
            gopt.cache_dir = env;
        else if (xdg && *xdg && snprintf(dflt, sizeof dflt, "%s/cordon", xdg) < (int)sizeof dflt)
            gopt.cache_dir = dflt;
        else if (home && *home &&
                 snprintf(dflt, sizeof dflt, "%s/.cache/cordon", home) < (int)sizeof dflt)
            gopt.cache_dir = dflt;
    }

    if (guard_engine_new(&gopt, e, &err)) {
        /* the guard's message already names file:line for parse errors */
        fprintf(stderr, "cordon %s: %s\n", cmd, err.message[0] ? err.message : "cannot load rules");
        return -1;
    }
    *rs = guard_engine_acquire(*e);
    if (!*rs) {
        fprintf(stderr, "cordon %s: no ruleset\n", cmd);
        guard_engine_free(*e);
        *e = NULL;
        return -1;
    }
    return 0;
}

void tool_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "cordon %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'cordon help %s'.\n", cmd);
}

void tool_getopt_error(const char *cmd, int c, char *const *argv)
{
    const char *bad = argv[optind - 1];

    if (c == ':') {
        tool_usage_error(cmd, "option '%s' needs an argument", bad);
    } else if (optopt && optopt < 0x100) {
        tool_usage_error(cmd, "unknown option '-%c'", optopt);
    } else {
        /* getopt_long leaves the bad word at optind - 1 for long options */
        tool_usage_error(cmd, "unknown option '%s'", bad);
    }
}

int tool_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (!*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
