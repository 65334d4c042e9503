/* ex_worker.c — PLACEHOLDER: the worker process's main. */
#include "cordon/guard_file.h"

#include <string.h>

int guard_file_worker_dispatch(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], GUARD_FILE_WORKER_ARG))
        return -1;
    return 2;
}
