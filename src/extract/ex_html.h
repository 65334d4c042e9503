/*
 * ex_html.h — HTML text extraction shared with the e-mail extractor (an HTML
 * body part is read the same way as an .html file).
 */
#ifndef EX_HTML_H
#define EX_HTML_H

#include <stddef.h>

#include "ex.h"

/* Writes the visible text of an HTML document as the segment `part`, plus
 * its title, meta description/keywords, alt/title attributes and link
 * targets; script and style content is skipped. `encoding` forces the input
 * encoding (e.g. "UTF-8" for text already converted, and any <meta charset>
 * is then ignored); NULL lets libxml2 detect it (BOM, <meta>). 0, or -1 when
 * the job must end. */
int ex_html_text(ex_job *j, const char *part, const unsigned char *data, size_t len,
                 const char *encoding);

#endif
