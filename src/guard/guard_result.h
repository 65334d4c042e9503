/*
 * guard_result.h — building a guard_result during a scan (private).
 *
 * A result owns its findings and every string in them (an arena freed at
 * once) and holds a reference to the ruleset whose rule ids and policy rule
 * ids its findings point at, so a result outlives a policy reload safely.
 */
#ifndef GUARD_RESULT_H
#define GUARD_RESULT_H

#include "cordon/guard.h"
#include "guard_detect.h"

typedef struct guard_result_impl guard_result_impl;

guard_result_impl *guard_result_new(guard_ruleset *rs);
guard_result *guard_result_pub(guard_result_impl *r);
guard_findings *guard_result_findings(guard_result_impl *r);
/* n candidates could not be judged: counted as dropped findings, and the
 * result's status becomes partial when it is finalized. */
void guard_findings_lost(guard_findings *f, size_t n);
/* More candidate matches than a scan buffers (HITS_MAX): n were never
 * looked at. Adds an uninspectable finding (past the findings cap, which
 * is likely full then) so the policy holds the item: a text flooded with
 * candidates must not pass as clean. */
void guard_findings_unchecked(guard_findings *f, size_t n);

/* The finding at index i (for detectors that revise a finding later). */
guard_finding *guard_findings_at(guard_findings *f, int i);

/* Sorts findings, applies the policy and, when `orig` is given and the
 * verdict is mask, builds the masked copy. Returns 0 or -1 (out of memory). */
int guard_result_finalize(guard_result_impl *r, guard_scope scope, const char *orig,
                          size_t orig_len);

#endif
