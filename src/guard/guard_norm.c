/*
 * guard_norm.c — builds the matching view (see guard_norm.h).
 *
 * The per-character folds come from the generated table guard_fold_bmp
 * (utf8proc + OpenCC + ICU at build time); this file only walks UTF-8, applies
 * the table, decides which separators drop, and keeps the offset map. Code
 * points outside the BMP are rare and go through utf8proc directly.
 */
#include "guard_norm.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "guard_foldtab.h"

#define PENDING_MAX 8 /* longer separator runs inside CJK text are kept */
/* seg after a letter or a digit: a CJK character right after one (2024年)
 * is never a lone character (see guard_norm.h). */
#define SEG_WORD 2

static inline bool ascii_word(unsigned b)
{
    return ((b - '0') < 10u) | (((b | 0x20) - 'a') < 26u); /* no branch */
}

void guard_norm_init(guard_norm *n)
{
    memset(n, 0, sizeof *n);
}

void guard_norm_free(guard_norm *n)
{
    free(n->view);
    free(n->map);
    free(n->ev);
    memset(n, 0, sizeof *n);
}

void guard_norm_reset(guard_norm *n)
{
    n->len = 0;
    n->base = 0;
    n->n_map = 0;
    n->n_ev = 0;
    n->orig_pos = 0;
    n->n_carry = 0;
    n->linear_ok = false;
    n->last_cjk = false;
    n->last_space = false;
    n->seg = 0;
    n->pending_chars = 0;
    n->invalid = 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t nc = *cap ? *cap : 64;
    void *q;
    if (need <= *cap)
        return 0;
    while (nc < need)
        nc *= 2;
    q = realloc(*p, nc * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = nc;
    return 0;
}

/* The fields of guard_map_entry.packed (see guard_norm.h). */
static inline uint64_t map_orig(const guard_map_entry *e)
{
    return e->packed >> 11;
}

static inline uint32_t map_olen(const guard_map_entry *e)
{
    return (uint32_t)(e->packed >> 8) & 7u;
}

static inline uint32_t map_vlen(const guard_map_entry *e)
{
    return (uint32_t)e->packed & 0xFFu;
}

/* Opens a map entry at the view's end: a fold of the original character
 * [orig, orig + olen) to the next vlen view bytes (olen = vlen = 0: none),
 * and a linear run after it. */
static int push_map(guard_norm *n, uint64_t orig, uint32_t olen, uint32_t vlen)
{
    if (n->n_map == n->cap_map && grow((void **)&n->map, &n->cap_map, n->n_map + 1, sizeof *n->map))
        return -1;
    n->map[n->n_map].view = n->base + n->len;
    n->map[n->n_map].packed = orig << 11 | (uint64_t)olen << 8 | vlen;
    n->n_map++;
    return 0;
}

static int push_ev(guard_norm *n, uint64_t orig)
{
    if (n->n_ev && n->ev[n->n_ev - 1] == orig)
        return 0;
    if (n->n_ev == n->cap_ev && grow((void **)&n->ev, &n->cap_ev, n->n_ev + 1, sizeof *n->ev))
        return -1;
    n->ev[n->n_ev++] = orig;
    return 0;
}

/* Resolves held separators: dropped when the next character is CJK. */
static int settle_pending(guard_norm *n, bool next_is_cjk)
{
    int rc = 0;
    if (!n->pending_chars)
        return 0;
    if (next_is_cjk) {
        n->len = n->pending_view;
        n->n_map = n->pending_map;
        n->n_ev = n->pending_ev;
        for (int i = 0; i < n->pending_chars && !rc; i++)
            rc = push_ev(n, n->pending_orig[i]);
        n->linear_ok = false;
        n->last_space = false;
    }
    n->pending_chars = 0;
    return rc;
}

/* Emits the fold of one original character of `olen` bytes at `orig`. */
static int emit(guard_norm *n, uint64_t orig, uint32_t olen, const unsigned char *src,
                const unsigned char *out, uint32_t vlen, unsigned flags)
{
    bool identity_len = vlen == olen && (flags & GUARD_FOLD_IDENT);

    if (flags & GUARD_FOLD_DROP) {
        if ((flags & GUARD_FOLD_EVASION) || n->last_cjk)
            if (push_ev(n, orig))
                return -1;
        n->linear_ok = false;
        return 0;
    }
    if (flags & GUARD_FOLD_SPACE) {
        if (n->last_space) { /* collapse runs of white space */
            if (n->pending_chars && n->pending_chars < PENDING_MAX)
                n->pending_orig[n->pending_chars++] = orig;
            n->linear_ok = false;
            return 0;
        }
    }
    if ((flags & GUARD_FOLD_SEP) && !(flags & GUARD_FOLD_NL)) {
        if (n->last_cjk && !n->pending_chars) {
            n->pending_view = n->len;
            n->pending_map = n->n_map;
            n->pending_ev = n->n_ev;
        }
        if (n->last_cjk || n->pending_chars) {
            if (n->pending_chars == PENDING_MAX) {
                n->pending_chars = 0; /* too long to be an evasion: keep */
                n->last_cjk = false;
            } else {
                n->pending_orig[n->pending_chars++] = orig;
            }
        }
    } else if (settle_pending(n, (flags & GUARD_FOLD_CJK) != 0)) {
        return -1;
    }

    if (n->len + vlen + 8 > n->cap) {
        if (grow((void **)&n->view, &n->cap, n->len + vlen + 8, 1))
            return -1;
    }
    if (identity_len || (vlen == olen && !(flags & GUARD_FOLD_EVASION))) {
        /* the same bytes, or a same-length fold (case, T→S): byte for byte */
        if (!n->linear_ok) {
            if (push_map(n, orig, 0, 0))
                return -1;
            n->linear_ok = true;
        }
    } else {
        /* a fold of another length (or an evasion): the whole character,
         * and what follows it runs on linearly from its end */
        if (push_map(n, orig, olen, vlen))
            return -1;
        n->linear_ok = true;
    }
    memcpy(n->view + n->len, identity_len ? src : out, vlen);
    if ((flags & GUARD_FOLD_EVASION) && push_ev(n, orig))
        return -1;
    n->len += vlen;
    if (flags & GUARD_FOLD_CJK)
        n->last_cjk = true;
    else if (!n->pending_chars)
        n->last_cjk = false;
    n->seg = (flags & GUARD_FOLD_CJK) ? n->seg + 1 : vlen && ascii_word(out[0]) ? SEG_WORD : 0;
    n->last_space = (flags & (GUARD_FOLD_SPACE | GUARD_FOLD_NL)) != 0;
    return 0;
}

static int decode(const unsigned char *s, size_t avail, uint32_t *cp);

/* The code point of a three-byte UTF-8 sequence at s[i, len), or 0 when
 * there is none (or an overlong form, or a surrogate: never a character the
 * fast path copies either). */
static inline uint32_t three_bytes(const unsigned char *s, size_t i, size_t len)
{
    if (i + 2 >= len)
        return 0;
    unsigned b0 = s[i], b1 = s[i + 1], b2 = s[i + 2];
    if (((b0 & 0xF0) ^ 0xE0) | ((b1 & 0xC0) ^ 0x80) | ((b2 & 0xC0) ^ 0x80))
        return 0;
    uint32_t c = ((b0 & 0x0Fu) << 12) | ((b1 & 0x3Fu) << 6) | (b2 & 0x3Fu);
    return c >= 0x800 && (c - 0xD800u) >= 0x800u ? c : 0;
}

/* x read from memory as if little-endian. */
static inline uint32_t le32(uint32_t x)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap32(x);
#else
    return x;
#endif
}

