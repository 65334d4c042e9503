/*
 * ex_html.c — HTML and XHTML with libxml2's HTML parser; other XML with the
 * safe streaming XML reader (ex_xml.h).
 *
 * HTML is parsed with the push parser and SAX callbacks only (no tree), in
 * chunks, with HTML_PARSE_RECOVER|NONET|NOERROR|NOWARNING: memory stays
 * constant whatever the size of the page, and broken markup is read as a
 * browser would read it. Written, as the segment "html" ("xml" for XML):
 *   - the visible text, with block elements (p, div, li, tr, h1-h6, br ...)
 *     as line breaks because the marking detector reads lines, and table
 *     cells as tabs;
 *   - <title>, <meta name=description|keywords|author|subject|classification>
 *     content, as "name: value" lines;
 *   - alt and title attributes (a picture's description is content);
 *   - href, src, action URLs (not data: URIs), for the link detector;
 * skipped: <script>, <style>, <template> and comments.
 * The encoding comes from a BOM or <meta charset> (libxml2 converts with
 * iconv), or is forced by the caller (e-mail parts, already UTF-8).
 * Plain XML: every text node and attribute value (exx_walk_all); entities are
 * never substituted and no DTD is loaded, so an entity-expansion file reads
 * as its literal text.
 */
#include "ex_html.h"
#include "ex_xml.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>

#define CHUNK (64u << 10)

typedef struct hx {
    ex_job *j;
    exx_out out;
    int skip;  /* depth inside script/style/template */
    int title; /* inside <title> */
} hx;

static bool is_block(const char *n)
{
    static const char *const b[] = {
        "p",       "div",    "br",         "li",      "tr",       "h1",     "h2",         "h3",
        "h4",      "h5",     "h6",         "ul",      "ol",       "table",  "section",    "article",
        "header",  "footer", "blockquote", "pre",     "hr",       "title",  "dt",         "dd",
        "address", "form",   "nav",        "aside",   "main",     "figure", "figcaption", "option",
        "caption", "body",   "html",       "center",  "fieldset", "legend", "dl",         "tbody",
        "thead",   "tfoot",  "summary",    "details", "textarea",
    };
    for (size_t k = 0; k < sizeof b / sizeof *b; k++)
        if (!strcasecmp(n, b[k]))
            return true;
    return false;
}

static bool is_skipped(const char *n)
{
    return !strcasecmp(n, "script") || !strcasecmp(n, "style") || !strcasecmp(n, "template");
}

static void line(hx *h, const char *name, const char *v)
{
    if (name)
        exx_prop(&h->out, name, v);
    else if (v && *v) {
        exx_nl(&h->out);
        exx_puts(&h->out, v);
        exx_nl(&h->out);
    }
}

static void on_start(void *ctx, const xmlChar *xname, const xmlChar **attrs)
{
    hx *h = ctx;
    const char *name = (const char *)xname, *meta_name = NULL, *content = NULL;

    if (is_skipped(name)) {
        h->skip++;
        return;
    }
    if (h->skip)
        return;
    if (is_block(name))
        exx_nl(&h->out);
    else if (!strcasecmp(name, "td") || !strcasecmp(name, "th"))
        exx_sep(&h->out, '\t');
    if (!strcasecmp(name, "title")) {
        exx_nl(&h->out);
        exx_puts(&h->out, "title: ");
        h->title++;
    }
    for (size_t k = 0; attrs && attrs[k] && k < 2 * 256; k += 2) {
        const char *an = (const char *)attrs[k], *av = (const char *)attrs[k + 1];
        if (!av || !*av)
            continue;
        if (!strcasecmp(an, "alt") || !strcasecmp(an, "title"))
            line(h, NULL, av);
        else if ((!strcasecmp(an, "href") || !strcasecmp(an, "src") || !strcasecmp(an, "action")) &&
                 strncasecmp(av, "data:", 5) && strncasecmp(av, "javascript:", 11) && av[0] != '#')
            line(h, NULL, av);
        else if (!strcasecmp(an, "name") || !strcasecmp(an, "property"))
            meta_name = av;
        else if (!strcasecmp(an, "content"))
            content = av;
    }
    if (!strcasecmp(name, "meta") && meta_name && content) {
        static const char *const keep[] = {"description",    "keywords", "author",        "subject",
                                           "classification", "og:title", "og:description"};
        for (size_t k = 0; k < sizeof keep / sizeof *keep; k++)
            if (!strcasecmp(meta_name, keep[k]))
                line(h, meta_name, content);
    }
}

