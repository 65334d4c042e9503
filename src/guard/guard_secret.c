/*
 * guard_secret.c — the `secret` detector: credentials that must never leave.
 *
 * Finds private keys, cloud and SaaS access keys, JSON Web Tokens, passwords
 * written as assignments ("password=…", "密码：…") and credentials inside
 * URLs. Every pattern is a short Hyperscan prefilter over the lowercase view;
 * the shape, the letter case (read back from the original), the boundaries and
 * the randomness of a candidate are checked here, in C, inside a window of at
 * most a few KiB around the hit. Rules, confidence model and false-positive
 * defences: docs/DETECTORS-secret-link.md.
 */
#include "guard_detect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard_validate.h"

/* Sub-rules: the `arg` of each pattern. */
enum {
    S_PEM,        /* -----BEGIN … PRIVATE KEY----- */
    S_PUTTY,      /* PuTTY-User-Key-File-2: */
    S_AWS,        /* AKIA/ASIA + 16 */
    S_GITHUB,     /* ghp_/gho_/ghu_/ghs_/ghr_ + 36 */
    S_GITHUB_PAT, /* github_pat_ + 82 */
    S_GITLAB,     /* glpat- + 20 */
    S_SLACK,      /* xoxb-/xoxp-/… */
    S_GOOGLE,     /* AIza + 35 */
    S_STRIPE,     /* sk_live_/rk_live_ */
    S_ALIYUN,     /* LTAI + 12..20 */
    S_TENCENT,    /* AKID + 32 */
    S_JWT,        /* header.payload. */
    S_PASSWORD,   /* keyword then = : 是 为 */
    S_BEARER,     /* Authorization: Bearer … */
    S_URLCRED,    /* scheme://user:password@host */
    S_COUNT
};

/* Bounds on every walk through the view or the original. */
#define PEM_BACK_MAX   80   /* "-----begin " to "-----" of a PEM header */
#define TOKEN_EXT_MAX  200  /* extension of variable-length tokens */
#define JWT_PART_MAX   8192 /* one base64url part of a JWT */
#define JWT_HEADER_MAX 1024 /* header decoded to check that it is JSON */
#define VALUE_MAX      128  /* a password value, in original bytes */
#define VALUE_SKIP_MAX 16   /* separators between keyword and value */
#define AUTH_MAX       256  /* authority of a URL, for credentials */

/* Per-scan state: where each sub-rule last emitted, so that overlapping
 * prefilter hits of one rule give one finding. */
typedef struct secret_state {
    uint64_t last_end[S_COUNT];
} secret_state;

/* ---- view and original access ------------------------------------------- */

/* End of the view that may be read: final bytes that are still in the
 * window. */
static uint64_t view_avail(const guard_ctx *c)
{
    uint64_t w = c->norm->base + c->norm->len;
    return c->view_end < w ? c->view_end : w;
}

static int vbyte(const guard_ctx *c, uint64_t off)
{
    if (off >= view_avail(c))
        return -1;
    return guard_ctx_view_byte(c, off);
}

static int obyte(const guard_ctx *c, uint64_t off)
{
    if (off < c->orig_base || off - c->orig_base >= c->orig_len)
        return -1;
    return c->orig[off - c->orig_base];
}

static bool is_b64url(int b)
{
    return guard_is_alnum(b) || b == '-' || b == '_';
}

/* A token may not continue into a neighbouring alphanumeric run: "xAKIA…" is
 * part of something longer. Outside the window counts as a boundary. */
static bool left_ok(const guard_ctx *c, uint64_t vs)
{
    return vs == 0 || !guard_is_alnum(guard_ctx_view_byte(c, vs - 1));
}

/* `extra` lists further bytes that continue the token's alphabet. At the end
 * of what is available in a stream the boundary is assumed: missing a key
 * split across chunks is worse than a rare false hit. */
static bool right_ok(const guard_ctx *c, uint64_t ve, const char *extra)
{
    int b = vbyte(c, ve);
    if (b < 0)
        return true;
    return !guard_is_alnum(b) && !(b && extra && strchr(extra, b));
}

/* Copies the view span [vs, ve) with the letter case of the original
 * restored (the view is lowercase; key formats are case-sensitive). A
 * full-width letter gives its ASCII case; other folds keep the view byte.
 * Returns the bytes written (at most cap). */
