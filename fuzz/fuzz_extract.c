/*
 * fuzz_extract.c — one libFuzzer target per extractor (ex.h), chosen at
 * compile time by -DEX_FUZZ_KIND_<KIND>. The extractor runs in this process
 * (no worker) on the input, with a job writing its frames to /dev/null and
 * limits small enough that one input stays fast; whatever it nests is
 * dispatched as in the worker. A crash, a sanitizer report or a hang is the
 * bug; there is nothing to compare.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(ex_job *j, const unsigned char *d, size_t n)
{
#if defined(EX_FUZZ_KIND_TEXT)
    return ex_text_file(j, d, n, "text/plain");
#elif defined(EX_FUZZ_KIND_ARCHIVE)
    return ex_archive(j, d, n, "application/octet-stream");
#elif defined(EX_FUZZ_KIND_OOXML)
    return ex_ooxml(j, d, n,
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
#elif defined(EX_FUZZ_KIND_ODF)
    return ex_odf(j, d, n, "application/vnd.oasis.opendocument.text");
#elif defined(EX_FUZZ_KIND_PDF)
    return ex_pdf(j, d, n, "application/pdf");
#elif defined(EX_FUZZ_KIND_RTF)
    return ex_rtf(j, d, n, "text/rtf");
#elif defined(EX_FUZZ_KIND_HTML)
    return ex_html(j, d, n, "text/html");
#elif defined(EX_FUZZ_KIND_EML)
    return ex_eml(j, d, n, "message/rfc822");
#elif defined(EX_FUZZ_KIND_OLE)
    return ex_ole(j, d, n, "application/x-ole-storage");
#elif defined(EX_FUZZ_KIND_IMAGE)
    return ex_image(j, d, n, "image/png");
#elif defined(EX_FUZZ_KIND_STRIP)
    {
        char why[256];
        static int devnull = -1;
        (void)j;
        if (devnull < 0)
            devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        (void)ex_strip(d, n, "image/jpeg", devnull, why, sizeof why);
        return 0;
    }
#else
#error "define EX_FUZZ_KIND_<KIND>"
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int sink = -1;
    ex_limits lim;
    ex_job *j;

    if (sink < 0) {
        sink = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (sink < 0)
            abort();
    }
    ex_limits_defaults(&lim);
    /* Small bounds: a fuzz input must finish in milliseconds. OCR is off (it
     * is Tesseract's code, and slow); the image decoder, metadata and
     * masthead paths still run. */
    lim.unpacked_bytes = 64u << 20;
    lim.member_bytes = 16u << 20;
    lim.pixels = 4u << 20;
    lim.total_ms = 10000;
    lim.ocr = false;
    j = ex_job_new(sink, &lim, "fuzz");
    if (!j)
        abort();
    (void)run(j, data, size);
    ex_job_free(j);
    return 0;
}
