/*
 * srv_config.h — `cordon serve` configuration (cordon.yaml, libyaml).
 *
 * Every key is optional; srv_config_defaults() gives a server on
 * 127.0.0.1:8080 with its data under ./cordon-data. docs/SERVER.md is the
 * reference of the keys; data/cordon.example.yaml shows them all.
 *
 * Ownership: every string in srv_config is owned by it and released by
 * srv_config_free(). The struct is read-only once the server starts.
 */
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include "srv_log.h"

#include <stdbool.h>
#include <stddef.h>

enum { SRV_ROLE_MEMBER, SRV_ROLE_OFFICER, SRV_ROLE_ADMIN, SRV_ROLE_COUNT };

/* libwebsockets' event loop: its own poll() loop, or the libev plugin
 * (epoll; Debian package libwebsockets-evlib-ev). */
typedef enum { SRV_LOOP_POLL, SRV_LOOP_LIBEV } srv_event_loop;

typedef struct srv_limits {
    size_t max_message_bytes;   /* text of one message */
    size_t max_body_bytes;      /* one HTTP request body */
    size_t max_justification;   /* bytes of an override justification */
    int max_group_members;      /* members of one conversation */
    double requests_per_second; /* per session, HTTP requests + WS frames */
    double burst;               /* token bucket depth */
    size_t ws_queue_events;     /* outbound events queued per WebSocket */
    size_t ws_queue_bytes;      /* outbound bytes queued per WebSocket */
    size_t max_connections;     /* open sockets; more are refused */
    /* POST /guard/check: its own bucket per user, apart from requests */
    double guard_checks_per_second, guard_check_burst;
    /* An officer alert (guard.probing) when a user's pre-checks come back
     * "block" this many times within the window; once per window. 0: never. */
    int guard_probe_blocked;
    int guard_probe_window_seconds;
    /* POST /files/{id}/ocr (识别文字): a bucket per user (per minute) and
     * the OCR runs at once over the whole server (each holds a worker
     * thread and an extraction process for seconds) */
    double ocr_per_minute, ocr_burst;
    int ocr_concurrent;
} srv_limits;

typedef struct srv_login_limits {
    int account_failures; /* failures per account within window -> lockout */
    int address_failures; /* failures per address within window -> lockout */
    int window_seconds;
    int lockout_seconds;
} srv_login_limits;

/* Files in chat (uploads:, docs/SERVER.md): tus uploads and inspection. */
typedef struct srv_uploads_config {
    long long max_size;    /* Tus-Max-Size: largest declared Upload-Length */
    int expiry_seconds;    /* an unfinished upload is removed after this */
    long long quota_bytes; /* declared bytes of one user's unfinished uploads */
    int max_active;        /* one user's unfinished uploads */
    int inspectors;        /* files inspected at once (each a worker process) */
    char **refused_types;  /* extensions (".exe") or MIME types refused at creation: 415 */
    size_t n_refused_types;
    /* The invisible per-viewer watermark on delivered images (srv_wmark.h)
     * and the memory its marked copies may hold. */
    bool watermark;
    long long watermark_cache_bytes;
} srv_uploads_config;