static size_t cased_copy(const guard_ctx *c, uint64_t vs, uint64_t ve, char *out, size_t cap)
{
    uint64_t os, oe;
    size_t n = 0;

    if (ve <= vs)
        return 0;
    if (ve - vs > cap)
        ve = vs + cap;
    guard_norm_to_orig(c->norm, vs, ve, &os, &oe);
    if (oe - os == ve - vs) {
        /* The common case: a linear ASCII run. */
        bool same = true;
        for (uint64_t i = 0; i < ve - vs && same; i++) {
            int o = obyte(c, os + i), v = guard_ctx_view_byte(c, vs + i);
            if (o < 0 || o >= 0x80 || v < 0 || (o | 0x20) != (v | 0x20))
                same = false;
            else
                out[i] = (char)o;
        }
        if (same)
            return (size_t)(ve - vs);
    }
    for (uint64_t v = vs; v < ve; v++) {
        int b = guard_ctx_view_byte(c, v);
        if (b < 0)
            break;
        if (b >= 'a' && b <= 'z') {
            uint64_t o1, o2;
            guard_norm_to_orig(c->norm, v, v + 1, &o1, &o2);
            int o = obyte(c, o1);
            if (o2 - o1 == 1 && o >= 'A' && o <= 'Z')
                b = o;
            else if (o2 - o1 == 3 && o == 0xEF && obyte(c, o1 + 1) == 0xBC) {
                int t = obyte(c, o1 + 2); /* U+FF21..FF3A: full-width A..Z */
                if (t >= 0xA1 && t <= 0xBA)
                    b = 'A' + (t - 0xA1);
            }
        }
        out[n++] = (char)b;
    }
    return n;
}

static bool all_upper_or_digit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* Extends a token from `from` over its alphabet, at most `max` bytes. */
static uint64_t extend(const guard_ctx *c, uint64_t from, size_t max, const char *extra)
{
    uint64_t e = from;
    while (e - from < max) {
        int b = vbyte(c, e);
        if (b < 0 || !(guard_is_alnum(b) || (b && extra && strchr(extra, b))))
            break;
        e++;
    }
    return e;
}

/* ---- emitting ------------------------------------------------------------- */

static void emit_view(guard_ctx *c, int rule, const char *id, guard_severity sev, int conf,
                      uint64_t vs, uint64_t ve, const char *why)
{
    secret_state *st = c->det_state[GUARD_DET_SECRET];
    if (st) {
        if (vs < st->last_end[rule])
            return; /* overlaps what this rule already reported */
        st->last_end[rule] = ve;
    }
    guard_emit(c, id, GUARD_CAT_SECRET, sev, conf, vs, ve, why);
}

/* The same with an original span; [ks, ke) is the view span used to dedupe. */
static void emit_orig(guard_ctx *c, int rule, uint64_t ks, uint64_t ke, const char *id,
                      guard_severity sev, int conf, uint64_t os, uint64_t oe, const char *why)
{
    secret_state *st = c->det_state[GUARD_DET_SECRET];
    if (st) {
        if (ks < st->last_end[rule])
            return;
        st->last_end[rule] = ke;
    }
    guard_emit_orig(c, id, GUARD_CAT_SECRET, sev, conf, os, oe, why);
}

/* ---- fixed-shape tokens ---------------------------------------------------- */

typedef struct token_rule {
    const char *id;
    const char *prefix; /* exact case in the original */
    size_t prefix_len;
    size_t body_len;    /* fixed body length after the prefix */
    const char *extra;  /* body alphabet beyond [A-Za-z0-9] */
    double min_entropy; /* of the body */
    int conf;
    const char *why;
} token_rule;

static const token_rule fixed_rules[S_COUNT] = {
    [S_GITHUB] = {"secret.github_token", NULL, 4, 36, NULL, 3.0, 95,
                  "GitHub access token (gh?_ + 36 characters)"},
    [S_GITHUB_PAT] = {"secret.github_token", "github_pat_", 11, 82, "_", 3.0, 95,
                      "GitHub fine-grained personal access token"},
    [S_GITLAB] = {"secret.gitlab_token", "glpat-", 6, 20, "-_", 3.0, 95,
                  "GitLab personal access token"},
    [S_GOOGLE] = {"secret.google_api_key", "AIza", 4, 35, "-_", 3.0, 85, "Google API key"},
    [S_TENCENT] = {"secret.tencent_key", "AKID", 4, 32, NULL, 3.5, 85,
                   "Tencent Cloud SecretId (AKID + 32 characters)"},
};

