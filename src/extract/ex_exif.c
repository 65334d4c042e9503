/*
 * ex_exif.c — what a photo's EXIF and XMP say about where, when and with what
 * it was taken, and the text people write into them (titles, descriptions).
 *
 * EXIF through libexif, over a blob bounded by the container; values are
 * read from the entries' raw bytes, checked for format and size (libexif's
 * formatted values are for display and may be translated). XMP through
 * libxml2 without network access and without entity substitution; a packet
 * with a DOCTYPE is refused outright, since XMP never has one and entity
 * expansion is the one way a small packet becomes a large document.
 */
#include <libexif/exif-data.h>
#include <libexif/exif-utils.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base_utf8.h"
#include "ex_image.h"

#define EXIF_MAX_BLOB (16u << 20) /* a copy made to prefix "Exif\0\0" */
#define XMP_MAX       (4u << 20)

static void text_add(char *text, size_t cap, size_t *len, const char *s, size_t n)
{
    /* Printable bytes only, one value per line; control bytes become spaces
     * so a value cannot smuggle line structure into the marking detector. */
    while (n && (s[n - 1] == 0 || s[n - 1] == ' '))
        n--;
    if (!n || *len + n + 1 >= cap)
        return;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        text[(*len)++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    text[(*len)++] = '\n';
    text[*len] = 0;
}

/* "Make Model (serial N)", whichever parts there are, cut to fit. */
static void device_string(char *out, size_t cap, const char *make, const char *model,
                          const char *serial)
{
    const char *parts[6] = {make,   make[0] && model[0] ? " " : "",
                            model,  serial[0] ? " (serial " : "",
                            serial, serial[0] ? ")" : ""};
    size_t n = 0;
    for (int i = 0; i < 6; i++)
        for (const char *p = parts[i]; *p && n + 1 < cap; p++)
            out[n++] = *p;
    out[n] = 0;
}

/* ---- EXIF ------------------------------------------------------------------ */

static ExifEntry *entry(ExifData *ed, ExifIfd ifd, unsigned tag)
{
    return ed->ifd[ifd] ? exif_content_get_entry(ed->ifd[ifd], (ExifTag)tag) : NULL;
}

/* An ASCII entry's value, NUL-terminated and trimmed, into out. */
static bool ascii(ExifEntry *e, char *out, size_t cap)
{
    size_t n = 0;
    if (!e || !e->data || (e->format != EXIF_FORMAT_ASCII && e->format != EXIF_FORMAT_UNDEFINED))
        return false;
    for (size_t i = 0; i < e->size && n + 1 < cap && e->data[i]; i++)
        out[n++] = (char)(e->data[i] < 0x20 ? ' ' : e->data[i]);
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = 0;
    return n > 0;
}

/* Degrees from three rationals (degrees, minutes, seconds). */
static bool dms(ExifEntry *e, ExifByteOrder o, double *out)
{
    double v[3];
    if (!e || !e->data || e->format != EXIF_FORMAT_RATIONAL || e->components != 3 || e->size < 24)
        return false;
    for (int i = 0; i < 3; i++) {
        ExifRational r = exif_get_rational(e->data + 8 * i, o);
        if (!r.denominator)
            return false;
        v[i] = (double)r.numerator / (double)r.denominator;
    }
    *out = v[0] + v[1] / 60.0 + v[2] / 3600.0;
    return true;
}

/* Windows' XP* tags: UCS-2LE in a BYTE entry. */
static void ucs2_add(ExifEntry *e, char *text, size_t cap, size_t *len)
{
    char buf[1024];
    size_t n = 0;
    if (!e || !e->data)
        return;
    for (size_t i = 0; i + 1 < e->size && n + 4 < sizeof buf; i += 2) {
        unsigned c = e->data[i] | (unsigned)e->data[i + 1] << 8;
        if (!c)
            break;
        size_t k = base_utf8_encode(c, buf + n);

        n += k ? k : base_utf8_encode(0xFFFD, buf + n); /* a lone surrogate */
    }
    text_add(text, cap, len, buf, n);
}

/* The EXIF blob d[0..n) loaded as is (no tag added or "fixed"), NULL when
 * it is too short or memory runs out. A bare TIFF structure (PNG eXIf, some
 * WebP writers, a TIFF file) gets the APP1 prefix libexif wants, on a copy
 * of at most EXIF_MAX_BLOB bytes. */
static ExifData *exif_load(const unsigned char *d, size_t n)
{
    static const unsigned char hdr[6] = {'E', 'x', 'i', 'f', 0, 0};
    unsigned char *copy = NULL;
    ExifData *ed;

    if (n < 8)
        return NULL;
    if (memcmp(d, hdr, 6) != 0) {
        size_t m = n > EXIF_MAX_BLOB ? EXIF_MAX_BLOB : n;
        copy = malloc(m + 6);
        if (!copy)
            return NULL;
        memcpy(copy, hdr, 6);
        memcpy(copy + 6, d, m);
        d = copy;
        n = m + 6;
    }
    ed = exif_data_new();
    if (ed) {
        exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
        exif_data_unset_option(ed, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
        exif_data_load_data(ed, d, (unsigned int)(n > 0xffffffffu ? 0xffffffffu : n));
    }
    free(copy);
    return ed;
}

void ex_exif_read(const unsigned char *d, size_t n, ex_meta_facts *f, char *text, size_t cap,
                  size_t *len)
{
    ExifData *ed = exif_load(d, n);
    ExifByteOrder o;
    char a[128], b[128], s[128];
    double lat, lon;

    if (!ed)
        return;
    o = exif_data_get_byte_order(ed);

    if (dms(entry(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_LATITUDE), o, &lat) &&
        dms(entry(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_LONGITUDE), o, &lon) && lat <= 90.0 &&
        lon <= 180.0 && (lat > 0.0 || lon > 0.0)) {
        ExifEntry *lr = entry(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_LATITUDE_REF);
        ExifEntry *lo = entry(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_LONGITUDE_REF);
        f->gps = true;
        f->lat = lr && lr->data && lr->size && lr->data[0] == 'S' ? -lat : lat;
        f->lon = lo && lo->data && lo->size && lo->data[0] == 'W' ? -lon : lon;
    }
    if (!f->capture_time[0] && !ascii(entry(ed, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL),
                                      f->capture_time, sizeof f->capture_time))
        ascii(entry(ed, EXIF_IFD_0, EXIF_TAG_DATE_TIME), f->capture_time, sizeof f->capture_time);
    if (!f->device[0]) {
        bool hm = ascii(entry(ed, EXIF_IFD_0, EXIF_TAG_MAKE), a, sizeof a);
        bool hd = ascii(entry(ed, EXIF_IFD_0, EXIF_TAG_MODEL), b, sizeof b);
        bool hs = ascii(entry(ed, EXIF_IFD_EXIF, EXIF_TAG_BODY_SERIAL_NUMBER), s, sizeof s);
        if (hm || hd || hs)
            device_string(f->device, sizeof f->device, hm ? a : "", hd ? b : "", hs ? s : "");
    }
    if (!f->software[0])
        ascii(entry(ed, EXIF_IFD_0, EXIF_TAG_SOFTWARE), f->software, sizeof f->software);

    /* Free text people put into a photo. */
    {
        static const struct {
            ExifIfd ifd;
            unsigned tag;
        } texts[] = {
            {EXIF_IFD_0, EXIF_TAG_IMAGE_DESCRIPTION},
            {EXIF_IFD_0, EXIF_TAG_ARTIST},
            {EXIF_IFD_0, EXIF_TAG_COPYRIGHT},
            {EXIF_IFD_0, EXIF_TAG_DOCUMENT_NAME},
            {EXIF_IFD_EXIF, EXIF_TAG_CAMERA_OWNER_NAME},
        };
        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
            ExifEntry *e = entry(ed, texts[i].ifd, texts[i].tag);
            if (e && e->data && e->format == EXIF_FORMAT_ASCII)
                text_add(text, cap, len, (const char *)e->data, e->size);
        }
        for (unsigned t = EXIF_TAG_XP_TITLE; t <= EXIF_TAG_XP_SUBJECT; t++)
            ucs2_add(entry(ed, EXIF_IFD_0, t), text, cap, len);
        /* UserComment: an 8-byte character-code prefix, then the text. */
        ExifEntry *uc = entry(ed, EXIF_IFD_EXIF, EXIF_TAG_USER_COMMENT);
        if (uc && uc->data && uc->size > 8) {
            if (memcmp(uc->data, "UNICODE\0", 8) == 0) {
                ExifEntry tmp = *uc;
                tmp.data += 8;
                tmp.size -= 8;
                ucs2_add(&tmp, text, cap, len);
            } else {
                text_add(text, cap, len, (const char *)uc->data + 8, uc->size - 8);
            }
        }
    }
    exif_data_unref(ed);
}

/* ---- XMP ------------------------------------------------------------------- */

/* "39,54.252N" or "39,54,15.12N" (XMP's GPSCoordinate) → degrees. */
static bool xmp_coord(const char *s, double *out)
{
    double v[3] = {0, 0, 0};
    int k = 0;
    char *e;
    while (k < 3) {
        v[k++] = strtod(s, &e);
        if (e == s)
            return false;
        s = e;
        if (*s != ',')
            break;
        s++;
    }
    if (*s != 'N' && *s != 'S' && *s != 'E' && *s != 'W')
        return false;
    *out = v[0] + v[1] / 60.0 + v[2] / 3600.0;
    if (!isfinite(*out) || *out < 0 || *out > 180)
        return false;
    if (*s == 'S' || *s == 'W')
        *out = -*out;
    return true;
}

typedef struct xmp_ctx {
    ex_meta_facts *f;
    char *text;
    size_t cap, *len;
    bool have_lat, have_lon;
    double lat, lon;
    char make[64], model[64], serial[64];
    unsigned nodes;
} xmp_ctx;

static void xmp_value(xmp_ctx *x, const char *name, const char *v)
{
    size_t n = strlen(v);
    if (!strcmp(name, "GPSLatitude"))
        x->have_lat = xmp_coord(v, &x->lat);
    else if (!strcmp(name, "GPSLongitude"))
        x->have_lon = xmp_coord(v, &x->lon);
    else if (!strcmp(name, "CreatorTool") && !x->f->software[0])
        snprintf(x->f->software, sizeof x->f->software, "%s", v);
    else if ((!strcmp(name, "DateTimeOriginal") || !strcmp(name, "CreateDate") ||
              !strcmp(name, "DateCreated")) &&
             !x->f->capture_time[0])
        snprintf(x->f->capture_time, sizeof x->f->capture_time, "%s", v);
    else if (!strcmp(name, "Make"))
        snprintf(x->make, sizeof x->make, "%s", v);
    else if (!strcmp(name, "Model"))
        snprintf(x->model, sizeof x->model, "%s", v);
    else if (!strcmp(name, "SerialNumber") || !strcmp(name, "BodySerialNumber"))
        snprintf(x->serial, sizeof x->serial, "%s", v);
    else if (strcmp(name, "about") && strcmp(name, "image") && strcmp(name, "lang") && n)
        text_add(x->text, x->cap, x->len, v, n); /* titles, descriptions, keywords ... */
}

static void xmp_walk(xmp_ctx *x, xmlNode *node, unsigned depth)
{
    for (xmlNode *c = node; c && x->nodes < 20000; c = c->next, x->nodes++) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        for (xmlAttr *a = c->properties; a; a = a->next) {
            if (a->children && a->children->type == XML_TEXT_NODE && a->children->content)
                xmp_value(x, (const char *)a->name, (const char *)a->children->content);
        }
        /* A leaf's text (rdf:li of an Alt/Bag/Seq reports under its
         * property's name). */
        if (c->children && c->children->type == XML_TEXT_NODE && !c->children->next &&
            c->children->content) {
            const char *name = (const char *)c->name;
            if (!strcmp(name, "li") && c->parent && c->parent->parent)
                name = (const char *)c->parent->parent->name;
            xmp_value(x, name, (const char *)c->children->content);
        }
        if (depth < 32)
            xmp_walk(x, c->children, depth + 1);
    }
}

