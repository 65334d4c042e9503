/*
 * ex_pdf.c — PDF, with poppler-glib.
 *
 * Read, each as its own segment:
 *   - "metadata": the document information dictionary (title, author,
 *     subject, keywords, creator, producer) and the XMP packet's text (read
 *     with the safe XML reader, ex_xml.h);
 *   - "page N" (1-based): the page's text in reading order, then its
 *     annotations' contents (comments, sticky notes), filled-in text form
 *     fields and link targets (URI actions, for the link detector);
 *   - embedded files (attachments) go back to the dispatcher (ex_recurse)
 *     under their own names, bounded by member_bytes;
 *   - a page with no text of its own (a scan, a photographed page) is
 *     rendered with cairo at EX_PDF_OCR_DPI (less when the page would exceed
 *     the job's `pixels` limit or EX_PDF_MAX_RENDER_PX) and handed to the
 *     image extractor as a Leptonica PIX (ex_recurse_pix "page N"), which
 *     OCRs it and looks for an official document's red masthead.
 * Caps: at most EX_PDF_MAX_PAGES pages are read and EX_PDF_MAX_RENDERED
 * rendered; the rest is reported as uninspectable (limit.pages), and the
 * job's total time is checked between pages (a single page cannot be
 * interrupted inside poppler; the worker's own time limit covers that).
 * A password-protected PDF (one that needs a user password) is
 * uninspectable.encrypted; one poppler cannot open is uninspectable.corrupt.
 * Owner-password-only PDFs (printing/copying restrictions) open and are read.
 *
 * ex_pdf_thumb (the worker's thumb mode): page 1 rendered at most max_px on
 * its longer side, as a PNG on a descriptor — the preview shown in chat,
 * made in the sandbox like everything else poppler reads.
 */
#include "ex.h"
#include "ex_xml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>
#include <leptonica/allheaders.h>
#include <poppler.h>

#define EX_PDF_MAX_PAGES     5000
#define EX_PDF_MAX_RENDERED  200
#define EX_PDF_OCR_DPI       250.0
#define EX_PDF_MAX_RENDER_PX (40u * 1000 * 1000) /* 160 MB of ARGB at most */

/* ---- metadata -------------------------------------------------------------------- */

static int emit_metadata(ex_job *j, PopplerDocument *doc)
{
    static const struct {
        const char *name;
        gchar *(*get)(PopplerDocument *);
    } info[] = {
        {"title", poppler_document_get_title},     {"author", poppler_document_get_author},
        {"subject", poppler_document_get_subject}, {"keywords", poppler_document_get_keywords},
        {"creator", poppler_document_get_creator}, {"producer", poppler_document_get_producer},
    };
    exx_out out;
    gchar *xmp = NULL;
    int rc = -1;

    exx_begin(&out, j, "metadata");
    for (size_t k = 0; k < sizeof info / sizeof *info; k++) {
        gchar *v = info[k].get(doc);
        int e = exx_prop(&out, info[k].name, v);
        g_free(v);
        if (e < 0)
            goto fail;
    }
    xmp = poppler_document_get_metadata(doc);
    if (xmp && *xmp) {
        exx_in in;
        xmlTextReaderPtr r;
        exx_in_mem(&in, (const unsigned char *)xmp, strlen(xmp), true);
        r = exx_reader(&in, "xmp");
        if (!r)
            goto fail;
        /* a broken XMP packet only loses the packet: the page text matters */
        if (exx_nl(&out) < 0 || exx_walk_all(r, &out) < 0) {
            xmlFreeTextReader(r);
            goto fail;
        }
        xmlFreeTextReader(r);
    }
    rc = 0;
fail:
    g_free(xmp);
    if (exx_end(&out) < 0)
        rc = -1;
    return rc;
}

/* ---- attachments --------------------------------------------------------------------- */

typedef struct sink {
    ex_job *j;
    GByteArray *buf;
    const char *why;
} sink;

static gboolean save_cb(const gchar *data, gsize n, gpointer user, GError **error)
{
    sink *s = user;

    if (s->buf->len + n > ex_job_limits(s->j)->member_bytes) {
        s->why = "limit.member";
    } else if (ex_job_account(s->j, n) < 0) {
        s->why = "limit.unpacked";
    } else {
        g_byte_array_append(s->buf, (const guint8 *)data, (guint)n);
        return TRUE;
    }
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, s->why);
    return FALSE;
}

