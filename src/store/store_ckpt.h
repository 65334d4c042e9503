/*
 * store_ckpt.h — signed checkpoints of the audit chain head
 * (docs/AUDIT.md, "Checkpoints").
 *
 * A checkpoint is one text line stating which database (its random
 * instance id), the chain head's seq and hash, and the time, signed with an
 * Ed25519 key kept outside the database:
 *
 *   cordon-audit-checkpoint-v1 db=<32 hex> seq=<n> hash=<64 hex> time=<ms> sig=<128 hex>
 *
 * The signature covers the bytes from the tag up to (not including) " sig=".
 * Someone holding the database file but not the key can cut or rewrite the
 * chain, but not past a checkpoint: the chain must still contain each
 * checkpoint's seq with the checkpoint's hash.
 *
 * Only the key file and the checkpoint file are opened here, never the
 * database file (POSIX would drop SQLite's locks).
 */
#ifndef STORE_CKPT_H
#define STORE_CKPT_H

#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define STORE_CKPT_TAG      "cordon-audit-checkpoint-v1"
#define STORE_CKPT_LINE_MAX 320  /* one checkpoint line, with room to spare */
#define STORE_CKPT_READ_MAX 4096 /* longest line read from a checkpoint file */
#define STORE_CKPT_INSTANCE 33   /* 32 hex + NUL */
#define STORE_CKPT_PK_LEN   32
#define STORE_CKPT_SK_LEN   64
#define STORE_CKPT_KEY_FILE "audit-checkpoint.key"  /* default, under data_dir */
#define STORE_CKPT_LOG_FILE "audit-checkpoints.log" /* default, under data_dir */

typedef struct store_ckpt {
    char instance[STORE_CKPT_INSTANCE];
    int64_t seq; /* 0: the log was empty */
    uint8_t hash[STORE_AUDIT_HASH_LEN];
    int64_t time; /* ms since the epoch */
} store_ckpt;

typedef struct store_ckpt_key {
    uint8_t pk[STORE_CKPT_PK_LEN];
    uint8_t sk[STORE_CKPT_SK_LEN];
} store_ckpt_key;

/* Loads the signing key at path (a line "cordon-audit-key-v1 <64 hex seed>").
 * create: when the file does not exist, generates a key, writes it with mode
 * 0600 (O_EXCL: two processes racing agree on one key) and PATH.pub with the
 * public key in hex; *created (may be NULL) says so. A key file readable by
 * group or others is refused. Returns STORE_OK, STORE_NOTFOUND (absent and
 * !create), STORE_IO, STORE_INVAL (not a key file), with a message in err.
 * The caller wipes k (sodium_memzero) when done. */
int store_ckpt_key_load(const char *path, bool create, store_ckpt_key *k, bool *created, char *err,
                        size_t errlen);

/* The public key to verify with: arg is 64 hex digits, or a file holding
 * them (PATH.pub), or a signing key file (the public half is derived).
 * Returns STORE_OK, STORE_IO or STORE_INVAL with a message in err. */
int store_ckpt_pubkey(const char *arg, uint8_t pk[STORE_CKPT_PK_LEN], char *err, size_t errlen);

/* This database's instance id (migration 3), 32 lowercase hex digits. */
int store_ckpt_instance(store *s, char out[STORE_CKPT_INSTANCE]);

/* Reads the head and signs a checkpoint of it at time now_ms into c and
 * line (NUL-terminated, no newline). */
int store_ckpt_make(store *s, const store_ckpt_key *k, int64_t now_ms, store_ckpt *c,
                    char line[STORE_CKPT_LINE_MAX]);

/* Appends line and a newline to the checkpoint file (O_APPEND, created 0600)
 * and fsyncs it. STORE_IO with a message in err. */
int store_ckpt_append(const char *path, const char *line, char *err, size_t errlen);

typedef enum store_ckpt_status {
    STORE_CKPT_NONE,          /* no checkpoint to check against */
    STORE_CKPT_VERIFIED,      /* the chain contains every checkpoint */
    STORE_CKPT_TRUNCATED,     /* a checkpoint's seq is past the end of the log */
    STORE_CKPT_MISMATCH,      /* the log's entry at a checkpoint's seq has another hash */
    STORE_CKPT_BAD_SIGNATURE, /* a line whose signature does not verify */
    STORE_CKPT_MALFORMED,     /* a line that is not a checkpoint */
    STORE_CKPT_OTHER_DB,      /* a checkpoint of another database */
} store_ckpt_status;

/* "verified", "truncated", "mismatch", "bad_signature", "malformed",
 * "other_database", "none": the API's checkpoint.status. */
const char *store_ckpt_status_name(store_ckpt_status st);

typedef struct store_ckpt_report {
    store_ckpt_status status;
    store_ckpt ckpt; /* VERIFIED: the latest (highest seq); else the failing one */
    int64_t log_seq; /* the log's last seq when checked */
    uint8_t log_hash[STORE_AUDIT_HASH_LEN]; /* MISMATCH: the log's hash at ckpt.seq */
    int64_t checked;                        /* checkpoints compared with the log */
    int64_t line;                           /* line number of the failing checkpoint (1-based), 0 */
} store_ckpt_report;

/* Checks every checkpoint read from f (one per line; the tag may follow a
 * prefix, so syslog lines work as they are) against the log of s, whose
 * chain the caller has verified intact up to seq log_seq (store_audit_verify,
 * r.entries). A bad signature, a malformed line or a checkpoint of another
 * database stops the check and fails it, except an unterminated last line
 * (a write cut by a crash), which is skipped. A checkpoint past log_seq is
 * compared with the head as it is now (it may have been written after the
 * verify); past that, the log was truncated. Of several truncated or
 * mismatching checkpoints, the one with the highest seq is reported; r->checked
 * counts the checkpoints compared. Returns a store error only when reading
 * failed. */
int store_ckpt_check(store *s, FILE *f, const uint8_t pk[STORE_CKPT_PK_LEN], int64_t log_seq,
                     store_ckpt_report *r);

/* One line of human-readable result for r ("checkpoint at seq 12 verified",
 * "log truncated: checkpoint at seq 12 (hash ...) but the log ends at seq 9"...). */
void store_ckpt_describe(const store_ckpt_report *r, char *out, size_t outlen);

#endif