/* The shape of a three-byte UTF-8 sequence in x (its first four bytes read
 * little-endian): true when x starts with one. */
static inline bool shape3(uint32_t x)
{
    return (x & 0xC0C0F0u) == 0x8080E0u;
}

/* Tests the bit of the sequence in x (shape3()) in a one-bit-per-code-point
 * table without decoding it: the lead's 4 bits and the second byte's 6 give
 * the word (code point >> 6), the third byte's 6 the bit. */
static inline bool bit3(const uint64_t *bits, uint32_t x)
{
    return (bits[((x & 0x0Fu) << 6) | ((x >> 8) & 0x3Fu)] >> ((x >> 16) & 63)) & 1;
}

/* What the character at s[i, len) is to lone_cjk_at(): 1 a CJK character,
 * 2 a letter or digit (what it folds to starts with one), 0 anything else;
 * -1 when it is not complete in this chunk. Its length in *k. */
static int kind_of(uint32_t cp)
{
    if (guard_fold_is_cjk(cp))
        return 1;
    const guard_fold_entry *e = &guard_fold_bmp[cp];
    unsigned first = e->len <= 4 ? *(const unsigned char *)&e->val : guard_fold_pool[e->val];
    return e->len && ascii_word(first) ? 2 : 0;
}

static int kind_at_slow(const unsigned char *s, size_t i, size_t len, int *k)
{
    uint32_t cp;
    *k = decode(s + i, len - i, &cp);
    if (*k == 0)
        return -1;
    if (*k < 0) {
        *k = 1;
        return 0;
    }
    if (cp >= 0x10000)
        return cp >= 0x20000 && cp <= 0x3FFFF;
    return kind_of(cp);
}

