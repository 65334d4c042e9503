/*
 * wm_code.c — the watermark's code: key, keyed layout, payload bits, MAC,
 * and the soft-decision decoder (wm.h).
 *
 * Payload: 48 bits of id and a 16-bit MAC (BLAKE2b keyed with the watermark
 * key over the id, truncated), 64 bits. The MAC is what turns a random image
 * or a wrong key into "no watermark found" rather than a wrong viewer: 16
 * random bits match by chance once in 65,536 decodes, and the confidence
 * threshold (below) must hold as well.
 *
 * Layout: a keyed permutation of the WM_CELLS cells deals them to the 64
 * bits round-robin (16 cells per bit, scattered over the whole image, so a
 * damaged region costs every bit a little rather than some bits all), and a
 * keyed sign per cell makes the chip pattern look like noise without the
 * key. Both come from randombytes_buf_deterministic() seeded with a BLAKE2b
 * hash of the key: deterministic, so the decoder rebuilds them.
 *
 * Error correction is a repetition code with soft decisions: each bit is the
 * sum of its 16 cells' correlations times their signs. Written here because
 * it is a dozen lines; a stronger code (convolutional, LDPC) from a library
 * would buy a few dB, but no Debian library offers one for 64-bit payloads
 * that is simpler than this, and the measured margins (docs/WATERMARK.md)
 * leave room.
 *
 * Confidence: each bit's sum is normalised by its own noise (the root of the
 * sum of squares of its cells), t_b, which on an unmarked image is close to a
 * standard normal. The mean of |t_b| over the 64 bits is then about 0.798
 * with a standard deviation of 0.603/8; the confidence is how many of those
 * standard deviations the image's mean lies above it.
 */
#include "wm.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_FILE_MAX 4096 /* a key file is a few bytes; refuse anything large */

static const char LAYOUT_CTX[] = "cordon-watermark-layout-v1";
static const char MAC_CTX[] = "cordon-watermark-mac-v1";

int wm_key_load(const char *path, bool create, wm_key *key, bool *created, char *why,
                size_t why_cap)
{
    unsigned char buf[KEY_FILE_MAX + 1];
    ssize_t n = 0, k;
    int fd = -1, rc = -1;

    if (created)
        *created = false;
    if (sodium_init() < 0) {
        snprintf(why, why_cap, "libsodium cannot be initialised");
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && errno == ENOENT && create) {
        unsigned char fresh[WM_KEY_BYTES];
        randombytes_buf(fresh, sizeof fresh);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, fresh, sizeof fresh) != (ssize_t)sizeof fresh || fsync(fd)) {
            snprintf(why, why_cap, "cannot create the key file %s: %s", path, strerror(errno));
            if (fd >= 0)
                unlink(path);
            sodium_memzero(fresh, sizeof fresh);
            goto out;
        }
        sodium_memzero(fresh, sizeof fresh);
        close(fd);
        if (created)
            *created = true;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    }
    if (fd < 0) {
        snprintf(why, why_cap, "cannot open the key file %s: %s", path, strerror(errno));
        goto out;
    }
    while (n <= KEY_FILE_MAX && (k = read(fd, buf + n, sizeof buf - (size_t)n)) != 0) {
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            snprintf(why, why_cap, "cannot read the key file %s: %s", path, strerror(errno));
            goto out;
        }
        n += k;
    }
    if (n < WM_KEY_BYTES || n > KEY_FILE_MAX) {
        snprintf(why, why_cap, "the key file %s must hold 32 to %d bytes (it has %s%zd)", path,
                 KEY_FILE_MAX, n > KEY_FILE_MAX ? "more than " : "",
                 n > KEY_FILE_MAX ? KEY_FILE_MAX : n);
        goto out;
    }
    crypto_generichash(key->k, sizeof key->k, buf, (size_t)n, NULL, 0);
    rc = 0;
