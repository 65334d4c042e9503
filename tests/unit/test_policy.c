/*
 * test_policy.c — the policy parser, the default policy and evaluation
 * (guard_policy.c, guard_settings.c).
 *
 * Parse errors are checked for the exact "origin:line:" prefix, because an
 * admin fixing a policy file goes by that line. Evaluation tests build
 * findings by hand, as the detectors would emit them, and run them through the
 * shipped default policy, so a change to data/policy/default.yaml that breaks
 * its documented intent fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "guard/guard_policy.h"

/* ---- helpers --------------------------------------------------------------- */

static guard_err parse(const char *yaml, guard_policy *p, guard_error *err)
{
    memset(err, 0, sizeof *err);
    return guard_policy_parse(yaml, strlen(yaml), "t.yaml", p, err);
}

/* Expects the parse to fail with a message starting with `prefix` (origin
 * and line) and containing `text`. */
static void expect_error(const char *yaml, const char *prefix, const char *text)
{
    guard_policy p;
    guard_error err;
    memset(&p, 0xAB, sizeof p);
    guard_err rc = parse(yaml, &p, &err);
    if (rc != GUARD_EPARSE || strncmp(err.message, prefix, strlen(prefix)) != 0 ||
        !strstr(err.message, text))
        print_error("got rc=%d message '%s'; want prefix '%s' with '%s'\n", rc, err.message, prefix,
                    text);
    assert_int_equal(rc, GUARD_EPARSE);
    assert_int_equal(err.code, GUARD_EPARSE);
    assert_true(strncmp(err.message, prefix, strlen(prefix)) == 0);
    assert_non_null(strstr(err.message, text));
    /* OUT parameter untouched on error */
    assert_int_equal(((unsigned char *)&p)[0], 0xAB);
}

static guard_finding mk(const char *rule, guard_category cat, guard_severity sev, int conf)
{
    guard_finding f;
    memset(&f, 0, sizeof f);
    f.rule = rule;
    f.category = cat;
    f.severity = sev;
    f.confidence = conf;
    return f;
}

static void load_default(guard_policy *p)
{
    guard_error err;
    memset(&err, 0, sizeof err);
    guard_err rc = guard_policy_default(p, &err);
    if (rc)
        print_error("default policy: %s\n", err.message);
    assert_int_equal(rc, GUARD_OK);
}

static const guard_policy_rule *find_rule(const guard_policy *p, const char *id)
{
    for (size_t i = 0; i < p->n_rules; i++)
        if (strcmp(p->rules[i].id, id) == 0)
            return &p->rules[i];
    return NULL;
}

/* ---- names and settings -------------------------------------------------- */

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(guard_category_from_name("marking"), GUARD_CAT_MARKING);
    assert_int_equal(guard_category_from_name("uninspectable"), GUARD_CAT_UNINSPECTABLE);
    assert_int_equal(guard_category_from_name("Marking"), -1);
    assert_int_equal(guard_severity_from_name("info"), GUARD_SEV_INFO);
    assert_int_equal(guard_severity_from_name("critical"), GUARD_SEV_CRITICAL);
    assert_int_equal(guard_severity_from_name("severe"), -1);
    assert_int_equal(guard_action_from_name("allow"), GUARD_ALLOW);
    assert_int_equal(guard_action_from_name("confirm"), GUARD_CONFIRM);
    assert_int_equal(guard_action_from_name("block"), GUARD_BLOCK);
    assert_int_equal(guard_action_from_name(""), -1);
    assert_int_equal(guard_action_from_name(NULL), -1);
}

static void test_settings_defaults(void **state)
{
    guard_settings s;
    (void)state;
    guard_settings_defaults(&s);
    assert_int_equal(s.findings_cap, 1000);
    assert_int_equal(s.excerpt_context, 0);
    assert_true(s.max_message_bytes == (uint64_t)64 * 1024 * 1024);
    assert_int_equal(s.keyword_window, 300);
    assert_int_equal(s.shorteners.n, 17);
    assert_int_equal(s.internal_domains.n, 0);
    assert_true(guard_strlist_has_domain(&s.shorteners, "t.cn", 4));
    assert_true(guard_strlist_has_domain(&s.shorteners, "rb.gy", 5));
    assert_true(guard_strlist_has_domain(&s.shorteners, "TinyURL.com", 11));
    assert_false(guard_strlist_has_domain(&s.shorteners, "example.com", 11));
    guard_settings_free(&s);
    assert_int_equal(s.shorteners.n, 0);
    guard_settings_free(&s); /* freeing twice is harmless */
}

static void test_strlist_domain(void **state)
{
    char *v[] = {"example.com", "xn--fsqu00a.xn--fiqs8s"};
    guard_strlist l = {v, 2};
    const char *h;
    (void)state;

#define HAS(s) guard_strlist_has_domain(&l, (s), strlen(s))
    assert_true(HAS("example.com"));
    assert_true(HAS("a.example.com"));
    assert_true(HAS("x.y.example.com"));
    assert_true(HAS("A.Example.COM"));
    assert_true(HAS("example.com."));
    assert_false(HAS("badexample.com"));
    assert_false(HAS("example.com.evil.net"));
    assert_false(HAS("xample.com"));
    assert_false(HAS("com"));
    assert_false(HAS(""));
    assert_true(HAS("www.xn--fsqu00a.xn--fiqs8s"));
#undef HAS
    /* the host need not be NUL-terminated at len */
    h = "a.example.comXYZ";
    assert_true(guard_strlist_has_domain(&l, h, 13));
    assert_false(guard_strlist_has_domain(&l, h, 14));
    assert_false(guard_strlist_has_domain(NULL, "example.com", 11));
}