static void on_fixed(guard_ctx *c, int rule, uint64_t to)
{
    const token_rule *r = &fixed_rules[rule];
    size_t len = r->prefix_len + r->body_len;
    char buf[128];
    uint64_t vs;

    if (to < len)
        return;
    vs = to - len;
    if (!left_ok(c, vs) || !right_ok(c, to, r->extra))
        return;
    if (cased_copy(c, vs, to, buf, sizeof buf) != len)
        return;
    if (r->prefix && memcmp(buf, r->prefix, r->prefix_len) != 0)
        return;
    if (rule == S_GITHUB && !(buf[0] == 'g' && buf[1] == 'h'))
        return;
    if (rule == S_TENCENT && !all_upper_or_digit(buf, 4))
        return;
    if (guard_entropy(buf + r->prefix_len, r->body_len) < r->min_entropy)
        return; /* ghp_xxxxxxxx…: a placeholder */
    emit_view(c, rule, r->id, GUARD_SEV_CRITICAL, r->conf, vs, to, r->why);
}

/* AKIA/ASIA + 16: uppercase letters and digits in the original. AWS's own
 * documentation key (…EXAMPLE) is not reported. */
static void on_aws(guard_ctx *c, uint64_t to)
{
    char buf[20];
    uint64_t vs;

    if (to < 20)
        return;
    vs = to - 20;
    if (!left_ok(c, vs) || !right_ok(c, to, NULL))
        return;
    if (cased_copy(c, vs, to, buf, sizeof buf) != 20 || !all_upper_or_digit(buf, 20))
        return;
    if (memcmp(buf + 13, "EXAMPLE", 7) == 0)
        return;
    if (guard_entropy(buf + 4, 16) < 3.0)
        return;
    if (buf[1] == 'S')
        emit_view(c, S_AWS, "secret.aws_key", GUARD_SEV_CRITICAL, 85, vs, to,
                  "AWS temporary access key id (ASIA…)");
    else
        emit_view(c, S_AWS, "secret.aws_key", GUARD_SEV_CRITICAL, 90, vs, to,
                  "AWS access key id (AKIA…)");
}

/* xoxb-/xoxp-/xoxa-/xoxr-/xoxs-: numeric workspace and user ids separated by
 * dashes, then a random part. */
static void on_slack(guard_ctx *c, uint64_t to)
{
    char buf[TOKEN_EXT_MAX + 8];
    uint64_t vs, ve;
    size_t n, dashes = 0, digits = 0;

    if (to < 7)
        return;
    vs = to - 7;
    if (!left_ok(c, vs))
        return;
    ve = extend(c, to, TOKEN_EXT_MAX, "-");
    while (ve > to && guard_ctx_view_byte(c, ve - 1) == '-')
        ve--;
    n = cased_copy(c, vs, ve, buf, sizeof buf);
    if (n < 5 + 20 || memcmp(buf, "xox", 3) != 0)
        return;
    for (size_t i = 5; i < n; i++) {
        dashes += buf[i] == '-';
        digits += buf[i] >= '0' && buf[i] <= '9';
    }
    if (dashes < 1 || digits < 4 || guard_entropy(buf + 5, n - 5) < 3.0)
        return;
    emit_view(c, S_SLACK, "secret.slack_token", GUARD_SEV_CRITICAL, 90, vs, ve,
              "Slack API token (xox?-…)");
}

/* sk_live_/rk_live_ + at least 24: a live Stripe secret or restricted key
 * (test-mode keys move no money and are not reported). */
static void on_stripe(guard_ctx *c, uint64_t to)
{
    char buf[TOKEN_EXT_MAX + 40];
    uint64_t vs, ve;
    size_t n;

    if (to < 32)
        return;
    vs = to - 32;
    if (!left_ok(c, vs))
        return;
    ve = extend(c, to, TOKEN_EXT_MAX, NULL);
    n = cased_copy(c, vs, ve, buf, sizeof buf);
    if (n < 32 || memcmp(buf + 1, "k_live_", 7) != 0 || guard_entropy(buf + 8, n - 8) < 3.0)
        return;
    emit_view(c, S_STRIPE, "secret.stripe_key", GUARD_SEV_CRITICAL, 95, vs, ve,
              buf[0] == 'r' ? "Stripe live restricted key" : "Stripe live secret key");
}

