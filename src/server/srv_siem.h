/*
 * srv_siem.h — `cordon serve` streams officer alerts and audit entries to a
 * SIEM (docs/SERVER.md, "SIEM export"): syslog messages (RFC 5424) with a
 * JSON or CEF payload, over UDP (one datagram each) or TCP (RFC 6587
 * octet counting), configured under `siem:` in cordon.yaml.
 *
 * A thread with its own store handle reads what is new since the last
 * round (audit entries by seq, alerts by id), sends it, and records how far
 * it got in the store's settings (`siem.audit_seq`, `siem.alert_id`), so a
 * restart neither repeats nor skips; what the receiver did not take (TCP
 * down) is sent again at the next round. No message text leaves: alerts go
 * without their findings' context and without a justification's words.
 */
#ifndef SRV_SIEM_H
#define SRV_SIEM_H

#include "srv_config.h"

#include <stddef.h>

typedef struct srv_siem srv_siem;

/* NULL when cfg->siem_address is NULL (off): not an error. Otherwise
 * starts the thread; *failed is set (and NULL returned) when the address is
 * invalid or the store or thread cannot start, after logging why. */
srv_siem *srv_siem_start(const srv_config *cfg, const char *db_path, bool *failed);

/* One last round (what the writer committed last), then stops and frees.
 * NULL is a no-op. */
void srv_siem_stop(srv_siem *s);

/* The CEF escaping of a header field (`|` and `\`) or, ext true, an
 * extension value (`=`, `\`, line breaks), into out (cap bytes, NUL-
 * terminated, cut at a character boundary). For tests. */
void srv_siem_cef_escape(const char *in, bool ext, char *out, size_t cap);

#endif
