/*
 * tool_main.c — `cordon`: one binary, subcommands dispatched from a table.
 *
 * The tool is a client of the guard library's public API (cordon/guard.h)
 * and nothing else; each subcommand lives in its own tool_<name>.c.
 */
#include "tool_cmd.h"

#include "cordon/guard_file.h"

#include <string.h>

static const tool_cmd commands[] = {
    {"scan", "inspect files, directories or stdin and report findings", tool_scan_main,
     tool_scan_help},
    {"check", "rule on one message from stdin; print the verdict as JSON", tool_check_main,
     tool_check_help},
    {"strip", "write a copy of an image with all metadata removed", tool_strip_main,
     tool_strip_help},
    {"watermark", "hide a viewer's id in an image, or read it back", tool_watermark_main,
     tool_watermark_help},
    {"serve", "run the work-chat server", tool_serve_main, tool_serve_help},
    {"user", "manage accounts: add, list, disable, reset-password, role", tool_user_main,
     tool_user_help},
    {"audit", "verify or export the hash-chained audit log", tool_audit_main, tool_audit_help},
    {"export", "compliance export of a conversation or a user's messages", tool_export_main,
     tool_export_help},
    {"backup", "copy the server's data while it runs", tool_backup_main, tool_backup_help},
    {"restore", "start a new data directory from a backup", tool_restore_main, tool_backup_help},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const tool_cmd *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static void usage(FILE *f)
{
    fputs("usage: cordon [--help | --version] COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "Cordon inspects content for classified markings, lexicon terms, personal\n"
          "data, secrets and risky links, and applies a policy to what it finds.\n"
          "\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fputs("  help      show the help of a command: cordon help COMMAND\n"
          "\n"
          "Exit status: 0 allow, 1 something above allow, 2 error.\n",
          f);
}

static int help_command(int argc, char **argv)
{
    const tool_cmd *c;

    if (argc < 3) {
        usage(stdout);
        return TOOL_EXIT_ALLOW;
    }
    c = find_command(argv[2]);
    if (!c || argc > 3) {
        fprintf(stderr, "cordon help: %s '%s'\nTry 'cordon --help'.\n",
                c ? "unexpected argument" : "unknown command", argv[c ? 3 : 2]);
        return TOOL_EXIT_ERROR;
    }
    c->help(stdout);
    return TOOL_EXIT_ALLOW;
}

int main(int argc, char **argv)
{
    const tool_cmd *c;
    const char *a;
    int rc;

    /* Started again as a file-extraction worker (cordon/guard_file.h)? */
    rc = guard_file_worker_dispatch(argc, argv);
    if (rc >= 0)
        return rc;
    if (argc < 2) {
        usage(stderr);
        return TOOL_EXIT_ERROR;
    }
    a = argv[1];
    if (!strcmp(a, "--help") || !strcmp(a, "-h"))
        return help_command(1, argv);
    if (!strcmp(a, "help"))
        return help_command(argc, argv);
    if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
        puts("cordon " CORDON_VERSION);
        return TOOL_EXIT_ALLOW;
    }
    if (a[0] == '-') {
        fprintf(stderr, "cordon: unknown option '%s'\nTry 'cordon --help'.\n", a);
        return TOOL_EXIT_ERROR;
    }
    c = find_command(a);
    if (!c) {
        fprintf(stderr, "cordon: unknown command '%s'\nTry 'cordon --help'.\n", a);
        return TOOL_EXIT_ERROR;
    }
    return c->run(argc - 1, argv + 1);
}
