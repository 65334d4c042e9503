/*
 * ex_eml.c — e-mail messages (.eml, message/rfc822) with GMime 3.
 *
 * Written:
 *   - "headers": Subject, From, To, Cc, Date and the other headers, RFC 2047
 *     decoded ("Subject: 关于 机密★1年 的通知"); transport noise (Received,
 *     DKIM and ARC signatures, Authentication-Results) is left out because
 *     signatures look like secrets to the secret detector;
 *   - "body" (then "body 2" ...): text/plain parts, transfer-decoded and
 *     converted from their charset (gb2312 and gbk read as GB18030, as mail
 *     clients do, because mislabelled GBK is common);
 *   - "body.html" (...): text/html parts through the HTML reader (ex_html.h);
 *   - attachments and inline non-text parts: decoded and handed to the
 *     dispatcher (ex_recurse) as "attachment NAME", so report.zip attached to
 *     a mail is unpacked and plan.docx read ("mail.eml!attachment
 *     plan.docx!word/document.xml");
 *   - message/rfc822 parts: re-serialised and handed to the dispatcher as
 *     "message N.eml", so a forwarded mail is read the same way.
 * Encrypted content (multipart/encrypted, S/MIME enveloped data, an inline
 * PGP message) is reported as uninspectable.encrypted; signatures are
 * skipped (they carry no content). The MIME tree is walked to
 * EX_EML_MAX_DEPTH levels and at most `entries` parts.
 */
#include "ex.h"
#include "ex_html.h"
#include "ex_xml.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#define EX_EML_MAX_DEPTH 32

typedef struct em {
    ex_job *j;
    uint32_t parts, plain, html, msgs, unnamed;
    bool depth_reported;
} em;

/* ---- headers ------------------------------------------------------------------------ */

static bool noise_header(const char *n)
{
    static const char *const pfx[] = {
        "Received",     "DKIM-",      "ARC-",           "X-Google-", "Authentication-Results",
        "Received-SPF", "X-Received", "X-MS-Exchange-", "Content-",  "MIME-Version"};
    for (size_t k = 0; k < sizeof pfx / sizeof *pfx; k++)
        if (!strncasecmp(n, pfx[k], strlen(pfx[k])))
            return true;
    return false;
}

static int emit_headers(em *e, GMimeMessage *msg)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
    int n = hl ? g_mime_header_list_get_count(hl) : 0;
    exx_out out;

    exx_begin(&out, e->j, "headers");
    for (int k = 0; k < n && k < 1000; k++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, k);
        const char *name = h ? g_mime_header_get_name(h) : NULL;
        const char *v = h ? g_mime_header_get_value(h) : NULL;
        char *dec = NULL;
        int rc;
        if (!name || !v || noise_header(name))
            continue;
        /* GMime keeps the value as written; decode encoded-words here */
        dec = g_mime_utils_header_decode_text(NULL, v);
        rc = exx_prop(&out, name, dec ? dec : v);
        g_free(dec);
        if (rc < 0)
            return -1;
    }
    return exx_end(&out);
}

/* ---- content ------------------------------------------------------------------------- */

/* The transfer-decoded bytes of a part, in a new array (NULL when empty). */
static GByteArray *decode(GMimePart *p)
{
    GMimeDataWrapper *w = g_mime_part_get_content(p);
    GMimeStream *s;
    GByteArray *a;

    if (!w)
        return NULL;
    s = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(w, s);
    a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(s));
    /* take the array: an owning stream frees its data on finalize, refs or not */
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
    g_object_unref(s);
    return a;
}

static const char *charset_of(GMimeObject *o)
{
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    const char *cs = ct ? g_mime_content_type_get_parameter(ct, "charset") : NULL;

    if (!cs || !*cs)
        return "UTF-8";
    if (!strcasecmp(cs, "gb2312") || !strcasecmp(cs, "gbk") || !strcasecmp(cs, "x-gbk") ||
        !strcasecmp(cs, "cp936"))
        return "GB18030";
    if (!strcasecmp(cs, "big5"))
        return "BIG5-HKSCS";
    return g_mime_charset_iconv_name(cs);
}

