/*
 * tool_watermark.c — `cordon watermark embed|decode`: the invisible,
 * per-viewer watermark (src/watermark/wm.h, docs/WATERMARK.md).
 *
 *   embed IMAGE -o OUT --id N   marks a copy, in this process: the server
 *                               marks images it has already inspected, and
 *                               an officer trying the mark out gives his own
 *                               files; Leptonica reads them under the pixel
 *                               limit.
 *   decode IMAGE                names the delivery id hidden in an image
 *                               found outside, and the viewer it was
 *                               delivered to (the server's deliveries). That image is hostile
 * input: the extraction worker parses it (sandboxed, with the file guard's limits) and sends back
 *                               only a fixed-size luminance plane; the key
 *                               stays in this process.
 *
 * The key: --key-file F, else DATA_DIR/watermark.key (the data directory as
 * `cordon serve` finds it: --data, --config, ./cordon-data); embed creates
 * it when missing.
 */
#include "base/base_file.h"
#include "cordon/guard_file.h"
#include "store/store.h"
#include "store/store_work.h"
#include "tool_cmd.h"
#include "tool_store.h"
#include "tool_opts.h"
#include "watermark/wm.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CMD           "watermark"
#define KEY_FILE_NAME "watermark.key"
#define JPEG_QUALITY  92

enum { OPT_KEY_FILE = TOOL_OPT_FIRST_FREE, OPT_DATA, OPT_CONFIG, OPT_ID, OPT_QUALITY };

static const struct option wm_longopts[] = {
    {"output", required_argument, NULL, 'o'},
    {"id", required_argument, NULL, OPT_ID},
    {"quality", required_argument, NULL, OPT_QUALITY},
    {"key-file", required_argument, NULL, OPT_KEY_FILE},
    {"data", required_argument, NULL, OPT_DATA},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void tool_watermark_help(FILE *f)
{
    fputs("usage: cordon watermark embed IMAGE -o OUT --id N [--quality Q] [KEY]\n"
          "       cordon watermark decode IMAGE [KEY]\n"
          "\n"
          "An invisible watermark naming who received an image: the server hides a\n"
          "delivery id (which viewer received which image, when) in the pixels; decode\n"
          "reads it back from a copy found outside (re-compressed, rescaled, a\n"
          "screenshot), without the original. See docs/WATERMARK.md.\n"
          "\n"
          "  embed     write a marked copy of IMAGE (JPEG, PNG, WebP, TIFF, GIF, BMP) to\n"
          "            OUT: JPEG when OUT ends in .jpg or .jpeg, else PNG\n"
          "  decode    print the id and the confidence, or \"no watermark found\";\n"
          "            with the server's data (--data/--config, or the default), the\n"
          "            viewer the image was delivered to, the file and when\n"
          "\n"
          "  -o, --output OUT   where embed writes the marked copy\n"
          "  --id N             the id to embed, 0 to 281474976710655 (48 bits)\n"
          "  --quality Q        JPEG quality of OUT (default 92)\n"
          "KEY: the secret the mark's pattern derives from\n"
          "  --key-file F       a file of at least 32 bytes (embed creates a missing one\n"
          "                     with 32 random bytes)\n"
          "  --data DIR         else DIR/watermark.key, DIR as `cordon serve` finds it\n"
          "  --config FILE      (--data, the config's data_dir, ./cordon-data)\n"
          "  -h, --help         this help\n"
          "\n"
          "Exit status: 0 written / watermark found, 1 no watermark found, 2 error.\n",
          f);
}

typedef struct wm_args {
    const char *out, *key_file, *data, *config;
    uint64_t id;
    bool have_id;
    int quality;
} wm_args;

static int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
    char *end;
    unsigned long long x;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno || *end || x > max)
        return -1;
    *v = x;
    return 0;
}

