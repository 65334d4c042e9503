/*
 * guard_validate.h — validators: the C checks behind pattern prefilters.
 *
 * Pure functions over bytes, no allocation, no state: each answers whether a
 * candidate really is what its pattern suggests; and the constant table of
 * the bytes such candidates are made of. Unit-tested one by one in
 * tests/unit/test_validate.c.
 */
#ifndef GUARD_VALIDATE_H
#define GUARD_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* PRC resident identity number (GB 11643-1999): 18 characters, 17 digits and
 * a check character (0-9 or X/x) by ISO 7064 MOD 11-2, a known province-level
 * region prefix (GB/T 2260: 11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81,
 * 82, 83, 91), and a real birth date between 1900-01-01 and 2099-12-31. */
bool guard_valid_cn_id(const char *s, size_t len);

/* Luhn (ISO/IEC 7812) over the digits of s; non-digits other than ' ' and '-'
 * make it false. len counts every byte. At least 12 digits. */
bool guard_valid_luhn(const char *s, size_t len);

/* Hong Kong identity card: one or two letters, six digits, check digit 0-9
 * or A, in optional parentheses: "A123456(3)", "AB9876543". Case-insensitive. */
bool guard_valid_hkid(const char *s, size_t len);

/* Taiwan national ID: a letter, 1 or 2 (sex), eight digits; checksum by the
 * letter's two-digit area code and weights 1,9,8,7,6,5,4,3,2,1,1. Letter
 * uppercase or lowercase. */
bool guard_valid_twid(const char *s, size_t len);

/* Macau resident ID: 1/5/7 then six digits then a check digit in
 * parentheses, "1234567(8)". Shape only (no public checksum). */
bool guard_valid_macau_id(const char *s, size_t len);

/* Mainland mobile number after removing an optional +86/86 prefix and
 * spaces/dashes: 11 digits, 1[3-9]x. */
bool guard_valid_cn_mobile(const char *s, size_t len);

/* Shannon entropy in bits per byte of s[0..len). */
double guard_entropy(const char *s, size_t len);

/* Parses an IPv4 literal host in the forms browsers accept (dotted quad,
 * a single 32-bit decimal, hex 0x..., octal parts). Returns true and the
 * address in host order. */
bool guard_parse_ipv4_host(const char *s, size_t len, uint32_t *addr);

/* Damerau-Levenshtein (optimal string alignment) distance between two ASCII
 * strings, capped: returns min(distance, cap + 1). Strings longer than 63
 * bytes return cap + 1. */
unsigned guard_edit_distance(const char *a, size_t alen, const char *b, size_t blen, unsigned cap);

/* The registrable part of a host name: the last two labels, or the last
 * three when the second-to-last is a known second-level suffix (com.cn,
 * gov.cn, edu.cn, org.cn, net.cn, ac.cn, co.uk, com.hk, com.tw, ...).
 * Returns the offset into host where it starts. */
size_t guard_registrable_offset(const char *host, size_t len);

/* The bytes a token of the view (lowercase) may be made of, one bit per kind
 * of token: guard_token_bytes[b] & GUARD_TOK_CARD says whether byte b may be
 * part of a card number. The PII detector finds a token's extent by walking
 * back over its bytes; one lookup per byte replaced a strchr() over the set. */
enum {
    GUARD_TOK_DIGITS = 1 << 0,   /* 0-9 */
    GUARD_TOK_ID = 1 << 1,       /* 0-9 x: PRC ID with its check character */
    GUARD_TOK_CARD = 1 << 2,     /* 0-9 space -: card number in groups */
    GUARD_TOK_MOBILE = 1 << 3,   /* 0-9 space - +: mobile with +86 prefix */
    GUARD_TOK_LANDLINE = 1 << 4, /* 0-9 ( ) - space: landline with area code */
    GUARD_TOK_DOC = 1 << 5,      /* 0-9 a-z ( ): passport, HK/Macau/Taiwan IDs */
    GUARD_TOK_LOCAL = 1 << 6,    /* 0-9 a-z . _ % + -: e-mail local part */
    GUARD_TOK_DOMAIN = 1 << 7,   /* 0-9 a-z . -: e-mail domain */
};
extern const uint8_t guard_token_bytes[256];

#endif
