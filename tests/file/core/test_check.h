/*
 * test_check.h — the soft assertion of the file layer's C tests
 * (test_file_api.c, test_preview.c): CHECK reports a failed condition with
 * its line and counts it in `failures`, and the test goes on, so one run
 * lists every broken case; main returns non-zero when failures > 0.
 */
#ifndef CORDON_TEST_CHECK_H
#define CORDON_TEST_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, what)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s (line %d)\n", what, __LINE__);                                \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#endif