static void test_domain_lists_parse(void **state)
{
    guard_policy p;
    guard_error err;
    const guard_strlist *l;
    (void)state;

    assert_int_equal(
        parse("version: 1\n"
              "settings:\n"
              "  links:\n"
              "    internal_domains: [例子.中国, BÜCHER.de, Example.GOV.cn., mail.corp]\n"
              "    block_domains: evil.example\n"
              "    shorteners: [s.example]\n"
              "rules: []\n",
              &p, &err),
        GUARD_OK);
    l = &p.settings.internal_domains;
    assert_int_equal(l->n, 4);
    assert_string_equal(l->v[0], "xn--fsqu00a.xn--fiqs8s");
    assert_string_equal(l->v[1], "xn--bcher-kva.de");
    assert_string_equal(l->v[2], "example.gov.cn");
    assert_string_equal(l->v[3], "mail.corp");
    assert_true(guard_strlist_has_domain(l, "www.xn--fsqu00a.xn--fiqs8s", 26));
    assert_true(guard_strlist_has_domain(l, "shop.XN--BCHER-KVA.de", 21));
    assert_true(guard_strlist_has_domain(l, "mail.example.gov.cn", 19));
    assert_false(guard_strlist_has_domain(l, "corp", 4));
    assert_int_equal(p.settings.block_domains.n, 1);
    assert_string_equal(p.settings.block_domains.v[0], "evil.example");
    assert_int_equal(p.settings.allow_domains.n, 0);
    /* a given shorteners list replaces the built-in one */
    assert_int_equal(p.settings.shorteners.n, 1);
    assert_string_equal(p.settings.shorteners.v[0], "s.example");
    assert_int_equal(p.n_rules, 0);
    assert_string_equal(p.name, "unnamed");
    guard_policy_free(&p);

    expect_error("version: 1\nsettings:\n  links:\n    allow_domains: [ok.com, \"bad domain\"]\n"
                 "rules: []\n",
                 "t.yaml:4:", "invalid domain 'bad domain'");
    expect_error("version: 1\nsettings:\n  links:\n    allow_domains:\n      - -bad.com\n"
                 "rules: []\n",
                 "t.yaml:5:", "invalid domain");
    expect_error("version: 1\nsettings:\n  links:\n    block_domains: ['*.example.com']\n"
                 "rules: []\n",
                 "t.yaml:4:", "invalid domain");
    expect_error("version: 1\nsettings:\n  links:\n    block_domains: [a..b]\n"
                 "rules: []\n",
                 "t.yaml:4:", "invalid domain");
    /* U+FFFD is not allowed in an IDN: libidn2 rejects it */
    expect_error("version: 1\nsettings:\n  links:\n    block_domains: [\"x\xef\xbf\xbd.com\"]\n"
                 "rules: []\n",
                 "t.yaml:4:", "invalid domain");
    expect_error("version: 1\nsettings:\n  links:\n    shorteners: {a: b}\nrules: []\n",
                 "t.yaml:4:", "shorteners must be a string or a list");
}

/* ---- parsing ---------------------------------------------------------------- */

static void test_parse_default(void **state)
{
    guard_policy p;
    const guard_policy_rule *r;
    (void)state;

    load_default(&p);
    assert_string_equal(p.name, "default");
    assert_true(p.n_rules >= 15);
    assert_int_equal(p.settings.findings_cap, 1000);
    assert_int_equal(p.settings.keyword_window, 300);
    assert_int_equal(p.settings.shorteners.n, 17); /* the built-in list */

    r = find_rule(&p, "classified-marking");
    assert_non_null(r);
    assert_ptr_equal(r, &p.rules[0]);
    assert_int_equal(r->categories, 1u << GUARD_CAT_MARKING);
    assert_int_equal(r->n_rule_globs, 1);
    assert_string_equal(r->rule_globs[0], "marking.classified");
    assert_int_equal(r->min_confidence, 70);
    assert_int_equal(r->scope, -1);
    assert_int_equal(r->evasion, -1);
    assert_int_equal(r->min_count, 1);
    assert_int_equal(r->action, GUARD_BLOCK);

    r = find_rule(&p, "pii-bulk-id");
    assert_non_null(r);
    assert_int_equal(r->min_count, 20);

    r = find_rule(&p, "internal-marking-external");
    assert_non_null(r);
    assert_int_equal(r->scope, GUARD_SCOPE_EXTERNAL);

    r = find_rule(&p, "evasion");
    assert_non_null(r);
    assert_int_equal(r->evasion, 1);
    assert_int_equal(r->categories, 0);
    assert_int_equal(r->min_severity, GUARD_SEV_MEDIUM);
    guard_policy_free(&p);
}

static const char full_example[] = "version: 1\n"
                                   "name: example\n"
                                   "settings:\n"
                                   "  findings_cap: 50\n"
                                   "  excerpt_context: 16\n"
                                   "  max_message_bytes: 1048576\n"
                                   "  keyword_window: 120\n"
                                   "  links:\n"
                                   "    internal_domains: [example.gov.cn]\n"
                                   "    allow_domains: []\n"
                                   "    block_domains: []\n"
                                   "    shorteners: [t.cn, bit.ly]\n"
                                   "rules:\n"
                                   "  - id: classified-marking\n"
                                   "    description: Classified markings are never sent.\n"
                                   "    match:\n"
                                   "      category: [marking, lexicon]\n"
                                   "      rule: [\"marking.classified\", \"marking.banner\"]\n"
                                   "      min_severity: high\n"
                                   "      min_confidence: 70\n"
                                   "      scope: external\n"
                                   "      evasion: false\n"
                                   "      min_count: 2\n"
                                   "    action: block\n"
                                   "  - id: catch-all\n"
                                   "    action: warn\n";

