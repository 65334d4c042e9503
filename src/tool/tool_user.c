/*
 * tool_user.c — `cordon user`: account management. PLACEHOLDER while it is written.
 */
#include "tool_cmd.h"

int tool_user_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("cordon user: not available in this build yet\n", stderr);
    return TOOL_EXIT_ERROR;
}

void tool_user_help(FILE *f)
{
    fputs("usage: cordon user (not available in this build yet)\n", f);
}
