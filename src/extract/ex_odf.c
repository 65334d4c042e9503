/*
 * ex_odf.c — OpenDocument: odt, ods, odp (and templates, odg).
 *
 * The package is a zip (ex_zipr.h: limits enforced while inflating); XML is
 * streamed with the safe reader (ex_xml.h, DTDs refused). Read:
 *   - META-INF/manifest.xml first: a member with <manifest:encryption-data>
 *     is encrypted (password-protected document) and reported as
 *     uninspectable.encrypted instead of being fed to the parser as noise;
 *   - content.xml (and each embedded object's "Object N/content.xml"): the
 *     text inside office:body — paragraphs, headings, lists, tables (a
 *     "table: NAME" line per sheet), notes, annotations, tracked changes
 *     (deleted text is still in the file), link targets (xlink:href, for the
 *     link detector); text:p/h ends, line breaks and table rows become
 *     newlines because the marking detector reads lines;
 *   - styles.xml: the master pages only (headers and footers live there);
 *   - meta.xml: "name: value" lines, user-defined properties included (where
 *     classification labels are kept);
 *   - the pictures (Pictures/) and the thumbnail, and any member that is not a known part,
 *     go back to the dispatcher (ex_recurse).
 * Automatic styles, number formats and settings hold no content and are
 * skipped, so their literal strings ("元", "%") do not pollute the text.
 */
#include "ex.h"
#include "ex_xml.h"
#include "ex_zipr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct odf {
    ex_job *j;
    exz *z;
    exx_out out;
    char **enc; /* members the manifest says are encrypted */
    size_t n_enc;
    char prop[256]; /* meta.xml: the current property's name */
    bool macro;     /* file.macro reported */
} odf;

static bool starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static bool ends(const char *s, const char *p)
{
    size_t a = strlen(s), b = strlen(p);
    return a >= b && !strcmp(s + a - b, p);
}

/* ---- manifest ------------------------------------------------------------------ */

static int walk_manifest(void *ctx, xmlTextReaderPtr r)
{
    odf *o = ctx;
    char path[1024], cur[1024] = "";
    int rc;

    while ((rc = exx_next(r)) == 1) {
        const char *ln = (const char *)xmlTextReaderConstLocalName(r);
        char **p;
        if (xmlTextReaderNodeType(r) != XML_READER_TYPE_ELEMENT || !ln)
            continue;
        if (!strcmp(ln, "file-entry")) {
            snprintf(cur, sizeof cur, "%s",
                     exx_attr(r, "full-path", path, sizeof path) ? path : "");
            continue;
        }
        if (strcmp(ln, "encryption-data") || !cur[0])
            continue;
        if (o->n_enc >= ex_job_limits(o->j)->entries)
            break;
        if (!(p = realloc(o->enc, (o->n_enc + 1) * sizeof *p)))
            return -1;
        o->enc = p;
        if (!(o->enc[o->n_enc] = strdup(cur)))
            return -1;
        o->n_enc++;
    }
    return rc < 0 ? 1 : 0;
}

static bool encrypted(const odf *o, const char *name)
{
    for (size_t k = 0; k < o->n_enc; k++)
        if (!strcmp(o->enc[k], name))
            return true;
    return false;
}

/* ---- content and styles ------------------------------------------------------------ */

/* Text inside office:body (content.xml) or office:master-styles (styles.xml). */
static int walk_text(void *ctx, xmlTextReaderPtr r)
{
    odf *o = ctx;
    exx_out *out = &o->out;
    char buf[2048];
    int rc, depth = -1; /* reader depth of the body element, -1 outside */

    while ((rc = exx_next(r)) == 1) {
        int type = xmlTextReaderNodeType(r), d = xmlTextReaderDepth(r);
        const char *ln = (const char *)xmlTextReaderConstLocalName(r);
        bool empty = xmlTextReaderIsEmptyElement(r) == 1;
        if (!ln)
            ln = "";
        if (depth < 0) {
            if (type == XML_READER_TYPE_ELEMENT && !empty &&
                (!strcmp(ln, "body") || !strcmp(ln, "master-styles")))
                depth = d;
            continue;
        }
        if (type == XML_READER_TYPE_ELEMENT) {
            if (!strcmp(ln, "tab"))
                rc = exx_sep(out, '\t');
            else if (!strcmp(ln, "s"))
                rc = exx_sep(out, ' ');
            else if (!strcmp(ln, "line-break") || !strcmp(ln, "note-body") ||
                     !strcmp(ln, "annotation"))
                rc = exx_nl(out); /* a note's text on its own line, not glued to the call */
            else if (!strcmp(ln, "table") && exx_attr(r, "name", buf, sizeof buf))
                rc = exx_prop(out, "table", buf);
            else if (!strcmp(ln, "a") && exx_attr(r, "href", buf, sizeof buf))
                rc = exx_sep(out, ' ') < 0 || exx_puts(out, buf) < 0 ? -1 : exx_sep(out, ' ');
            else if (empty && (!strcmp(ln, "p") || !strcmp(ln, "h")))
                rc = exx_nl(out);
            else
                rc = 0;
        } else if (type == XML_READER_TYPE_END_ELEMENT) {
            if (d == depth) {
                depth = -1;
                rc = 0;
            } else if (!strcmp(ln, "p") || !strcmp(ln, "h") || !strcmp(ln, "table-row") ||
                       !strcmp(ln, "list-item") || !strcmp(ln, "annotation"))
                rc = exx_nl(out);
            else if (!strcmp(ln, "table-cell"))
                rc = exx_sep(out, '\t');
            else
                rc = 0;
        } else if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
                   type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) {
            rc = exx_puts(out, (const char *)xmlTextReaderConstValue(r));
        } else {
            rc = 0;
        }
        if (rc < 0)
            return -1;
        if (ex_job_ms_left(o->j) == 0)
            break;
    }
    return out->err ? -1 : rc < 0 ? 1 : 0;
}

