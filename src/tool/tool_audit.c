/*
 * tool_audit.c — `cordon audit`: the audit log. PLACEHOLDER while it is written.
 */
#include "tool_cmd.h"

int tool_audit_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("cordon audit: not available in this build yet\n", stderr);
    return TOOL_EXIT_ERROR;
}

void tool_audit_help(FILE *f)
{
    fputs("usage: cordon audit (not available in this build yet)\n", f);
}
