/*
 * ex_ooxml.c — Office Open XML: docx, xlsx, pptx (and their macro/template
 * variants).
 *
 * The package is a zip (read with libzip under the job's limits, ex_zipr.h);
 * every XML part is streamed through libxml2's xmlTextReader (ex_xml.h: no
 * entity substitution, no DTD — a part that declares one is refused — no
 * network). Each part becomes its own text segment named by its member path,
 * so a finding says "plan.docx!word/footnotes.xml".
 *
 * What is read, and why this way:
 *   - every XML part under word/, ppt/, xl/ except pure formatting parts
 *     (styles, theme, settings, fonts...): not only the parts the
 *     relationships name, since a part can be renamed or added to hide text;
 *     text is taken from w:t, w:delText (deleted text is still in the file),
 *     w:instrText (field codes, e.g. HYPERLINK "..."), a:t (DrawingML: slides,
 *     text boxes, SmartArt, charts), c:v/f (chart and cell values);
 *     paragraph ends, w:br and rows become newlines because the marking
 *     detector reads lines;
 *   - xlsx: shared strings are loaded first and each sheet is emitted with its
 *     cells resolved, named "xl/worksheets/sheet1.xml (sheet Budget)" from
 *     workbook.xml and its relationships; shared strings no cell uses are
 *     emitted on their own; sheet and defined names from workbook.xml;
 *   - docProps/core.xml, app.xml, custom.xml as "name: value" lines (custom
 *     properties are where classification labels such as 密级 live);
 *   - external relationship targets (hyperlinks) from every .rels part, for
 *     the link detector;
 *   - media, embedded objects, the thumbnail and any member that is not a
 *     known part go back to the dispatcher (ex_recurse), which detects their
 *     type: pictures are OCR'd, embedded documents unpacked.
 * An encrypted docx is not a zip but an OLE file: ex_ole.c reports it.
 */
#include "ex.h"
#include "ex_xml.h"
#include "ex_zipr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shared strings of a workbook: one arena of NUL-terminated strings. Its
 * size is bounded by the member's, which is bounded by member_bytes. */
typedef struct sst {
    char *text;
    size_t len, cap;
    size_t *off;
    unsigned char *used;
    size_t n, ncap;
} sst;

typedef struct sheet {
    char *path; /* member path, e.g. "xl/worksheets/sheet1.xml" */
    char *name; /* sheet name from workbook.xml */
} sheet;

typedef struct ox {
    ex_job *j;
    exz *z;
    exx_out out;
    sst ss;
    sheet *sheets;
    size_t n_sheets;
    char *cell;        /* the current cell's type attribute ("s", "inlineStr"...) */
    bool in_text;      /* inside an element whose text is content */
    bool in_rph;       /* inside a phonetic run (furigana): not content */
    char prop[256];    /* current property name (custom.xml) */
    char where[256];   /* current element's local name (core.xml, app.xml) */
    struct rels *rels; /* where walk_rels collects (workbook relationships) */
} ox;

/* ---- names ------------------------------------------------------------------ */

static bool starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static bool ends(const char *s, const char *p)
{
    size_t a = strlen(s), b = strlen(p);
    return a >= b && !strcmp(s + a - b, p);
}

static const char *base(const char *s)
{
    const char *b = strrchr(s, '/');
    return b ? b + 1 : s;
}

/* Parts that hold formatting only; nothing in them is content. */
static bool is_formatting(const char *name)
{
    static const char *const skip[] = {
        "styles.xml",          "stylesWithEffects.xml", "settings.xml",    "webSettings.xml",
        "fontTable.xml",       "numbering.xml",         "presProps.xml",   "viewProps.xml",
        "tableStyles.xml",     "calcChain.xml",         "commentsIds.xml", "commentsExtensible.xml",
        "[Content_Types].xml",
    };
    const char *b = base(name);
    for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
        if (!strcmp(b, skip[i]))
            return true;
    return strstr(name, "/theme/") || strstr(name, "/fonts/") ||
           strstr(name, "/printerSettings/") ||
           (starts(name, "customXml/") && starts(b, "itemProps"));
}