/* LTAI + 12..20 letters and digits: an Alibaba Cloud AccessKey ID. The prefix
 * is short and the body may be short, so the body must look random. */
static void on_aliyun(guard_ctx *c, uint64_t to)
{
    char buf[32];
    uint64_t vs, ve;
    size_t n;

    if (to < 16)
        return;
    vs = to - 16;
    if (!left_ok(c, vs))
        return;
    ve = extend(c, to, 9, NULL); /* body at most 20 */
    if (ve - to > 8 || !right_ok(c, ve, NULL))
        return;
    n = cased_copy(c, vs, ve, buf, sizeof buf);
    if (n < 16 || memcmp(buf, "LTAI", 4) != 0 || guard_entropy(buf + 4, n - 4) < 3.0)
        return;
    emit_view(c, S_ALIYUN, "secret.aliyun_key", GUARD_SEV_CRITICAL, 80, vs, ve,
              "Alibaba Cloud AccessKey ID (LTAI…)");
}

/* ---- private keys --------------------------------------------------------- */

/* Hit at the closing "-----" of a header naming a private key. Confidence is
 * high when key material follows; a header alone is more likely a quotation. */
static void on_pem(guard_ctx *c, uint64_t to)
{
    static const char begin[] = "-----begin";
    uint64_t vs = 0, p;
    bool found = false;
    size_t b64 = 0;
    int conf = 60;

    for (uint64_t back = 16; back <= PEM_BACK_MAX && back <= to && !found; back++) {
        uint64_t s = to - back;
        size_t i = 0;
        while (i < sizeof begin - 1 && guard_ctx_view_byte(c, s + i) == begin[i])
            i++;
        if (i == sizeof begin - 1) {
            vs = s;
            found = true;
        }
    }
    if (!found)
        return;
    /* Skip line breaks, spaces and literal "\n" (keys pasted from JSON). */
    p = to;
    for (int k = 0; k < 8; k++) {
        int b = vbyte(c, p);
        if (b == '\n' || b == ' ' || b == '\r')
            p++;
        else if (b == '\\' && vbyte(c, p + 1) == 'n')
            p += 2;
        else
            break;
    }
    if (vbyte(c, p) < 0 && !c->final) {
        conf = 95; /* the body is not here yet: assume the worst */
    } else {
        static const char proc[] = "proc-type:";
        size_t i = 0;
        while (i < sizeof proc - 1 && vbyte(c, p + i) == proc[i])
            i++;
        if (i == sizeof proc - 1)
            conf = 95;
        while (b64 < 64) {
            int b = vbyte(c, p + b64);
            if (b < 0 || !(guard_is_alnum(b) || b == '+' || b == '/' || b == '='))
                break;
            b64++;
        }
        if (b64 >= 32 || (b64 > 0 && vbyte(c, p + b64) < 0 && !c->final))
            conf = 95;
    }
    emit_view(c, S_PEM, "secret.private_key", GUARD_SEV_CRITICAL, conf, vs, to,
              conf >= 95 ? "private key (PEM block)"
                         : "private key header (PEM) without key material after it");
}

static void on_putty(guard_ctx *c, uint64_t to)
{
    if (to < 22)
        return;
    emit_view(c, S_PUTTY, "secret.private_key", GUARD_SEV_CRITICAL, 95, to - 22, to,
              "PuTTY private key file (.ppk)");
}

/* ---- JSON Web Tokens -------------------------------------------------------- */

static int b64url_val(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '-' || ch == '+')
        return 62;
    if (ch == '_' || ch == '/')
        return 63;
    return -1;
}

/* Decodes unpadded base64url; returns the bytes written or -1. */
static int b64url_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (w == cap)
                return -1;
            out[w++] = (unsigned char)(acc >> bits);
        }
    }
    return (int)w;
}

/* Hit at the second dot of "eyJhbGci….eyJ….": the header and payload are
 * behind the hit, the signature ahead of it. */
