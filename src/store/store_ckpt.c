/*
 * store_ckpt.c — signed checkpoints of the audit chain head (store_ckpt.h,
 * docs/AUDIT.md "Checkpoints"): the signing key file, making and appending
 * a checkpoint, and checking a checkpoint file against the log.
 *
 * Backend-independent: it reads the head and entries through the store
 * interface. The only files opened are the key, its .pub and the checkpoint
 * file; the database file never (POSIX close() drops SQLite's locks).
 */
#include "store/store_ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_TAG      "cordon-audit-key-v1"
#define KEY_FILE_MAX 256 /* a key file is one short line */
#define INSTANCE_KEY "audit.instance"

static void say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool hex_bin(const char *hex, size_t hexlen, uint8_t *out, size_t outlen)
{
    size_t got = 0;

    return hexlen == 2 * outlen && is_hex(hex, hexlen) &&
           !sodium_hex2bin(out, outlen, hex, hexlen, NULL, &got, NULL) && got == outlen;
}

/* Reads a small file (at most KEY_FILE_MAX - 1 bytes) into buf, trimmed of
 * trailing whitespace. mode_out (may be NULL) gets its permission bits. */
static int read_small(const char *path, char buf[KEY_FILE_MAX], mode_t *mode_out, char *err,
                      size_t errlen)
{
    struct stat st;
    ssize_t n;
    size_t len;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rc = STORE_IO;

    if (fd < 0) {
        rc = errno == ENOENT ? STORE_NOTFOUND : STORE_IO;
        say(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        say(err, errlen, "%s: not a regular file", path);
        goto fail;
    }
    n = read(fd, buf, KEY_FILE_MAX - 1);
    if (n < 0) {
        say(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    len = (size_t)n;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        len--;
    buf[len] = 0;
    if (mode_out)
        *mode_out = st.st_mode & 07777;
    rc = STORE_OK;
fail:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* "cordon-audit-key-v1 <64 hex seed>" -> keypair. */
static int parse_key(const char *text, store_ckpt_key *k)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    size_t tl = sizeof KEY_TAG - 1;
    int rc = STORE_INVAL;

    if (strncmp(text, KEY_TAG " ", tl + 1) || strlen(text + tl + 1) != 2 * sizeof seed ||
        !hex_bin(text + tl + 1, 2 * sizeof seed, seed, sizeof seed))
        goto fail;
    if (crypto_sign_seed_keypair(k->pk, k->sk, seed))
        goto fail;
    rc = STORE_OK;
fail:
    sodium_memzero(seed, sizeof seed);
    return rc;
}

/* Writes text to a new file (O_EXCL) with the given mode and fsyncs it. */
static int write_new(const char *path, const char *text, mode_t mode)
{
    size_t len = strlen(text);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode), rc = -1;

    if (fd < 0)
        return -1;
    if (write(fd, text, len) == (ssize_t)len && !fsync(fd))
        rc = 0;
    if (close(fd))
        rc = -1;
    if (rc)
        unlink(path);
    return rc;
}

static int create_key(const char *path, store_ckpt_key *k, char *err, size_t errlen)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    char text[sizeof KEY_TAG + 2 * sizeof seed + 2], pub[2 * STORE_CKPT_PK_LEN + 2];
    char *pubpath = NULL;
    size_t tl = sizeof KEY_TAG - 1;
    int rc = STORE_IO;

    randombytes_buf(seed, sizeof seed);
    memcpy(text, KEY_TAG " ", tl + 1);
    sodium_bin2hex(text + tl + 1, sizeof text - tl - 1, seed, sizeof seed);
    strcat(text, "\n");
    if (crypto_sign_seed_keypair(k->pk, k->sk, seed))
        goto fail;
    if (write_new(path, text, 0600)) {
        rc = errno == EEXIST ? STORE_CONFLICT : STORE_IO;
        say(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    /* The public half beside it, for verifying elsewhere. Best effort: the
     * key is usable without it (`cordon audit checkpoint` prints it too). */
    pubpath = malloc(strlen(path) + sizeof ".pub");
    if (pubpath) {
        sodium_bin2hex(pub, sizeof pub, k->pk, sizeof k->pk);
        strcat(pub, "\n");
        strcpy(pubpath, path);
        strcat(pubpath, ".pub");
        unlink(pubpath); /* a stale one from an earlier key */
        (void)write_new(pubpath, pub, 0644);
    }
    rc = STORE_OK;
fail:
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(text, sizeof text);
    free(pubpath);
    return rc;
}

int store_ckpt_key_load(const char *path, bool create, store_ckpt_key *k, bool *created, char *err,
                        size_t errlen)
{
    char buf[KEY_FILE_MAX];
    mode_t mode = 0;
    int rc;

    memset(k, 0, sizeof *k);
    if (created)
        *created = false;
    rc = read_small(path, buf, &mode, err, errlen);
    if (rc == STORE_NOTFOUND && create) {
        rc = create_key(path, k, err, errlen);
        if (rc == STORE_OK && created)
            *created = true;
        if (rc != STORE_CONFLICT)
            goto out;
        /* another process created it meanwhile: use theirs */
        rc = read_small(path, buf, &mode, err, errlen);
    }
    if (rc)
        goto out;
    if (mode & 077) {
        say(err, errlen, "%s: the signing key is readable by others (chmod 600 it)", path);
        rc = STORE_INVAL;
        goto out;
    }
    rc = parse_key(buf, k);
    if (rc)
        say(err, errlen, "%s: not a cordon audit key file", path);
out:
    sodium_memzero(buf, sizeof buf);
    if (rc)
        sodium_memzero(k, sizeof *k);
    return rc;
}

int store_ckpt_pubkey(const char *arg, uint8_t pk[STORE_CKPT_PK_LEN], char *err, size_t errlen)
{
    char buf[KEY_FILE_MAX];
    store_ckpt_key k;
    int rc;

    if (hex_bin(arg, strlen(arg), pk, STORE_CKPT_PK_LEN))
        return STORE_OK;
    rc = read_small(arg, buf, NULL, err, errlen);
    if (rc)
        goto out;
    rc = STORE_OK;
    if (hex_bin(buf, strlen(buf), pk, STORE_CKPT_PK_LEN))
        goto out;
    rc = parse_key(buf, &k);
    if (!rc)
        memcpy(pk, k.pk, STORE_CKPT_PK_LEN);
    else
        say(err, errlen, "%s: neither a public key (64 hex digits) nor a cordon audit key file",
            arg);
    sodium_memzero(&k, sizeof k);
out:
    sodium_memzero(buf, sizeof buf);
    return rc;
}

int store_ckpt_instance(store *s, char out[STORE_CKPT_INSTANCE])
{
    char *v = NULL;
    int rc = store_kv_get(s, INSTANCE_KEY, &v);

    out[0] = 0;
    if (rc)
        goto fail;
    rc = STORE_CORRUPT;
    if (strlen(v) != STORE_CKPT_INSTANCE - 1 || !is_hex(v, STORE_CKPT_INSTANCE - 1))
        goto fail;
    memcpy(out, v, STORE_CKPT_INSTANCE);
    rc = STORE_OK;
fail:
    free(v);
    return rc;
}

/* The signed part of a checkpoint line. Returns its length, or 0. */
static size_t format_body(const store_ckpt *c, char *out, size_t outlen)
{
    char hex[2 * STORE_AUDIT_HASH_LEN + 1];
    int n;

    sodium_bin2hex(hex, sizeof hex, c->hash, sizeof c->hash);
    n = snprintf(out, outlen, STORE_CKPT_TAG " db=%s seq=%" PRId64 " hash=%s time=%" PRId64,
                 c->instance, c->seq, hex, c->time);
    return n > 0 && (size_t)n < outlen ? (size_t)n : 0;
}

int store_ckpt_make(store *s, const store_ckpt_key *k, int64_t now_ms, store_ckpt *c,
                    char line[STORE_CKPT_LINE_MAX])
{
    uint8_t sig[crypto_sign_BYTES];
    size_t n;
    int rc;

    memset(c, 0, sizeof *c);
    line[0] = 0;
    rc = store_ckpt_instance(s, c->instance);
    if (!rc)
        rc = store_audit_head(s, &c->seq, c->hash);
    if (rc)
        return rc;
    c->time = now_ms;
    n = format_body(c, line, STORE_CKPT_LINE_MAX);
    if (!n || n + 5 + 2 * sizeof sig + 1 > STORE_CKPT_LINE_MAX)
        return STORE_INVAL;
    crypto_sign_detached(sig, NULL, (const uint8_t *)line, n, k->sk);
    memcpy(line + n, " sig=", 5);
    sodium_bin2hex(line + n + 5, STORE_CKPT_LINE_MAX - n - 5, sig, sizeof sig);
    return STORE_OK;
}

int store_ckpt_append(const char *path, const char *line, char *err, size_t errlen)
{
    char buf[STORE_CKPT_LINE_MAX + 1];
    size_t len = strlen(line);
    int fd, rc = STORE_IO;

    if (len >= STORE_CKPT_LINE_MAX)
        return STORE_INVAL;
    memcpy(buf, line, len);
    buf[len++] = '\n';
    /* One write() of the whole line: with O_APPEND it lands in one piece
     * after whatever another writer (the CLI, the server) appended. */
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0) {
        say(err, errlen, "%s: %s", path, strerror(errno));
        return STORE_IO;
    }
    errno = 0; /* a short write sets none */
    if (write(fd, buf, len) != (ssize_t)len || fsync(fd))
        say(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
    else
        rc = STORE_OK;
    if (close(fd) && !rc) {
        say(err, errlen, "%s: %s", path, strerror(errno));
        rc = STORE_IO;
    }
    return rc;
}

const char *store_ckpt_status_name(store_ckpt_status st)
{
    static const char *const names[] = {"none",          "verified",  "truncated",     "mismatch",
                                        "bad_signature", "malformed", "other_database"};

    return (size_t)st < sizeof names / sizeof names[0] ? names[st] : "unknown";
}

/* After " name=" at p: n lowercase hex digits into out (n / 2 bytes), or a
 * decimal number into *num. Return the position after the field, or NULL. */
static const char *hex_field(const char *p, const char *name, size_t n, uint8_t *out)
{
    size_t nl = strlen(name);

    if (!p || p[0] != ' ' || strncmp(p + 1, name, nl) || p[1 + nl] != '=')
        return NULL;
    p += nl + 2;
    if (strnlen(p, n) != n || !hex_bin(p, n, out, n / 2))
        return NULL;
    return p + n;
}

static const char *num_field(const char *p, const char *name, int64_t *num)
{
    size_t nl = strlen(name);
    char *end;
    long long v;

    if (!p || p[0] != ' ' || strncmp(p + 1, name, nl) || p[1 + nl] != '=')
        return NULL;
    p += nl + 2;
    if (*p < '0' || *p > '9')
        return NULL;
    errno = 0;
    v = strtoll(p, &end, 10);
    if (errno)
        return NULL;
    *num = v;
    return end;
}

/* Parses and verifies one checkpoint. text: a line that contains the tag
 * (anything before it, e.g. a syslog prefix, is ignored). Returns
 * STORE_CKPT_NONE (parsed, signature good), MALFORMED or BAD_SIGNATURE. */
static store_ckpt_status parse_line(const char *text, const uint8_t pk[STORE_CKPT_PK_LEN],
                                    store_ckpt *c)
{
    uint8_t inst[(STORE_CKPT_INSTANCE - 1) / 2], sig[crypto_sign_BYTES];
    char body[STORE_CKPT_LINE_MAX];
    const char *p = strstr(text, STORE_CKPT_TAG " "), *q, *body_end;
    size_t n;

    memset(c, 0, sizeof *c);
    if (!p)
        return STORE_CKPT_MALFORMED;
    q = hex_field(p + sizeof STORE_CKPT_TAG - 1, "db", 2 * sizeof inst, inst);
    q = num_field(q, "seq", &c->seq);
    q = hex_field(q, "hash", 2 * sizeof c->hash, c->hash);
    q = body_end = num_field(q, "time", &c->time);
    q = hex_field(q, "sig", 2 * sizeof sig, sig);
    if (!q)
        return STORE_CKPT_MALFORMED;
    for (; *q; q++)
        if (*q != '\n' && *q != '\r' && *q != ' ')
            return STORE_CKPT_MALFORMED;
    sodium_bin2hex(c->instance, sizeof c->instance, inst, sizeof inst);
    /* The signed bytes are the canonical form re-made from the fields; the
     * line must be exactly that (no leading zeros). */
    n = format_body(c, body, sizeof body);
    if (!n || n != (size_t)(body_end - p) || memcmp(p, body, n))
        return STORE_CKPT_MALFORMED;
    if (crypto_sign_verify_detached(sig, (const uint8_t *)body, n, pk))
        return STORE_CKPT_BAD_SIGNATURE;
    return STORE_CKPT_NONE;
}

/* Compares one good checkpoint with the log. Sets r->status on failure. */
static int check_one(store *s, const store_ckpt *c, const char *instance, int64_t log_seq,
                     store_ckpt_report *r)
{
    store_audit_entries page = {0};
    uint8_t head_hash[STORE_AUDIT_HASH_LEN];
    int64_t head = log_seq;
    int rc = STORE_OK;

    r->ckpt = *c;
    if (strcmp(c->instance, instance)) {
        r->status = STORE_CKPT_OTHER_DB;
        goto out;
    }
    if (c->seq > log_seq) {
        /* Written after the verify read the head? Then the head is there now. */
        rc = store_audit_head(s, &head, head_hash);
        if (rc)
            goto out;
        if (c->seq > head) {
            r->log_seq = head;
            r->status = STORE_CKPT_TRUNCATED;
            goto out;
        }
    }
    if (c->seq == 0) /* the log was empty then: nothing to match */
        goto out;
    rc = store_audit_page(s, c->seq - 1, 1, &page);
    if (rc)
        goto out;
    if (!page.n || page.items[0].seq != c->seq) {
        r->status = STORE_CKPT_TRUNCATED; /* cannot happen after a good verify */
        goto out;
    }
    if (memcmp(page.items[0].hash, c->hash, sizeof c->hash)) {
        memcpy(r->log_hash, page.items[0].hash, sizeof r->log_hash);
        r->status = STORE_CKPT_MISMATCH;
    }
out:
    store_audit_entries_free(&page);
    return rc;
}

int store_ckpt_check(store *s, FILE *f, const uint8_t pk[STORE_CKPT_PK_LEN], int64_t log_seq,
                     store_ckpt_report *r)
{
    char instance[STORE_CKPT_INSTANCE];
    store_ckpt c, latest = {0};
    store_ckpt_report one;
    char line[STORE_CKPT_READ_MAX];
    int64_t lineno = 0;
    int rc;

    memset(r, 0, sizeof *r);
    r->log_seq = log_seq;
    /* No instance id in a database that has checkpoints: someone removed
     * it; every checkpoint is then of "another database". */
    rc = store_ckpt_instance(s, instance);
    if (rc == STORE_NOTFOUND || rc == STORE_CORRUPT)
        instance[0] = 0;
    else if (rc)
        goto fail;
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        bool torn = !len || line[len - 1] != '\n', too_long = false;
        store_ckpt_status st;
        int ch;

        lineno++;
        /* A line longer than any checkpoint: skip the rest of it. */
        while (torn && (ch = fgetc(f)) != EOF) {
            too_long = true;
            if (ch == '\n') {
                torn = false;
                break;
            }
        }
        if (!too_long && strspn(line, " \t\r\n") == len)
            continue; /* blank */
        st = too_long ? STORE_CKPT_MALFORMED : parse_line(line, pk, &c);
        if (st != STORE_CKPT_NONE) {
            /* An unterminated line (only the last can be) that does not
             * parse is a write cut short by a crash: skip it. */
            if (torn && !too_long)
                break;
            r->status = st;
            r->line = lineno;
            r->ckpt = c;
            goto done;
        }
        memset(&one, 0, sizeof one);
        one.log_seq = log_seq;
        rc = check_one(s, &c, instance, log_seq, &one);
        if (rc)
            goto fail;
        r->checked++;
        if (one.status == STORE_CKPT_OTHER_DB) {
            *r = (store_ckpt_report){.status = one.status,
                                     .ckpt = c,
                                     .line = lineno,
                                     .log_seq = log_seq,
                                     .checked = r->checked};
            goto done;
        }
        /* Cut or rewritten: go on, the latest such checkpoint is reported
         * (it shows how much is gone). */
        if (one.status != STORE_CKPT_NONE &&
            (r->status == STORE_CKPT_NONE || c.seq >= r->ckpt.seq)) {
            one.line = lineno;
            one.checked = r->checked;
            *r = one;
        }
        if (r->checked == 1 || c.seq >= latest.seq)
            latest = c;
    }
    if (ferror(f)) {
        rc = STORE_IO;
        goto fail;
    }
    if (r->checked && r->status == STORE_CKPT_NONE) {
        r->status = STORE_CKPT_VERIFIED;
        r->ckpt = latest;
    }
done:
    rc = STORE_OK;
fail:
    return rc;
}

void store_ckpt_describe(const store_ckpt_report *r, char *out, size_t outlen)
{
    char hex[2 * STORE_AUDIT_HASH_LEN + 1], loghex[2 * STORE_AUDIT_HASH_LEN + 1];
    long long seq = (long long)r->ckpt.seq, line = (long long)r->line;

    sodium_bin2hex(hex, sizeof hex, r->ckpt.hash, sizeof r->ckpt.hash);
    sodium_bin2hex(loghex, sizeof loghex, r->log_hash, sizeof r->log_hash);
    switch (r->status) {
    case STORE_CKPT_NONE:
        snprintf(out, outlen, "no checkpoint to check against");
        break;
    case STORE_CKPT_VERIFIED:
        snprintf(out, outlen, "checkpoint at seq %lld verified (%lld checked, hash %s)", seq,
                 (long long)r->checked, hex);
        break;
    case STORE_CKPT_TRUNCATED:
        snprintf(out, outlen,
                 "log truncated: checkpoint at seq %lld (hash %s) but the log ends at seq %lld",
                 seq, hex, (long long)r->log_seq);
        break;
    case STORE_CKPT_MISMATCH:
        snprintf(out, outlen,
                 "log rewritten: checkpoint at seq %lld has hash %s but the log's entry %lld has "
                 "hash %s",
                 seq, hex, seq, loghex);
        break;
    case STORE_CKPT_BAD_SIGNATURE:
        snprintf(out, outlen, "checkpoint signature invalid (line %lld)", line);
        break;
    case STORE_CKPT_MALFORMED:
        snprintf(out, outlen, "not a checkpoint (line %lld)", line);
        break;
    case STORE_CKPT_OTHER_DB:
        snprintf(out, outlen, "checkpoint at seq %lld (line %lld) is of another database (db=%s)",
                 seq, line, r->ckpt.instance);
        break;
    }
}