static bool is_media(const char *name)
{
    static const char *const dirs[] = {"word/media/",       "word/embeddings/", "xl/media/",
                                       "xl/embeddings/",    "ppt/media/",       "ppt/embeddings/",
                                       "docProps/thumbnail"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        if (starts(name, dirs[i]))
            return true;
    return false;
}

/* ---- reading a part ----------------------------------------------------------- */

static int read_part(ox *o, uint64_t i, const char *part, exz_walk_fn walk)
{
    return exz_xml(o->j, o->z, i, &o->out, part, walk, o);
}

/* ---- body text: WordprocessingML, DrawingML, SpreadsheetML cells ------------- */

static bool is_text_elem(const char *ln)
{
    return !strcmp(ln, "t") || !strcmp(ln, "delText") || !strcmp(ln, "instrText") ||
           !strcmp(ln, "v") || !strcmp(ln, "f");
}

static int emit_cell_value(ox *o, const char *v)
{
    if (o->cell && !strcmp(o->cell, "s")) {
        char *end;
        unsigned long k = strtoul(v, &end, 10);
        if (end != v && k < o->ss.n) {
            o->ss.used[k] = 1;
            return exx_puts(&o->out, o->ss.text + o->ss.off[k]);
        }
        return 0;
    }
    return exx_puts(&o->out, v);
}

static int on_element(ox *o, xmlTextReaderPtr r, const char *ln, bool empty)
{
    char buf[2048];

    if (!strcmp(ln, "tab"))
        return exx_sep(&o->out, '\t');
    if (!strcmp(ln, "br") || !strcmp(ln, "cr"))
        return exx_nl(&o->out);
    if (!strcmp(ln, "rPh")) {
        o->in_rph = !empty;
        return 0;
    }
    if (!strcmp(ln, "c")) {
        free(o->cell);
        o->cell = NULL;
        if (exx_attr(r, "t", buf, sizeof buf) && !(o->cell = strdup(buf)))
            return -1;
        return exx_sep(&o->out, '\t');
    }
    if (!strcmp(ln, "fldSimple") && exx_attr(r, "instr", buf, sizeof buf)) {
        /* a simple field's code, e.g. HYPERLINK "https://..." */
        if (exx_sep(&o->out, ' ') < 0 || exx_puts(&o->out, buf) < 0)
            return -1;
        return exx_sep(&o->out, ' ');
    }
    if (!strcmp(ln, "textpath") && exx_attr(r, "string", buf, sizeof buf)) /* VML WordArt */
        return exx_puts(&o->out, buf) < 0 ? -1 : exx_nl(&o->out);
    if (!strcmp(ln, "cNvPr") && exx_attr(r, "descr", buf, sizeof buf)) /* picture alt text */
        return exx_puts(&o->out, buf) < 0 ? -1 : exx_nl(&o->out);
    if (is_text_elem(ln))
        o->in_text = !empty;
    else if (empty && (!strcmp(ln, "p") || !strcmp(ln, "row")))
        return exx_nl(&o->out);
    return 0;
}

static int on_end(ox *o, const char *ln)
{
    if (is_text_elem(ln)) {
        o->in_text = false;
        return 0;
    }
    if (!strcmp(ln, "rPh"))
        o->in_rph = false;
    else if (!strcmp(ln, "c")) {
        free(o->cell);
        o->cell = NULL;
    } else if (!strcmp(ln, "p") || !strcmp(ln, "row") || !strcmp(ln, "si") ||
               !strcmp(ln, "comment") || !strcmp(ln, "footnote") || !strcmp(ln, "endnote") ||
               !strcmp(ln, "tr") || !strcmp(ln, "txbxContent"))
        return exx_nl(&o->out);
    else if (!strcmp(ln, "tc"))
        return exx_sep(&o->out, '\t');
    return 0;
}

static int walk_body(void *ctx, xmlTextReaderPtr r)
{
    ox *o = ctx;
    int rc;

    o->in_text = o->in_rph = false;
    while ((rc = exx_next(r)) == 1) {
        int type = xmlTextReaderNodeType(r);
        const char *ln = (const char *)xmlTextReaderConstLocalName(r);
        if (!ln)
            ln = "";
        if (type == XML_READER_TYPE_ELEMENT) {
            if (on_element(o, r, ln, xmlTextReaderIsEmptyElement(r) == 1) < 0)
                return -1;
        } else if (type == XML_READER_TYPE_END_ELEMENT) {
            if (on_end(o, ln) < 0)
                return -1;
        } else if ((type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
                    type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) &&
                   o->in_text && !o->in_rph) {
            const char *v = (const char *)xmlTextReaderConstValue(r);
            if (v && (o->cell ? emit_cell_value(o, v) : exx_puts(&o->out, v)) < 0)
                return -1;
        }
        if (ex_job_ms_left(o->j) == 0)
            break;
    }
    free(o->cell);
    o->cell = NULL;
    return o->out.err ? -1 : rc < 0 ? 1 : 0;
}

/* ---- shared strings ------------------------------------------------------------- */

/* Makes room for `need` bytes (and a NUL) at the end of the arena. 0, 1 when
 * past `cap`, -1 out of memory. */
static int sst_reserve(sst *s, size_t need, uint64_t cap)
{
    size_t nc = s->cap ? s->cap : 4096;
    char *p;

    if (s->len + need + 1 > cap)
        return 1;
    if (s->len + need + 1 <= s->cap)
        return 0;
    while (nc < s->len + need + 1)
        nc *= 2;
    if (!(p = realloc(s->text, nc)))
        return -1;
    s->text = p;
    s->cap = nc;
    return 0;
}

static int sst_put(sst *s, const char *t, size_t n, uint64_t cap)
{
    int rc = sst_reserve(s, n, cap);
    if (rc)
        return rc;
    memcpy(s->text + s->len, t, n);
    s->len += n;
    s->text[s->len] = 0;
    return 0;
}

/* Starts a new string after the previous one's NUL. */
static int sst_next(sst *s, uint64_t cap)
{
    int rc;

    if (s->n == s->ncap) {
        size_t nc = s->ncap ? s->ncap * 2 : 256;
        size_t *p = realloc(s->off, nc * sizeof *p);
        unsigned char *u;
        if (!p)
            return -1;
        s->off = p;
        if (!(u = realloc(s->used, nc)))
            return -1;
        s->used = u;
        s->ncap = nc;
    }
    if (s->n) {
        if ((rc = sst_reserve(s, 1, cap)) != 0)
            return rc;
        s->len++; /* past the previous string's NUL */
    }
    if ((rc = sst_reserve(s, 0, cap)) != 0)
        return rc;
    s->text[s->len] = 0;
    s->off[s->n] = s->len;
    s->used[s->n] = 0;
    s->n++;
    return 0;
}

static int walk_sst(void *ctx, xmlTextReaderPtr r)
{
    ox *o = ctx;
    uint64_t cap = ex_job_limits(o->j)->member_bytes;
    bool in_t = false, in_rph = false, in_si = false;
    int rc, k;

    while ((rc = exx_next(r)) == 1) {
        int type = xmlTextReaderNodeType(r);
        const char *ln = (const char *)xmlTextReaderConstLocalName(r);
        bool empty = xmlTextReaderIsEmptyElement(r) == 1;
        if (!ln)
            ln = "";
        if (type == XML_READER_TYPE_ELEMENT) {
            if (!strcmp(ln, "si")) {
                if ((k = sst_next(&o->ss, cap)) != 0)
                    return k;
                in_si = !empty;
            } else if (!strcmp(ln, "t"))
                in_t = !empty && in_si;
            else if (!strcmp(ln, "rPh"))
                in_rph = !empty;
        } else if (type == XML_READER_TYPE_END_ELEMENT) {
            if (!strcmp(ln, "t"))
                in_t = false;
            else if (!strcmp(ln, "rPh"))
                in_rph = false;
            else if (!strcmp(ln, "si"))
                in_si = false;
        } else if ((type == XML_READER_TYPE_TEXT ||
                    type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE ||
                    type == XML_READER_TYPE_CDATA) &&
                   in_t && !in_rph) {
            const char *v = (const char *)xmlTextReaderConstValue(r);
            if (v && (k = sst_put(&o->ss, v, strlen(v), cap)) != 0)
                return k;
        }
    }
    return rc < 0 ? 1 : 0;
}

/* Shared strings no cell refers to: still in the file, so still read. */
static int emit_unused_sst(ox *o, const char *part)
{
    bool any = false;

    for (size_t k = 0; k < o->ss.n; k++) {
        if (o->ss.used[k] || !o->ss.text[o->ss.off[k]])
            continue;
        if (!any && exx_begin(&o->out, o->j, part) < 0)
            return -1;
        any = true;
        if (exx_puts(&o->out, o->ss.text + o->ss.off[k]) < 0 || exx_nl(&o->out) < 0)
            return -1;
    }
    return any ? exx_end(&o->out) : 0;
}

/* ---- relationships ----------------------------------------------------------------- */

typedef struct rel {
    char *id, *target;
} rel;

struct rels {
    rel *v;
    size_t n, cap;
};

static void rels_free(struct rels *rs)
{
    for (size_t k = 0; k < rs->n; k++) {
        free(rs->v[k].id);
        free(rs->v[k].target);
    }
    free(rs->v);
    memset(rs, 0, sizeof *rs);
}

/* Internal relationships into o->rels; external targets (hyperlinks) are
 * written to the segment when one is open (o->rels NULL). */
static int walk_rels(void *ctx, xmlTextReaderPtr r)
{
    ox *o = ctx;
    struct rels *rs = o->rels;
    char id[256], target[2048], mode[32];
    int rc;

    while ((rc = exx_next(r)) == 1) {
        const char *ln = (const char *)xmlTextReaderConstLocalName(r);
        bool external;
        if (xmlTextReaderNodeType(r) != XML_READER_TYPE_ELEMENT || !ln ||
            strcmp(ln, "Relationship"))
            continue;
        if (!exx_attr(r, "Target", target, sizeof target))
            continue;
        external = exx_attr(r, "TargetMode", mode, sizeof mode) && !strcmp(mode, "External");
        if (!rs) {
            if (external && (exx_puts(&o->out, target) < 0 || exx_nl(&o->out) < 0))
                return -1;
            continue;
        }
        if (external || !exx_attr(r, "Id", id, sizeof id))
            continue;
        if (rs->n == rs->cap) {
            size_t nc = rs->cap ? rs->cap * 2 : 16;
            rel *p;
            if (nc > ex_job_limits(o->j)->entries)
                break; /* more than the zip can have members: ignore the rest */
            if (!(p = realloc(rs->v, nc * sizeof *p)))
                return -1;
            rs->v = p;
            rs->cap = nc;
        }
        rs->v[rs->n].id = strdup(id);
        rs->v[rs->n].target = strdup(target);
        if (!rs->v[rs->n].id || !rs->v[rs->n].target) {
            free(rs->v[rs->n].id);
            free(rs->v[rs->n].target);
            return -1;
        }
        rs->n++;
    }
    return rc < 0 ? 1 : 0;
}

/* workbook.xml: sheet names (written, and mapped to their parts through the
 * relationships in o->rels) and defined names. */
static int walk_workbook(void *ctx, xmlTextReaderPtr r)
{
    ox *o = ctx;
    char name[1024], id[256], path[2048];
    int rc;

    while ((rc = exx_next(r)) == 1) {
        const char *ln = (const char *)xmlTextReaderConstLocalName(r);
        int type = xmlTextReaderNodeType(r);
        if (!ln)
            continue;
        if (type == XML_READER_TYPE_ELEMENT && !strcmp(ln, "sheet") &&
            exx_attr(r, "name", name, sizeof name)) {
            if (exx_prop(&o->out, "sheet", name) < 0)
                return -1;
            if (!exx_attr(r, "id", id, sizeof id))
                continue;
            for (size_t k = 0; k < o->rels->n; k++) {
                const char *t = o->rels->v[k].target;
                sheet *p;
                if (strcmp(o->rels->v[k].id, id))
                    continue;
                /* "worksheets/sheet1.xml" is relative to xl/; "/xl/..." absolute */
                snprintf(path, sizeof path, "%s%s", t[0] == '/' ? "" : "xl/",
                         t[0] == '/' ? t + 1 : t);
                if (o->n_sheets >= ex_job_limits(o->j)->entries)
                    break;
                if (!(p = realloc(o->sheets, (o->n_sheets + 1) * sizeof *p)))
                    return -1;
                o->sheets = p;
                p[o->n_sheets].path = strdup(path);
                p[o->n_sheets].name = strdup(name);
                if (!p[o->n_sheets].path || !p[o->n_sheets].name) {
                    free(p[o->n_sheets].path);
                    free(p[o->n_sheets].name);
                    return -1;
                }
                o->n_sheets++;
                break;
            }
        } else if (type == XML_READER_TYPE_ELEMENT && !strcmp(ln, "definedName") &&
                   exx_attr(r, "name", name, sizeof name)) {
            if (exx_prop(&o->out, "name", name) < 0)
                return -1;
        } else if (type == XML_READER_TYPE_TEXT) {
            /* a defined name's formula */
            if (exx_puts(&o->out, (const char *)xmlTextReaderConstValue(r)) < 0 ||
                exx_nl(&o->out) < 0)
                return -1;
        }
    }
    return rc < 0 ? 1 : 0;
}

/* ---- document properties ------------------------------------------------------------ */

/* core.xml (dc:title, cp:keywords...), app.xml (Company, Manager,
 * TitlesOfParts...) and custom.xml (<property name="密级"><vt:lpwstr>机密</...>)
 * all become "name: value" lines. */
static int walk_props(void *ctx, xmlTextReaderPtr r)
{
    ox *o = ctx;
    char buf[256];
    int rc;

    o->prop[0] = o->where[0] = 0;
    while ((rc = exx_next(r)) == 1) {
        const char *ln = (const char *)xmlTextReaderConstLocalName(r);
        const xmlChar *pfx = xmlTextReaderConstPrefix(r);
        int type = xmlTextReaderNodeType(r);
        if (type == XML_READER_TYPE_ELEMENT && ln) {
            if (!strcmp(ln, "property"))
                snprintf(o->prop, sizeof o->prop, "%s",
                         exx_attr(r, "name", buf, sizeof buf) ? buf : "property");
            else if (!pfx || strcmp((const char *)pfx, "vt"))
                snprintf(o->where, sizeof o->where, "%s", ln);
        } else if (type == XML_READER_TYPE_END_ELEMENT && ln && !strcmp(ln, "property")) {
            o->prop[0] = 0;
        } else if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA) {
            const char *v = (const char *)xmlTextReaderConstValue(r);
            if (exx_prop(&o->out, o->prop[0] ? o->prop : o->where, v) < 0)
                return -1;
        }
    }
    return rc < 0 ? 1 : 0;
}