/* `d` converted from `cs` to UTF-8 in a new array; invalid sequences become
 * U+FFFD; an unknown charset passes the bytes through (the text guard
 * replaces invalid UTF-8 and counts it). */
static GByteArray *to_utf8(const char *cs, const unsigned char *d, size_t n)
{
    iconv_t cd = strcasecmp(cs, "UTF-8") ? iconv_open("UTF-8", cs) : (iconv_t)-1;
    GByteArray *a = g_byte_array_sized_new((guint)(n < (1u << 20) ? n + 16 : 1u << 20));
    char *in = (char *)d, buf[8192];
    size_t left = n;

    if (cd == (iconv_t)-1) {
        g_byte_array_append(a, d, (guint)n);
        return a;
    }
    while (left) {
        char *o = buf;
        size_t room = sizeof buf, rc = iconv(cd, &in, &left, &o, &room);
        g_byte_array_append(a, (const guint8 *)buf, (guint)(o - buf));
        if (rc == (size_t)-1 && errno != E2BIG) {
            g_byte_array_append(a, (const guint8 *)"\xEF\xBF\xBD", 3);
            in++;
            left--;
            iconv(cd, NULL, NULL, NULL, NULL);
        }
    }
    iconv_close(cd);
    return a;
}

static int text_part(em *e, GMimePart *p, bool html)
{
    static const char pgp[] = "-----BEGIN PGP MESSAGE-----";
    GByteArray *a = decode(p), *u = NULL;
    char part[64];
    exx_out out;
    int rc = 0;

    if (!a)
        return 0;
    if (a->len > ex_job_limits(e->j)->member_bytes || ex_job_account(e->j, a->len) < 0) {
        g_byte_array_unref(a);
        ex_uninspectable(e->j, NULL, "limit.unpacked", "unpacked bytes over the limit", false);
        return -1;
    }
    u = to_utf8(charset_of(GMIME_OBJECT(p)), a->data, a->len);
    if (html) {
        if (++e->html == 1)
            snprintf(part, sizeof part, "body.html");
        else
            snprintf(part, sizeof part, "body %u.html", e->html);
        /* already UTF-8: parse it so, whatever its <meta> claims */
        rc = ex_html_text(e->j, part, u->data, u->len, "UTF-8");
    } else {
        if (++e->plain == 1)
            snprintf(part, sizeof part, "body");
        else
            snprintf(part, sizeof part, "body %u", e->plain);
        exx_begin(&out, e->j, part);
        rc = exx_put(&out, (const char *)u->data, u->len);
        if (exx_end(&out) < 0)
            rc = -1;
    }
    if (rc == 0 && a->len && memmem(a->data, a->len, pgp, strlen(pgp)))
        rc = ex_uninspectable(e->j, part, "encrypted", "PGP-encrypted message text", false);
    g_byte_array_unref(u);
    g_byte_array_unref(a);
    return rc;
}

static int attachment(em *e, GMimePart *p)
{
    const char *fn = g_mime_part_get_filename(p);
    GByteArray *a = decode(p);
    char name[600];
    int rc = 0;

    if (!a)
        return 0;
    if (fn && *fn)
        snprintf(name, sizeof name, "attachment %s", fn);
    else {
        GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(p));
        char *mt = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
        snprintf(name, sizeof name, "part %u (%s)", ++e->unnamed, mt ? mt : "unknown");
        g_free(mt);
    }
    if (ex_job_account(e->j, a->len) < 0) {
        ex_uninspectable(e->j, name, "limit.unpacked", "unpacked bytes over the limit", false);
        rc = -1;
    } else if (a->len) {
        rc = ex_recurse(e->j, name, a->data, a->len);
    }
    g_byte_array_unref(a);
    return rc;
}

static int walk(em *e, GMimeObject *o, unsigned depth);

