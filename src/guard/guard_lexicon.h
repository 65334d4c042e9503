/*
 * guard_lexicon.h — organisation-defined vocabulary.
 *
 * File format (docs/LEXICON.md): UTF-8, one entry per line:
 *     term                          category "default", severity medium
 *     term<TAB>category
 *     term<TAB>category<TAB>severity
 *     !phrase                       allow-list entry: hits inside it are not findings
 *     # comment, blank lines ignored
 * Terms are folded by the same normaliser as the text, so 機密資料, 机密资料 and
 * ｍｉｍｉ all match their folded form. Up to millions of terms.
 */
#ifndef GUARD_LEXICON_H
#define GUARD_LEXICON_H

#include <stddef.h>
#include <stdint.h>

#include "cordon/guard.h"
#include "guard_detect.h"

#define GUARD_TERM_MAX 255 /* bytes of a folded term */

typedef struct guard_term {
    uint32_t text; /* offset of the term as written, in the pool */
    uint16_t cat;  /* index into cats */
    uint8_t vlen;  /* folded length */
    uint8_t sev : 4, allow : 1;
} guard_term;

typedef struct guard_lexicon {
    guard_term *terms;
    size_t n, cap;
    char *pool; /* NUL-terminated terms as written */
    size_t pool_len, pool_cap;
    char **cats;      /* category names */
    char **cat_rules; /* "lexicon.<category>" rule ids */
    size_t n_cats;
    unsigned max_vlen;
} guard_lexicon;

void guard_lexicon_init(guard_lexicon *lx);
void guard_lexicon_free(guard_lexicon *lx);

/* Reads one lexicon file and appends its terms' folded forms to `ps` as
 * literals (detector GUARD_DET_LEXICON, arg = term index). On a malformed
 * line: GUARD_EPARSE with "path:line: what is wrong". */
guard_err guard_lexicon_load(guard_lexicon *lx, const char *path, guard_patset *ps,
                             guard_error *err);

/* The lexicon detector (patterns come from guard_lexicon_load). */
extern const guard_detector guard_det_lexicon;

#endif