static void test_parse_full(void **state)
{
    guard_policy p;
    guard_error err;
    const guard_policy_rule *r;
    (void)state;

    assert_int_equal(parse(full_example, &p, &err), GUARD_OK);
    assert_string_equal(p.name, "example");
    assert_int_equal(p.settings.findings_cap, 50);
    assert_int_equal(p.settings.excerpt_context, 16);
    assert_true(p.settings.max_message_bytes == 1048576);
    assert_int_equal(p.settings.keyword_window, 120);
    assert_int_equal(p.settings.internal_domains.n, 1);
    assert_int_equal(p.settings.shorteners.n, 2);
    assert_int_equal(p.n_rules, 2);
    r = &p.rules[0];
    assert_string_equal(r->id, "classified-marking");
    assert_string_equal(r->description, "Classified markings are never sent.");
    assert_int_equal(r->categories, (1u << GUARD_CAT_MARKING) | (1u << GUARD_CAT_LEXICON));
    assert_int_equal(r->n_rule_globs, 2);
    assert_string_equal(r->rule_globs[1], "marking.banner");
    assert_int_equal(r->min_severity, GUARD_SEV_HIGH);
    assert_int_equal(r->min_confidence, 70);
    assert_int_equal(r->scope, GUARD_SCOPE_EXTERNAL);
    assert_int_equal(r->evasion, 0);
    assert_int_equal(r->min_count, 2);
    assert_int_equal(r->action, GUARD_BLOCK);
    r = &p.rules[1];
    assert_null(r->description);
    assert_int_equal(r->categories, 0);
    assert_null(r->rule_globs);
    assert_int_equal(r->min_severity, GUARD_SEV_INFO);
    assert_int_equal(r->min_count, 1);
    assert_int_equal(r->action, GUARD_WARN);
    guard_policy_free(&p);
}

/* `warnings:` — the early-warning thresholds the chat domain applies. */
static void test_warnings(void **state)
{
    guard_policy p;
    guard_error err;

    (void)state;
    assert_int_equal(parse("version: 1\nrules: []\n", &p, &err), GUARD_OK);
    assert_int_equal(p.settings.warnings.spread_conversations, GUARD_WARN_SPREAD_CONVERSATIONS);
    assert_int_equal(p.settings.warnings.spread_minutes, GUARD_WARN_SPREAD_MINUTES);
    assert_int_equal(p.settings.warnings.attempts_per_day, GUARD_WARN_ATTEMPTS_PER_DAY);
    assert_int_equal(p.settings.warnings.external_after_minutes, GUARD_WARN_EXTERNAL_AFTER_MINUTES);
    guard_policy_free(&p);
    assert_int_equal(parse("version: 1\nrules: []\nwarnings:\n  spread_conversations: 3\n"
                           "  attempts_per_day: 0\n",
                           &p, &err),
                     GUARD_OK);
    assert_int_equal(p.settings.warnings.spread_conversations, 3);
    assert_int_equal(p.settings.warnings.attempts_per_day, 0); /* off */
    assert_int_equal(p.settings.warnings.spread_minutes, GUARD_WARN_SPREAD_MINUTES);
    assert_int_equal(p.settings.warnings.bulk_personal_findings, GUARD_WARN_BULK_PERSONAL_FINDINGS);
    assert_int_equal(p.settings.warnings.bulk_personal_minutes, GUARD_WARN_BULK_PERSONAL_MINUTES);
    guard_policy_free(&p);
    assert_int_equal(parse("version: 1\nrules: []\nwarnings:\n  bulk_personal_findings: 50\n"
                           "  bulk_personal_minutes: 120\n",
                           &p, &err),
                     GUARD_OK);
    assert_int_equal(p.settings.warnings.bulk_personal_findings, 50);
    assert_int_equal(p.settings.warnings.bulk_personal_minutes, 120);
    guard_policy_free(&p);
    expect_error("version: 1\nrules: []\nwarnings:\n  bulk_personal_minutes: 99999\n",
                 "t.yaml:4:", "bulk_personal_minutes");
    expect_error("version: 1\nrules: []\nwarnings:\n  spread_convos: 3\n",
                 "t.yaml:4:", "unknown key 'spread_convos' in warnings");
    expect_error("version: 1\nrules: []\nwarnings:\n  spread_minutes: 99999\n",
                 "t.yaml:4:", "spread_minutes");
    expect_error("version: 1\nrules: []\nwarnings: 5\n", "t.yaml:3:", "must be a mapping");
}

