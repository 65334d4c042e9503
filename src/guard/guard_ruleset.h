/*
 * guard_ruleset.h — what a compiled ruleset holds (private to the guard).
 *
 * A ruleset is immutable after guard_ruleset_load() except for the stream
 * database, compiled on first use under `stream_lock` (most callers never
 * stream, and compiling a million-term database twice costs a minute).
 */
#ifndef GUARD_RULESET_H
#define GUARD_RULESET_H

#include <pthread.h>
#include <stdatomic.h>

#include <hs/hs.h>

#include "cordon/guard.h"
#include "guard_detect.h"
#include "guard_lexicon.h"
#include "guard_policy.h"

typedef struct guard_pat_meta {
    uint16_t det;
    bool word_end; /* guard_patset_add_word() */
    uint32_t arg;
} guard_pat_meta;

struct guard_ruleset {
    atomic_int refs;
    guard_policy policy;
    guard_lexicon lex;
    /* pattern id i < n_builtin: meta[i]; else lexicon term i - n_builtin */
    guard_pat_meta *meta;
    size_t n_builtin;
    size_t n_patterns;
    hs_database_t *db_block;
    hs_database_t *db_stream; /* NULL until first stream */
    pthread_mutex_t stream_lock;
    guard_patset pats; /* kept only until the stream db exists */
    char *cache_dir;
    unsigned char key[32]; /* cache key of the pattern set */
    guard_ruleset_info info;
};

/* The detectors in dispatch order, indexed by GUARD_DET_*. */
extern const guard_detector *const guard_detectors[GUARD_DET_COUNT];

/* Returns the stream-mode database, compiling (or loading from the cache) it
 * on first use. NULL with err set on failure. */
hs_database_t *guard_ruleset_stream_db(guard_ruleset *rs, guard_error *err);

#endif