static int emit_attachments(ex_job *j, PopplerDocument *doc)
{
    GList *list = poppler_document_get_attachments(doc), *l;
    uint32_t n = 0;
    int rc = 0;

    for (l = list; l && rc == 0; l = l->next) {
        PopplerAttachment *a = l->data;
        const gchar *name = poppler_attachment_get_name(a);
        char nm[512];
        sink s = {j, g_byte_array_new(), NULL};
        GError *err = NULL;
        snprintf(nm, sizeof nm, "attachment %s", name && *name ? name : "(unnamed)");
        if (++n > ex_job_limits(j)->entries) {
            rc = ex_uninspectable(j, NULL, "limit.entries", "more attachments than the limit",
                                  false);
            g_byte_array_unref(s.buf);
            break;
        }
        if (!poppler_attachment_save_to_callback(a, save_cb, &s, &err)) {
            rc = ex_uninspectable(j, nm, s.why ? s.why : "corrupt",
                                  s.why ? "embedded file is over the size limits"
                                        : "embedded file could not be read",
                                  false);
            if (s.why && !strcmp(s.why, "limit.unpacked"))
                rc = -1;
        } else if (s.buf->len) {
            rc = ex_recurse(j, nm, s.buf->data, s.buf->len);
        }
        if (err)
            g_error_free(err);
        g_byte_array_unref(s.buf);
    }
    g_list_free_full(list, g_object_unref);
    return rc;
}

/* ---- pages ------------------------------------------------------------------------------ */

static size_t nonspace(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += !(*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '\f');
    return n;
}

/* Fraction of the page covered by images (bounding boxes, overlaps counted twice). */
static double image_cover(PopplerPage *page, double w, double h)
{
    GList *m = poppler_page_get_image_mapping(page), *l;
    double area = 0;

    for (l = m; l; l = l->next) {
        PopplerImageMapping *im = l->data;
        area += fabs((im->area.x2 - im->area.x1) * (im->area.y2 - im->area.y1));
    }
    poppler_page_free_image_mapping(m);
    return w > 0 && h > 0 ? area / (w * h) : 0;
}

/* Annotations, text form fields and link targets, after the page text. */
static int emit_page_extras(exx_out *out, PopplerPage *page)
{
    GList *m, *l;
    int rc = 0;

    m = poppler_page_get_annot_mapping(page);
    for (l = m; l && rc == 0; l = l->next) {
        gchar *c = poppler_annot_get_contents(((PopplerAnnotMapping *)l->data)->annot);
        if (c && *c)
            rc = exx_nl(out) < 0 || exx_puts(out, c) < 0 ? -1 : exx_nl(out);
        g_free(c);
    }
    poppler_page_free_annot_mapping(m);
    m = poppler_page_get_form_field_mapping(page);
    for (l = m; l && rc == 0; l = l->next) {
        PopplerFormField *f = ((PopplerFormFieldMapping *)l->data)->field;
        if (poppler_form_field_get_field_type(f) == POPPLER_FORM_FIELD_TEXT) {
            gchar *t = poppler_form_field_text_get_text(f);
            if (t && *t)
                rc = exx_nl(out) < 0 || exx_puts(out, t) < 0 ? -1 : exx_nl(out);
            g_free(t);
        }
    }
    poppler_page_free_form_field_mapping(m);
    m = poppler_page_get_link_mapping(page);
    for (l = m; l && rc == 0; l = l->next) {
        PopplerAction *a = ((PopplerLinkMapping *)l->data)->action;
        if (a && a->type == POPPLER_ACTION_URI && a->uri.uri && *a->uri.uri)
            rc = exx_nl(out) < 0 || exx_puts(out, a->uri.uri) < 0 ? -1 : exx_nl(out);
    }
    poppler_page_free_link_mapping(m);
    return rc;
}