/* meta.xml: <dc:title>, <meta:keyword>, <meta:user-defined meta:name="密级">. */
static int walk_meta(void *ctx, xmlTextReaderPtr r)
{
    odf *o = ctx;
    char buf[256];
    int rc;

    while ((rc = exx_next(r)) == 1) {
        const char *ln = (const char *)xmlTextReaderConstLocalName(r);
        int type = xmlTextReaderNodeType(r);
        if (type == XML_READER_TYPE_ELEMENT && ln) {
            if (!strcmp(ln, "user-defined"))
                snprintf(o->prop, sizeof o->prop, "%s",
                         exx_attr(r, "name", buf, sizeof buf) ? buf : ln);
            else
                snprintf(o->prop, sizeof o->prop, "%s", ln);
        } else if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA) {
            if (exx_prop(&o->out, o->prop, (const char *)xmlTextReaderConstValue(r)) < 0)
                return -1;
        }
    }
    return rc < 0 ? 1 : 0;
}

static int walk_all(void *ctx, xmlTextReaderPtr r)
{
    odf *o = ctx;
    return exx_walk_all(r, &o->out);
}

/* ---- the package ---------------------------------------------------------------------- */

static int member(void *ctx, uint64_t i)
{
    odf *o = ctx;
    const char *name = exz_name(o->z, i);

    if (!*name || ends(name, "/") || !strcmp(name, "mimetype") || starts(name, "META-INF/") ||
        starts(name, "Configurations2/") || starts(name, "ObjectReplacements/") ||
        ends(name, "settings.xml") || ends(name, "manifest.rdf"))
        return 0;
    if (encrypted(o, name))
        return ex_uninspectable(o->j, name, "encrypted",
                                "encrypted (password-protected) OpenDocument part", false);
    if (starts(name, "Basic/") || starts(name, "Scripts/")) {
        /* macros, reported once; their XML (Basic modules) is still read
         * below, the rest (Scripts/python/...) is code, not content */
        if (!o->macro && ex_finding(o->j, NULL, GUARD_CAT_METADATA, GUARD_SEV_MEDIUM, 90,
                                    "file.macro", "the document carries macros", name) < 0)
            return -1;
        o->macro = true;
        if (!ends(name, ".xml"))
            return 0;
    }
    if (ends(name, "content.xml") || ends(name, "styles.xml"))
        return exz_xml(o->j, o->z, i, &o->out, name, walk_text, o);
    if (!strcmp(name, "meta.xml"))
        return exz_xml(o->j, o->z, i, &o->out, name, walk_meta, o);
    if (ends(name, ".xml"))
        return exz_xml(o->j, o->z, i, &o->out, name, walk_all, o);
    /* the pictures (Pictures/), Thumbnails/thumbnail.png, and anything unexpected: a file
     * hidden in the package is inspected as a file of its own. */
    return exz_recurse(o->j, o->z, i);
}

int ex_odf(ex_job *j, const unsigned char *data, size_t len, const char *mime)
{
    odf o;
    int64_t m;
    int rc;

    (void)mime;
    memset(&o, 0, sizeof o);
    o.j = j;
    rc = exz_open_doc(j, data, len, "OpenDocument file", &o.z);
    if (rc)
        return rc < 0 ? -1 : 0;
    rc = -1;
    if ((m = exz_find(o.z, "META-INF/manifest.xml")) >= 0 &&
        exz_xml(j, o.z, (uint64_t)m, &o.out, NULL, walk_manifest, &o) < 0)
        goto fail;
    if (encrypted(&o, "content.xml")) {
        /* the body is encrypted: nothing of substance can be read */
        rc = ex_uninspectable(j, NULL, "encrypted",
                              "password-protected OpenDocument file (content is encrypted)", true);
        goto fail;
    }
    if (exz_each(j, o.z, member, &o) < 0)
        goto fail;
    rc = 0;
fail:
    exx_end(&o.out);
    exz_close(o.z);
    for (size_t k = 0; k < o.n_enc; k++)
        free(o.enc[k]);
    free(o.enc);
    return rc;
}