static void test_errors_lines(void **state)
{
    (void)state;
    /* unknown key, at top level and inside match */
    expect_error("version: 1\nrules: []\nrulez: []\n", "t.yaml:3:", "unknown key 'rulez'");
    expect_error("version: 1\nrules:\n  - id: a\n    match:\n      categroy: pii\n"
                 "    action: warn\n",
                 "t.yaml:5:", "unknown key 'categroy'");
    /* bad action */
    expect_error("version: 1\nrules:\n  - id: a\n    action: deny\n",
                 "t.yaml:4:", "unknown action 'deny'");
    /* bad severity */
    expect_error("version: 1\nrules:\n  - id: a\n    match:\n      category: pii\n"
                 "      min_severity: severe\n    action: warn\n",
                 "t.yaml:6:", "unknown severity 'severe'");
    /* bad category, in a list */
    expect_error("version: 1\nrules:\n  - id: a\n    match:\n      category:\n        - pii\n"
                 "        - pi\n    action: warn\n",
                 "t.yaml:7:", "unknown category 'pi'");
    /* missing action: reported at the rule */
    expect_error("version: 1\nrules:\n  - id: a\n    action: warn\n  - id: b\n"
                 "    match: {category: pii}\n",
                 "t.yaml:5:", "rule 'b' has no action");
    /* missing id */
    expect_error("version: 1\nrules:\n  - action: warn\n", "t.yaml:3:", "without an id");
    /* duplicate id: reported at the second one */
    expect_error("version: 1\nrules:\n  - id: a\n    action: warn\n  - id: b\n    action: warn\n"
                 "  - id: a\n    action: block\n",
                 "t.yaml:7:", "duplicate rule id 'a'");
    /* a rule that is not a mapping */
    expect_error("version: 1\nrules:\n  - id: a\n    action: warn\n  - block\n",
                 "t.yaml:5:", "a rule must be a mapping");
    /* aliases and anchors */
    expect_error("version: 1\nrules:\n  - id: a\n    action: warn\n  - id: b\n    action: *act\n",
                 "t.yaml:6:", "aliases are not allowed");
    expect_error("version: 1\nrules:\n  - id: a\n    match: &m {category: pii}\n"
                 "    action: warn\n  - id: b\n    match: *m\n    action: block\n",
                 "t.yaml:4:", "anchors and aliases are not allowed");
    /* version */
    expect_error("version: 2\nrules: []\n", "t.yaml:1:", "unsupported policy version 2");
    expect_error("name: x\nrules: []\n", "t.yaml:1:", "missing 'version: 1'");
    expect_error("version: 1\n", "t.yaml:1:", "missing 'rules'");
    /* bad numbers */
    expect_error("version: 1\nrules:\n  - id: a\n    match:\n      min_confidence: 150\n"
                 "    action: warn\n",
                 "t.yaml:5:", "min_confidence: number out of range");
    expect_error("version: 1\nrules:\n  - id: a\n    match:\n      min_count: 0\n"
                 "    action: warn\n",
                 "t.yaml:5:", "min_count: number out of range");
    expect_error("version: 1\nsettings:\n  findings_cap: lots\nrules: []\n",
                 "t.yaml:3:", "findings_cap must be a whole number, not 'lots'");
    expect_error("version: 1\nsettings:\n  keyword_window: \"300\"\nrules: []\n",
                 "t.yaml:3:", "without quotes");
    expect_error("version: 1\nsettings:\n  max_message_bytes: -5\nrules: []\n",
                 "t.yaml:3:", "whole number");
    expect_error("version: 1\nsettings:\n  findings_cap: 99999999999999999999999\nrules: []\n",
                 "t.yaml:3:", "out of range");
    /* wrong types */
    expect_error("version: 1\nrules:\n  - id: a\n    match:\n      evasion: maybe\n"
                 "    action: warn\n",
                 "t.yaml:5:", "evasion must be true or false");
    expect_error("version: 1\nrules:\n  - id: a\n    match:\n      scope: everywhere\n"
                 "    action: warn\n",
                 "t.yaml:5:", "unknown scope 'everywhere'");
    expect_error("version: 1\nrules:\n  - id: a\n    match: [pii]\n    action: warn\n",
                 "t.yaml:4:", "match must be a mapping");
    expect_error("version: 1\nrules:\n  id: a\n", "t.yaml:3:", "rules must be a list");
    expect_error("version: 1\nrules:\n  - id: [a]\n    action: warn\n",
                 "t.yaml:3:", "id must be a non-empty string");
    expect_error("version: 1\nrules:\n  - id: a b\n    action: warn\n",
                 "t.yaml:3:", "without spaces");
    expect_error("version: 1\nrules:\n  - id: a\n    match:\n      category: []\n"
                 "    action: warn\n",
                 "t.yaml:5:", "category must not be empty");
    expect_error("version: 1\nrules:\n  - id: a\n    action: warn\n    action: block\n",
                 "t.yaml:5:", "duplicate key 'action'");
    /* YAML-level problems */
    expect_error("version: 1\nrules: [\n", "t.yaml:", "");
    expect_error("version: 1\nrules:\n  - id: a\n    action: !!str warn\n",
                 "t.yaml:4:", "tags are not allowed");
    expect_error("version: 1\nrules: []\n---\nversion: 1\nrules: []\n",
                 "t.yaml:3:", "exactly one YAML document");
    expect_error("", "t.yaml:1:", "empty policy");
    expect_error("- a\n- b\n", "t.yaml:1:", "the policy must be a mapping");
}

static void test_depth_and_size_caps(void **state)
{
    char *deep, *big;
    size_t n = 100, off = 0;
    guard_policy p;
    guard_error err;
    (void)state;

    /* deep nesting stops at the cap instead of recursing */
    deep = malloc(32 + 2 * n);
    assert_non_null(deep);
    off = (size_t)sprintf(deep, "version: 1\nrules: ");
    for (size_t i = 0; i < n; i++)
        deep[off++] = '[';
    for (size_t i = 0; i < n; i++)
        deep[off++] = ']';
    deep[off] = '\0';
    expect_error(deep, "t.yaml:2:", "nesting too deep");
    free(deep);

    /* a policy beyond the size cap is refused before parsing */
    big = calloc(5 * 1024 * 1024, 1);
    assert_non_null(big);
    memset(big, '#', 5 * 1024 * 1024 - 1);
    assert_int_equal(guard_policy_parse(big, strlen(big), "big.yaml", &p, &err), GUARD_EPARSE);
    assert_non_null(strstr(err.message, "too large"));
    free(big);
}