static void on_end(void *ctx, const xmlChar *xname)
{
    hx *h = ctx;
    const char *name = (const char *)xname;

    if (is_skipped(name)) {
        if (h->skip)
            h->skip--;
        return;
    }
    if (h->skip)
        return;
    if (!strcasecmp(name, "title") && h->title)
        h->title--;
    if (is_block(name))
        exx_nl(&h->out);
    else if (!strcasecmp(name, "td") || !strcasecmp(name, "th"))
        exx_sep(&h->out, '\t');
}

static void on_chars(void *ctx, const xmlChar *s, int n)
{
    hx *h = ctx;
    if (!h->skip && n > 0)
        exx_put(&h->out, (const char *)s, (size_t)n);
}

static void on_cdata(void *ctx, const xmlChar *s, int n)
{
    /* script and style bodies arrive here; they are skipped by depth anyway */
    on_chars(ctx, s, n);
}

int ex_html_text(ex_job *j, const char *part, const unsigned char *data, size_t len,
                 const char *encoding)
{
    htmlSAXHandler sax;
    htmlParserCtxtPtr ctxt = NULL;
    hx h;
    size_t off = 0;
    int rc = -1;
    int opts = HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
               HTML_PARSE_NOBLANKS | HTML_PARSE_NOIMPLIED;

    exx_init();
    memset(&sax, 0, sizeof sax);
    memset(&h, 0, sizeof h);
    h.j = j;
    sax.startElement = on_start;
    sax.endElement = on_end;
    sax.characters = on_chars;
    sax.cdataBlock = on_cdata;
    exx_begin(&h.out, j, part);
    ctxt = htmlCreatePushParserCtxt(&sax, &h, NULL, 0, NULL,
                                    encoding ? XML_CHAR_ENCODING_NONE : XML_CHAR_ENCODING_NONE);
    if (!ctxt)
        goto fail;
    if (encoding) {
        xmlCharEncodingHandlerPtr eh = xmlFindCharEncodingHandler(encoding);
        opts |= HTML_PARSE_IGNORE_ENC;
        if (eh)
            xmlSwitchToEncoding(ctxt, eh);
    }
    htmlCtxtUseOptions(ctxt, opts);
    do {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        int last = off + n == len;
        htmlParseChunk(ctxt, (const char *)data + off, (int)n, last);
        off += n;
        if (h.out.err)
            goto fail;
        if (ex_job_ms_left(j) == 0) {
            exx_end(&h.out);
            ex_uninspectable(j, part, "limit.time", "time limit reached inside the page", false);
            goto fail;
        }
    } while (off < len);
    if (exx_end(&h.out) < 0)
        goto fail;
    rc = 0;
fail:
    exx_end(&h.out);
    if (ctxt) {
        if (ctxt->myDoc)
            xmlFreeDoc(ctxt->myDoc);
        htmlFreeParserCtxt(ctxt);
    }
    return rc;
}

static int xml_text(ex_job *j, const unsigned char *data, size_t len)
{
    exx_in in;
    exx_out out;
    xmlTextReaderPtr r;
    int w;

    /* A DTD is legitimate in plain XML: it is parsed (internal subset only,
     * never loaded), and entities are never substituted. */
    exx_in_mem(&in, data, len, false);
    r = exx_reader(&in, "xml");
    if (!r)
        return -1;
    exx_begin(&out, j, "xml");
    w = exx_walk_all(r, &out);
    xmlFreeTextReader(r);
    if (exx_end(&out) < 0 || w < 0)
        return -1;
    if (w > 0)
        return ex_uninspectable(j, NULL, "corrupt", "malformed XML; read up to the error", false);
    return 0;
}

int ex_html(ex_job *j, const unsigned char *data, size_t len, const char *mime)
{
    if (len > INT32_MAX)
        return ex_uninspectable(j, NULL, "limit.file", "document too large", true);
    if (mime && strstr(mime, "xml") && !strstr(mime, "html"))
        return xml_text(j, data, len);
    return ex_html_text(j, "html", data, len, NULL);
}