void ex_xmp_read(const unsigned char *d, size_t n, ex_meta_facts *f, char *text, size_t cap,
                 size_t *len)
{
    xmlDoc *doc = NULL;
    xmp_ctx x;

    if (n == 0 || n > XMP_MAX)
        return;
    /* No DTD, no entities: XMP has neither. */
    for (size_t i = 0; i + 2 <= n; i++)
        if (d[i] == '<' && d[i + 1] == '!' && i + 3 <= n && d[i + 2] != '-' && d[i + 2] != '[')
            return;
    doc = xmlReadMemory((const char *)d, (int)n, NULL, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                            XML_PARSE_NOCDATA | XML_PARSE_NOBLANKS);
    if (!doc)
        return;
    memset(&x, 0, sizeof x);
    x.f = f;
    x.text = text;
    x.cap = cap;
    x.len = len;
    xmp_walk(&x, xmlDocGetRootElement(doc), 0);
    if (x.have_lat && x.have_lon && !f->gps && (x.lat != 0.0 || x.lon != 0.0) &&
        fabs(x.lat) <= 90.0) {
        f->gps = true;
        f->lat = x.lat;
        f->lon = x.lon;
    }
    if (!f->device[0] && (x.make[0] || x.model[0] || x.serial[0]))
        device_string(f->device, sizeof f->device, x.make, x.model, x.serial);
    xmlFreeDoc(doc);
}

