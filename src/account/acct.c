/*
 * acct.c — the account primitives that need no store: argon2id hashing and
 * the password policy, one-time passwords, TOTP (RFC 6238 through liboath)
 * and session tokens. The operations on accounts are in acct_ops.c.
 */
#include "account/acct.h"
#include "base/base_utf8.h"

#include <liboath/oath.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const acct_cost acct_cost_default = {3, 64u << 20};
const acct_cost acct_cost_test = {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};

const char *acct_strerror(int rc)
{
    static const char *const names[] = {
        [ACCT_BAD_CREDENTIALS - ACCT_RC_BASE] = "invalid login or password",
        [ACCT_TOTP_REQUIRED - ACCT_RC_BASE] = "a one-time code is required",
        [ACCT_TOTP_INVALID - ACCT_RC_BASE] = "invalid one-time code",
        [ACCT_LOCKED - ACCT_RC_BASE] = "account temporarily locked",
        [ACCT_DISABLED - ACCT_RC_BASE] = "account disabled",
        [ACCT_WEAK_PASSWORD - ACCT_RC_BASE] = "password refused by the policy",
        [ACCT_BAD_LOGIN - ACCT_RC_BASE] = "invalid login name",
        [ACCT_EXISTS - ACCT_RC_BASE] = "login already exists",
        [ACCT_INVAL - ACCT_RC_BASE] = "invalid argument",
        [ACCT_NOMEM - ACCT_RC_BASE] = "out of memory",
        [ACCT_CRYPTO - ACCT_RC_BASE] = "cryptographic operation failed",
    };
    if (rc < ACCT_RC_BASE)
        return store_strerror(rc);
    if ((size_t)(rc - ACCT_RC_BASE) < sizeof names / sizeof names[0])
        return names[rc - ACCT_RC_BASE];
    return "unknown error";
}

int acct_init(void)
{
    if (sodium_init() < 0)
        return ACCT_CRYPTO;
    if (oath_init() != OATH_OK)
        return ACCT_CRYPTO;
    return ACCT_OK;
}

/* ---------------------------------------------------------- the policy */

/* The most common passwords of 10+ characters (breach corpora): refused
 * outright, whatever else they satisfy. Compared case-insensitively. */
static const char *const common[] = {
    "1234567890",   "0123456789", "qwertyuiop",   "1q2w3e4r5t",  "password12",  "password123",
    "password1234", "iloveyou12", "1qaz2wsx3edc", "qwerty1234",  "qwerty12345", "abcdefghij",
    "abc1234567",   "a123456789", "123456789a",   "1234567890a", "zxcvbnm123",  "administrator",
    "changeme123",  "welcome123", "passw0rd123",  "p@ssw0rd123", "letmein123",  "qazwsxedc123",
    "woaini1314",   "5201314520", "1314520520",   "aa123456789", "qwe1234567",
};

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle), h = strlen(hay);

    if (!n || n > h)
        return false;
    for (size_t i = 0; i + n <= h; i++)
        if (!strncasecmp(hay + i, needle, n))
            return true;
    return false;
}

int acct_password_check(const char *pw, const char *login, const char *display_name,
                        const char **reason)
{
    const unsigned char *p = (const unsigned char *)pw;
    uint32_t distinct[5], cp;
    size_t len, i = 0, chars = 0, nd = 0, k;
    const char *why = NULL;

    if (!pw) {
        why = "no password";
        goto out;
    }
    len = strlen(pw);
    if (len > ACCT_PASSWORD_MAX) {
        why = "longer than 1024 bytes";
        goto out;
    }
    while (i < len) {
        k = base_utf8_decode(p + i, len - i, &cp);
        if (!k) {
            why = "not valid UTF-8";
            goto out;
        }
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
            why = "contains control characters";
            goto out;
        }
        if (nd < 5) {
            size_t j = 0;

            while (j < nd && distinct[j] != cp)
                j++;
            if (j == nd)
                distinct[nd++] = cp;
        }
        chars++;
        i += k;
    }
    if (chars < ACCT_PASSWORD_MIN) {
        why = "shorter than 10 characters";
        goto out;
    }
    if (nd < 5) {
        why = "fewer than 5 different characters";
        goto out;
    }
    if (login && *login && contains_nocase(pw, login)) {
        why = "contains the login name";
        goto out;
    }
    if (display_name && *display_name && !strcasecmp(pw, display_name)) {
        why = "is the display name";
        goto out;
    }
    for (size_t c = 0; c < sizeof common / sizeof common[0]; c++)
        if (!strcasecmp(pw, common[c])) {
            why = "is a commonly used password";
            goto out;
        }