static void test_load_file(void **state)
{
    char path[] = "/tmp/test_policy_XXXXXX";
    guard_policy p;
    guard_error err;
    FILE *f;
    int fd;
    (void)state;

    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("version: 1\nrules:\n  - id: x\n    action: frobnicate\n", f);
    fclose(f);
    assert_int_equal(guard_policy_load_file(path, &p, &err), GUARD_EPARSE);
    /* the origin in messages is the path */
    assert_true(strncmp(err.message, path, strlen(path)) == 0);
    assert_non_null(strstr(err.message, ":4: unknown action"));

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("version: 1\nname: from-file\nrules:\n  - id: x\n    action: block\n", f);
    fclose(f);
    assert_int_equal(guard_policy_load_file(path, &p, &err), GUARD_OK);
    assert_string_equal(p.name, "from-file");
    assert_int_equal(p.n_rules, 1);
    guard_policy_free(&p);
    unlink(path);

    assert_int_equal(guard_policy_load_file("/nonexistent/policy.yaml", &p, &err), GUARD_EIO);
    assert_int_equal(err.code, GUARD_EIO);
    assert_non_null(strstr(err.message, "/nonexistent/policy.yaml"));
}

/* ---- evaluation ------------------------------------------------------------- */

static guard_action apply(const guard_policy *p, guard_finding *f, size_t n, guard_scope scope,
                          const char **by)
{
    return guard_policy_apply(p, f, n, scope, by);
}

static void test_apply_default_intent(void **state)
{
    guard_policy p;
    const char *by = "unset";
    guard_finding f[4];
    (void)state;

    load_default(&p);

    /* nothing found: allow, no decider */
    assert_int_equal(apply(&p, NULL, 0, GUARD_SCOPE_EXTERNAL, &by), GUARD_ALLOW);
    assert_null(by);

    /* classified marking: block when confident, confirm when not, in any scope */
    f[0] = mk("marking.classified", GUARD_CAT_MARKING, GUARD_SEV_CRITICAL, 90);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_BLOCK);
    assert_string_equal(by, "classified-marking");
    assert_int_equal(f[0].action, GUARD_BLOCK);
    assert_string_equal(f[0].policy_rule, "classified-marking");
    f[0].confidence = 50;
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_CONFIRM);
    assert_string_equal(by, "classified-marking-uncertain");
    f[0].confidence = 30;
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_EXTERNAL, &by), GUARD_ALLOW);
    assert_null(by);

    /* banners */
    f[0] = mk("marking.banner", GUARD_CAT_MARKING, GUARD_SEV_HIGH, 80);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_BLOCK);
    f[0].severity = GUARD_SEV_MEDIUM;
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_CONFIRM);
    f[0].severity = GUARD_SEV_LOW;
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_ALLOW);

    /* commercial secrets */
    f[0] = mk("marking.commercial", GUARD_CAT_MARKING, GUARD_SEV_HIGH, 90);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_CONFIRM);
    assert_string_equal(by, "commercial-marking");

    /* document layout: external only */
    f[0] = mk("marking.doc_ref", GUARD_CAT_MARKING, GUARD_SEV_LOW, 90);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_EXTERNAL, &by), GUARD_WARN);
    assert_string_equal(by, "document-layout-external");
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_ALLOW);

    /* lexicon by severity */
    f[0] = mk("lexicon.project", GUARD_CAT_LEXICON, GUARD_SEV_CRITICAL, 100);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_BLOCK);
    f[0].severity = GUARD_SEV_MEDIUM;
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_CONFIRM);
    f[0].severity = GUARD_SEV_LOW;
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_WARN);
    f[0].severity = GUARD_SEV_INFO;
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_ALLOW);

    /* secrets */
    f[0] = mk("secret.github_token", GUARD_CAT_SECRET, GUARD_SEV_HIGH, 95);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_BLOCK);
    assert_string_equal(by, "secret-credential");

    /* links */
    f[0] = mk("link.homograph", GUARD_CAT_LINK, GUARD_SEV_HIGH, 90);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_BLOCK);
    f[0] = mk("link.shortener", GUARD_CAT_LINK, GUARD_SEV_MEDIUM, 90);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_CONFIRM);
    assert_string_equal(by, "link-opaque");
    f[0] = mk("link.external", GUARD_CAT_LINK, GUARD_SEV_INFO, 100);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_EXTERNAL, &by), GUARD_ALLOW);
    assert_null(by);
    assert_null(f[0].policy_rule);

    /* fail closed on what could not be read */
    f[0] = mk("uninspectable.encrypted", GUARD_CAT_UNINSPECTABLE, GUARD_SEV_MEDIUM, 100);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_CONFIRM);
    assert_string_equal(by, "uninspectable");

    guard_policy_free(&p);
}

static void test_apply_strongest_wins(void **state)
{
    guard_policy p;
    const char *by = NULL;
    guard_finding f[3];
    (void)state;

    load_default(&p);
    f[0] = mk("pii.cn_mobile", GUARD_CAT_PII, GUARD_SEV_MEDIUM, 90);
    f[1] = mk("marking.classified", GUARD_CAT_MARKING, GUARD_SEV_CRITICAL, 95);
    f[2] = mk("link.shortener", GUARD_CAT_LINK, GUARD_SEV_MEDIUM, 90);
    assert_int_equal(apply(&p, f, 3, GUARD_SCOPE_EXTERNAL, &by), GUARD_BLOCK);
    assert_string_equal(by, "classified-marking");
    /* each finding keeps its own action and rule */
    assert_int_equal(f[0].action, GUARD_MASK);
    assert_string_equal(f[0].policy_rule, "pii-external");
    assert_int_equal(f[1].action, GUARD_BLOCK);
    assert_int_equal(f[2].action, GUARD_CONFIRM);
    assert_string_equal(f[2].policy_rule, "link-opaque");
    guard_policy_free(&p);
}