static int walk_all(void *ctx, xmlTextReaderPtr r)
{
    ox *o = ctx;
    return exx_walk_all(r, &o->out);
}

/* ---- the package ----------------------------------------------------------------------- */

static int recurse_member(ox *o, uint64_t i)
{
    return exz_recurse(o->j, o->z, i);
}

static const char *sheet_name(ox *o, const char *path)
{
    for (size_t k = 0; k < o->n_sheets; k++)
        if (!strcmp(o->sheets[k].path, path))
            return o->sheets[k].name;
    return NULL;
}

/* The workbook's shared strings and sheet names, before any sheet. */
static int load_workbook(ox *o)
{
    struct rels rs = {0};
    int64_t i;
    int rc = 0;

    if ((i = exz_find(o->z, "xl/sharedStrings.xml")) >= 0 &&
        (rc = read_part(o, (uint64_t)i, NULL, walk_sst)) < 0)
        goto out;
    if ((i = exz_find(o->z, "xl/_rels/workbook.xml.rels")) >= 0) {
        o->rels = &rs;
        rc = read_part(o, (uint64_t)i, NULL, walk_rels);
        o->rels = NULL;
        if (rc < 0)
            goto out;
    }
    if ((i = exz_find(o->z, "xl/workbook.xml")) >= 0) {
        o->rels = &rs;
        rc = read_part(o, (uint64_t)i, "xl/workbook.xml", walk_workbook);
        o->rels = NULL;
    }
out:
    rels_free(&rs);
    return rc;
}