out:
    sodium_memzero(buf, sizeof buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The keyed layout: which bit each cell carries and its sign. */
typedef struct wm_layout {
    uint8_t bit[WM_CELLS];
    int8_t sign[WM_CELLS];
} wm_layout;

static void layout(const wm_key *key, wm_layout *l)
{
    unsigned char seed[randombytes_SEEDBYTES];
    uint32_t rnd[WM_CELLS * 2];
    uint16_t perm[WM_CELLS];

    crypto_generichash(seed, sizeof seed, (const unsigned char *)LAYOUT_CTX, sizeof LAYOUT_CTX - 1,
                       key->k, sizeof key->k);
    randombytes_buf_deterministic(rnd, sizeof rnd, seed);
    for (int i = 0; i < WM_CELLS; i++)
        perm[i] = (uint16_t)i;
    /* Fisher-Yates; the multiply-shift maps 32 random bits onto [0, i]
     * with a bias of at most 2^-22, irrelevant for a layout */
    for (int i = WM_CELLS - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(((uint64_t)rnd[i] * (uint64_t)(i + 1)) >> 32);
        uint16_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < WM_CELLS; i++) {
        l->bit[perm[i]] = (uint8_t)(i % WM_BITS);
        l->sign[i] = (rnd[WM_CELLS + i] & 1) ? 1 : -1;
    }
    sodium_memzero(seed, sizeof seed);
}

static uint16_t mac16(const wm_key *key, uint64_t id)
{
    unsigned char msg[sizeof MAC_CTX - 1 + 6], h[16];

    memcpy(msg, MAC_CTX, sizeof MAC_CTX - 1);
    for (int i = 0; i < 6; i++)
        msg[sizeof MAC_CTX - 1 + i] = (unsigned char)(id >> (8 * i));
    crypto_generichash(h, sizeof h, msg, sizeof msg, key->k, sizeof key->k);
    return (uint16_t)(h[0] | h[1] << 8);
}

/* The 64 payload bits: id (LSB first), then the MAC. */
static void payload_bits(const wm_key *key, uint64_t id, uint8_t bits[WM_BITS])
{
    uint16_t m = mac16(key, id);

    for (int i = 0; i < WM_ID_BITS; i++)
        bits[i] = (uint8_t)((id >> i) & 1);
    for (int i = 0; i < WM_MAC_BITS; i++)
        bits[WM_ID_BITS + i] = (uint8_t)((m >> i) & 1);
}

void wm_chips(const wm_key *key, uint64_t id, int8_t chips[WM_CELLS])
{
    wm_layout l;
    uint8_t bits[WM_BITS];

    layout(key, &l);
    payload_bits(key, id & WM_ID_MAX, bits);
    for (int c = 0; c < WM_CELLS; c++)
        chips[c] = (int8_t)(l.sign[c] * (bits[l.bit[c]] ? 1 : -1));
}

void wm_decode_soft(const wm_key *key, const float soft[WM_CELLS], wm_result *r)
{
    wm_layout l;
    double sum[WM_BITS] = {0}, energy[WM_BITS] = {0}, mean_abs = 0, min_t = INFINITY;
    uint64_t id = 0;
    uint16_t m = 0;

    memset(r, 0, sizeof *r);
    layout(key, &l);
    for (int c = 0; c < WM_CELLS; c++) {
        double v = isfinite(soft[c]) ? soft[c] : 0.0;
        sum[l.bit[c]] += l.sign[c] * v;
        energy[l.bit[c]] += v * v;
    }
    for (int b = 0; b < WM_BITS; b++) {
        double t = energy[b] > 0 ? sum[b] / sqrt(energy[b]) : 0.0;
        if (t > 0 && b < WM_ID_BITS)
            id |= UINT64_C(1) << b;
        else if (t > 0)
            m |= (uint16_t)(1u << (b - WM_ID_BITS));
        mean_abs += fabs(t);
        if (fabs(t) < min_t)
            min_t = fabs(t);
    }
    mean_abs /= WM_BITS;
    /* E|N(0,1)| = sqrt(2/pi), sd |N(0,1)| = sqrt(1 - 2/pi), over 64 bits */
    r->confidence = (mean_abs - sqrt(2.0 / M_PI)) / (sqrt(1.0 - 2.0 / M_PI) / sqrt(WM_BITS));
    r->min_margin = min_t;
    r->mac_ok = mac16(key, id) == m;
    r->found = r->mac_ok && r->confidence >= WM_MIN_CONFIDENCE;
    r->id = r->found ? id : 0;
}
