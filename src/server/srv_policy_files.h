/*
 * srv_policy_files.h — the guard's rules on disk: where the policy and the
 * managed lexicons live, the guard options built from them, and the file
 * primitives a save needs (bounded reads, a temporary file beside the
 * target, directory syncs). No HTTP here (srv_h_policy.c), no engine
 * (srv_policy.c).
 */
#ifndef SRV_POLICY_FILES_H
#define SRV_POLICY_FILES_H

#include "srv_int.h"

/* Up to this much of the policy file is kept as the text in force. */
#define POLICY_TEXT_MAX ((size_t)1 << 20)
/* One managed lexicon file; the request body cap (limits.max_body_bytes)
 * usually binds first. */
#define LEXICON_TEXT_MAX ((size_t)16 << 20)
#define LEXICON_NAME_MAX 64
/* Managed lexicon files considered; more are ignored (and logged). */
#define LEXICON_FILES_MAX 256
#define LEXICON_DIR       "lexicons"
#define LEXICON_EXT       ".tsv"
#define DATA_POLICY       "policy.yaml"

/* The options of one load: configured lexicons first, then managed ones. */
typedef struct srv_pol_opts {
    guard_options o;
    char *policy;   /* heap: o.policy_path, or NULL */
    char **paths;   /* heap: the managed lexicons' paths */
    size_t n_paths; /* entries of paths */
    const char **lex;
} srv_pol_opts;

/* a "/" b (heap), or NULL when out of memory. */
char *srv_pf_join(const char *a, const char *b);

/* <data_dir>/lexicons/<name>.tsv (heap), or NULL. */
char *srv_pf_lexicon_path(srv *s, const char *name);

/* A managed lexicon's name: 1..LEXICON_NAME_MAX of [a-z0-9_-]. */
bool srv_pf_lexicon_name_ok(const char *n, size_t len);

/* Where a saved policy goes: the configured file, else the data dir's. */
char *srv_pf_policy_save_path(srv *s);

/* The policy file to load: NULL in *out for the built-in policy. */
int srv_pf_policy_load_path(srv *s, char **out);

/* Frees n heap strings and the array. */
void srv_pf_names_free(char **v, size_t n);

/* The managed lexicons' names, sorted; a missing directory is none. */
int srv_pf_lexicon_names(srv *s, char ***out, size_t *n_out);

/* Frees what srv_pf_opts_build filled and zeroes it. */
void srv_pf_opts_free(srv_pol_opts *po);

/* Builds the options of what is on disk, with two substitutions for
 * validation: policy_over replaces the policy file; the managed lexicon
 * lex_name is read from lex_path instead (added when new; left out when
 * lex_path is NULL). Returns 0, or -1 (out of memory). */
int srv_pf_opts_build(srv *s, const char *policy_over, const char *lex_name, const char *lex_path,
                      srv_pol_opts *po);

/* Reads a whole file of at most max bytes (NUL-terminated). Returns 0, -1
 * with errno (ENOENT, EFBIG, ...). */
int srv_pf_read_text(const char *path, size_t max, char **out, size_t *len);

/* Writes text to a new hidden file beside target and syncs it; *tmp gets its
 * path (heap). Returns 0, or -1 with errno; no file is left on error. */
int srv_pf_write_temp(const char *target, const char *text, size_t len, char **tmp);

/* Makes a rename or unlink in path's directory durable. */
int srv_pf_sync_dir_of(const char *path);

/* Lines that are entries: not blank, not comments. Streams (configured
 * lexicons may have millions of terms). -1 when unreadable. */
long long srv_pf_count_terms(const char *path, long long *bytes, int64_t *mtime_ms);

/* The SHA-256 of text in lower-case hex (what the audit records of a save). */
void srv_pf_sha256_hex(const char *text, size_t len, char hex[65]);

/* Copies a guard message with every occurrence of from (a temporary file's
 * path) replaced by to, so that "file:line" names what the admin edited. */
void srv_pf_msg_rename(const char *in, const char *from, const char *to, char *out, size_t cap);

#endif
