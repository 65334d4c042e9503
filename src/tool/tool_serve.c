/*
 * tool_serve.c — `cordon serve`: the server. PLACEHOLDER while it is written.
 */
#include "tool_cmd.h"

int tool_serve_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("cordon serve: not available in this build yet\n", stderr);
    return TOOL_EXIT_ERROR;
}

void tool_serve_help(FILE *f)
{
    fputs("usage: cordon serve (not available in this build yet)\n", f);
}