/* Renders the page for OCR and hands it to the image extractor. */
static int render_page(ex_job *j, PopplerPage *page, const char *part, double w, double h)
{
    const ex_limits *lim = ex_job_limits(j);
    double scale = EX_PDF_OCR_DPI / 72.0, maxpx = (double)EX_PDF_MAX_RENDER_PX;
    cairo_surface_t *surf = NULL;
    cairo_t *cr = NULL;
    PIX *pix = NULL;
    int pw, ph, rc = -1;

    if (lim->pixels && (double)lim->pixels < maxpx)
        maxpx = (double)lim->pixels;
    if (!(w > 0 && h > 0 && w < 1e6 && h < 1e6))
        return ex_uninspectable(j, part, "corrupt", "page has no usable size", false);
    if (w * scale * h * scale > maxpx)
        scale = sqrt(maxpx / (w * h));
    pw = (int)(w * scale);
    ph = (int)(h * scale);
    if (pw < 1 || ph < 1)
        return ex_uninspectable(j, part, "limit.pixels", "page too large to render", false);
    surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, pw, ph);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        rc = ex_uninspectable(j, part, "limit.memory", "page could not be rendered", false);
        goto fail;
    }
    cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1); /* paper, so that alpha is opaque */
    cairo_paint(cr);
    cairo_scale(cr, scale, scale);
    poppler_page_render(page, cr);
    cairo_surface_flush(surf);
    pix = pixCreate(pw, ph, 32);
    if (!pix)
        goto fail;
    {
        const unsigned char *src = cairo_image_surface_get_data(surf);
        int stride = cairo_image_surface_get_stride(surf), wpl = pixGetWpl(pix);
        l_uint32 *dst = pixGetData(pix);
        for (int y = 0; y < ph; y++) {
            const uint32_t *s = (const uint32_t *)(const void *)(src + (size_t)y * stride);
            l_uint32 *d = dst + (size_t)y * wpl;
            for (int x = 0; x < pw; x++) {
                /* cairo: native-endian 0xAARRGGBB (premultiplied; opaque here);
                 * Leptonica: 0xRRGGBBAA */
                d[x] = (s[x] << 8) | 0xffu;
            }
        }
    }
    pixSetResolution(pix, (l_int32)(scale * 72.0 + 0.5), (l_int32)(scale * 72.0 + 0.5));
    rc = ex_recurse_pix(j, part, pix);
fail:
    if (pix)
        pixDestroy(&pix);
    if (cr)
        cairo_destroy(cr);
    cairo_surface_destroy(surf);
    return rc;
}

static int emit_page(ex_job *j, PopplerDocument *doc, int i, uint32_t *rendered)
{
    PopplerPage *page = poppler_document_get_page(doc, i);
    char part[64];
    exx_out out;
    gchar *text = NULL;
    double w = 0, h = 0;
    size_t ns;
    int rc = -1;

    snprintf(part, sizeof part, "page %d", i + 1);
    if (!page)
        return ex_uninspectable(j, part, "corrupt", "page could not be read", false);
    poppler_page_get_size(page, &w, &h);
    text = poppler_page_get_text(page);
    ns = nonspace(text);
    exx_begin(&out, j, part);
    if (text && exx_puts(&out, text) < 0)
        goto fail;
    if (emit_page_extras(&out, page) < 0)
        goto fail;
    if (exx_end(&out) < 0)
        goto fail;
    /* A page without its own text is an image of text (a scan) until OCR
     * says otherwise; so is a page that is mostly picture with a few words
     * (a stamped page number). */
    if (ns == 0 || (ns < 64 && image_cover(page, w, h) > 0.3)) {
        if (*rendered >= EX_PDF_MAX_RENDERED) {
            rc = ex_uninspectable(j, part, "limit.pages",
                                  "more image-only pages than are rendered for OCR", false);
            goto fail;
        }
        ++*rendered;
        if (render_page(j, page, part, w, h) < 0)
            goto fail;
    }
    rc = 0;
fail:
    exx_end(&out);
    g_free(text);
    g_object_unref(page);
    return rc;
}

