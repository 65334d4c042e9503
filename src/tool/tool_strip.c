/*
 * tool_strip.c — `cordon strip`: metadata removal. PLACEHOLDER while it is written.
 */
#include "tool_cmd.h"

int tool_strip_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("cordon strip: not available in this build yet\n", stderr);
    return TOOL_EXIT_ERROR;
}

void tool_strip_help(FILE *f)
{
    fputs("usage: cordon strip (not available in this build yet)\n", f);
}
