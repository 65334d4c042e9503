/*
 * ex_odf.c — odt ods odp extractor. PLACEHOLDER while the extractor is being written:
 * reports the file as uninspectable (fail-closed), never as clean.
 */
#include "ex.h"

int ex_odf(ex_job *j, const unsigned char *data, size_t len, const char *mime)
{
    (void)data;
    (void)len;
    (void)mime;
    return ex_uninspectable(j, NULL, "unsupported", "no extractor for this type yet", true);
}
