/*
 * acct.h — accounts: passwords (argon2id), the password policy, one-time
 * passwords, TOTP second factor (RFC 6238), session tokens, login with
 * lockout, and the first-start admin bootstrap.
 *
 * Pure helpers (hashing, TOTP, tokens) need no store; the account
 * operations (acct_login, acct_user_add, ...) work through store.h and write
 * the audit entries that go with them, in the same transaction.
 *
 * RETURN VALUES: an int that is either a store_rc (< ACCT_RC_BASE: the
 * store failed, e.g. STORE_BUSY) or an acct_rc below. ACCT_OK == STORE_OK ==
 * 0. acct_strerror() names both.
 *
 * SECRETS: passwords, one-time passwords, TOTP codes and tokens are never
 * logged nor written to the audit log; buffers that held them are wiped
 * with sodium_memzero by the functions here. Callers wipe their own copies.
 *
 * THREADING: every function is reentrant; the ones taking a store use it
 * under the store's one-thread-per-handle rule. acct_init() must have
 * succeeded once in the process before anything else (sodium_init).
 */
#ifndef CORDON_ACCT_H
#define CORDON_ACCT_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACCT_RC_BASE 100

typedef enum acct_rc {
    ACCT_OK = 0,
    ACCT_BAD_CREDENTIALS = ACCT_RC_BASE, /* unknown login OR wrong password: one answer */
    ACCT_TOTP_REQUIRED,                  /* password right, a TOTP code is needed (none given) */
    ACCT_TOTP_INVALID,                   /* wrong code, or a code already used (replay) */
    ACCT_LOCKED,                         /* too many failures: locked until user.locked_until */
    ACCT_DISABLED,      /* the account is disabled (said only after a right password) */
    ACCT_WEAK_PASSWORD, /* refused by the policy; see the reason string */
    ACCT_BAD_LOGIN,     /* login not of the allowed form */
    ACCT_EXISTS,        /* login taken */
    ACCT_INVAL,         /* bad argument */
    ACCT_NOMEM,
    ACCT_CRYPTO /* libsodium/liboath failed (e.g. argon2 could not get memory) */
} acct_rc;

const char *acct_strerror(int rc);

/* sodium_init() and oath_init(); ACCT_CRYPTO when they fail. Idempotent. */
int acct_init(void);

/* ------------------------------------------------------------ passwords */

/*
 * Password policy (docs/STORE.md, "Accounts"):
 *  - at least ACCT_PASSWORD_MIN (10) characters (code points), at most
 *    ACCT_PASSWORD_MAX (1024) bytes, valid UTF-8, no control characters;
 *  - not the login, not containing the login (case-insensitively), not the
 *    display name;
 *  - at least 5 distinct characters (refuses "aaaaaaaaaa", "ababababab");
 *  - not on a short built-in list of the most common passwords.
 * No composition rules (NIST SP 800-63B): length beats symbols.
 */
#define ACCT_PASSWORD_MIN 10
#define ACCT_PASSWORD_MAX 1024

/* ACCT_OK or ACCT_WEAK_PASSWORD with *reason (static English text, may be
 * NULL) saying why. login / display_name may be NULL. */
int acct_password_check(const char *password, const char *login, const char *display_name,
                        const char **reason);

/* argon2id cost. The default (acct_cost_default) is what production uses;
 * tests pass a cheaper cost explicitly (acct_cost_test); nothing reads the
 * environment to lower it. */
typedef struct acct_cost {
    unsigned long long opslimit;
    size_t memlimit; /* bytes */
} acct_cost;

extern const acct_cost acct_cost_default; /* opslimit 3, 64 MiB */
extern const acct_cost acct_cost_test;    /* the libsodium minimum: for tests only */

/* Size of an encoded hash buffer (crypto_pwhash_STRBYTES). */
#define ACCT_HASH_MAX 128

/* Hashes with argon2id into out (NUL-terminated "$argon2id$v=19$..."). cost
 * NULL = acct_cost_default. ACCT_CRYPTO when hashing failed. */
int acct_password_hash(const char *password, const acct_cost *cost, char out[ACCT_HASH_MAX]);