static inline int kind_at(const unsigned char *s, size_t i, size_t len, int *k)
{
    uint32_t cp;
    if (i >= len)
        return -1;
    if (s[i] < 0x80) {
        *k = 1;
        return ascii_word(s[i]) ? 2 : 0;
    }
    if ((cp = three_bytes(s, i, len)) != 0) {
        *k = 3;
        return kind_of(cp);
    }
    return kind_at_slow(s, i, len, k);
}

/* 1 when the text at s[i, len) starts with a lone CJK character (one with
 * neither a CJK character nor a letter or digit after it), 0 when not, -1
 * when the chunk ends before that is known and more input follows: the
 * caller then stops and the bytes are carried to the next chunk, so that
 * chunking never changes the view. */
static int lone_cjk_slow(const unsigned char *s, size_t i, size_t len, bool final)
{
    int k, f = kind_at(s, i, len, &k);
    if (f < 0)
        return final ? 0 : -1;
    if (f != 1)
        return 0;
    f = kind_at(s, i + (size_t)k, len, &k);
    if (f < 0)
        return final ? 1 : -1;
    return f == 0;
}

static inline int lone_cjk_at(const unsigned char *s, size_t i, size_t len, bool final)
{
    if (i < len && s[i] < 0x80)
        return 0; /* not CJK */
    if (i + 8 <= len) {
        /* the usual case: the next two characters are three bytes each */
        uint32_t x, y;
        memcpy(&x, s + i, 4);
        memcpy(&y, s + i + 3, 4);
        x = le32(x);
        y = le32(y);
        if (shape3(x) && shape3(y)) {
            if (!bit3(guard_fold_cjk_bits, x))
                return 0;
            if (bit3(guard_fold_cjk_bits, y))
                return 0;
            /* (an overlong form or a surrogate has no CJK flag: the general
             * path decides those) */
        }
    }
    return lone_cjk_slow(s, i, len, final);
}

/* Ordinary punctuation ending at s[i] is a separator (may be dropped, an
 * evasion) only next to a lone CJK character, before it (seg) or after it,
 * or when separators are already held: returns 0 then, 1 when it is text,
 * -1 when undecided yet (see lone_cjk_at). */
static int punct_is_text(const guard_norm *n, const unsigned char *s, size_t i, size_t len,
                         bool final)
{
    if (n->seg == 1 || n->pending_chars)
        return 0;
    int lone = lone_cjk_at(s, i, len, final);
    return lone < 0 ? -1 : !lone;
}

static const unsigned char fffd[3] = {0xEF, 0xBF, 0xBD};

/* Folds a code point outside the BMP (emoji, CJK extensions, mathematical
 * alphanumerics, tag characters) with utf8proc at run time. */
