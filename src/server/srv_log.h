/*
 * srv_log.h — the server's log: one line per event on stderr.
 *
 * Format: `2024-05-01T12:00:00.123Z level component: text`. Message bodies,
 * passwords and tokens are only ever logged at debug, and callers must not
 * pass them at any other level. The level is set once at start-up (before
 * threads exist) and only read afterwards; lines from several threads never
 * interleave (one fwrite per line).
 */
#ifndef SRV_LOG_H
#define SRV_LOG_H

#include <stdarg.h>

typedef enum srv_log_level {
    SRV_LOG_DEBUG,
    SRV_LOG_INFO,
    SRV_LOG_WARN,
    SRV_LOG_ERROR,
} srv_log_level;

/* Sets the threshold; also routes libwebsockets' own warnings and errors here. */
void srv_log_init(srv_log_level level);
/* Parses "debug", "info", "warn", "error". Returns 0, or -1 when unknown. */
int srv_log_parse_level(const char *s, srv_log_level *out);
int srv_log_enabled(srv_log_level level);

void srv_log(srv_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same with a va_list (the chat domain's log hook, chat.h). */
void srv_vlog(srv_log_level level, const char *component, const char *fmt, va_list ap);

#define SRV_DEBUG(comp, ...) srv_log(SRV_LOG_DEBUG, comp, __VA_ARGS__)
#define SRV_INFO(comp, ...)  srv_log(SRV_LOG_INFO, comp, __VA_ARGS__)
#define SRV_WARN(comp, ...)  srv_log(SRV_LOG_WARN, comp, __VA_ARGS__)
#define SRV_ERROR(comp, ...) srv_log(SRV_LOG_ERROR, comp, __VA_ARGS__)

#endif
