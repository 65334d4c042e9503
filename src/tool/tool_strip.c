/*
 * tool_strip.c — `cordon strip FILE -o OUT`: a copy of an image with all
 * metadata removed (EXIF with the GPS position, XMP, IPTC, comments, text
 * chunks), through guard_file_strip(), which does the work in a worker
 * process like every other parse of an untrusted file. JPEG, PNG, WebP and
 * GIF keep their pixels byte for byte; docs/FILES-images.md says what is
 * kept and what is dropped per format.
 */
#include "cordon/guard_file.h"
#include "tool_cmd.h"
#include "tool_opts.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define CMD "strip"

static const struct option strip_longopts[] = {
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void tool_strip_help(FILE *f)
{
    fputs("usage: cordon strip FILE -o OUT\n"
          "\n"
          "Write a copy of the image FILE (JPEG, PNG, WebP, GIF, BMP, TIFF) to OUT with\n"
          "all metadata removed: EXIF (GPS position, capture time, device), XMP, IPTC,\n"
          "comments and text chunks. JPEG, PNG, WebP and GIF are rewritten block by\n"
          "block without re-encoding, so the pixels are unchanged; a single-page TIFF\n"
          "is re-encoded losslessly; BMP has no metadata and is copied.\n"
          "\n"
          "  -o, --output OUT   where to write the copy (must not be FILE itself)\n"
          "  -h, --help         this help\n"
          "\n"
          "Exit status: 0 written, 2 error (nothing is left at OUT).\n",
          f);
}

/* OUT is opened with truncation before the worker reads FILE: the same file
 * under two names would be destroyed. */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int tool_strip_main(int argc, char **argv)
{
    const char *out = NULL, *in;
    guard_error err = {0};
    int c;

    while ((c = getopt_long(argc, argv, ":ho:", strip_longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'h':
            tool_strip_help(stdout);
            return TOOL_EXIT_ALLOW;
        default:
            tool_getopt_error(CMD, c, argv);
            return TOOL_EXIT_ERROR;
        }
    }
    if (optind + 1 != argc || !out) {
        tool_usage_error(CMD, "expected one FILE and -o OUT");
        return TOOL_EXIT_ERROR;
    }
    in = argv[optind];
    if (same_file(in, out)) {
        fprintf(stderr, "cordon strip: %s and %s are the same file\n", in, out);
        return TOOL_EXIT_ERROR;
    }
    if (guard_file_strip(in, out, NULL, &err) != GUARD_OK) {
        fprintf(stderr, "cordon strip: %s\n", err.message);
        return TOOL_EXIT_ERROR;
    }
    return TOOL_EXIT_ALLOW;
}
