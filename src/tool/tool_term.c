/*
 * tool_term.c — colour decisions, terminal width and safe display of
 * untrusted bytes (see tool_term.h).
 */
#include "tool_term.h"
#include "base/base_utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int tool_color_parse(const char *s, tool_color *out)
{
    if (!strcmp(s, "auto"))
        *out = TOOL_COLOR_AUTO;
    else if (!strcmp(s, "always"))
        *out = TOOL_COLOR_ALWAYS;
    else if (!strcmp(s, "never"))
        *out = TOOL_COLOR_NEVER;
    else
        return -1;
    return 0;
}

bool tool_term_use_color(int fd, tool_color mode)
{
    const char *nc, *term;

    if (mode != TOOL_COLOR_AUTO)
        return mode == TOOL_COLOR_ALWAYS;
    if (!isatty(fd))
        return false;
    /* https://no-color.org: present and non-empty disables colour */
    nc = getenv("NO_COLOR");
    if (nc && *nc)
        return false;
    term = getenv("TERM");
    return !(term && !strcmp(term, "dumb"));
}

int tool_term_width(int fd)
{
    struct winsize ws;

    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

/* Characters that change how the rest of a line is rendered without being
 * visible themselves: C1 controls, bidi embeddings/overrides/isolates,
 * zero-width characters and the BOM. Shown as <U+XXXX> so that a finding's
 * excerpt reads exactly as the bytes are (cf. "Trojan Source"). */
static bool is_invisible_format(uint32_t c)
{
    return (c >= 0x80 && c <= 0x9F) || (c >= 0x200B && c <= 0x200F) ||
           (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x2069) || c == 0xFEFF;
}

int tool_term_escape(base_buf *b, const char *s, size_t n, size_t max_bytes)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    int rc = 0;

    while (i < n && !rc) {
        uint32_t cp;
        size_t k;

        if (i >= max_bytes) {
            rc = base_buf_adds(b, "…");
            break;
        }
        k = base_utf8_decode(u + i, n - i, &cp);
        if (k == 0) {
            rc = base_buf_printf(b, "\\x%02X", u[i]);
            k = 1;
        } else if (cp == '\n') {
            rc = base_buf_adds(b, "\\n");
        } else if (cp == '\r') {
            rc = base_buf_adds(b, "\\r");
        } else if (cp == '\t') {
            rc = base_buf_adds(b, "\\t");
        } else if (cp < 0x20 || cp == 0x7F) {
            rc = base_buf_printf(b, "\\x%02X", (unsigned)cp);
        } else if (is_invisible_format(cp)) {
            rc = base_buf_printf(b, "<U+%04X>", (unsigned)cp);
        } else {
            rc = base_buf_add(b, u + i, k);
        }
        i += k;
    }
    return rc;
}

void tool_human_bytes(uint64_t n, char *out, size_t cap)
{
    static const char *const unit[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)n;
    size_t u = 0;

    while (v >= 1000.0 && u + 1 < sizeof unit / sizeof unit[0]) {
        v /= 1000.0;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%llu B", (unsigned long long)n);
    else
        snprintf(out, cap, "%.1f %s", v, unit[u]);
}

void tool_sgr_init(tool_sgr *s, bool color)
{
    if (!color) {
        s->reset = s->bold = s->dim = s->red = s->green = s->yellow = s->magenta = s->cyan = "";
        return;
    }
    s->reset = "\033[0m";
    s->bold = "\033[1m";
    s->dim = "\033[2m";
    s->red = "\033[31m";
    s->green = "\033[32m";
    s->yellow = "\033[33m";
    s->magenta = "\033[35m";
    s->cyan = "\033[36m";
}
