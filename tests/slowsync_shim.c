/*
 * slowsync_shim.c — a slow disk for the tests that need one, loaded with
 * LD_PRELOAD: fsync(2) and fdatasync(2) sleep $CORDON_SLOWSYNC_MS
 * milliseconds, then do the real sync; and once the file named by
 * $CORDON_SLOWSYNC_STALL_FILE appears, the next sync removes it and stalls
 * for the number of milliseconds it holds (a disk that stops for seconds
 * under other processes' writeback). The load bench met fsyncs of 10 ms to
 * over 100 ms on this machine's shared disk (docs/BENCH.md); with it, a
 * test meets such a disk on any machine
 * (tests/server/test/accounts_under_load.test.js).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int fsync(int fd);
int fdatasync(int fd);

static void sleep_ms(long ms)
{
    if (ms > 0 && ms < 60000)
        nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

static void pause_ms(void)
{
    const char *v = getenv("CORDON_SLOWSYNC_MS"), *stall = getenv("CORDON_SLOWSYNC_STALL_FILE");
    FILE *f;

    sleep_ms(v ? strtol(v, NULL, 10) : 0);
    /* unlink decides which sync stalls when several see the file */
    if (stall && (f = fopen(stall, "r"))) {
        long ms = 0;

        if (fscanf(f, "%ld", &ms) != 1)
            ms = 0;
        fclose(f);
        if (!unlink(stall))
            sleep_ms(ms);
    }
}

int fsync(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

    pause_ms();
    return real ? real(fd) : -1;
}

int fdatasync(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

    pause_ms();
    return real ? real(fd) : -1;
}