static int emit_astral(guard_norm *n, uint64_t orig, const unsigned char *src, uint32_t cp)
{
    unsigned char out[64];
    utf8proc_uint8_t *m = NULL;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)cp);
    unsigned flags = 0;
    utf8proc_ssize_t ml;
    size_t nb = 0;
    int rc;

    if ((cp >= 0xE0000 && cp <= 0xE0FFF) || cat == UTF8PROC_CATEGORY_CF)
        return emit(n, orig, 4, src, out, 0, GUARD_FOLD_DROP | GUARD_FOLD_EVASION);
    if (cp >= 0x20000 && cp <= 0x3FFFF) /* CJK extensions B..H */
        return emit(n, orig, 4, src, src, 4, GUARD_FOLD_CJK | GUARD_FOLD_IDENT);
    if (cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_SO)
        return emit(n, orig, 4, src, src, 4, GUARD_FOLD_SEP | GUARD_FOLD_IDENT);
    ml = utf8proc_map(src, 4, &m,
                      UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |
                          UTF8PROC_STRIPMARK | UTF8PROC_IGNORE);
    if (ml < 0 || ml > (utf8proc_ssize_t)sizeof out) {
        free(m);
        return emit(n, orig, 4, src, src, 4, GUARD_FOLD_IDENT);
    }
    memcpy(out, m, (size_t)ml);
    nb = (size_t)ml;
    free(m);
    if (nb == 0)
        flags = GUARD_FOLD_DROP;
    else if (nb == 4 && memcmp(out, src, 4) == 0)
        flags = GUARD_FOLD_IDENT;
    else if (out[0] < 0x80)
        flags = GUARD_FOLD_EVASION; /* 𝐒𝐄𝐂𝐑𝐄𝐓: ASCII in disguise */
    rc = emit(n, orig, 4, src, out, (uint32_t)nb, flags);
    return rc;
}

/* Decodes one UTF-8 sequence at s (avail bytes). Returns its length, 0 when
 * more bytes are needed, or -1 when invalid (one byte to replace). */
static int decode(const unsigned char *s, size_t avail, uint32_t *cp)
{
    unsigned char b = s[0];
    int need;
    uint32_t c, min;
    if (b < 0xC2)
        return -1; /* continuation byte or overlong lead */
    if (b < 0xE0) {
        need = 2;
        c = b & 0x1F;
        min = 0x80;
    } else if (b < 0xF0) {
        need = 3;
        c = b & 0x0F;
        min = 0x800;
    } else if (b < 0xF5) {
        need = 4;
        c = b & 0x07;
        min = 0x10000;
    } else {
        return -1;
    }
    for (int i = 1; i < need; i++) {
        if ((size_t)i >= avail)
            return 0;
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *cp = c;
    return need;
}

/* Classes of characters the fast path (stretch()) copies as they are. */
enum {
    F_STOP,  /* anything else: emit() decides */
    F_WORD,  /* ASCII letter (lowered) or digit */
    F_NL,    /* line break: never a separator */
    F_PUNCT, /* ASCII punctuation: a separator right after CJK */
    F_SPACE, /* a space: a separator right after CJK, collapsed after a space */
};

static unsigned ascii_class(unsigned char b)
{
    unsigned f = guard_fold_bmp[b].flags;
    if (f == GUARD_FOLD_IDENT || (unsigned)(b - 'A') < 26u)
        return F_WORD;
    if (f == (GUARD_FOLD_NL | GUARD_FOLD_IDENT))
        return F_NL;
    if (f == (GUARD_FOLD_SEP | GUARD_FOLD_IDENT))
        return F_PUNCT;
    if (f == (GUARD_FOLD_SPACE | GUARD_FOLD_SEP | GUARD_FOLD_IDENT))
        return F_SPACE;
    return F_STOP;
}

/* Copies, from p, the run of ASCII bytes the fast path copies as they are
 * (see stretch()), lowered, and returns its length; 0 when the first byte is
 * not one of them (or not ASCII). *cjk, *sp, *seg: the fast path's state. */
static inline size_t ascii_run(const unsigned char *p, size_t avail, unsigned char *out, bool *cjk,
                               bool *sp, uint32_t *seg)
{
    size_t k = 0;
    bool c = *cjk, after_sp = *sp;
#ifdef __SSE2__
    /* Runs in mixed text are short (3 bytes on average in the corpus:
     * 2024年4月21日): a branch per byte mispredicted at most of their ends,
     * and 16 bytes at a time only worked for runs of 16. The bytes are
     * classified 16 at a time and the run ends at the first that is not
     * ASCII or not plain. A block with none of those leaves nothing for the
     * next to wait on (state carried from block to block through the ends
     * of runs halved the speed on pure ASCII; it is 5,700 MB/s, was 2,700). */
    while (avail - k >= 16) {
        const __m128i x = _mm_loadu_si128((const __m128i *)(p + k));
#define MASK(v) ((uint32_t)_mm_movemask_epi8(v))
        uint32_t nl = MASK(_mm_cmpeq_epi8(x, _mm_set1_epi8('\n')));
        uint32_t spc = MASK(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')));
        /* not ASCII, control characters but '\n', DEL, and '*' (a star
         * look-alike): the signed compare takes the first two at once */
        uint32_t stop = MASK(_mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                                          _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(0x7F)),
                                                       _mm_cmpeq_epi8(x, _mm_set1_epi8('*'))))) &
                        ~nl;
        __m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('A' - 1)),
                                   _mm_cmplt_epi8(x, _mm_set1_epi8('Z' + 1)));
        _mm_storeu_si128((__m128i *)(out + k),
                         _mm_add_epi8(x, _mm_and_si128(up, _mm_set1_epi8(0x20))));
