/*
 * syslog_shim.c — a stand-in for syslog(3), loaded with LD_PRELOAD by the
 * tests that check what `cordon` sends to syslog (audit checkpoints): each
 * call appends "PRIORITY MESSAGE\n" to the file named by $CORDON_SYSLOG_FILE
 * (nothing without it). openlog/closelog are left to libc.
 *
 * <syslog.h> is not included: with _FORTIFY_SOURCE it turns syslog() into
 * an inline wrapper of __syslog_chk(), which is why both are defined here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void syslog(int pri, const char *fmt, ...);
void vsyslog(int pri, const char *fmt, va_list ap);
void __syslog_chk(int pri, int flag, const char *fmt, ...);
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap);

static void put(int pri, const char *fmt, va_list ap)
{
    const char *path = getenv("CORDON_SYSLOG_FILE");
    FILE *f = path ? fopen(path, "a") : NULL;

    if (!f)
        return;
    fprintf(f, "%d ", pri);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    fclose(f);
}

void syslog(int pri, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    put(pri, fmt, ap);
    va_end(ap);
}

void vsyslog(int pri, const char *fmt, va_list ap)
{
    put(pri, fmt, ap);
}

void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
    va_list ap;

    (void)flag;
    va_start(ap, fmt);
    put(pri, fmt, ap);
    va_end(ap);
}

void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
    (void)flag;
    put(pri, fmt, ap);
}
