/*
 * guard_norm.h — the matching view of a text and its map back to the original.
 *
 * Every pattern the guard matches is written against the *view*: NFKC,
 * casefolded, full-width folded, traditional → simplified, financial numerals
 * folded, Latin homoglyphs folded, zero-width/format characters dropped,
 * separators between CJK characters dropped, runs of spaces collapsed, ★
 * look-alikes folded to ★, invalid UTF-8 replaced by U+FFFD. The same
 * normaliser folds dictionary terms, so term and text always agree.
 *
 * The offset map is sparse: one entry where the view/original relation stops
 * being byte-for-byte (a drop, an expansion, a length change), so plain ASCII
 * and same-length CJK folds cost nothing. An entry holds a fold and the
 * linear run after it (，→, then the text up to the next change), so a
 * length-changing fold in running text costs one entry, not two. Evasion
 * events record the original offsets of folds that only an evader would need (a zero-width
 * character, a dropped separator inside a CJK word, a homoglyph); a hit spanning one is flagged as
 * found through an evasion view.
 *
 * Ordinary CJK sentence punctuation (，。、：；？！“”‘’（）《》【】… and the
 * like) separates words rather than hides them: it stays in the view, and is
 * dropped as an evasion only next to a lone CJK character, one with no other
 * CJK character, letter or digit on its far side (机，密★1年, 请看机，密★,
 * 蓝，鳍，计，划: a word cut into characters; not 2024年，or 于２０２４).
 * A word cut elsewhere by such
 * punctuation (天龙，计划) is not rejoined; symbols, spaces, ASCII punctuation,
 * zero-width and format characters between CJK characters still are. Doing
 * otherwise cost an evasion event, a rollback and two map entries at every
 * comma and full stop of Chinese text, and joined words across sentences.
 *
 * Streaming: guard_norm_feed() may be called with chunks split anywhere (even
 * inside a UTF-8 sequence). View bytes up to guard_norm_committed() are final;
 * a tail of separators whose fate depends on the next character is held back.
 */
#ifndef GUARD_NORM_H
#define GUARD_NORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct guard_map_entry {
    uint64_t view; /* first view byte of this run */
    /* orig << 11 | olen << 8 | vlen: the view bytes [view, view + vlen)
     * stand for one original character [orig, orig + olen) (a fold; both 0
     * when there is none); the view bytes after them map byte for byte from
     * orig + olen on. Packed (orig < 2^53, olen <= 4, vlen <= 255) because
     * the map is about as large as the text and its lookups miss the cache. */
    uint64_t packed;
} guard_map_entry;

typedef struct guard_norm {
    /* view bytes, [0, len); offsets are global: view[i] is view offset base+i */
    unsigned char *view;
    size_t len, cap;
    uint64_t base;
    /* offset map */
    guard_map_entry *map;
    size_t n_map, cap_map;
    /* evasion events: original offsets, ascending */
    uint64_t *ev;
    size_t n_ev, cap_ev;
    /* state */
    uint64_t orig_pos;       /* original offset of the next byte fed */
    unsigned char carry[16]; /* bytes of the last chunk not decided yet: an
                                incomplete UTF-8 sequence, or punctuation and
                                the characters after it (at most 10 bytes) */
    size_t n_carry;
    bool linear_ok;           /* the last map entry is linear and current */
    bool last_cjk;            /* the last emitted character was CJK */
    bool last_space;          /* the last emitted byte was a space */
    uint32_t seg;             /* CJK characters in a row just before, in the original
                                 (from 2 when a letter or digit precedes them) */
    int pending_chars;        /* separators held after a CJK character */
    size_t pending_view;      /* view length before them */
    size_t pending_map;       /* map length before them */
    size_t pending_ev;        /* evasion events before them */
    uint64_t pending_orig[8]; /* their original offsets */
    uint64_t invalid;         /* invalid UTF-8 sequences replaced */
    size_t map_hint;          /* the map entry of the last lookup (find_entry) */
} guard_norm;

void guard_norm_init(guard_norm *n);
void guard_norm_free(guard_norm *n);
/* Forgets the text but keeps the buffers, ready for the next input. */
void guard_norm_reset(guard_norm *n);

/* Folds `len` original bytes onto the view. Returns 0, or -1 when out of
 * memory (the view is then incomplete). `final` says no more input follows:
 * held separators and an incomplete UTF-8 tail are resolved. */
int guard_norm_feed(guard_norm *n, const unsigned char *s, size_t len, bool final);

/* View bytes in [0, committed) are final. */
size_t guard_norm_committed(const guard_norm *n);

/* Drops view bytes (and map entries) below view offset `keep_from`, keeping
 * everything after it, to bound memory when streaming. */
void guard_norm_discard(guard_norm *n, uint64_t keep_from);

/* Maps the view span [vs, ve) (global view offsets) to the original span. */
void guard_norm_to_orig(guard_norm *n, uint64_t vs, uint64_t ve, uint64_t *os, uint64_t *oe);

/* True when an evasion event lies in the original span [os, oe). */
bool guard_norm_evasive(const guard_norm *n, uint64_t os, uint64_t oe);

/* Folds a short string (a dictionary term) into a freshly malloc'd,
 * NUL-terminated view of *out_len bytes. Returns NULL when out of memory. */
char *guard_norm_string(const char *s, size_t len, size_t *out_len);

/* The same into n's own buffers (n is reset first): the view is then
 * n->view[0, n->len). For folding many terms with one normaliser. Returns 0,
 * or -1 when out of memory. */
int guard_norm_fold(guard_norm *n, const char *s, size_t len);

#endif