#undef MASK
        uint32_t brk = spc | nl;
        /* a space after a space or a line break collapses; punctuation or
         * a space right after a CJK character may be a separator */
        stop |= (spc & ((brk << 1) | after_sp)) | (c & !ascii_word(p[k]) & ~nl & 1);
        if (!stop) { /* all plain: no dependency on the state before */
            c = false;
            after_sp = brk >> 15;
            k += 16;
            continue;
        }
        unsigned m = (unsigned)__builtin_ctz(stop);
        if (m) {
            c = false;
            after_sp = (brk >> (m - 1)) & 1;
        }
        k += m;
        goto done;
    }
#endif
    for (; k < avail && p[k] < 0x80; k++) {
        unsigned char b = p[k];
        switch (ascii_class(b)) {
        case F_WORD:
            c = after_sp = false;
            break;
        case F_NL:
            c = false;
            after_sp = true;
            break;
        case F_PUNCT:
            if (c)
                goto done;
            after_sp = false;
            break;
        case F_SPACE:
            if (c || after_sp)
                goto done;
            after_sp = true;
            break;
        default:
            goto done;
        }
        out[k] = (unsigned char)((unsigned)(b - 'A') < 26u ? b + 32 : b);
    }
done:
    if (k) {
        *cjk = c;
        *sp = after_sp;
        *seg = ascii_word(p[k - 1]) * SEG_WORD;
    }
    return k;
}

/* Ordinary punctuation at offset i of this chunk that folds to one ASCII
 * byte, written at *w: mapped as emit() maps it. */
static int fold_punct(guard_norm *n, unsigned char **w, size_t i, unsigned char byte)
{
    n->len = (size_t)(*w - n->view);
    if (push_map(n, n->orig_pos + i, 3, 1))
        return -1;
    *(*w)++ = byte;
    n->len++;
    n->linear_ok = true;
    return 0;
}

/* The fast path: copies, from s[i], the longest stretch of characters that
 * fold to themselves byte for byte and need no separator decision — ASCII
 * letters (lowered), digits, line breaks; ASCII punctuation and single
 * spaces not right after a CJK character; CJK characters that fold to
 * themselves (most simplified Chinese text); ordinary punctuation that folds
 * to itself (。、《》“”) where it is text (punct_is_text()) — straight into
 * the view, one map entry at most for the whole stretch; and ordinary
 * punctuation folding to one ASCII byte (，：？) where it is text, mapped as
 * emit() maps it (fold_punct()). Held separators are settled first as emit()
 * would settle them; the chunk's last three bytes are left to emit(). Returns
 * the index after the stretch (i when it copied nothing), or (size_t)-1 when
 * out of memory. */
