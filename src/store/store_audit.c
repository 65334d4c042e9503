/*
 * store_audit.c — the audit hash chain, independent of the backend:
 * canonical bytes and hash of an entry, verification of the whole chain,
 * JSON Lines export, and canonical JSON (docs/AUDIT.md).
 *
 * Backends only store and return entries; everything that decides whether
 * the chain is intact lives here, so every backend is verified the same way.
 */
#include "store/store.h"
#include "store/store_backend.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Domain separation: these bytes start every hashed entry, so a chain hash
 * can never be confused with a BLAKE2b of anything else. */
static const char audit_tag[] = "cordon-audit-v1";

#define VERIFY_PAGE 500

static void put_u64(uint8_t b[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        b[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* A string field: 4-byte big-endian length, then the bytes. Length
 * prefixes make the encoding injective: ("ab","c") != ("a","bc"). */
static void hash_str(crypto_generichash_state *st, const char *s)
{
    uint8_t len[8];
    size_t n = s ? strlen(s) : 0;

    put_u64(len, (uint64_t)n);
    crypto_generichash_update(st, len + 4, 4);
    if (n)
        crypto_generichash_update(st, (const uint8_t *)s, n);
}

void store_audit_hash(const store_audit_entry *e, const uint8_t prev[STORE_AUDIT_HASH_LEN],
                      uint8_t out[STORE_AUDIT_HASH_LEN])
{
    crypto_generichash_state st;
    uint8_t num[8];

    crypto_generichash_init(&st, NULL, 0, STORE_AUDIT_HASH_LEN);
    crypto_generichash_update(&st, prev, STORE_AUDIT_HASH_LEN);
    crypto_generichash_update(&st, (const uint8_t *)audit_tag, sizeof audit_tag - 1);
    put_u64(num, (uint64_t)e->seq);
    crypto_generichash_update(&st, num, 8);
    put_u64(num, (uint64_t)e->time);
    crypto_generichash_update(&st, num, 8);
    put_u64(num, (uint64_t)e->actor_id);
    crypto_generichash_update(&st, num, 8);
    hash_str(&st, e->actor);
    hash_str(&st, e->event);
    hash_str(&st, e->target);
    hash_str(&st, e->detail);
    crypto_generichash_final(&st, out, STORE_AUDIT_HASH_LEN);
}

int store_json_canonical(const char *in, bool want_object, char **out)
{
    json_t *j = NULL;
    json_error_t err;
    int rc = STORE_INVAL;

    *out = NULL;
    if (!in)
        in = want_object ? "{}" : "[]";
    j = json_loads(in, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        goto fail;
    if (want_object ? !json_is_object(j) : !(json_is_object(j) || json_is_array(j)))
        goto fail;
    *out = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    rc = *out ? STORE_OK : STORE_NOMEM;
fail:
    json_decref(j);
    return rc;
}

static void set_bad(store_audit_verify_result *r, int64_t seq, const char *why)
{
    r->ok = false;
    r->first_bad = seq;
    snprintf(r->reason, sizeof r->reason, "%s", why);
}

int store_audit_verify(store *s, store_audit_verify_result *r)
{
    uint8_t prev[STORE_AUDIT_HASH_LEN] = {0}, h[STORE_AUDIT_HASH_LEN];
    uint8_t head_hash[STORE_AUDIT_HASH_LEN];
    int64_t expect = 1, head_seq = 0, last = 0;
    store_audit_entries page = {0};
    int rc;

    memset(r, 0, sizeof *r);
    r->ok = true;
    /* Read the head first: entries appended while we walk are beyond it
     * and are not judged (they will be at the next verify). */
    rc = store_audit_head(s, &head_seq, head_hash);
    if (rc)
        goto fail;
    while (r->ok && last < head_seq) {
        rc = store_audit_page(s, last, VERIFY_PAGE, &page);
        if (rc)
            goto fail;
        if (!page.n)
            break;
        for (size_t i = 0; i < page.n && r->ok; i++) {
            const store_audit_entry *e = &page.items[i];

            if (e->seq > head_seq)
                break; /* appended after we read the head */
            if (e->seq != expect) {
                set_bad(r, expect, "entry missing (sequence gap)");
                break;
            }
            if (memcmp(e->prev_hash, prev, sizeof prev)) {
                set_bad(r, e->seq, "prev_hash does not match the previous entry's hash");
                break;
            }
            store_audit_hash(e, prev, h);
            if (memcmp(h, e->hash, sizeof h)) {
                set_bad(r, e->seq, "content does not match its hash (altered)");
                break;
            }
            memcpy(prev, h, sizeof prev);
            last = e->seq;
            expect++;
            r->entries++;
        }
        store_audit_entries_free(&page);
    }
    if (r->ok && last != head_seq)
        set_bad(r, last + 1, "entries missing at the end of the chain");
    else if (r->ok && memcmp(prev, head_hash, sizeof prev))
        set_bad(r, last ? last : 1, "chain head does not match the recorded head");
    rc = STORE_OK;
fail:
    store_audit_entries_free(&page);
    return rc;
}

static json_t *hex_json(const uint8_t *b, size_t n)
{
    char hex[2 * STORE_AUDIT_HASH_LEN + 1];

    sodium_bin2hex(hex, sizeof hex, b, n);
    return json_string(hex);
}

/* One entry as a JSON object in a fixed key order (JSON_PRESERVE_ORDER). */
static int entry_line(const store_audit_entry *e, FILE *f)
{
    json_t *o = json_object(), *detail;
    int rc = STORE_NOMEM;

    if (!o)
        goto fail;
    detail = json_loads(e->detail ? e->detail : "{}", 0, NULL);
    if (!detail)
        detail = json_string(e->detail ? e->detail : "");
    if (json_object_set_new(o, "seq", json_integer(e->seq)) ||
        json_object_set_new(o, "time", json_integer(e->time)) ||
        json_object_set_new(o, "actor_id", json_integer(e->actor_id)) ||
        json_object_set_new(o, "actor", json_string(e->actor ? e->actor : "")) ||
        json_object_set_new(o, "event", json_string(e->event ? e->event : "")) ||
        json_object_set_new(o, "target", json_string(e->target ? e->target : "")) ||
        json_object_set_new(o, "detail", detail) ||
        json_object_set_new(o, "prev_hash", hex_json(e->prev_hash, STORE_AUDIT_HASH_LEN)) ||
        json_object_set_new(o, "hash", hex_json(e->hash, STORE_AUDIT_HASH_LEN)))
        goto fail;
    rc = STORE_IO;
    if (json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER) || fputc('\n', f) == EOF)
        goto fail;
    rc = STORE_OK;
fail:
    json_decref(o);
    return rc;
}

int store_audit_export(store *s, FILE *f)
{
    store_audit_entries page = {0};
    int64_t last = 0;
    int rc;

    for (;;) {
        rc = store_audit_page(s, last, VERIFY_PAGE, &page);
        if (rc || !page.n)
            break;
        for (size_t i = 0; i < page.n && !rc; i++)
            rc = entry_line(&page.items[i], f);
        last = page.items[page.n - 1].seq;
        store_audit_entries_free(&page);
        if (rc)
            break;
    }
    store_audit_entries_free(&page);
    if (!rc && fflush(f))
        rc = STORE_IO;
    return rc;
}
