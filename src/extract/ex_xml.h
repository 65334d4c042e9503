/*
 * ex_xml.h — safe XML reading and batched text output for the document
 * extractors (OOXML, ODF, XMP in PDF, plain XML).
 *
 * Every XML document an extractor reads comes from a hostile file, so the
 * reader is always libxml2's streaming xmlTextReader with XML_PARSE_NONET,
 * never XML_PARSE_NOENT (entities are not substituted), never DTD loading or
 * validation and never XML_PARSE_HUGE (libxml2's default caps on text node
 * size and nesting depth stay on). Input arrives through a read callback, so
 * a member of a zip is parsed while it is inflated and never held whole.
 *
 * Office formats never carry a DTD (Word and LibreOffice refuse one), so the
 * input filter can refuse any "<!DOCTYPE" outright (`no_dtd`): an
 * entity-expansion ("billion laughs") part is then stopped before libxml2
 * sees its declarations, and reported as such instead of half read.
 *
 * exx_out batches text into chunks for ex_text() and collapses runs of blank
 * lines, so a walker can emit a newline per paragraph end without care.
 */
#ifndef EX_XML_H
#define EX_XML_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/xmlreader.h>

#include "ex.h"

/* ---- input ----------------------------------------------------------------- */

/* Reads up to `cap` bytes into `buf`; returns the count, 0 at the end, -1 on
 * an error (the source keeps its own reason). */
typedef int (*exx_read_fn)(void *ctx, char *buf, int cap);

typedef struct exx_in {
    exx_read_fn read; /* NULL: read from `mem`/`mem_len` */
    void *ctx;
    const unsigned char *mem;
    size_t mem_len, mem_off;
    bool no_dtd;   /* refuse a document that contains "<!DOCTYPE" */
    bool saw_dtd;  /* OUT: input stopped because of a DTD */
    bool read_err; /* OUT: the source failed (its ctx says why) */
    char tail[9];  /* last bytes of the previous chunk, for a split "<!DOCTYPE" */
    size_t ntail;
} exx_in;

/* Sets up `in` to read `len` bytes of memory. */
void exx_in_mem(exx_in *in, const unsigned char *data, size_t len, bool no_dtd);
/* Sets up `in` to read through `fn`. */
void exx_in_fn(exx_in *in, exx_read_fn fn, void *ctx, bool no_dtd);

/* A reader over `in` (which must outlive it), with the safe options and
 * libxml2's error output silenced. NULL when out of memory. */
xmlTextReaderPtr exx_reader(exx_in *in, const char *url);

/* Advances the reader: 1 on a node, 0 at the end, -1 on a parse error. */
int exx_next(xmlTextReaderPtr r);

/* Calls xmlInitParser() once and silences libxml2's global error output. */
void exx_init(void);

/* ---- output ---------------------------------------------------------------- */

typedef struct exx_out {
    ex_job *j;
    int err;         /* -1 once ex_text() failed: the job must end */
    bool open;       /* the segment has been begun (lazily, at the first byte) */
    char part[512];  /* its name */
    size_t n;        /* bytes in buf */
    unsigned nl;     /* trailing newlines written (blank-line collapsing) */
    bool any;        /* anything but whitespace was written */
    char buf[16384]; /* batches small pieces into one ex_text() frame */
} exx_out;

/* Starts a segment named `part`. It is opened (ex_text_begin) only when the
 * first byte is written, so a part with no text makes no empty segment. */
int exx_begin(exx_out *o, ex_job *j, const char *part);
/* Appends text; newlines in it count for blank-line collapsing. */
int exx_put(exx_out *o, const char *s, size_t n);
int exx_puts(exx_out *o, const char *s);
/* A line break, unless the output is already at a line start (blank lines
 * carry nothing for the detectors). */
int exx_nl(exx_out *o);
/* A separator (space or tab) unless the output is at a line start. */
int exx_sep(exx_out *o, char c);
/* Flushes and closes the segment (ex_text_end) if it was opened. 0, or -1. */
int exx_end(exx_out *o);

/* ---- helpers ---------------------------------------------------------------- */

/* "name: value\n" (value trimmed; nothing when the value is empty). */
int exx_prop(exx_out *o, const char *name, const char *value);

/* Walks the whole document and writes every text node, a line break after each
 * element that held text and a space between attribute-free siblings. Used
 * for XMP packets, customXml parts and plain XML files. Returns 0 at the end,
 * 1 on a parse error (what was read is kept), -1 when the job must end. */
int exx_walk_all(xmlTextReaderPtr r, exx_out *o);

/* The value of the current element's attribute with local name `local`
 * (whatever its prefix: w:instr, r:id, name), copied into buf (truncated to
 * cap); NULL when absent. The reader stays on the element. */
const char *exx_attr(xmlTextReaderPtr r, const char *local, char *buf, size_t cap);

#endif
