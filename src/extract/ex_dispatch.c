/* ex_dispatch.c — PLACEHOLDER: type detection and dispatch. */
#include "ex.h"

int ex_recurse(ex_job *j, const char *name, const unsigned char *data, size_t len)
{
    (void)name;
    (void)data;
    (void)len;
    return ex_uninspectable(j, NULL, "unsupported", "no dispatcher yet", true);
}

int ex_recurse_pix(ex_job *j, const char *name, void *pix)
{
    (void)name;
    (void)pix;
    return ex_uninspectable(j, NULL, "unsupported", "no dispatcher yet", true);
}