out:
    if (reason)
        *reason = why;
    return why ? ACCT_WEAK_PASSWORD : ACCT_OK;
}

/* ------------------------------------------------------------- hashing */

int acct_password_hash(const char *password, const acct_cost *cost, char out[ACCT_HASH_MAX])
{
    _Static_assert(ACCT_HASH_MAX >= crypto_pwhash_STRBYTES, "hash buffer too small");
    if (!cost)
        cost = &acct_cost_default;
    if (!password)
        return ACCT_INVAL;
    if (crypto_pwhash_str_alg(out, password, strlen(password), cost->opslimit, cost->memlimit,
                              crypto_pwhash_ALG_ARGON2ID13))
        return ACCT_CRYPTO;
    return ACCT_OK;
}

int acct_password_verify(const char *hash, const char *password)
{
    if (!hash || !password)
        return ACCT_BAD_CREDENTIALS;
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 ? ACCT_OK
                                                                           : ACCT_BAD_CREDENTIALS;
}

bool acct_password_needs_rehash(const char *hash, const acct_cost *cost)
{
    if (!cost)
        cost = &acct_cost_default;
    return crypto_pwhash_str_needs_rehash(hash, cost->opslimit, cost->memlimit) != 0;
}

/* ------------------------------------------------- one-time passwords */

/* No 0/o, 1/l/i: read aloud or copied from a screen without mistakes. */
static const char otp_alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";

void acct_otp_generate(char out[ACCT_OTP_LEN + 1])
{
    do {
        size_t o = 0;

        for (int g = 0; g < 5; g++) {
            if (g)
                out[o++] = '-';
            for (int i = 0; i < 4; i++)
                out[o++] = otp_alphabet[randombytes_uniform(sizeof otp_alphabet - 1)];
        }
        out[o] = 0;
    } while (acct_password_check(out, NULL, NULL, NULL) != ACCT_OK);
}

/* ----------------------------------------------------------------- TOTP */

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static void b32_encode(const uint8_t *in, size_t n, char *out)
{
    unsigned buf = 0, bits = 0;
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        buf = (buf << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = b32_alphabet[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits)
        out[o++] = b32_alphabet[(buf << (5 - bits)) & 31];
    out[o] = 0;
}

/* Decodes base32 (either case; spaces, dashes and padding ignored) into
 * out (cap bytes). Returns the length, or -1 when invalid or too long. */
static int b32_decode(const char *in, uint8_t *out, size_t cap)
{
    unsigned buf = 0, bits = 0;
    size_t o = 0;

    for (; *in; in++) {
        int c = *in, v;

        if (c == ' ' || c == '-' || c == '=')
            continue;
        if (c >= 'a' && c <= 'z')
            c -= 32;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= '2' && c <= '7')
            v = c - '2' + 26;
        else
            return -1;
        buf = (buf << 5) | (unsigned)v;
        bits += 5;
        if (bits >= 8) {
            if (o == cap)
                return -1;
            out[o++] = (uint8_t)(buf >> (bits - 8));
            bits -= 8;
        }
    }
    return (int)o;
}

int acct_totp_secret_new(char b32[ACCT_TOTP_B32_MAX])
{
    uint8_t raw[ACCT_TOTP_SECRET_BYTES];

    randombytes_buf(raw, sizeof raw);
    b32_encode(raw, sizeof raw, b32);
    sodium_memzero(raw, sizeof raw);
    return ACCT_OK;
}

static int pct_append(char **o, size_t *left, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        size_t need = plain ? 1 : 3;

        if (*left <= need)
            return ACCT_INVAL;
        if (plain) {
            *(*o)++ = (char)*p;
        } else {
            *(*o)++ = '%';
            *(*o)++ = hex[*p >> 4];
            *(*o)++ = hex[*p & 15];
        }
        *left -= need;
    }
    **o = 0;
    return ACCT_OK;
}

