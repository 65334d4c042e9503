/*
 * guard_embed.c — files smuggled inside a message as text
 * (guard_file_scan_message, cordon/guard_file.h).
 *
 * A GPS-tagged JPEG or a .docx marked 机密★10年 pasted into a chat as a
 * data: URL or a base64 blob is just letters to the text guard: it was
 * delivered intact. Here the message is inspected as text as always, and
 * every run that decodes to something a person could open goes through the
 * file guard as the file it is:
 *   - `data:[<type>][;…];base64,<payload>`, and
 *   - a bare run of at least EMBED_MIN_CHARS base64 characters (standard or
 *     URL-safe alphabet, lines wrapped or not) that decodes cleanly.
 * What the decoded bytes are decides what happens: text (valid UTF-8) goes
 * through the text guard, a type an extractor reads through the file guard's
 * worker; bytes of no known type from a bare run are left alone (hashes,
 * tokens and keys look like base64 too, and the secret detector has them),
 * while a data: URL of no known type says "this is a file" and is reported
 * uninspectable. Runs and decoded bytes are bounded; past the bounds the
 * rest is reported uninspectable (fail closed), never skipped in silence.
 *
 * Findings of an embedded file carry the location "(base64 at byte N)" or
 * "(data:TYPE at byte N)", N the run's offset in the message, followed by
 * the file's own path inside ("…!word/document.xml"). Finding and decoding
 * the runs is ex_embed.c's; this file decides what each is and inspects it.
 */
#include "cordon/guard_file.h"

#include "base/base_utf8.h"
#include "ex_core.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMBED_MIN_CHARS 32                 /* shorter runs are ids, not files */
#define EMBED_MAX_RUNS  16                 /* runs inspected per message */
#define EMBED_MAX_BYTES ((size_t)32 << 20) /* decoded bytes per message, all runs */

/* ex_detect() shares the process's one libmagic handle: one caller at a
 * time (the server scans on several threads). */
static pthread_mutex_t detect_mu = PTHREAD_MUTEX_INITIALIZER;

typedef struct embed_ctx {
    guard_scanner *s;
    guard_ruleset *rs;
    guard_scope scope;
    const char *worker_path;
    guard_result *r;
    guard_error *err;
    size_t runs;
    bool limited, unmaskable;
} embed_ctx;

/* Adds f to the message's result under `loc` when it has none. */
static guard_err add(embed_ctx *c, const guard_finding *f, const char *loc)
{
    guard_finding g = *f;

    if (!g.location)
        g.location = loc;
    if (g.action == GUARD_MASK)
        c->unmaskable = true; /* the masked copy cannot reach inside base64 */
    return guard_result_add(c->r, c->rs, &g, c->scope, c->err);
}

static guard_err add_uninspectable(embed_ctx *c, const char *reason, const char *why,
                                   const char *loc)
{
    guard_finding f;
    char rule[64];

    ex_uninspectable_finding(&f, rule, sizeof rule, reason, why, loc);
    if (c->r->status == GUARD_STATUS_SCANNED)
        c->r->status = GUARD_STATUS_PARTIAL;
    return guard_result_add(c->r, c->rs, &f, c->scope, c->err);
}

/* Valid UTF-8 without control characters other than white space. */
static bool readable(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t') || p[i] == 0x7f)
            return false;
    return base_utf8_valid(p, n);
}

/* One decoded run: what it is decides how it is inspected. */
static guard_err inspect(embed_ctx *c, const unsigned char *data, size_t len, const char *loc,
                         bool data_url)
{
    guard_file_options opt = {.name = loc, .scope = c->scope, .worker_path = c->worker_path};
    guard_result *sub = NULL;
    char mime[128];
    guard_err rc;

    pthread_mutex_lock(&detect_mu);
    ex_detect(data, len, mime, sizeof mime);
    pthread_mutex_unlock(&detect_mu);
    /* Text from a bare run must be UTF-8 a person would read: random bytes
     * pass for Latin-1 "text" with libmagic. */
    if (!data_url && !strcmp(mime, "text/plain") && !readable(data, len))
        return GUARD_OK;
    if (strcmp(mime, "text/plain") && !ex_type_extractor(mime)) {
        char why[200];

        if (!data_url)
            return GUARD_OK; /* not a file: a token, a hash, a key */
        snprintf(why, sizeof why, "a data: URL holds %s, which no extractor reads", mime);
        return add_uninspectable(c, "unsupported", why, loc);
    }
    /* Only what is inspected counts: a message listing fifty commit hashes
     * is no message of fifty files. */
    if (c->runs >= EMBED_MAX_RUNS) {
        if (c->limited)
            return GUARD_OK; /* said once */
        c->limited = true;
        return add_uninspectable(c, "limit.embedded",
                                 "more text-encoded files than a message may carry inspected", loc);
    }
    c->runs++;
    rc = guard_file_scan_mem(c->s, c->rs, data, len, &opt, &sub, NULL, c->err);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < sub->n_findings; i++)
        rc = add(c, &sub->findings[i], loc);
    if (sub->status != GUARD_STATUS_SCANNED && c->r->status == GUARD_STATUS_SCANNED)
        c->r->status = GUARD_STATUS_PARTIAL;
    guard_result_free(sub);
    return rc;
}

/* One run ex_embed_each() found (its callback): named by where it starts. */
static int on_run(void *arg, const ex_embed_run *r)
{
    embed_ctx *c = arg;
    char loc[160];

    if (r->type)
        snprintf(loc, sizeof loc, "(data:%.64s at byte %zu)", r->type, r->at);
    else
        snprintf(loc, sizeof loc, "(base64 at byte %zu)", r->at);
    if (r->over_limit) {
        if (c->limited)
            return GUARD_OK; /* said once */
        c->limited = true;
        return add_uninspectable(c, "limit.embedded",
                                 "more text-encoded data than a message may carry inspected", loc);
    }
    if (!r->data) /* a data: URL that does not decode hides what it holds */
        return add_uninspectable(c, "corrupt", "a data: URL whose base64 does not decode", loc);
    return r->len ? inspect(c, r->data, r->len, loc, r->type != NULL) : GUARD_OK;
}

guard_err guard_file_scan_message(guard_scanner *s, guard_ruleset *rs, const char *text, size_t len,
                                  guard_scope scope, const char *worker_path, guard_result **out,
                                  guard_error *err)
{
    embed_ctx c = {.s = s, .rs = rs, .scope = scope, .worker_path = worker_path, .err = err};
    guard_err rc;

    *out = NULL;
    rc = guard_scan(s, rs, text, len, scope, &c.r, err);
    if (rc)
        return rc;
    rc = ex_embed_each(text, len, EMBED_MAX_BYTES, on_run, &c);
    if (rc < 0)
        rc = GUARD_ENOMEM;
    if (!rc && c.unmaskable && c.r->verdict == GUARD_MASK) {
        /* The masked copy masks the message's text; what the policy would
         * mask inside an encoded file cannot be, so the sender is asked
         * (POLICY.md: mask on what cannot be masked acts as confirm). */
        c.r->verdict = GUARD_CONFIRM;
        c.r->decided_by = "embedded.unmaskable";
    }
    if (rc) {
        guard_result_free(c.r);
        return rc;
    }
    *out = c.r;
    return GUARD_OK;
}
