/*
 * ex_xml.c — safe XML reading and batched text output (see ex_xml.h for the
 * why of each option).
 */
#include "ex_xml.h"

#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

/* ---- input ----------------------------------------------------------------- */

static const char doctype[] = "<!DOCTYPE";
#define DOCTYPE_LEN (sizeof doctype - 1)

void exx_in_mem(exx_in *in, const unsigned char *data, size_t len, bool no_dtd)
{
    memset(in, 0, sizeof *in);
    in->mem = data;
    in->mem_len = len;
    in->no_dtd = no_dtd;
}

void exx_in_fn(exx_in *in, exx_read_fn fn, void *ctx, bool no_dtd)
{
    memset(in, 0, sizeof *in);
    in->read = fn;
    in->ctx = ctx;
    in->no_dtd = no_dtd;
}

/* Looks for "<!DOCTYPE" in the new chunk, including one that straddles the
 * previous chunk's end (kept in in->tail). */
static bool has_doctype(exx_in *in, const char *buf, size_t n)
{
    char joint[2 * DOCTYPE_LEN];
    size_t head = n < DOCTYPE_LEN - 1 ? n : DOCTYPE_LEN - 1;
    bool found;

    memcpy(joint, in->tail, in->ntail);
    memcpy(joint + in->ntail, buf, head);
    found = memmem(joint, in->ntail + head, doctype, DOCTYPE_LEN) != NULL ||
            memmem(buf, n, doctype, DOCTYPE_LEN) != NULL;
    if (n >= DOCTYPE_LEN - 1) {
        memcpy(in->tail, buf + n - (DOCTYPE_LEN - 1), DOCTYPE_LEN - 1);
        in->ntail = DOCTYPE_LEN - 1;
    } else {
        /* keep the last DOCTYPE_LEN - 1 bytes of tail + buf */
        size_t keep = in->ntail + n;
        memcpy(joint, in->tail, in->ntail);
        memcpy(joint + in->ntail, buf, n);
        if (keep > DOCTYPE_LEN - 1) {
            memmove(joint, joint + keep - (DOCTYPE_LEN - 1), DOCTYPE_LEN - 1);
            keep = DOCTYPE_LEN - 1;
        }
        memcpy(in->tail, joint, keep);
        in->ntail = keep;
    }
    return found;
}

static int io_read(void *ctx, char *buf, int cap)
{
    exx_in *in = ctx;
    int n;

    if (in->saw_dtd || in->read_err || cap <= 0)
        return -1;
    if (in->read) {
        n = in->read(in->ctx, buf, cap);
        if (n < 0) {
            in->read_err = true;
            return -1;
        }
    } else {
        size_t left = in->mem_len - in->mem_off;
        n = left < (size_t)cap ? (int)left : cap;
        memcpy(buf, in->mem + in->mem_off, (size_t)n);
        in->mem_off += (size_t)n;
    }
    if (n > 0 && in->no_dtd && has_doctype(in, buf, (size_t)n)) {
        in->saw_dtd = true;
        return -1;
    }
    return n;
}

