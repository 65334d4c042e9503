/*
 * srv_auditck.h — `cordon serve` writes signed checkpoints of the audit
 * chain head (docs/AUDIT.md, "Checkpoints"): every audit.checkpoint_interval_s
 * seconds when the head moved, and once more at shutdown. Each goes to the
 * checkpoint file (appended, fsynced) and to syslog (LOG_AUTHPRIV), so that
 * a copy leaves the machine.
 */
#ifndef SRV_AUDITCK_H
#define SRV_AUDITCK_H

#include "srv_config.h"

typedef struct srv_auditck srv_auditck;

/* Loads (or creates, mode 0600) the signing key, opens its own store handle
 * on db_path and starts the thread. Returns NULL (after logging why) when
 * the key cannot be loaded or created, or the thread cannot start: the
 * server then refuses to start rather than run without checkpoints. */
srv_auditck *srv_auditck_start(const srv_config *cfg, const char *db_path);

/* Stops the thread, writes a last checkpoint if the head moved since the
 * previous one, and frees everything. NULL is a no-op. Call it after the
 * writer has committed its last batch. */
void srv_auditck_stop(srv_auditck *a);

#endif
