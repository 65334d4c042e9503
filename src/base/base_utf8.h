/*
 * base_utf8.h — the one UTF-8 decoder and encoder of the project outside the
 * guard's normaliser (whose hot loop decodes through its own fold tables).
 *
 * Strict RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
 * past U+10FFFF. Every parser that turns bytes into text uses it, so "valid
 * UTF-8" means one thing everywhere (an extractor that accepted E0 80 80 and
 * a JSON writer that refused it once disagreed about the same bytes).
 */
#ifndef BASE_UTF8_H
#define BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The sequence at s[0..n), n >= 1: its length (1..4), or 0 when the bytes
 * there are not valid UTF-8, or -1 when they are a valid but incomplete
 * prefix of a sequence (more bytes may follow: a stream cut mid-character). */
int base_utf8_seq(const unsigned char *s, size_t n);

/* Decodes the code point at s[0..n), n >= 1: its length (1..4) with *cp set,
 * or 0 when invalid or incomplete (*cp untouched). */
size_t base_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Writes cp as UTF-8 to out: its length (1..4), or 0 for a surrogate or a
 * value past U+10FFFF (nothing written). */
size_t base_utf8_encode(uint32_t cp, char out[4]);

/* True when all of s[0..n) is valid UTF-8 (n == 0 is). */
bool base_utf8_valid(const void *s, size_t n);

#endif