static void on_jwt(guard_ctx *c, uint64_t to)
{
    char hdr[JWT_HEADER_MAX], pay[8];
    unsigned char dec[JWT_HEADER_MAX];
    uint64_t d1, hs, ve;
    size_t hn, sig;
    int dn, i;
    bool none;

    if (to < 12)
        return;
    d1 = to - 1; /* the second dot */
    do {
        d1--;
    } while (d1 + JWT_PART_MAX > to && d1 > 0 && is_b64url(guard_ctx_view_byte(c, d1)));
    if (guard_ctx_view_byte(c, d1) != '.' || to - 1 - d1 < 4)
        return;
    hs = d1;
    while (hs > 0 && d1 - hs < JWT_PART_MAX && is_b64url(guard_ctx_view_byte(c, hs - 1)))
        hs--;
    if (d1 - hs < 10 || d1 - hs > JWT_HEADER_MAX)
        return;
    if (hs > 0 && guard_ctx_view_byte(c, hs - 1) == '.')
        return; /* a fourth part in front: not a JWT */
    hn = cased_copy(c, hs, d1, hdr, sizeof hdr);
    if (hn != d1 - hs || memcmp(hdr, "eyJ", 3) != 0)
        return;
    dn = b64url_decode(hdr, hn, dec, sizeof dec);
    if (dn < 8 || dec[0] != '{')
        return;
    i = 1;
    while (i < dn && (dec[i] == ' ' || dec[i] == '\n' || dec[i] == '\r' || dec[i] == '\t'))
        i++;
    if (dn - i < 6 || (memcmp(dec + i, "\"alg\"", 5) != 0 && memcmp(dec + i, "\"typ\"", 5) != 0))
        return;
    i = dn - 1;
    while (i > 0 && (dec[i] == ' ' || dec[i] == '\n' || dec[i] == '\r' || dec[i] == '\t'))
        i--;
    if (dec[i] != '}')
        return;
    /* The payload is a JSON object too: it starts with "eyJ" = {" */
    if (cased_copy(c, d1 + 1, d1 + 5, pay, 4) != 4 || b64url_decode(pay, 4, dec, 3) != 3 ||
        dec[0] != '{')
        return;
    ve = extend(c, to, JWT_PART_MAX, "-_");
    sig = (size_t)(ve - to);
    none = memmem(dec, (size_t)dn, "\"none\"", 6) != NULL; /* "alg":"none" */
    if (sig == 0 && !none)
        return;
    if (sig > 0 && sig < 16)
        return;
    emit_view(c, S_JWT, "secret.jwt", GUARD_SEV_CRITICAL, sig ? 85 : 70, hs, ve,
              sig ? "JSON Web Token (signed)" : "JSON Web Token (unsigned)");
}

/* ---- password assignments ----------------------------------------------------- */

static bool ci_eq(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (n != l)
        return false;
    for (size_t i = 0; i < n; i++) {
        int a = (unsigned char)s[i];
        if (a >= 'A' && a <= 'Z')
            a += 32;
        if (a != lit[i])
            return false;
    }
    return true;
}

static bool ci_has(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    for (size_t i = 0; i + l <= n; i++)
        if (ci_eq(s + i, l, lit))
            return true;
    return false;
}

static bool is_ident_char(int b)
{
    return guard_is_alnum(b) || b == '_';
}

/* "DB_PASS": the name of an environment variable. */
static bool env_name(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' || (i > 0 && s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* Values that stand for a password without being one: masks, templates,
 * environment references, code, paths, well-known dummies. */
static bool placeholder(const char *v, size_t n, bool quoted)
{
    static const char *const exact[] = {
        "password", "passwd",   "pass",   "pwd",      "secret",    "token", "null",
        "none",     "nil",      "true",   "false",    "undefined", "empty", "string",
        "required", "optional", "hidden", "redacted", "removed",   "xxx",
    };
    static const char *const inside[] = {
        "your_",
        "your-",
        "yourpass",
        "yourtoken",
        "yoursecret",
        "changeme",
        "change_me",
        "change-me",
        "placeholder",
        "example",
        "redacted",
        "****",
        "\xe2\x80\xa2\xe2\x80\xa2",
        "...",
        "\xe2\x80\xa6",
        "xxxx",
        "<",
        "${",
        "{{",
        "$(",
        "%(",
        "%s",
    };
    bool same = true, ident = true, dotted = false, lower = false, upper = false, digit = false;

    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (ci_eq(v, n, exact[i]))
            return true;
    for (size_t i = 0; i < sizeof inside / sizeof inside[0]; i++)
        if (ci_has(v, n, inside[i]))
            return true;
    if (n >= 3 && ci_eq(v, 3, "xxx"))
        return true;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[0])
            same = false;
    if (same)
        return true;
    if ((v[0] == '%' && v[n - 1] == '%') || (v[0] == '$' && env_name(v + 1, n - 1)))
        return true; /* $DB_PASS, %DB_PASS% */
    if (v[0] == '/' || v[0] == '~' || (v[0] == '.' && n > 1 && (v[1] == '/' || v[1] == '.')) ||
        (n > 2 && v[1] == ':' && v[2] == '\\'))
        return true; /* a path to a key file */
    if (ci_has(v, n, "://"))
        return true; /* a URL: the link detector's business */
    if (quoted)
        return false;
    /* Unquoted code: a call, a subscript, an attribute path or a constant
     * name (os.environ[…], self.password, DB_PASSWORD, get_token()). */
    for (size_t i = 0; i < n; i++) {
        int b = (unsigned char)v[i];
        if (b == '(' || b == '[')
            return true;
        if (b == '.')
            dotted = true;
        else if (!is_ident_char(b))
            ident = false;
        lower |= b >= 'a' && b <= 'z';
        upper |= b >= 'A' && b <= 'Z';
        digit |= b >= '0' && b <= '9';
    }
    if (ident && (dotted || memchr(v, '_', n)) && !(digit && lower && upper))
        return true;
    return false;
}