/* ACCT_OK when password matches hash, ACCT_BAD_CREDENTIALS otherwise
 * (including a malformed hash). Constant-time in the password. */
int acct_password_verify(const char *hash, const char *password);

/* true when hash was made with other parameters than cost (NULL =
 * default): rehash after a successful login. */
bool acct_password_needs_rehash(const char *hash, const acct_cost *cost);

/* A one-time password: ACCT_OTP_LEN characters from an alphabet without
 * look-alikes (no 0/O/1/l/I), groups of 4 separated by '-', ~95 bits of
 * entropy (libsodium randombytes). Always passes the policy. */
#define ACCT_OTP_LEN 24 /* "xxxx-xxxx-xxxx-xxxx-xxxx": 5 groups of 4 + 4 dashes */
void acct_otp_generate(char out[ACCT_OTP_LEN + 1]);

/* ----------------------------------------------------------------- TOTP */

#define ACCT_TOTP_SECRET_BYTES 20 /* 160 bits, RFC 4226 recommendation */
#define ACCT_TOTP_B32_MAX      40 /* base32 of 20 bytes = 32 chars, + NUL, rounded */
#define ACCT_TOTP_STEP         30 /* seconds */
#define ACCT_TOTP_DIGITS       6

/* A new random secret, base32 (RFC 4648, no padding) into b32. */
int acct_totp_secret_new(char b32[ACCT_TOTP_B32_MAX]);

/* The otpauth:// URI for authenticator apps:
 *   otpauth://totp/ISSUER:LOGIN?secret=B32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
 * with issuer and login percent-encoded. *uri is a heap string (free()). */
int acct_totp_uri(const char *issuer, const char *login, const char *b32, char **uri);

/* The code of a raw secret at Unix time t (seconds), `digits` 6..8, SHA-1
 * (RFC 6238 test vectors). For tests and for acct_totp_check. */
int acct_totp_code(const uint8_t *secret, size_t secret_len, int64_t t, int digits, char out[9]);

/* Checks code against the base32 secret at time t with a window of ±1
 * step. On ACCT_OK, *step is the matched step (t / 30 adjusted by the
 * window): the caller records it (store_user_totp_use_step) and refuses it
 * when it is <= last_step. Here too: a step <= last_step never matches
 * (ACCT_TOTP_INVALID), so a code cannot be replayed. */
int acct_totp_check(const char *b32, const char *code, int64_t t, int64_t last_step, int64_t *step);

/* --------------------------------------------------------------- tokens */

#define ACCT_TOKEN_BYTES  32
#define ACCT_TOKEN_STRLEN 43 /* base64url without padding of 32 bytes */

/* A new session token (base64url of 32 random bytes, NUL-terminated) and
 * the hash the store keeps (BLAKE2b-256). */
void acct_token_new(char token[ACCT_TOKEN_STRLEN + 1], uint8_t hash[STORE_TOKEN_HASH_LEN]);

/* The hash of a token presented by a client. ACCT_INVAL when it is not of
 * the form of a token (wrong length or alphabet): reject without a lookup. */
int acct_token_hash(const char *token, uint8_t hash[STORE_TOKEN_HASH_LEN]);

/* ----------------------------------------------------- account operations */

/* Knobs of the login path; acct_login_policy_default has the values below. */
typedef struct acct_login_policy {
    int max_failures;              /* consecutive failures before a lockout: 5 */
    int64_t lockout_ms;            /* 15 minutes */
    bool totp_required_privileged; /* officers/admins without TOTP: ACCT_TOTP_REQUIRED is
                                      not returned, but acct_login sets *enrol_needed */
    const acct_cost *cost;         /* NULL = default; used for needs_rehash */
} acct_login_policy;

extern const acct_login_policy acct_login_policy_default;

/* Logins: 1..STORE_LOGIN_MAX bytes of [a-z0-9._-], starting with a letter
 * or digit. Upper case is folded by the callers' input (acct_login_normalise). */
bool acct_login_valid(const char *login);

/* Lower-cases ASCII in place; returns login. */
char *acct_login_normalise(char *login);

