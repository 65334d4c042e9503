/*
 * ex_strip.c — metadata removal. PLACEHOLDER while it is being written.
 */
#include "ex.h"

#include <stdio.h>

int ex_strip(const unsigned char *data, size_t len, const char *mime, int out, char *why,
             size_t why_cap)
{
    (void)data;
    (void)len;
    (void)mime;
    (void)out;
    snprintf(why, why_cap, "not implemented yet");
    return -1;
}