static bool is_space_orig(const guard_ctx *c, uint64_t o, size_t *len)
{
    int b = obyte(c, o);
    *len = 1;
    if (b == ' ' || b == '\t')
        return true;
    if (b == 0xE3 && obyte(c, o + 1) == 0x80 && obyte(c, o + 2) == 0x80) {
        *len = 3; /* U+3000 ideographic space */
        return true;
    }
    return false;
}

/* Opening quote at o: its length and the closing quote's bytes. */
static size_t open_quote(const guard_ctx *c, uint64_t o, const char **close)
{
    int b = obyte(c, o), b1 = obyte(c, o + 1), b2 = obyte(c, o + 2);
    if (b == '"' || b == '\'' || b == '`') {
        *close = b == '"' ? "\"" : b == '\'' ? "'" : "`";
        return 1;
    }
    if (b == 0xE2 && b1 == 0x80 && (b2 == 0x9C || b2 == 0x98)) {
        *close = b2 == 0x9C ? "\xe2\x80\x9d" : "\xe2\x80\x99"; /* “” ‘’ */
        return 3;
    }
    if (b == 0xE3 && b1 == 0x80 && (b2 == 0x8C || b2 == 0x8E)) {
        *close = b2 == 0x8C ? "\xe3\x80\x8d" : "\xe3\x80\x8f"; /* 「」 『』 */
        return 3;
    }
    return 0;
}

/* "&name=" after a value in a URL query: the value ends at the '&'. */
static bool query_param(const guard_ctx *c, uint64_t o)
{
    size_t n = 0;
    while (n < 32 && (guard_is_alnum(obyte(c, o + n)) || obyte(c, o + n) == '_'))
        n++;
    return n > 0 && obyte(c, o + n) == '=';
}

/* Reads the value after a keyword from the ORIGINAL text, starting at view
 * offset `to`: quoted, or up to white space. Fills v (at most VALUE_MAX
 * bytes) and its original span. Returns its length, 0 when there is none. */