static size_t stretch(guard_norm *n, const unsigned char *s, size_t i, size_t len, bool final)
{
    unsigned char b = s[i];
    unsigned cls = b < 0x80 ? ascii_class(b) : F_STOP;
    bool lead_cjk = false, lead_fold = false;
    uint32_t c3;

    if (cls == F_STOP) {
        /* a CJK character that folds to itself, ordinary punctuation that
         * is text, or nothing */
        if (!(c3 = three_bytes(s, i, len)))
            return i;
        unsigned kind = guard_fold_punct_kind(c3);
        if (guard_fold_is_cjk_ident(c3))
            lead_cjk = true;
        else if ((kind != GUARD_PUNCT_IDENT && kind != GUARD_PUNCT_ASCII) ||
                 punct_is_text(n, s, i + 3, len, final) != 1)
            return i;
        lead_fold = kind == GUARD_PUNCT_ASCII;
    } else if (cls != F_WORD && cls != F_NL &&
               (n->last_cjk || n->pending_chars || (cls == F_SPACE && n->last_space))) {
        return i; /* maybe a separator (emit() holds it), or a space to collapse */
    }
    if (n->pending_chars && settle_pending(n, lead_cjk))
        return (size_t)-1;
    if (n->len + (len - i) + 8 > n->cap &&
        grow((void **)&n->view, &n->cap, n->len + (len - i) + 8, 1))
        return (size_t)-1;
    if (!n->linear_ok && !lead_fold) {
        if (push_map(n, n->orig_pos + i, 0, 0))
            return (size_t)-1;
        n->linear_ok = true;
    }

    unsigned char *w = n->view + n->len; /* n->len is behind w until out: */
    bool cjk = n->last_cjk, sp = n->last_space;
    uint32_t seg = n->seg;
    while (i < len) {
        if (s[i] < 0x80) {
            size_t k = ascii_run(s + i, len - i, w, &cjk, &sp, &seg);
            if (!k)
                break;
            i += k;
            w += k;
            continue;
        }
        /* Three-byte characters: CJK characters that fold to themselves
         * (most of Chinese text) and ordinary punctuation that is text,
         * copied on until something else comes. Each one's first four bytes
         * are read at once: the shape is then one compare, and the bit
         * table needs no decoding (bit3()). An overlong form or a surrogate
         * has no class copied here (tests/unit/test_norm.c checks it). The
         * inner loop is about half of the normaliser's instructions, at 21
         * a character; runs in mixed text are short (2.4 characters in the
         * corpus) and mostly end at punctuation, which is decided here from
         * the four bytes already read rather than back at the loop's start. */
        if (len - i < 4)
            break; /* the chunk's last character: emit() */
        const unsigned char *p = s + i, *last = s + len - 4;
        for (;;) {
            const unsigned char *p0 = p;
            uint32_t raw = 0, x;
            while (p <= last) {
                memcpy(&raw, p, 4);
                if (!shape3(le32(raw)) || !bit3(guard_fold_cjk_ident_bits, le32(raw)))
                    break;
                memcpy(w, &raw, 4); /* the 4th byte is overwritten next */
                w += 3;
                p += 3;
            }
            seg += (uint32_t)((size_t)(p - p0) / 3);
            if (p > last || !shape3(x = le32(raw)))
                break;
            c3 = ((x & 0x0Fu) << 12) | ((x & 0x3F00u) >> 2) | ((x >> 16) & 0x3Fu);
            unsigned kind = guard_fold_punct_kind(c3);
            if ((kind != GUARD_PUNCT_IDENT && kind != GUARD_PUNCT_ASCII) || seg == 1 ||
                lone_cjk_at(s, (size_t)(p - s) + 3, len, final) != 0)
                break;
            seg = 0;
            if (kind == GUARD_PUNCT_ASCII) {
                if (fold_punct(n, &w, (size_t)(p - s),
                               *(const unsigned char *)&guard_fold_bmp[c3].val))
                    return (size_t)-1;
                p += 3;
            } else {
                memcpy(w, &raw, 4);
                w += 3;
                p += 3;
            }
        }
        if (p == s + i)
            break;
        i = (size_t)(p - s);
        cjk = seg != 0; /* the last one was CJK (seg counts those), or punctuation */
        sp = false;
    }
    n->len = (size_t)(w - n->view);
    n->last_cjk = cjk;
    n->last_space = sp;
    n->seg = seg;
    return i;
}

