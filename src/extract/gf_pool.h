/*
 * gf_pool.h — what guard_file.c and guard_file_pool.c share (private to
 * the file guard): the worker's environment and limits argument, and the
 * pool's side of a scan.
 */
#ifndef GF_POOL_H
#define GF_POOL_H

#include "cordon/guard_file.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The caller's environment with OMP_THREAD_LIMIT=1 (libgomp reads it when
 * it is loaded, before main); the array is malloc'd, its strings are not. */
char **gf_worker_env(void);
/* The LIMITS argument of a worker. */
void gf_limits_arg(const guard_limits *l, char *out, size_t cap);

/* True when the first bytes are an image's (JPEG, PNG, WebP, TIFF, GIF,
 * BMP): the file will need OCR, so the OCR-ready worker takes it. */
bool gf_head_is_image(const unsigned char *h, size_t n);
/* Hands the job to the waiting worker of its kind: *pid and *fd (its frame
 * pipe) are then the caller's, as from a spawn. `mode` is "scan", or
 * "thumb" with out_fd (the worker's fd 3, sent with the input); out_fd -1
 * for a scan. -1 when there is none or it is gone (the caller spawns one). */
int gf_pool_take(guard_file_pool *p, bool ocr, const char *mode, const guard_limits *l,
                 const char *root, int in_fd, int out_fd, uint64_t offset, pid_t *pid, int *fd);
/* Starts the waiting worker of a kind if there is none (errors: none then). */
void gf_pool_refill(guard_file_pool *p, bool ocr);

#endif
