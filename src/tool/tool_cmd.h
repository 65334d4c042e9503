/*
 * tool_cmd.h — the subcommands of `cordon` and the exit codes they share.
 *
 * main() dispatches on a table of tool_cmd (tool_main.c); a new subcommand
 * is one more row there and one more pair of functions here.
 */
#ifndef TOOL_CMD_H
#define TOOL_CMD_H

#include <stdio.h>

/* Exit codes, the same for every subcommand (docs/CLI.md). */
enum {
    TOOL_EXIT_ALLOW = 0,        /* everything inspected was allowed */
    TOOL_EXIT_FINDINGS = 1,     /* something was ruled above allow */
    TOOL_EXIT_ERROR = 2,        /* usage error, bad policy, unreadable input... */
    TOOL_EXIT_INTERRUPTED = 130 /* stopped by SIGINT/SIGTERM */
};

typedef struct tool_cmd {
    const char *name;
    const char *summary; /* one line for `cordon --help` */
    /* Runs the subcommand; argv[0] is its name. Returns an exit code. */
    int (*run)(int argc, char **argv);
    /* Prints the full help of the subcommand. */
    void (*help)(FILE *f);
} tool_cmd;

int tool_scan_main(int argc, char **argv);
void tool_scan_help(FILE *f);
int tool_check_main(int argc, char **argv);
void tool_check_help(FILE *f);
int tool_strip_main(int argc, char **argv);
void tool_strip_help(FILE *f);
int tool_watermark_main(int argc, char **argv);
void tool_watermark_help(FILE *f);
int tool_serve_main(int argc, char **argv);
void tool_serve_help(FILE *f);
int tool_user_main(int argc, char **argv);
void tool_user_help(FILE *f);
int tool_audit_main(int argc, char **argv);
void tool_audit_help(FILE *f);
int tool_backup_main(int argc, char **argv);
int tool_restore_main(int argc, char **argv);
void tool_backup_help(FILE *f);
int tool_export_main(int argc, char **argv);
void tool_export_help(FILE *f);

#endif