static void test_apply_decided_by_first(void **state)
{
    guard_policy p;
    guard_error err;
    const char *by = NULL;
    guard_finding f[2];
    (void)state;

    assert_int_equal(parse("version: 1\n"
                           "rules:\n"
                           "  - id: weak\n"
                           "    match: {category: pii}\n"
                           "    action: warn\n"
                           "  - id: first-block\n"
                           "    match: {category: secret}\n"
                           "    action: block\n"
                           "  - id: second-block\n"
                           "    match: {category: [pii, secret]}\n"
                           "    action: block\n",
                           &p, &err),
                     GUARD_OK);
    f[0] = mk("pii.email", GUARD_CAT_PII, GUARD_SEV_LOW, 90);
    f[1] = mk("secret.jwt", GUARD_CAT_SECRET, GUARD_SEV_HIGH, 90);
    assert_int_equal(apply(&p, f, 2, GUARD_SCOPE_INTERNAL, &by), GUARD_BLOCK);
    assert_string_equal(by, "first-block");
    /* the pii finding was raised by the later rule, not left at warn */
    assert_int_equal(f[0].action, GUARD_BLOCK);
    assert_string_equal(f[0].policy_rule, "second-block");
    assert_string_equal(f[1].policy_rule, "first-block");

    /* only the pii finding: the second block rule decides */
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_BLOCK);
    assert_string_equal(by, "second-block");
    guard_policy_free(&p);
}

static void test_apply_min_count(void **state)
{
    guard_policy p;
    const char *by = NULL;
    guard_finding f[25];
    (void)state;

    load_default(&p);
    for (size_t i = 0; i < 25; i++)
        f[i] = mk("pii.cn_id", GUARD_CAT_PII, GUARD_SEV_HIGH, 95);

    /* 19 ID numbers: masked, not blocked */
    assert_int_equal(apply(&p, f, 19, GUARD_SCOPE_EXTERNAL, &by), GUARD_MASK);
    assert_string_equal(by, "pii-external");
    assert_int_equal(apply(&p, f, 19, GUARD_SCOPE_INTERNAL, &by), GUARD_WARN);
    /* 20: a bulk export, in any scope */
    assert_int_equal(apply(&p, f, 20, GUARD_SCOPE_EXTERNAL, &by), GUARD_BLOCK);
    assert_string_equal(by, "pii-bulk-id");
    for (size_t i = 0; i < 20; i++) {
        assert_int_equal(f[i].action, GUARD_BLOCK);
        assert_string_equal(f[i].policy_rule, "pii-bulk-id");
    }
    assert_int_equal(apply(&p, f, 20, GUARD_SCOPE_INTERNAL, &by), GUARD_BLOCK);

    /* low-confidence ones do not count towards the 20 */
    f[19].confidence = 30;
    assert_int_equal(apply(&p, f, 20, GUARD_SCOPE_EXTERNAL, &by), GUARD_MASK);
    assert_int_equal(f[19].action, GUARD_ALLOW);
    f[19].confidence = 95;

    /* 20 pieces of mixed personal data: confirm, not block */
    for (size_t i = 0; i < 20; i += 2)
        f[i].rule = "pii.cn_mobile";
    assert_int_equal(apply(&p, f, 20, GUARD_SCOPE_EXTERNAL, &by), GUARD_CONFIRM);
    assert_string_equal(by, "pii-bulk");
    guard_policy_free(&p);
}

/* Many findings of mixed categories (a file's worth: the policy then reads
 * each rule's categories only) get the same actions as each would alone,
 * but for the bulk rule their count sets off. */
static void test_apply_many_mixed(void **state)
{
    static const struct {
        const char *rule;
        guard_category cat;
        guard_severity sev;
        int conf;
    } kinds[] = {
        {"marking.classified", GUARD_CAT_MARKING, GUARD_SEV_CRITICAL, 95},
        {"lexicon.project", GUARD_CAT_LEXICON, GUARD_SEV_MEDIUM, 90},
        {"link.shortener", GUARD_CAT_LINK, GUARD_SEV_LOW, 80},
        {"secret.aws_key", GUARD_CAT_SECRET, GUARD_SEV_HIGH, 90},
        {"marking.internal", GUARD_CAT_MARKING, GUARD_SEV_LOW, 60},
        {"link.external", GUARD_CAT_LINK, GUARD_SEV_INFO, 50},
    };
    guard_policy p;
    const char *by = NULL;
    guard_finding f[150], one;
    (void)state;

    load_default(&p);
    for (size_t i = 0; i < 150; i++) {
        if (i % 5 == 4) /* 30 ID numbers among them */
            f[i] = mk("pii.cn_id", GUARD_CAT_PII, GUARD_SEV_HIGH, 95);
        else
            f[i] = mk(kinds[i % 6].rule, kinds[i % 6].cat, kinds[i % 6].sev, kinds[i % 6].conf);
    }
    assert_int_equal(apply(&p, f, 150, GUARD_SCOPE_EXTERNAL, &by), GUARD_BLOCK);
    for (size_t i = 0; i < 150; i++) {
        if (f[i].category == GUARD_CAT_PII) {
            assert_int_equal(f[i].action, GUARD_BLOCK);
            assert_string_equal(f[i].policy_rule, "pii-bulk-id");
            continue;
        }
        one = f[i];
        apply(&p, &one, 1, GUARD_SCOPE_EXTERNAL, NULL);
        assert_int_equal(f[i].action, one.action);
        if (one.policy_rule)
            assert_string_equal(f[i].policy_rule, one.policy_rule);
        else
            assert_null(f[i].policy_rule);
    }
    guard_policy_free(&p);
}