/* ---- Orientation ----------------------------------------------------------- */

int ex_exif_orientation(const unsigned char *d, size_t n)
{
    ExifData *ed = exif_load(d, n);
    ExifEntry *e;
    int o = 0;

    if (!ed)
        return 0;
    e = entry(ed, EXIF_IFD_0, EXIF_TAG_ORIENTATION);
    if (e && e->data && e->format == EXIF_FORMAT_SHORT && e->size >= 2) {
        o = exif_get_short(e->data, exif_data_get_byte_order(ed));
        if (o < 1 || o > 8)
            o = 0;
    }
    exif_data_unref(ed);
    return o;
}

/* Hand-written: libexif reads at most 64 KiB of a TIFF (an EXIF block's
 * size), and many writers put IFD0 after the pixels; it also says nothing
 * of where the tag sits, and libtiff would rewrite the whole file to change
 * one value. A classic TIFF's IFD0 is a count and 12-byte entries at the
 * offset in bytes 4-7; a SHORT value sits in the entry's first two value
 * bytes. Every read is bounded by n. The offset of IFD0's Orientation entry
 * (a SHORT), 0 when there is none; *le its byte order. */
static size_t tiff_orientation_entry(const unsigned char *d, size_t n, bool *le)
{
    size_t ifd, count, e;

#define U16(p)                                                                                     \
    (*le ? (unsigned)(p)[0] | (unsigned)(p)[1] << 8 : (unsigned)(p)[1] | (unsigned)(p)[0] << 8)
    if (n < 8 || !((d[0] == 'I' && d[1] == 'I') || (d[0] == 'M' && d[1] == 'M')))
        return 0;
    *le = d[0] == 'I';
    if (U16(d + 2) != 42)
        return 0;
    ifd = *le ? (size_t)d[4] | (size_t)d[5] << 8 | (size_t)d[6] << 16 | (size_t)d[7] << 24
              : (size_t)d[7] | (size_t)d[6] << 8 | (size_t)d[5] << 16 | (size_t)d[4] << 24;
    if (ifd < 8 || ifd > n - 2)
        return 0;
    count = U16(d + ifd);
    for (size_t i = 0; i < count; i++) {
        e = ifd + 2 + i * 12;
        if (e > n - 12)
            return 0;
        if (U16(d + e) == 0x0112)
            return U16(d + e + 2) == 3 ? e : 0;
    }
    return 0;
#undef U16
}