int ex_pdf(ex_job *j, const unsigned char *data, size_t len, const char *mime)
{
    GBytes *bytes = NULL;
    PopplerDocument *doc = NULL;
    GError *err = NULL;
    uint32_t rendered = 0;
    int n, rc = -1;

    (void)mime;
    if (len > G_MAXSSIZE)
        return ex_uninspectable(j, NULL, "limit.file", "PDF too large", true);
    bytes = g_bytes_new_static(data, len);
    doc = poppler_document_new_from_bytes(bytes, NULL, &err);
    if (!doc) {
        bool enc = err && err->domain == POPPLER_ERROR && err->code == POPPLER_ERROR_ENCRYPTED;
        /* a PDF ends with %%EOF (within its last KiB): without it, it was cut */
        size_t tail = len < 1024 ? len : 1024;
        bool cut = !enc && !memmem(data + len - tail, tail, "%%EOF", 5);
        rc = ex_uninspectable(j, NULL,
                              enc   ? "encrypted"
                              : cut ? "truncated"
                                    : "corrupt",
                              enc   ? "password-protected PDF"
                              : cut ? "PDF is truncated (no %%EOF at its end) and cannot be opened"
                                    : "PDF could not be opened (corrupt)",
                              true);
        goto fail;
    }
    if (emit_metadata(j, doc) < 0)
        goto fail;
    n = poppler_document_get_n_pages(doc);
    if (n <= 0) {
        rc = ex_uninspectable(j, NULL, "corrupt", "PDF has no readable pages", false);
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        if (i >= EX_PDF_MAX_PAGES) {
            rc = ex_uninspectable(j, NULL, "limit.pages",
                                  "more pages than are read (" G_STRINGIFY(EX_PDF_MAX_PAGES) ")",
                                  false);
            goto fail;
        }
        if (ex_job_ms_left(j) == 0) {
            ex_uninspectable(j, NULL, "limit.time", "time limit reached inside the PDF", false);
            goto fail;
        }
        if (emit_page(j, doc, i, &rendered) < 0)
            goto fail;
    }
    if (emit_attachments(j, doc) < 0)
        goto fail;
    rc = 0;
fail:
    if (err)
        g_error_free(err);
    if (doc)
        g_object_unref(doc);
    if (bytes)
        g_bytes_unref(bytes);
    return rc;
}

static cairo_status_t png_out(void *closure, const unsigned char *data, unsigned int n)
{
    int fd = *(int *)closure;

    while (n) {
        ssize_t k = write(fd, data, n);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return CAIRO_STATUS_WRITE_ERROR;
        data += k;
        n -= (unsigned)k;
    }
    return CAIRO_STATUS_SUCCESS;
}

int ex_pdf_thumb(const unsigned char *data, size_t len, int max_px, int out, char *why,
                 size_t why_cap)
{
    GBytes *bytes = NULL;
    PopplerDocument *doc = NULL;
    PopplerPage *page = NULL;
    GError *err = NULL;
    cairo_surface_t *surf = NULL;
    cairo_t *cr = NULL;
    double w = 0, h = 0, scale;
    int pw, ph, rc = -1;

    if (len > G_MAXSSIZE || max_px <= 0) {
        snprintf(why, why_cap, "PDF too large");
        return -1;
    }
    bytes = g_bytes_new_static(data, len);
    doc = poppler_document_new_from_bytes(bytes, NULL, &err);
    page = doc && poppler_document_get_n_pages(doc) > 0 ? poppler_document_get_page(doc, 0) : NULL;
    if (!page) {
        snprintf(why, why_cap, "PDF could not be opened");
        goto fail;
    }
    poppler_page_get_size(page, &w, &h);
    if (!(w > 0 && h > 0 && w < 1e6 && h < 1e6)) {
        snprintf(why, why_cap, "PDF page has no size");
        goto fail;
    }
    /* the longer side max_px (or less for a page smaller than that) */
    scale = (double)max_px / (w > h ? w : h);
    if (scale > 1)
        scale = 1;
    pw = (int)ceil(w * scale);
    ph = (int)ceil(h * scale);
    pw = pw < 1 ? 1 : pw;
    ph = ph < 1 ? 1 : ph;
    surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, pw, ph);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        snprintf(why, why_cap, "out of memory");
        goto fail;
    }
    cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1); /* paper */
    cairo_paint(cr);
    cairo_scale(cr, scale, scale);
    poppler_page_render(page, cr);
    cairo_surface_flush(surf);
    if (cairo_surface_write_to_png_stream(surf, png_out, &out) != CAIRO_STATUS_SUCCESS) {
        snprintf(why, why_cap, "cannot write the thumbnail");
        goto fail;
    }
    rc = 0;
fail:
    if (cr)
        cairo_destroy(cr);
    if (surf)
        cairo_surface_destroy(surf);
    if (page)
        g_object_unref(page);
    if (doc)
        g_object_unref(doc);
    if (err)
        g_error_free(err);
    g_bytes_unref(bytes);
    return rc;
}
