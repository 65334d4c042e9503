/*
 * tool_walk.h — turning the PATH arguments of `cordon scan` into a list of
 * items to scan.
 *
 * The whole walk happens before scanning starts, so the progress bar knows
 * the total. Directories are entered recursively with their entries in byte
 * order (so a single-threaded scan is reproducible); symbolic links found
 * inside a directory are followed to files but never to directories, and a
 * directory already visited (same device and inode: a bind-mount loop, or the
 * same tree named twice) is not entered again. Paths named on the command
 * line are followed whatever they are; FIFOs and devices found while walking
 * are skipped, since reading one could block forever.
 *
 * Something that cannot be walked (a missing path, an unreadable directory)
 * becomes an item of kind TOOL_ITEM_ERROR, reported in order with the rest.
 */
#ifndef TOOL_WALK_H
#define TOOL_WALK_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tool_item_kind {
    TOOL_ITEM_FILE,  /* a path to open */
    TOOL_ITEM_STDIN, /* "-" */
    TOOL_ITEM_ERROR  /* could not be walked: `err` and `what` say why */
} tool_item_kind;

typedef struct tool_item {
    char *path; /* as given or as joined while walking; "-" for stdin */
    tool_item_kind kind;
    uint64_t size;    /* size from the walk (progress only); 0 if unknown */
    int err;          /* errno, for TOOL_ITEM_ERROR */
    const char *what; /* "cannot read directory", for TOOL_ITEM_ERROR */
} tool_item;

typedef struct tool_items {
    tool_item *v;
    size_t n, cap;
    uint64_t bytes;         /* sum of sizes */
    size_t skipped_links;   /* symlinks to directories, dangling symlinks */
    size_t skipped_special; /* FIFOs, sockets, devices met while walking */
    size_t skipped_repeats; /* directories already visited */
} tool_items;

/* Walks paths[0..n) into out (zeroed by the caller). `found`, when not NULL,
 * counts items as they are found (for a progress display); `stop` ends the
 * walk early when it becomes non-zero. Returns 0, or -1 when out of memory or
 * stopped (out then holds what was found so far). */
int tool_walk(tool_items *out, char *const *paths, size_t n, const volatile sig_atomic_t *stop,
              atomic_size_t *found);
void tool_items_free(tool_items *l);

#endif