static int feed_bytes(guard_norm *n, const unsigned char *s, size_t len, bool final,
                      size_t *consumed)
{
    size_t i = 0;
    while (i < len) {
        unsigned char b = s[i];
        uint64_t orig = n->orig_pos + i;
        size_t j = stretch(n, s, i, len, final);
        if (j == (size_t)-1)
            return -1;
        if (j > i) {
            i = j;
            continue;
        }
        if (b < 0x80) {
            const guard_fold_entry *e = &guard_fold_bmp[b];
            if (emit(n, orig, 1, s + i, (const unsigned char *)&e->val, e->len, e->flags))
                return -1;
            i++;
            continue;
        }
        uint32_t cp;
        int k = decode(s + i, len - i, &cp);
        if (k == 0) {
            if (!final)
                break; /* carried to the next chunk */
            k = -1;
        }
        if (k < 0) {
            n->invalid++;
            if (emit(n, orig, 1, s + i, fffd, 3, 0))
                return -1;
            i++;
            continue;
        }
        if (cp < 0x10000) {
            const guard_fold_entry *e = &guard_fold_bmp[cp];
            const unsigned char *out =
                e->len <= 4 ? (const unsigned char *)&e->val : guard_fold_pool + e->val;
            unsigned flags = e->flags;
            if (guard_fold_punct_kind(cp) != GUARD_PUNCT_NONE) {
                int text = punct_is_text(n, s, i + (size_t)k, len, final);
                if (text < 0)
                    break; /* carried to the next chunk */
                if (text)
                    flags &= ~(unsigned)GUARD_FOLD_SEP;
            }
            if (emit(n, orig, (uint32_t)k, s + i, out, e->len, flags))
                return -1;
        } else if (emit_astral(n, orig, s + i, cp)) {
            return -1;
        }
        i += (size_t)k;
    }
    *consumed = i;
    return 0;
}

int guard_norm_feed(guard_norm *n, const unsigned char *s, size_t len, bool final)
{
    static const unsigned char none[1];
    size_t used = 0;

    if (!s)
        s = none; /* a final call with no bytes */

    if (n->n_carry) {
        /* Bytes the previous chunk left undecided: decide them with enough
         * of this chunk joined on (16 bytes settle anything carried). */
        unsigned char tmp[sizeof n->carry + 16];
        size_t take = len < 16 ? len : 16, have = n->n_carry + take, got = 0;
        memcpy(tmp, n->carry, n->n_carry);
        memcpy(tmp + n->n_carry, s, take);
        if (feed_bytes(n, tmp, have, final && take == len, &got))
            return -1;
        n->orig_pos += got;
        if (got < n->n_carry) {
            /* still undecided: this chunk was too short and is all in tmp */
            if (have - got > sizeof n->carry)
                return -1; /* cannot happen: at most 10 bytes stay undecided */
            memmove(n->carry, tmp + got, have - got);
            n->n_carry = have - got;
            return 0;
        }
        used = got - n->n_carry;
        n->n_carry = 0;
    }
    size_t consumed = 0;
    if (feed_bytes(n, s + used, len - used, final, &consumed))
        return -1;
    n->orig_pos += consumed;
    size_t left = len - used - consumed;
    if (left) {
        if (left > sizeof n->carry)
            return -1; /* cannot happen: at most 10 bytes stay undecided */
        memcpy(n->carry, s + used + consumed, left);
        n->n_carry = left;
    }
    if (final && settle_pending(n, false))
        return -1;
    return 0;
}

size_t guard_norm_committed(const guard_norm *n)
{
    return n->pending_chars ? n->pending_view : n->len;
}

/* The map entry covering view offset v: the last entry whose view <= v
 * (the first when none is). Lookups come in nearly ascending order (hits and
 * findings in view order), so the search starts from the previous answer and
 * gallops from there; a plain binary search over ~10,000 entries a megabyte
 * was 9% of a scan. It gallops backwards too, for detectors that look back a
 * little, though in the benchmark scan only 0.7% of lookups go back. What is
 * left of its cost is cache misses: a megabyte of Chinese office text has
 * 29,000 entries of 16 bytes (it had 55,000 of 24 before a fold and the run
 * after it shared an entry). */
