/*
 * srv_log.c — one line per event, levelled, on stderr (see srv_log.h).
 */
#include "srv_log.h"

#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Written once in srv_log_init() before any thread starts; read-only after. */
static srv_log_level log_threshold = SRV_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static void lws_emit(int level, const char *line)
{
    size_t n = strlen(line);

    /* lws lines end with a newline and carry their own timestamp prefix. */
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    srv_log(level == LLL_ERR ? SRV_LOG_ERROR : SRV_LOG_WARN, "lws", "%.*s", (int)n, line);
}

void srv_log_init(srv_log_level level)
{
    log_threshold = level;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_emit);
}

int srv_log_parse_level(const char *s, srv_log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, level_names[i])) {
            *out = (srv_log_level)i;
            return 0;
        }
    return -1;
}

int srv_log_enabled(srv_log_level level)
{
    return level >= log_threshold;
}

void srv_log(srv_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    srv_vlog(level, component, fmt, ap);
    va_end(ap);
}

void srv_vlog(srv_log_level level, const char *component, const char *fmt, va_list ap)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    int n, m;

    if (level < log_threshold)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof line,
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                 level_names[level], component);
    m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    /* One line per event: a newline inside the text would forge a line. */
    for (char *p = line; p < line + n; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}
