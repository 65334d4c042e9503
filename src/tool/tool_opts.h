/*
 * tool_opts.h — command-line pieces shared by subcommands: the options that
 * choose the rules (--policy, --lexicon, --cache-dir, --scope), loading them
 * into a guard engine, and uniform usage errors.
 *
 * Subcommands parse with getopt_long using an option string that starts with
 * ':' (so a missing argument is told apart from an unknown option) and hand
 * anything they do not know to tool_guard_opt() first.
 */
#ifndef TOOL_OPTS_H
#define TOOL_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "cordon/guard.h"

/* getopt_long values of the shared long options (beyond any char). */
enum {
    TOOL_OPT_POLICY = 0x100,
    TOOL_OPT_LEXICON,
    TOOL_OPT_CACHE_DIR,
    TOOL_OPT_SCOPE,
    TOOL_OPT_NO_CACHE,
    TOOL_OPT_FIRST_FREE /* subcommands number their own options from here */
};

/* Entries for a subcommand's struct option array. */
#define TOOL_GUARD_LONGOPTS                                                                        \
    {"policy", required_argument, NULL, TOOL_OPT_POLICY},                                          \
        {"lexicon", required_argument, NULL, TOOL_OPT_LEXICON},                                    \
        {"cache-dir", required_argument, NULL, TOOL_OPT_CACHE_DIR},                                \
        {"no-cache", no_argument, NULL, TOOL_OPT_NO_CACHE},                                        \
    {                                                                                              \
        "scope", required_argument, NULL, TOOL_OPT_SCOPE                                           \
    }

typedef struct tool_guard_opts {
    const char *policy;    /* NULL: built-in default */
    const char **lexicons; /* argv strings, not owned */
    size_t n_lexicons;
    const char *cache_dir; /* NULL: $CORDON_CACHE_DIR, else $XDG_CACHE_HOME/cordon,
                              else ~/.cache/cordon */
    int no_cache;          /* --no-cache: compile every time */
    guard_scope scope;     /* default internal */
} tool_guard_opts;

/* Handles a shared option. Returns 1 when handled, 0 when `opt` is not a
 * shared one, -1 on a bad value or out of memory (message printed). */
int tool_guard_opt(tool_guard_opts *o, int opt, const char *arg, const char *cmd);
void tool_guard_opts_free(tool_guard_opts *o);

/* Compiles the rules and takes a reference to the ruleset. On error prints
 * the guard's message (file:line for policy and lexicon files) and returns
 * -1; nothing is left to free then. */
int tool_engine_open(const tool_guard_opts *o, const char *cmd, guard_engine **e,
                     guard_ruleset **rs);

/* Prints "cordon CMD: message" and a pointer to the help on stderr. */
void tool_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports what getopt_long's return c (':' or '?') means. */
void tool_getopt_error(const char *cmd, int c, char *const *argv);

/* Parses a decimal in [min, max]. Returns 0 or -1. */
int tool_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);

#endif