static int message_part(em *e, GMimeMessagePart *mp)
{
    GMimeMessage *m = g_mime_message_part_get_message(mp);
    GMimeStream *s;
    GByteArray *a;
    char name[64];
    int rc = 0;

    if (!m)
        return 0;
    s = g_mime_stream_mem_new();
    g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, s);
    a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(s));
    snprintf(name, sizeof name, "message %u.eml", ++e->msgs);
    if (a && a->len) {
        if (ex_job_account(e->j, a->len) < 0) {
            ex_uninspectable(e->j, name, "limit.unpacked", "unpacked bytes over the limit", false);
            rc = -1;
        } else {
            rc = ex_recurse(e->j, name, a->data, a->len);
        }
    }
    g_object_unref(s);
    return rc;
}

static int walk(em *e, GMimeObject *o, unsigned depth)
{
    GMimeContentType *ct;

    if (!o)
        return 0;
    if (++e->parts > ex_job_limits(e->j)->entries)
        return e->parts == ex_job_limits(e->j)->entries + 1
                   ? ex_uninspectable(e->j, NULL, "limit.entries",
                                      "more MIME parts than the entries limit", false)
                   : 0;
    if (depth > EX_EML_MAX_DEPTH) {
        if (e->depth_reported)
            return 0;
        e->depth_reported = true;
        return ex_uninspectable(e->j, NULL, "limit.depth", "MIME parts nested too deep", false);
    }
    ct = g_mime_object_get_content_type(o);
    if (GMIME_IS_MULTIPART_ENCRYPTED(o))
        return ex_uninspectable(e->j, NULL, "encrypted", "encrypted message part (PGP/MIME)",
                                false);
    if (GMIME_IS_MULTIPART(o)) {
        GMimeMultipart *mp = GMIME_MULTIPART(o);
        int n = g_mime_multipart_get_count(mp);
        for (int k = 0; k < n; k++)
            if (walk(e, g_mime_multipart_get_part(mp, k), depth + 1) < 0)
                return -1;
        return 0;
    }
    if (GMIME_IS_MESSAGE_PART(o))
        return message_part(e, GMIME_MESSAGE_PART(o));
    if (!GMIME_IS_PART(o))
        return 0;
    if (ct && (g_mime_content_type_is_type(ct, "application", "pgp-signature") ||
               g_mime_content_type_is_type(ct, "application", "pkcs7-signature") ||
               g_mime_content_type_is_type(ct, "application", "x-pkcs7-signature")))
        return 0; /* a signature: no content */
    if (ct && (g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
               g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime") ||
               g_mime_content_type_is_type(ct, "application", "pgp-encrypted")))
        return ex_uninspectable(e->j, NULL, "encrypted", "encrypted message part (S/MIME or PGP)",
                                false);
    if (ct && !g_mime_part_is_attachment(GMIME_PART(o)) &&
        g_mime_content_type_is_type(ct, "text", "plain"))
        return text_part(e, GMIME_PART(o), false);
    if (ct && !g_mime_part_is_attachment(GMIME_PART(o)) &&
        g_mime_content_type_is_type(ct, "text", "html"))
        return text_part(e, GMIME_PART(o), true);
    return attachment(e, GMIME_PART(o));
}

int ex_eml(ex_job *j, const unsigned char *data, size_t len, const char *mime)
{
    GMimeStream *s = NULL;
    GMimeParser *p = NULL;
    GMimeMessage *msg = NULL;
    em e;
    int rc = -1;

    (void)mime;
    memset(&e, 0, sizeof e);
    e.j = j;
    /* One job per worker process: GMime's global initialisation is done
     * once here and never undone (g_mime_init is reference-counted). */
    g_mime_init();
    s = g_mime_stream_mem_new_with_buffer((const char *)data, len);
    p = g_mime_parser_new_with_stream(s);
    msg = g_mime_parser_construct_message(p, NULL);
    if (!msg) {
        rc = ex_uninspectable(j, NULL, "corrupt", "not a readable e-mail message", true);
        goto fail;
    }
    if (emit_headers(&e, msg) < 0)
        goto fail;
    if (walk(&e, g_mime_message_get_mime_part(msg), 0) < 0)
        goto fail;
    rc = 0;
fail:
    if (msg)
        g_object_unref(msg);
    if (p)
        g_object_unref(p);
    if (s)
        g_object_unref(s);
    return rc;
}
