/*
 * guard_foldtab.h — the flat per-code-point fold table of the matching view.
 *
 * Generated at build time by tools/gen_fold.c from utf8proc (NFKC + casefold +
 * mark stripping), OpenCC's dictionaries (traditional → simplified) and ICU's
 * TR39 skeleton (Latin homoglyphs). Indexed by a BMP code point; the
 * normaliser (guard_norm.c) handles the supplementary planes itself.
 */
#ifndef GUARD_FOLDTAB_H
#define GUARD_FOLDTAB_H

#include <stdint.h>

enum {
    GUARD_FOLD_CJK = 1 << 0,     /* Han, kana, hangul: separators between them drop */
    GUARD_FOLD_SEP = 1 << 1,     /* punctuation, symbol, space: droppable between CJK */
    GUARD_FOLD_SPACE = 1 << 2,   /* white space other than a line break */
    GUARD_FOLD_NL = 1 << 3,      /* a line break (folded to '\n') */
    GUARD_FOLD_STAR = 1 << 4,    /* a ★ look-alike (folded to ★) */
    GUARD_FOLD_EVASION = 1 << 5, /* folding it is an evasion signal */
    GUARD_FOLD_IDENT = 1 << 6,   /* folds to itself */
    GUARD_FOLD_DROP = 1 << 7,    /* not in the view at all */
};

typedef struct guard_fold_entry {
    uint32_t val;  /* len <= 4: the UTF-8 bytes inline; else offset in the pool */
    uint8_t len;   /* UTF-8 length of the fold; 0 when dropped */
    uint8_t flags; /* GUARD_FOLD_* */
} guard_fold_entry;

extern const guard_fold_entry guard_fold_bmp[65536];
extern const unsigned char guard_fold_pool[];

#endif