static size_t read_value(const guard_ctx *c, uint64_t to, char *v, uint64_t *vos, uint64_t *voe,
                         bool *quoted)
{
    uint64_t os, oe, o;
    const char *close = NULL;
    size_t n = 0, q, sl;

    *quoted = false;
    if (vbyte(c, to) < 0)
        return 0;
    guard_norm_to_orig(c->norm, to, to + 1, &os, &oe);
    o = os;
    /* Separators the pattern left behind: "= ", ": ", "=>", "：", "＝", and
     * once a 是 or 为 after a colon ("密码：是 …": the colon is in the view,
     * so the pattern ended there). */
    bool verb = false;
    for (int k = 0; k < VALUE_SKIP_MAX; k++) {
        int b = obyte(c, o);
        if (is_space_orig(c, o, &sl))
            o += sl;
        else if (b == '=' || b == ':' || b == '>')
            o++;
        else if (b == 0xEF && obyte(c, o + 1) == 0xBC &&
                 (obyte(c, o + 2) == 0x9A || obyte(c, o + 2) == 0x9D))
            o += 3;
        else if (!verb && ((b == 0xE6 && obyte(c, o + 1) == 0x98 && obyte(c, o + 2) == 0xAF) ||
                           (b == 0xE4 && obyte(c, o + 1) == 0xB8 && obyte(c, o + 2) == 0xBA)))
            o += 3, verb = true;
        else
            break;
    }
    q = open_quote(c, o, &close);
    if (q) {
        size_t cl = strlen(close);
        uint64_t s = o + q;
        for (n = 0; n < VALUE_MAX; n++) {
            int b = obyte(c, s + n);
            if (b < 0 || b == '\n')
                break;
            if ((unsigned char)close[0] == b) {
                size_t k = 1;
                while (k < cl && obyte(c, s + n + k) == (unsigned char)close[k])
                    k++;
                if (k == cl) {
                    memcpy(v, c->orig + (s - c->orig_base), n);
                    *vos = s;
                    *voe = s + n;
                    *quoted = true;
                    return n;
                }
            }
        }
        o += q; /* unterminated quote: read the rest as a bare value */
    }
    for (n = 0; n < VALUE_MAX; n++) {
        int b = obyte(c, o + n);
        if (b <= ' ' || b >= 0x80 || b == ',' || b == ';' || b == '"' || b == '\'' || b == 0x7F ||
            (b == '&' && query_param(c, o + n + 1)))
            break;
        v[n] = (char)b;
    }
    /* Sentence punctuation after the value is not part of it. */
    while (n > 0 && (v[n - 1] == '.' || (v[n - 1] == ')' && !memchr(v, '(', n)) ||
                     (v[n - 1] == '}' && !memchr(v, '{', n))))
        n--;
    *vos = o;
    *voe = o + n;
    return n;
}

static size_t spaces(const char *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += v[i] == ' ';
    return k;
}

/* Confidence of a password value: longer, more varied, more random is more
 * likely a real credential. */
static int value_confidence(const char *v, size_t n, double h, bool quoted)
{
    bool lower = false, upper = false, digit = false, other = false;
    size_t space = 0;
    int conf = 50, classes;

    for (size_t i = 0; i < n; i++) {
        int b = (unsigned char)v[i];
        lower |= b >= 'a' && b <= 'z';
        upper |= b >= 'A' && b <= 'Z';
        digit |= b >= '0' && b <= '9';
        space += b == ' ';
        other |= !guard_is_alnum(b) && b != ' ';
    }
    classes = lower + upper + digit + other;
    conf += (int)((h - 2.5) * 12.0);
    conf += (int)(n < 24 ? n : 24) - 8;
    conf += classes >= 3 ? 10 : classes == 2 ? 4 : 0;
    if (quoted)
        conf += 3;
    if (space)
        conf -= 20; /* prose in quotes, or at best a passphrase */
    if (conf > 95)
        conf = 95;
    if (conf < 30)
        conf = 30;
    return conf;
}

static void on_password(guard_ctx *c, uint64_t to, bool bearer)
{
    char v[VALUE_MAX], why[160];
    uint64_t vos, voe;
    bool quoted;
    size_t n = read_value(c, to, v, &vos, &voe, &quoted);
    double h;
    int conf;

    if (n < (bearer ? 20u : 8u) || placeholder(v, n, quoted) || spaces(v, n) >= 2)
        return; /* a sentence in quotes is not a password */
    h = guard_entropy(v, n);
    if (h < (bearer ? 3.0 : 2.5))
        return;
    conf = value_confidence(v, n, h, quoted);
    snprintf(why, sizeof why, "%s (%zu characters, entropy %.1f bits/char)",
             bearer ? "bearer token in an Authorization header" : "password or secret assigned", n,
             h);
    emit_orig(c, S_PASSWORD, to, to + 1, "secret.password", GUARD_SEV_HIGH, conf, vos, voe, why);
}