static int member(void *ctx, uint64_t i)
{
    ox *o = ctx;
    const char *name = exz_name(o->z, i);
    char part[768];

    if (!*name || ends(name, "/") || is_formatting(name))
        return 0;
    if (!strcmp(name, "xl/sharedStrings.xml") || !strcmp(name, "xl/workbook.xml"))
        return 0; /* read by load_workbook */
    if (is_media(name))
        return recurse_member(o, i);
    if (ends(name, ".rels"))
        return read_part(o, i, name, walk_rels);
    if (starts(name, "docProps/") && ends(name, ".xml"))
        return read_part(o, i, name, walk_props);
    if (starts(name, "xl/worksheets/") && ends(name, ".xml")) {
        const char *sn = sheet_name(o, name);
        if (sn)
            snprintf(part, sizeof part, "%s (sheet %s)", name, sn);
        else
            snprintf(part, sizeof part, "%s", name);
        return read_part(o, i, part, walk_body);
    }
    if ((starts(name, "word/") || starts(name, "xl/") || starts(name, "ppt/")) &&
        ends(name, ".xml"))
        return read_part(o, i, name, walk_body);
    if (ends(name, ".xml"))
        return read_part(o, i, name, walk_all); /* customXml/item1.xml and the like */
    if (!strcmp(base(name), "vbaProject.bin"))
        return ex_finding(o->j, NULL, GUARD_CAT_METADATA, GUARD_SEV_MEDIUM, 90, "file.macro",
                          "the document carries VBA macros", name) < 0
                   ? -1
                   : 0; /* code, not content: reported, not read */
    if (!strcmp(base(name), "vbaData.xml"))
        return 0; /* macros: code, not content */
    /* Anything else is not part of an Office document: it may be a file
     * hidden in the package, so it is inspected as a file of its own. */
    return recurse_member(o, i);
}

int ex_ooxml(ex_job *j, const unsigned char *data, size_t len, const char *mime)
{
    ox o;
    int rc;

    (void)mime;
    memset(&o, 0, sizeof o);
    o.j = j;
    rc = exz_open_doc(j, data, len, "Office document", &o.z);
    if (rc)
        return rc < 0 ? -1 : 0;
    rc = -1;
    if (load_workbook(&o) < 0)
        goto fail;
    if (exz_each(j, o.z, member, &o) < 0)
        goto fail;
    if (emit_unused_sst(&o, "xl/sharedStrings.xml") < 0)
        goto fail;
    rc = 0;
fail:
    exx_end(&o.out);
    exz_close(o.z);
    free(o.ss.text);
    free(o.ss.off);
    free(o.ss.used);
    for (size_t k = 0; k < o.n_sheets; k++) {
        free(o.sheets[k].path);
        free(o.sheets[k].name);
    }
    free(o.sheets);
    free(o.cell);
    return rc;
}