typedef struct srv_config {
    char *listen_host; /* "127.0.0.1"; "*" or "0.0.0.0" for every address */
    int listen_port;   /* 0: any free port */
    /* Prometheus metrics (srv_metrics.h) on a listener of their own; NULL:
     * none. Loopback unless the operator says otherwise. */
    char *metrics_host;
    int metrics_port;
    char *data_dir;
    /* The store (docs/DEPLOY.md): NULL = SQLite at <data_dir>/cordon.db; a
     * postgresql:// URL = PostgreSQL. Defaults to CORDON_STORE from the
     * environment; `store:` and --store override it. */
    char *store;
    char *tls_cert, *tls_key; /* both or neither */
    char *policy_path;        /* NULL: the built-in default policy */
    char **lexicons;
    size_t n_lexicons;
    char *guard_cache_dir; /* NULL: <data_dir>/guard-cache */
    char *web_root;        /* the built web client; NULL: none (404 outside /api/) */
    /* Origins besides the server's own whose cookie-authenticated requests
     * and WebSocket upgrades are accepted (srv_origin.h). */
    char **allowed_origins;
    size_t n_allowed_origins;
    int recall_window_seconds;
    /* burn-after-reading: destroyed this long after every reader opened it
     * (burn_after_open_seconds) or after this long unopened */
    int burn_after_open_seconds;
    int burn_unopened_seconds;
    int reminder_late_seconds; /* a reminder fired later than this is marked late */
    srv_limits limits;
    srv_login_limits login;
    bool totp_required[SRV_ROLE_COUNT];
    int workers;      /* guard/handler worker threads; 0: one per CPU */
    int writer_batch; /* most messages committed in one transaction */
    srv_event_loop event_loop;
    srv_log_level log_level;
    /* Signed checkpoints of the audit chain head (docs/AUDIT.md). NULL
     * paths: <data_dir>/audit-checkpoint.key and audit-checkpoints.log. */
    char *audit_checkpoint_key;
    char *audit_checkpoint_file;
    int audit_checkpoint_interval_s; /* 0: only at shutdown */
    srv_uploads_config uploads;
    /* SIEM export (srv_siem.h, docs/SERVER.md "SIEM export"): alerts and
     * audit entries as syslog (RFC 5424) to siem_address ("host:port";
     * NULL: off) over UDP or TCP (RFC 6587 octet counting), JSON or CEF. */
    char *siem_address;
    bool siem_tcp;
    bool siem_cef;
    int siem_facility;    /* syslog facility number, default 13 (log audit) */
    int siem_interval_ms; /* how often new entries are looked for */
    /* The bus between nodes (docs/SCALING.md): NULL for the in-process bus
     * (one node), else "redis://host:port[/db]" (srv_bus_redis.h). */
    char *bus_url;
    /* This node's name on the bus and in the leader lease; NULL: host:pid. */
    char *node_name;
    /* File contents by hash (blob_local); NULL: <data_dir>/blobs. Several
     * nodes point it at one shared directory (docs/SCALING.md). */
    char *blob_dir;
    /* A gap on the bus (docs/SCALING.md, "A lost bus message is never a
     * lost message") is filled on the node from the store when it spans at
     * most bus_gap_fill_max messages (1000; 0: never, always resync) and
     * bus_gap_fill_seconds (60); beyond either the node's sockets resync. */
    long bus_gap_fill_max;
    long bus_gap_fill_seconds;
} srv_config;

/* Fills cfg with the defaults (allocates the default strings). Returns 0 or
 * -1 when out of memory. */
int srv_config_defaults(srv_config *cfg);

/* Reads a YAML file over the values already in cfg. Returns 0, or -1 with a
 * message ("file:line: what is wrong") in err; cfg then holds a mix of old and
 * new values and should only be freed. */
int srv_config_load(srv_config *cfg, const char *path, char *err, size_t errlen);

/* Parses "host:port", "[v6]:port" or ":port" (host 127.0.0.1) into the
 * listen address, or into the metrics listener's. Returns 0 or -1. */
int srv_config_set_listen(srv_config *cfg, const char *spec);
int srv_config_set_metrics_listen(srv_config *cfg, const char *spec);

/* Replaces one string field (frees the old value). Returns 0 or -1 (ENOMEM). */
int srv_config_set_str(char **field, const char *value);

/* The checkpoint key and file paths, configured or defaulted under
 * data_dir (heap strings the caller frees). Returns 0 or -1 (ENOMEM). */
int srv_config_audit_paths(const srv_config *cfg, char **key, char **file);

/* Where the store is (heap; NULL when out of memory): `store:` (or
 * CORDON_STORE), else <data_dir>/cordon.db. */
char *srv_config_store_path(const srv_config *cfg);

/* Name of a role ("member", "officer", "admin"); index by SRV_ROLE_*. */
const char *srv_role_name(int role);
/* Returns the SRV_ROLE_* of a name, or -1. */
int srv_role_parse(const char *name);

void srv_config_free(srv_config *cfg);

#endif