static void test_apply_scope(void **state)
{
    guard_policy p;
    const char *by = NULL;
    guard_finding f[1];
    (void)state;

    load_default(&p);
    f[0] = mk("marking.internal", GUARD_CAT_MARKING, GUARD_SEV_MEDIUM, 90);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_EXTERNAL, &by), GUARD_BLOCK);
    assert_string_equal(by, "internal-marking-external");
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_WARN);
    assert_string_equal(by, "internal-marking");

    f[0] = mk("pii.bank_card", GUARD_CAT_PII, GUARD_SEV_HIGH, 80);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_EXTERNAL, &by), GUARD_MASK);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_WARN);
    assert_string_equal(by, "pii-internal");
    f[0].confidence = 59;
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_EXTERNAL, &by), GUARD_ALLOW);
    guard_policy_free(&p);
}

static void test_apply_evasion(void **state)
{
    guard_policy p;
    guard_error err;
    const char *by = NULL;
    guard_finding f[1];
    (void)state;

    load_default(&p);
    /* a phone number is a warning internally, unless it was disguised */
    f[0] = mk("pii.cn_mobile", GUARD_CAT_PII, GUARD_SEV_MEDIUM, 90);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_WARN);
    f[0].evasion = true;
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_CONFIRM);
    assert_string_equal(by, "evasion");
    /* below medium, disguise alone does not matter, and low-severity personal
     * data (an e-mail address, a landline) is everyday content internally */
    f[0].severity = GUARD_SEV_LOW;
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_ALLOW);
    f[0].severity = GUARD_SEV_MEDIUM;
    f[0].evasion = false;
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_WARN);
    guard_policy_free(&p);

    /* evasion: false matches only findings found without a fold */
    assert_int_equal(parse("version: 1\nrules:\n  - id: plain\n    match: {evasion: false}\n"
                           "    action: warn\n",
                           &p, &err),
                     GUARD_OK);
    f[0] = mk("pii.email", GUARD_CAT_PII, GUARD_SEV_LOW, 90);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_WARN);
    f[0].evasion = true;
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_ALLOW);
    guard_policy_free(&p);
}

static void test_apply_globs(void **state)
{
    guard_policy p;
    guard_error err;
    const char *by = NULL;
    guard_finding f[1];
    (void)state;

    assert_int_equal(parse("version: 1\n"
                           "rules:\n"
                           "  - id: tokens\n"
                           "    match:\n"
                           "      rule: \"secret.*_token\"\n"
                           "    action: block\n"
                           "  - id: ids\n"
                           "    match:\n"
                           "      rule: [\"pii.??_id\", \"pii.cn_[ip]*\"]\n"
                           "    action: confirm\n",
                           &p, &err),
                     GUARD_OK);
    f[0] = mk("secret.github_token", GUARD_CAT_SECRET, GUARD_SEV_HIGH, 90);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_BLOCK);
    f[0].rule = "secret.gitlab_token";
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_BLOCK);
    f[0].rule = "secret.aws_key";
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_ALLOW);
    f[0].rule = "pii.hk_id";
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_CONFIRM);
    f[0].rule = "pii.cn_passport";
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_CONFIRM);
    f[0].rule = "pii.cn_mobile";
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_ALLOW);
    /* globs are anchored: a prefix alone does not match */
    f[0].rule = "xsecret.github_token";
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_ALLOW);
    f[0].rule = NULL;
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_ALLOW);
    guard_policy_free(&p);
}

/* A red header (image.red_header) alone is a reminder; with a marking, a
 * level word or a 份号 in the same item it is held (the rule's `with:`), and
 * a confident marking blocks on its own. */
static void test_apply_with_red_header(void **state)
{
    guard_policy p;
    const char *by = NULL;
    guard_finding f[3];
    (void)state;

    load_default(&p);
    f[0] = mk("image.red_header", GUARD_CAT_IMAGE, GUARD_SEV_MEDIUM, 90);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_EXTERNAL, &by), GUARD_WARN);
    assert_string_equal(by, "official-document-image-weak");
    /* masthead and urgency read by OCR: still only a reminder */
    f[1] = mk("marking.masthead", GUARD_CAT_MARKING, GUARD_SEV_INFO, 75);
    f[2] = mk("marking.urgency", GUARD_CAT_MARKING, GUARD_SEV_LOW, 75);
    assert_int_equal(apply(&p, f, 3, GUARD_SCOPE_INTERNAL, &by), GUARD_WARN);
    /* a 份号: held; the corroborating finding is not raised by the rule */
    f[1] = mk("marking.doc_number", GUARD_CAT_MARKING, GUARD_SEV_INFO, 75);
    assert_int_equal(apply(&p, f, 2, GUARD_SCOPE_INTERNAL, &by), GUARD_CONFIRM);
    assert_string_equal(by, "official-document-image");
    assert_int_equal(f[0].action, GUARD_CONFIRM);
    assert_int_equal(f[1].action, GUARD_ALLOW);
    /* a level word read without its ★ (low confidence): held */
    f[1] = mk("marking.classified", GUARD_CAT_MARKING, GUARD_SEV_HIGH, 35);
    assert_int_equal(apply(&p, f, 2, GUARD_SCOPE_INTERNAL, &by), GUARD_CONFIRM);
    assert_string_equal(by, "official-document-image");
    /* a clear marking: blocked */
    f[1].confidence = 90;
    assert_int_equal(apply(&p, f, 2, GUARD_SCOPE_INTERNAL, &by), GUARD_BLOCK);
    /* the corroboration alone does not fire the image rule */
    f[0] = mk("marking.doc_number", GUARD_CAT_MARKING, GUARD_SEV_INFO, 75);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_ALLOW);
    guard_policy_free(&p);

    expect_error("version: 1\nrules:\n  - id: a\n    with:\n      scope: external\n"
                 "    action: warn\n",
                 "t.yaml:5:", "with takes finding conditions only");
    expect_error("version: 1\nrules:\n  - id: a\n    with: [x]\n    action: warn\n",
                 "t.yaml:4:", "with must be a mapping");
    expect_error("version: 1\nrules:\n  - id: a\n    with:\n      categroy: image\n"
                 "    action: warn\n",
                 "t.yaml:5:", "unknown key 'categroy'");
}

