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

#include <stdbool.h>
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

/* For the normaliser's hot loops: the 512 KiB table above does not stay in
 * the L1 cache (its lookup in the CJK loop drew 12% of the normaliser's
 * samples, though most of that was the loop's exit misprediction: these
 * tables alone gained 3%). One bit per code point, 8 KiB each (2.6 KiB for
 * the CJK Unified Ideographs).
 * guard_fold_cjk_ident_bits: the flags are exactly GUARD_FOLD_CJK |
 * GUARD_FOLD_IDENT (a CJK character that folds to itself, most of Chinese
 * text); guard_fold_cjk_bits: GUARD_FOLD_CJK is set. */
extern const uint64_t guard_fold_cjk_ident_bits[65536 / 64];
extern const uint64_t guard_fold_cjk_bits[65536 / 64];

/* Ordinary CJK sentence punctuation (see guard_norm.h: 、。〈〉《》「」『』
 * 【】〔〕〖〗〘〙〚〛 “”‘’ … — and the full-width ！（），：；？) that has
 * GUARD_FOLD_SEP, two bits per code point: */
enum {
    GUARD_PUNCT_NONE = 0,  /* not such punctuation */
    GUARD_PUNCT_IDENT = 1, /* flags exactly SEP | IDENT: folds to itself (。、《》) */
    GUARD_PUNCT_ASCII = 2, /* flags exactly SEP, folds to one ASCII byte (，：？) */
    GUARD_PUNCT_OTHER = 3, /* any other fold (… → ...) */
};
extern const uint64_t guard_fold_punct[65536 / 32];

/* tests/unit/test_norm.c checks these three tables against guard_fold_bmp. */

static inline bool guard_fold_is_cjk_ident(uint32_t cp)
{
    return (guard_fold_cjk_ident_bits[cp >> 6] >> (cp & 63)) & 1;
}

static inline bool guard_fold_is_cjk(uint32_t cp)
{
    return (guard_fold_cjk_bits[cp >> 6] >> (cp & 63)) & 1;
}

static inline unsigned guard_fold_punct_kind(uint32_t cp)
{
    return (unsigned)(guard_fold_punct[cp >> 5] >> (cp % 32 * 2)) & 3;
}

#endif