/* "scheme://user:password@host": the password of a connection string. */
static void on_urlcred(guard_ctx *c, uint64_t to)
{
    uint64_t p, at = 0, colon = 0, os, oe, vos, voe;
    char v[VALUE_MAX];
    size_t n;
    int conf;

    for (p = to; p - to < AUTH_MAX; p++) {
        int b = vbyte(c, p);
        /* '#' and '?' stay: connection strings carry them unencoded */
        if (b < 0 || b <= ' ' || b == '/' || b == '"' || b == '\'' || b == '<' || b == '>' ||
            b >= 0x80)
            break;
        if (b == '@')
            at = p;
        else if (b == ':' && !colon && !at)
            colon = p;
    }
    if (!at || !colon || colon > at || at - colon < 2)
        return;
    guard_norm_to_orig(c->norm, colon + 1, at, &os, &oe);
    (void)oe;
    n = 0;
    for (uint64_t o = os; n < VALUE_MAX && obyte(c, o) >= 0 && obyte(c, o) != '@'; o++)
        v[n++] = (char)obyte(c, o);
    vos = os;
    voe = os + n;
    if (n < 4 || placeholder(v, n, true))
        return;
    conf = n >= 8 && guard_entropy(v, n) >= 2.5 ? 85 : 60;
    emit_orig(c, S_URLCRED, colon + 1, at, "secret.password", GUARD_SEV_HIGH, conf, vos, voe,
              "password embedded in a URL (scheme://user:password@host)");
}

/* ---- the detector --------------------------------------------------------------- */

static int secret_patterns(guard_patset *ps, const guard_settings *cfg)
{
    static const struct {
        const char *expr;
        uint32_t arg;
    } pats[] = {
        {"-----begin [a-z0-9 ]{0,40}private key(?: block)?-----", S_PEM},
        {"putty-user-key-file-[23]:", S_PUTTY},
        {"a(?:ki|si)a[a-z0-9]{16}", S_AWS},
        {"gh[pousr]_[a-z0-9]{36}", S_GITHUB},
        {"github_pat_[a-z0-9_]{82}", S_GITHUB_PAT},
        {"glpat-[a-z0-9_\\-]{20}", S_GITLAB},
        {"xox[abprs]-[a-z0-9]{2}", S_SLACK},
        {"aiza[a-z0-9_\\-]{35}", S_GOOGLE},
        {"[rs]k_live_[a-z0-9]{24}", S_STRIPE},
        {"ltai[a-z0-9]{12}", S_ALIYUN},
        {"akid[a-z0-9]{32}", S_TENCENT},
        {"eyj(?:hbgci|0exai)[a-z0-9_\\-]*\\.[a-z0-9_\\-]+\\.", S_JWT},
        {"(?:passw(?:or)?d|pwd|passphrase|secret|(?:secret|access|api)[_\\-]?key|"
         "api[_\\-]?secret|token|\xe5\xaf\x86\xe7\xa0\x81|\xe5\x8f\xa3\xe4\xbb\xa4)"
         "[\"']? ?(?:[:=]|\xe6\x98\xaf|\xe4\xb8\xba)",
         S_PASSWORD},
        {"\\bbearer ", S_BEARER},
        {"://", S_URLCRED},
    };
    (void)cfg;
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++)
        if (guard_patset_add_regex(ps, pats[i].expr, 0, GUARD_DET_SECRET, pats[i].arg))
            return -1;
    return 0;
}

static int secret_begin(guard_ctx *c)
{
    secret_state *st = calloc(1, sizeof *st);
    c->det_state[GUARD_DET_SECRET] = st;
    return st ? 0 : -1;
}

static void secret_on_hit(guard_ctx *c, uint32_t arg, uint64_t to)
{
    switch (arg) {
    case S_PEM:
        on_pem(c, to);
        break;
    case S_PUTTY:
        on_putty(c, to);
        break;
    case S_AWS:
        on_aws(c, to);
        break;
    case S_GITHUB:
    case S_GITHUB_PAT:
    case S_GITLAB:
    case S_GOOGLE:
    case S_TENCENT:
        on_fixed(c, (int)arg, to);
        break;
    case S_SLACK:
        on_slack(c, to);
        break;
    case S_STRIPE:
        on_stripe(c, to);
        break;
    case S_ALIYUN:
        on_aliyun(c, to);
        break;
    case S_JWT:
        on_jwt(c, to);
        break;
    case S_PASSWORD:
        on_password(c, to, false);
        break;
    case S_BEARER:
        on_password(c, to, true);
        break;
    case S_URLCRED:
        on_urlcred(c, to);
        break;
    default:
        break;
    }
}

static void secret_end(guard_ctx *c)
{
    free(c->det_state[GUARD_DET_SECRET]);
    c->det_state[GUARD_DET_SECRET] = NULL;
}

const guard_detector guard_det_secret = {
    .name = "secret",
    .patterns = secret_patterns,
    .begin = secret_begin,
    .on_hit = secret_on_hit,
    .finish = NULL,
    .end = secret_end,
};