/*
 * Authenticates login + password (+ totp when the user has TOTP enabled),
 * with the lockout: on failure, failed_logins increments and reaching
 * max_failures locks the account for lockout_ms; success resets it.
 * Unknown logins cost the same argon2 verify as known ones.
 * Writes audit entries "auth.login" / "auth.login_failed" (detail: reason,
 * address) / "auth.locked". Rehashes the password when needs_rehash.
 * On ACCT_OK, *user is filled (caller clears). *enrol_needed (may be NULL)
 * is true when policy requires TOTP for this role and none is enrolled.
 * address may be NULL.
 * Returns ACCT_OK, ACCT_BAD_CREDENTIALS, ACCT_TOTP_REQUIRED,
 * ACCT_TOTP_INVALID, ACCT_LOCKED, ACCT_DISABLED or a store error.
 */
int acct_login(store *s, const acct_login_policy *pol, const char *login, const char *password,
               const char *totp, const char *address, int64_t now, store_user *user,
               bool *enrol_needed);

/* Opens a session for user_id: a new token (to give to the client) and its
 * row. ttl_ms > 0. *session_id may be NULL. */
int acct_session_open(store *s, int64_t user_id, int64_t now, int64_t ttl_ms,
                      const char *user_agent, const char *address,
                      char token[ACCT_TOKEN_STRLEN + 1], int64_t *session_id);

/* Resolves a presented token: the live session and its user. Disabled users
 * get ACCT_DISABLED (and the session is left for the caller to revoke);
 * malformed, unknown, expired or revoked tokens STORE_NOTFOUND. */
int acct_session_check(store *s, const char *token, int64_t now, store_session *sess,
                       store_user *user);

/* Creates an account. password NULL = generate a one-time password into
 * otp_out (must be changed at first login); otherwise the policy applies.
 * otp_out may be NULL only when password is given. actor_id/actor name who
 * did it for the audit entry "user.add" (0/NULL = system).
 * Returns ACCT_OK, ACCT_BAD_LOGIN, ACCT_EXISTS, ACCT_WEAK_PASSWORD... */
int acct_user_add(store *s, const acct_cost *cost, const char *login, const char *display_name,
                  store_role role, bool external, const char *password,
                  char otp_out[ACCT_OTP_LEN + 1], int64_t actor_id, const char *actor, int64_t now,
                  int64_t *id_out);

/* Sets a new one-time password (must change at next login), revokes all
 * sessions of the user, audits "user.reset_password". */
int acct_password_reset(store *s, const acct_cost *cost, int64_t user_id,
                        char otp_out[ACCT_OTP_LEN + 1], int64_t actor_id, const char *actor,
                        int64_t now);

/* The user changes their own password: old must verify, new must pass the
 * policy and differ from old. Clears must_change_password, revokes the
 * user's other sessions (keep_session_id stays), audits "auth.password_changed". */
int acct_password_change(store *s, const acct_cost *cost, int64_t user_id, const char *old_pw,
                         const char *new_pw, int64_t keep_session_id, int64_t now,
                         const char **reason);

/* TOTP enrolment: stores a new pending secret (totp_enabled false) and
 * returns it in b32 and the otpauth URI in *uri (heap). */
int acct_totp_enrol(store *s, int64_t user_id, const char *issuer, char b32[ACCT_TOTP_B32_MAX],
                    char **uri, int64_t now);

/* Confirms enrolment with a valid code: totp_enabled = true; audits
 * "auth.totp_enabled". ACCT_TOTP_INVALID on a wrong code, ACCT_INVAL when no
 * enrolment is pending. */
int acct_totp_confirm(store *s, int64_t user_id, const char *code, int64_t now);

/*
 * First start: when the store has no account at all, creates `admin` (role
 * admin) with a one-time password that must be changed at first login,
 * audits "user.bootstrap", and returns the password in otp_out for
 * printing once (*created = true). With accounts present: *created = false,
 * nothing changes.
 */
int acct_bootstrap_admin(store *s, const acct_cost *cost, int64_t now,
                         char otp_out[ACCT_OTP_LEN + 1], bool *created);

#endif