/* Inbound (an outside sender): programs and macro documents and opaque
 * links wait for the recipient's acknowledgement, deceptive links are
 * quarantined, a QR code is a warning; none of these inbound rules fire on
 * what staff send, internal or external. */
static void test_apply_inbound(void **state)
{
    guard_policy p;
    const char *by = NULL;
    guard_finding f[1];
    const guard_policy_rule *r;
    (void)state;

    load_default(&p);
    r = find_rule(&p, "inbound-executable");
    assert_non_null(r);
    assert_int_equal(r->scope, GUARD_SCOPE_INBOUND);

    f[0] = mk("file.executable", GUARD_CAT_METADATA, GUARD_SEV_MEDIUM, 95);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INBOUND, &by), GUARD_CONFIRM);
    assert_string_equal(by, "inbound-executable");
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_EXTERNAL, &by), GUARD_ALLOW);
    f[0] = mk("file.macro", GUARD_CAT_METADATA, GUARD_SEV_MEDIUM, 90);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INBOUND, &by), GUARD_CONFIRM);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_ALLOW);

    f[0] = mk("link.lookalike", GUARD_CAT_LINK, GUARD_SEV_HIGH, 85);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INBOUND, &by), GUARD_BLOCK);
    assert_string_equal(by, "inbound-link-deceptive");
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_EXTERNAL, &by), GUARD_BLOCK);
    assert_string_equal(by, "link-dangerous");

    f[0] = mk("link.ip_host", GUARD_CAT_LINK, GUARD_SEV_MEDIUM, 80);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INBOUND, &by), GUARD_CONFIRM);
    assert_string_equal(by, "inbound-link-opaque");

    f[0] = mk("image.qr_code", GUARD_CAT_IMAGE, GUARD_SEV_LOW, 90);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INBOUND, &by), GUARD_WARN);
    assert_string_equal(by, "inbound-qr-code");
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INTERNAL, &by), GUARD_ALLOW);

    /* personal data has no inbound rule: what an outsider sends about
     * themselves is theirs to send */
    f[0] = mk("pii.cn_id", GUARD_CAT_PII, GUARD_SEV_HIGH, 95);
    assert_int_equal(apply(&p, f, 1, GUARD_SCOPE_INBOUND, &by), GUARD_ALLOW);
    guard_policy_free(&p);

    expect_error("version: 1\nrules:\n  - id: a\n    match:\n      scope: outbound\n"
                 "    action: warn\n",
                 "t.yaml:5:", "inbound");
}

static void test_apply_idempotent(void **state)
{
    guard_policy p;
    const char *by1 = NULL, *by2 = NULL;
    guard_finding f[3], g[3];
    guard_action v1, v2;
    (void)state;

    load_default(&p);
    f[0] = mk("pii.email", GUARD_CAT_PII, GUARD_SEV_LOW, 90);
    f[1] = mk("link.external", GUARD_CAT_LINK, GUARD_SEV_INFO, 100);
    f[2] = mk("marking.doc_number", GUARD_CAT_MARKING, GUARD_SEV_LOW, 90);
    /* stale actions from a previous application must not survive */
    f[1].action = GUARD_BLOCK;
    f[1].policy_rule = "stale";
    v1 = apply(&p, f, 3, GUARD_SCOPE_EXTERNAL, &by1);
    memcpy(g, f, sizeof f);
    v2 = apply(&p, f, 3, GUARD_SCOPE_EXTERNAL, &by2);
    assert_int_equal(v1, GUARD_MASK);
    assert_int_equal(v1, v2);
    assert_ptr_equal(by1, by2);
    assert_int_equal(f[1].action, GUARD_ALLOW);
    assert_null(f[1].policy_rule);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(f[i].action, g[i].action);
        assert_ptr_equal(f[i].policy_rule, g[i].policy_rule);
    }
    /* a narrower scope afterwards lowers the actions again: internally a
     * low-severity e-mail address and a copy number are allowed */
    assert_int_equal(apply(&p, f, 3, GUARD_SCOPE_INTERNAL, &by1), GUARD_ALLOW);
    assert_null(by1);
    assert_int_equal(f[0].action, GUARD_ALLOW);
    assert_int_equal(f[2].action, GUARD_ALLOW);
    /* decided_by may be NULL */
    assert_int_equal(apply(&p, f, 3, GUARD_SCOPE_EXTERNAL, NULL), GUARD_MASK);
    guard_policy_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_settings_defaults),
        cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_strlist_domain),
        cmocka_unit_test(test_domain_lists_parse),
        cmocka_unit_test(test_parse_default),
        cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_errors_lines),
        cmocka_unit_test(test_depth_and_size_caps),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_apply_default_intent),
        cmocka_unit_test(test_apply_strongest_wins),
        cmocka_unit_test(test_apply_decided_by_first),
        cmocka_unit_test(test_apply_min_count),
        cmocka_unit_test(test_apply_many_mixed),
        cmocka_unit_test(test_apply_scope),
        cmocka_unit_test(test_apply_evasion),
        cmocka_unit_test(test_apply_globs),
        cmocka_unit_test(test_apply_with_red_header),
        cmocka_unit_test(test_apply_inbound),
        cmocka_unit_test(test_apply_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
