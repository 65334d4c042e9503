/*
 * guard_policy.h — the policy: findings in, an action out.
 *
 * A policy is an ordered list of rules read from YAML (format in
 * docs/POLICY.md; the default policy ships in data/policy/default.yaml and is
 * compiled into the binary). Each rule has conditions on a finding (category,
 * rule-id glob, minimum severity, minimum confidence, evasion) and on the
 * item (scope, how many findings satisfy the rule) and an action. The verdict
 * of an item is the strongest action of any rule that fires; each finding
 * carries the strongest action a firing rule gave it and that rule's id.
 */
#ifndef GUARD_POLICY_H
#define GUARD_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "cordon/guard.h"
#include "guard_settings.h"

typedef struct guard_policy_rule {
    char *id;
    char *description;
    unsigned categories; /* bit per guard_category; 0 = any */
    char **rule_globs;   /* fnmatch patterns on finding.rule; NULL = any */
    size_t n_rule_globs;
    guard_severity min_severity;
    int min_confidence;
    int scope;        /* -1 any, else guard_scope */
    int evasion;      /* -1 any, 0 no, 1 yes */
    size_t min_count; /* findings that must satisfy the rule (>= 1) */
    guard_action action;
    /* `with:` another finding the item must have for the rule to fire (its
     * finding conditions only; it is not raised by this rule); NULL: none */
    struct guard_policy_rule *with;
} guard_policy_rule;

typedef struct guard_policy {
    char *name;
    guard_policy_rule *rules;
    size_t n_rules;
    guard_settings settings;
} guard_policy;

/* Parses a policy from YAML text. `origin` names the source in messages
 * ("policy.yaml"); on error err->message reads "origin:line: what is wrong". */
guard_err guard_policy_parse(const char *yaml, size_t len, const char *origin, guard_policy *out,
                             guard_error *err);
guard_err guard_policy_load_file(const char *path, guard_policy *out, guard_error *err);
/* The built-in default policy (data/policy/default.yaml, embedded). */
guard_err guard_policy_default(guard_policy *out, guard_error *err);
void guard_policy_free(guard_policy *p);

/* Applies the policy to findings[0..n): sets each finding's action and
 * policy_rule, and returns the verdict with the deciding rule id in
 * *decided_by (NULL when allow). policy_rule/decided_by point into `p`. */
guard_action guard_policy_apply(const guard_policy *p, guard_finding *findings, size_t n,
                                guard_scope scope, const char **decided_by);

/* Name lookups used by the parser, also handy for tools. Return -1 if unknown. */
int guard_category_from_name(const char *s);
int guard_severity_from_name(const char *s);
int guard_action_from_name(const char *s);

#endif