int acct_totp_uri(const char *issuer, const char *login, const char *b32, char **uri)
{
    size_t cap, left;
    char *buf, *o;
    int rc = ACCT_NOMEM;

    *uri = NULL;
    if (!issuer || !login || !b32)
        return ACCT_INVAL;
    cap = 128 + 3 * (2 * strlen(issuer) + strlen(login)) + strlen(b32);
    buf = malloc(cap);
    if (!buf)
        goto fail;
    o = buf;
    left = cap;
#define LIT(s)                                                                                     \
    do {                                                                                           \
        size_t l_ = strlen(s);                                                                     \
        memcpy(o, s, l_ + 1);                                                                      \
        o += l_;                                                                                   \
        left -= l_;                                                                                \
    } while (0)
    LIT("otpauth://totp/");
    rc = pct_append(&o, &left, issuer);
    if (rc)
        goto fail;
    LIT(":");
    rc = pct_append(&o, &left, login);
    if (rc)
        goto fail;
    LIT("?secret=");
    rc = pct_append(&o, &left, b32);
    if (rc)
        goto fail;
    LIT("&issuer=");
    rc = pct_append(&o, &left, issuer);
    if (rc)
        goto fail;
    LIT("&algorithm=SHA1&digits=6&period=30");
#undef LIT
    *uri = buf;
    return ACCT_OK;
fail:
    free(buf);
    return rc;
}

int acct_totp_code(const uint8_t *secret, size_t secret_len, int64_t t, int digits, char out[9])
{
    if (!secret || digits < 6 || digits > 8 || t < 0)
        return ACCT_INVAL;
    if (oath_totp_generate((const char *)secret, secret_len, (time_t)t, ACCT_TOTP_STEP,
                           OATH_TOTP_DEFAULT_START_TIME, (unsigned)digits, out) != OATH_OK)
        return ACCT_CRYPTO;
    return ACCT_OK;
}

int acct_totp_check(const char *b32, const char *code, int64_t t, int64_t last_step, int64_t *step)
{
    uint8_t raw[64];
    char want[9];
    int n, rc = ACCT_TOTP_INVALID;

    if (step)
        *step = 0;
    if (!b32 || !code || t < ACCT_TOTP_STEP)
        return ACCT_INVAL;
    if (strlen(code) != ACCT_TOTP_DIGITS || strspn(code, "0123456789") != ACCT_TOTP_DIGITS)
        return ACCT_TOTP_INVALID;
    n = b32_decode(b32, raw, sizeof raw);
    if (n < 10) {
        rc = ACCT_INVAL;
        goto out;
    }
    /* ±1 step for clock drift; steps already used never match again. */
    for (int d = -1; d <= 1; d++) {
        int64_t s = t / ACCT_TOTP_STEP + d;

        if (s <= last_step)
            continue;
        if (acct_totp_code(raw, (size_t)n, s * ACCT_TOTP_STEP, ACCT_TOTP_DIGITS, want)) {
            rc = ACCT_CRYPTO;
            goto out;
        }
        if (!sodium_memcmp(want, code, ACCT_TOTP_DIGITS)) {
            if (step)
                *step = s;
            rc = ACCT_OK;
            break;
        }
    }
out:
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(want, sizeof want);
    return rc;
}

/* --------------------------------------------------------------- tokens */

void acct_token_new(char token[ACCT_TOKEN_STRLEN + 1], uint8_t hash[STORE_TOKEN_HASH_LEN])
{
    uint8_t raw[ACCT_TOKEN_BYTES];

    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(token, ACCT_TOKEN_STRLEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    acct_token_hash(token, hash);
}

int acct_token_hash(const char *token, uint8_t hash[STORE_TOKEN_HASH_LEN])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_";

    if (!token || strlen(token) != ACCT_TOKEN_STRLEN ||
        strspn(token, alphabet) != ACCT_TOKEN_STRLEN)
        return ACCT_INVAL;
    /* A fast hash is right here: the token has 256 bits of entropy, so the
     * hash only has to keep a database reader from using stored values. */
    crypto_generichash(hash, STORE_TOKEN_HASH_LEN, (const uint8_t *)token, ACCT_TOKEN_STRLEN, NULL,
                       0);
    return ACCT_OK;
}
