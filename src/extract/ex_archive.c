/* ex_archive.c — PLACEHOLDER. */
#include "ex.h"

int ex_archive(ex_job *j, const unsigned char *data, size_t len, const char *mime)
{
    (void)data;
    (void)len;
    (void)mime;
    return ex_uninspectable(j, NULL, "unsupported", "not implemented yet", true);
}