static size_t find_entry(guard_norm *n, uint64_t v)
{
    size_t lo, hi, h = n->map_hint < n->n_map ? n->map_hint : 0, step = 1;

    if (n->map[h].view <= v) {
        /* forward: map[lo].view <= v, find hi with map[hi].view > v */
        lo = h;
        hi = h + 1;
        while (hi < n->n_map && n->map[hi].view <= v) {
            lo = hi;
            hi = hi + step > n->n_map ? n->n_map : hi + step;
            step *= 2;
        }
    } else {
        /* backward: map[hi].view > v, find lo with map[lo].view <= v (or 0) */
        hi = h;
        lo = h ? h - 1 : 0;
        while (lo > 0 && n->map[lo].view > v) {
            hi = lo;
            lo = lo > step ? lo - step : 0;
            step *= 2;
        }
    }
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (n->map[mid].view <= v)
            lo = mid;
        else
            hi = mid;
    }
    n->map_hint = lo;
    return lo;
}

void guard_norm_to_orig(guard_norm *n, uint64_t vs, uint64_t ve, uint64_t *os, uint64_t *oe)
{
    const guard_map_entry *a, *b;
    uint64_t d;
    if (!n->n_map) {
        *os = *oe = 0;
        return;
    }
    if (ve <= vs)
        ve = vs + 1;
    a = &n->map[find_entry(n, vs)];
    b = &n->map[find_entry(n, ve - 1)];
    d = vs - a->view;
    *os = map_orig(a) + (d < map_vlen(a) ? 0 : map_olen(a) + (d - map_vlen(a)));
    d = ve - 1 - b->view;
    *oe = map_orig(b) + map_olen(b) + (d < map_vlen(b) ? 0 : d - map_vlen(b) + 1);
}

bool guard_norm_evasive(const guard_norm *n, uint64_t os, uint64_t oe)
{
    size_t lo = 0, hi = n->n_ev;
    while (lo < hi) { /* first event >= os */
        size_t mid = lo + (hi - lo) / 2;
        if (n->ev[mid] < os)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n->n_ev && n->ev[lo] < oe;
}

void guard_norm_discard(guard_norm *n, uint64_t keep_from)
{
    size_t drop, e, k;
    if (keep_from <= n->base)
        return;
    drop = (size_t)(keep_from - n->base);
    if (drop > n->len)
        drop = n->len;
    if (n->pending_chars && drop > n->pending_view)
        drop = n->pending_view;
    memmove(n->view, n->view + drop, n->len - drop);
    n->len -= drop;
    if (n->pending_chars)
        n->pending_view -= drop;
    n->base += drop;
    /* keep the entry covering the new base */
    e = n->n_map ? find_entry(n, n->base) : 0;
    if (e) {
        memmove(n->map, n->map + e, (n->n_map - e) * sizeof *n->map);
        n->n_map -= e;
        n->map_hint = 0;
        if (n->pending_chars)
            n->pending_map = n->pending_map > e ? n->pending_map - e : 0;
    }
    /* evasion events before the first kept original offset go too */
    if (n->n_map && n->len) {
        uint64_t first, oe;
        guard_norm_to_orig(n, n->base, n->base + 1, &first, &oe);
        for (k = 0; k < n->n_ev && n->ev[k] < first; k++)
            ;
        if (k && (!n->pending_chars || k <= n->pending_ev)) {
            memmove(n->ev, n->ev + k, (n->n_ev - k) * sizeof *n->ev);
            n->n_ev -= k;
            if (n->pending_chars)
                n->pending_ev -= k;
        }
    }
}

int guard_norm_fold(guard_norm *n, const char *s, size_t len)
{
    guard_norm_reset(n);
    return guard_norm_feed(n, (const unsigned char *)s, len, true);
}

char *guard_norm_string(const char *s, size_t len, size_t *out_len)
{
    guard_norm n;
    char *r = NULL;
    guard_norm_init(&n);
    if (guard_norm_fold(&n, s, len) == 0) {
        r = malloc(n.len + 1);
        if (r) {
            if (n.len)
                memcpy(r, n.view, n.len);
            r[n.len] = 0;
            *out_len = n.len;
        }
    }
    guard_norm_free(&n);
    return r;
}