static int tiff_orientation(const unsigned char *d, size_t n)
{
    bool le = true;
    size_t e = tiff_orientation_entry(d, n, &le);
    unsigned o = !e   ? 0
                 : le ? (unsigned)d[e + 8] | (unsigned)d[e + 9] << 8
                      : (unsigned)d[e + 9] | (unsigned)d[e + 8] << 8;

    return o >= 1 && o <= 8 ? (int)o : 0;
}

unsigned char *ex_tiff_unoriented(const unsigned char *d, size_t n)
{
    bool le = true;
    size_t e = tiff_orientation_entry(d, n, &le);
    unsigned char *c;

    if (!e || tiff_orientation(d, n) <= 1 || !(c = malloc(n)))
        return NULL;
    memcpy(c, d, n);
    c[e + 8] = le ? 1 : 0;
    c[e + 9] = le ? 0 : 1;
    return c;
}

int ex_image_orientation(ex_imgfmt fmt, const unsigned char *d, size_t n)
{
    ex_blocks it;
    ex_block b;
    unsigned count = 0;

    if (fmt == EX_FMT_TIFF)
        return tiff_orientation(d, n);
    if (fmt != EX_FMT_JPEG && fmt != EX_FMT_PNG && fmt != EX_FMT_WEBP)
        return 0;
    ex_blocks_init(&it, fmt, d, n);
    while (count++ < 4096 && ex_blocks_next(&it, &b) > 0) {
        bool exif = (fmt == EX_FMT_JPEG && b.type == 0xE1 && b.data_len >= 6 &&
                     memcmp(b.data, "Exif\0", 5) == 0) ||
                    (fmt == EX_FMT_PNG && b.type == 0x65584966u) || /* eXIf */
                    (fmt == EX_FMT_WEBP && b.type == 0x45584946u);  /* EXIF */
        if (exif)
            return ex_exif_orientation(b.data, b.data_len); /* the first block counts */
        if (fmt == EX_FMT_JPEG && b.type == 0xDA)
            break;
    }
    return 0;
}