static void silent(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void silent_structured(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

static void silent_reader(void *arg, const char *msg, xmlParserSeverities sev,
                          xmlTextReaderLocatorPtr loc)
{
    (void)arg;
    (void)msg;
    (void)sev;
    (void)loc;
}

void exx_init(void)
{
    /* The worker is one job per process, so these per-thread globals of
     * libxml2 are set once and never race. */
    xmlInitParser();
    xmlSetGenericErrorFunc(NULL, silent);
    xmlSetStructuredErrorFunc(NULL, silent_structured);
}

xmlTextReaderPtr exx_reader(exx_in *in, const char *url)
{
    /* NONET: no fetching; no NOENT, DTDLOAD, DTDATTR, DTDVALID, XINCLUDE or
     * HUGE. NOCDATA only merges CDATA into text nodes. */
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
    xmlTextReaderPtr r;

    exx_init();
    r = xmlReaderForIO(io_read, NULL, in, url, NULL, opts);
    if (r)
        xmlTextReaderSetErrorHandler(r, silent_reader, NULL);
    return r;
}

int exx_next(xmlTextReaderPtr r)
{
    int rc = xmlTextReaderRead(r);
    return rc > 0 ? 1 : rc == 0 ? 0 : -1;
}

/* ---- output ---------------------------------------------------------------- */

static int flush(exx_out *o)
{
    if (o->err)
        return -1;
    if (o->n && !o->open) {
        if (ex_text_begin(o->j, o->part) < 0) {
            o->err = -1;
            return -1;
        }
        o->open = true;
    }
    if (o->n && ex_text(o->j, o->buf, o->n) < 0)
        o->err = -1;
    o->n = 0;
    return o->err;
}

int exx_begin(exx_out *o, ex_job *j, const char *part)
{
    o->j = j;
    o->err = 0;
    o->n = 0;
    o->nl = 0;
    o->any = false;
    o->open = false;
    snprintf(o->part, sizeof o->part, "%s", part ? part : "");
    return 0;
}

static int raw(exx_out *o, const char *s, size_t n)
{
    while (n) {
        size_t room = sizeof o->buf - o->n, k = n < room ? n : room;
        memcpy(o->buf + o->n, s, k);
        o->n += k;
        s += k;
        n -= k;
        if (o->n == sizeof o->buf && flush(o) < 0)
            return -1;
    }
    return o->err;
}

int exx_put(exx_out *o, const char *s, size_t n)
{
    size_t i;

    if (o->err || !n)
        return o->err;
    for (i = n; i > 0 && s[i - 1] == '\n'; i--)
        ;
    if (i == 0) {
        /* only newlines: collapse them with what came before */
        while (n-- && exx_nl(o) == 0)
            ;
        return o->err;
    }
    if (raw(o, s, n) < 0)
        return -1;
    o->nl = (unsigned)(n - i);
    for (size_t k = 0; k < i && !o->any; k++)
        if (s[k] != ' ' && s[k] != '\t' && s[k] != '\r' && s[k] != '\n')
            o->any = true;
    return 0;
}

int exx_puts(exx_out *o, const char *s)
{
    return s ? exx_put(o, s, strlen(s)) : o->err;
}

int exx_nl(exx_out *o)
{
    if (o->err)
        return -1;
    if (!o->any || o->nl >= 1)
        return 0;
    o->nl++;
    return raw(o, "\n", 1);
}

int exx_sep(exx_out *o, char c)
{
    if (o->err)
        return -1;
    if (!o->any || o->nl)
        return 0;
    if (o->n && (o->buf[o->n - 1] == ' ' || o->buf[o->n - 1] == '\t'))
        return 0;
    return raw(o, &c, 1);
}

int exx_end(exx_out *o)
{
    if (flush(o) < 0)
        return -1;
    if (o->open && ex_text_end(o->j) < 0)
        o->err = -1;
    o->open = false;
    return o->err;
}

/* ---- helpers ---------------------------------------------------------------- */

int exx_prop(exx_out *o, const char *name, const char *value)
{
    size_t a = 0, b;

    if (!value)
        return o->err;
    b = strlen(value);
    while (a < b && strchr(" \t\r\n", value[a]))
        a++;
    while (b > a && strchr(" \t\r\n", value[b - 1]))
        b--;
    if (a == b)
        return o->err;
    if ((o->nl == 0 && exx_nl(o) < 0) || exx_puts(o, name) < 0 || exx_put(o, ": ", 2) < 0 ||
        exx_put(o, value + a, b - a) < 0)
        return -1;
    return exx_nl(o);
}

int exx_walk_all(xmlTextReaderPtr r, exx_out *o)
{
    int rc;

    while ((rc = exx_next(r)) == 1) {
        int type = xmlTextReaderNodeType(r);
        if (type == XML_READER_TYPE_ELEMENT) {
            /* attribute-style properties (XMP's rdf:Description pdf:Producer="...") */
            while (xmlTextReaderMoveToNextAttribute(r) == 1) {
                const xmlChar *pfx = xmlTextReaderConstPrefix(r);
                const xmlChar *ln = xmlTextReaderConstLocalName(r);
                if (xmlTextReaderIsNamespaceDecl(r) == 1 ||
                    (pfx &&
                     (!strcmp((const char *)pfx, "xml") || !strcmp((const char *)pfx, "rdf"))))
                    continue;
                if (exx_prop(o, ln ? (const char *)ln : "",
                             (const char *)xmlTextReaderConstValue(r)) < 0)
                    return -1;
            }
            xmlTextReaderMoveToElement(r);
        } else if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA) {
            const xmlChar *v = xmlTextReaderConstValue(r);
            if (v && exx_sep(o, ' ') < 0)
                return -1;
            if (v && exx_puts(o, (const char *)v) < 0)
                return -1;
        } else if (type == XML_READER_TYPE_END_ELEMENT) {
            if (o->nl == 0 && exx_nl(o) < 0)
                return -1;
        }
    }
    return o->err ? -1 : rc < 0 ? 1 : 0;
}

const char *exx_attr(xmlTextReaderPtr r, const char *local, char *buf, size_t cap)
{
    xmlChar *v = NULL;

    while (xmlTextReaderMoveToNextAttribute(r) == 1) {
        const xmlChar *ln = xmlTextReaderConstLocalName(r);
        if (ln && !strcmp((const char *)ln, local)) {
            v = xmlTextReaderValue(r);
            break;
        }
    }
    xmlTextReaderMoveToElement(r);
    if (!v)
        return NULL;
    snprintf(buf, cap, "%s", (const char *)v);
    xmlFree(v);
    return buf;
}