/* The key: --key-file, else DATA_DIR/watermark.key. */
static int load_key(const wm_args *a, bool create, wm_key *key)
{
    char *dir = NULL, *db = NULL, *msg = NULL, *path = NULL, why[512];
    bool created = false;
    int rc = -1;

    if (a->key_file) {
        path = strdup(a->key_file);
    } else {
        if (tool_locate(a->data, a->config, &db, &dir, why, sizeof why)) {
            fprintf(stderr, "cordon watermark: %s\n", why);
            goto out;
        }
        if (asprintf(&path, "%s/%s", dir, KEY_FILE_NAME) < 0)
            path = NULL;
    }
    if (!path) {
        fprintf(stderr, "cordon watermark: out of memory\n");
        goto out;
    }
    if (wm_key_load(path, create, key, &created, why, sizeof why)) {
        fprintf(stderr, "cordon watermark: %s\n", why);
        goto out;
    }
    if (created)
        fprintf(stderr,
                "cordon watermark: created the key %s (keep it secret; decoding needs it)\n", path);
    rc = 0;
out:
    free(dir);
    free(db);
    free(msg);
    free(path);
    return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

/* Reads the whole file, at most `cap` bytes. */
static int read_file(const char *path, uint64_t cap, unsigned char **out, size_t *len)
{
    struct stat st;
    unsigned char *buf = NULL;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rc = -1;

    if (fd < 0 || fstat(fd, &st)) {
        fprintf(stderr, "cordon watermark: cannot open %s: %s\n", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > cap) {
        fprintf(stderr, "cordon watermark: %s: not a regular file of at most %llu bytes\n", path,
                (unsigned long long)cap);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        fprintf(stderr, "cordon watermark: out of memory\n");
        goto out;
    }
    while (n < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            fprintf(stderr, "cordon watermark: cannot read %s\n", path);
            goto out;
        }
        n += (size_t)k;
    }
    *out = buf;
    *len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int do_embed(const wm_args *a, const char *in)
{
    guard_limits lim;
    unsigned char *data = NULL, *enc = NULL;
    size_t len = 0, enc_len = 0;
    wm_key key;
    wm_embed_stats st;
    bool jpeg = ends_with(a->out, ".jpg") || ends_with(a->out, ".jpeg");
    char why[512];
    int rc = TOOL_EXIT_ERROR;

    guard_limits_defaults(&lim);
    if (load_key(a, true, &key) || read_file(in, lim.file_bytes, &data, &len))
        goto out;
    if (wm_embed(data, len, lim.pixels, &key, a->id, jpeg ? WM_OUT_JPEG : WM_OUT_PNG, a->quality,
                 &enc, &enc_len, &st, why, sizeof why)) {
        fprintf(stderr, "cordon watermark: %s: %s\n", in, why);
        goto out;
    }
    if (base_file_write_atomic(a->out, enc, enc_len, 0644)) {
        fprintf(stderr, "cordon watermark: cannot write %s: %s\n", a->out, strerror(errno));
        goto out;
    }
    printf("embedded id %llu in %s (%dx%d, PSNR %.1f dB)\n", (unsigned long long)a->id, a->out,
           st.width, st.height, st.psnr);
    rc = TOOL_EXIT_ALLOW;
out:
    sodium_memzero(&key, sizeof key);
    free(data);
    free(enc);
    return rc;
}

/* Who received the copy: the delivery the id names (store_work.h), read
 * from the server's database, with the viewer's account and the file. */
static void print_delivery(const wm_args *a, uint64_t id)
{
    store *st = NULL;
    store_delivery d;
    store_user u = {0};
    store_file f = {0};
    struct tm tm;
    time_t t;
    char when[32] = "?";
    int rc;

    if (tool_store_open(CMD, a->data, a->config, false, &st, NULL))
        return; /* said why on stderr; the id above still stands */
    rc = store_delivery_get(st, (int64_t)id, &d);
    if (rc) {
        printf("delivery: %s\n",
               rc == STORE_NOTFOUND ? "none with this id in this database" : store_strerror(rc));
        goto out;
    }
    t = (time_t)(d.created_at / 1000);
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!store_user_get(st, d.user_id, &u))
        printf("viewer: %s (%s), user #%lld\n", u.login, u.display_name ? u.display_name : "",
               (long long)d.user_id);
    else
        printf("viewer: user #%lld\n", (long long)d.user_id);
    if (!store_file_get(st, d.file_id, &f))
        printf("file: %s (%s)\n", f.name, d.file_id);
    else
        printf("file: %s (no longer stored)\n", d.file_id);
    printf("delivered: %s\n", when);
out:
    store_user_clear(&u);
    store_file_clear(&f);
    store_close(st);
}

static int do_decode(const wm_args *a, const char *in)
{
    static float plane[WM_PLANE * WM_PLANE];
    guard_error err = {0};
    wm_key key;
    wm_result r;
    int rc = TOOL_EXIT_ERROR;

    if (load_key(a, false, &key))
        goto out;
    if (guard_file_watermark_plane(in, plane, sizeof plane, NULL, &err) != GUARD_OK) {
        fprintf(stderr, "cordon watermark: %s\n", err.message);
        goto out;
    }
    wm_decode_plane(&key, plane, &r);
    if (r.found) {
        printf("id %llu\nconfidence %.1f (threshold %.1f)\nweakest bit %.2f\n",
               (unsigned long long)r.id, r.confidence, WM_MIN_CONFIDENCE, r.min_margin);
        if (!a->key_file || a->data || a->config)
            print_delivery(a, r.id);
        rc = TOOL_EXIT_ALLOW;
    } else {
        printf("no watermark found (confidence %.1f, threshold %.1f)\n", r.confidence,
               WM_MIN_CONFIDENCE);
        rc = TOOL_EXIT_FINDINGS;
    }
out:
    sodium_memzero(&key, sizeof key);
    return rc;
}

int tool_watermark_main(int argc, char **argv)
{
    wm_args a = {.quality = JPEG_QUALITY};
    const char *verb;
    uint64_t v;
    int c;

    while ((c = getopt_long(argc, argv, ":ho:", wm_longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            a.out = optarg;
            break;
        case OPT_ID:
            if (parse_u64(optarg, WM_ID_MAX, &a.id)) {
                tool_usage_error(CMD, "--id must be a number from 0 to 281474976710655");
                return TOOL_EXIT_ERROR;
            }
            a.have_id = true;
            break;
        case OPT_QUALITY:
            if (parse_u64(optarg, 100, &v) || v < 1) {
                tool_usage_error(CMD, "--quality must be 1 to 100");
                return TOOL_EXIT_ERROR;
            }
            a.quality = (int)v;
            break;
        case OPT_KEY_FILE:
            a.key_file = optarg;
            break;
        case OPT_DATA:
            a.data = optarg;
            break;
        case OPT_CONFIG:
            a.config = optarg;
            break;
        case 'h':
            tool_watermark_help(stdout);
            return TOOL_EXIT_ALLOW;
        default:
            tool_getopt_error(CMD, c, argv);
            return TOOL_EXIT_ERROR;
        }
    }
    if (optind + 2 != argc) {
        tool_usage_error(CMD, "expected embed or decode and one IMAGE");
        return TOOL_EXIT_ERROR;
    }
    verb = argv[optind];
    if (!strcmp(verb, "embed")) {
        if (!a.out || !a.have_id) {
            tool_usage_error(CMD, "embed needs -o OUT and --id N");
            return TOOL_EXIT_ERROR;
        }
        return do_embed(&a, argv[optind + 1]);
    }
    if (!strcmp(verb, "decode")) {
        if (a.out || a.have_id) {
            tool_usage_error(CMD, "decode takes no -o or --id");
            return TOOL_EXIT_ERROR;
        }
        return do_decode(&a, argv[optind + 1]);
    }
    tool_usage_error(CMD, "expected embed or decode");
    return TOOL_EXIT_ERROR;
}
