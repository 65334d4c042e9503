/*
 * ex_core_type.c — file types: which extractor reads a MIME type, what kind
 * of zip a zip is, and whether a file's name lies about its type.
 *
 * Types come from libmagic, by content, never from the name (ex_dispatch.c).
 * The name is only checked against the content: a .txt that is a zip or a
 * .jpg that is a PDF is how a document gets past a reviewer who trusts the
 * icon, so the mismatch is itself a finding (file.type_mismatch).
 */
#include "ex_core.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- MIME type -> extractor --------------------------------------------- */

typedef struct type_route {
    const char *mime; /* exact, or a prefix when it ends in '/' or '.' */
    ex_extract_fn fn;
} type_route;

/* First match wins: specific types before the text/ catch-all. */
static const type_route routes[] = {
    {"text/html", ex_html},
    {"application/xhtml+xml", ex_html},
    {"text/xml", ex_html},
    {"application/xml", ex_html},
    {"image/svg+xml", ex_html},
    {"text/rtf", ex_rtf},
    {"application/rtf", ex_rtf},
    {"message/rfc822", ex_eml},
    {"message/news", ex_eml},
    {"text/", ex_text_file},
    {"application/json", ex_text_file},
    {"application/x-ndjson", ex_text_file},
    {"application/javascript", ex_text_file},
    {"application/x-subrip", ex_text_file},
    {"application/pdf", ex_pdf},
    {"application/vnd.openxmlformats-officedocument.", ex_ooxml},
    {"application/vnd.ms-word.", ex_ooxml}, /* macro-enabled docm/xlsm/pptm */
    {"application/vnd.ms-excel.", ex_ooxml},
    {"application/vnd.ms-powerpoint.", ex_ooxml},
    {"application/vnd.oasis.opendocument.", ex_odf},
    {"application/x-ole-storage", ex_ole},
    {"application/CDFV2", ex_ole}, /* also CDFV2-encrypted: ex_ole reports it */
    {"application/msword", ex_ole},
    {"application/vnd.ms-excel", ex_ole},
    {"application/vnd.ms-powerpoint", ex_ole},
    {"application/vnd.ms-office", ex_ole},
    {"application/vnd.ms-works", ex_ole},
    {"application/encrypted", ex_ole},
    {"image/", ex_image},
    {"application/zip", ex_archive}, /* refined by ex_zip_kind() */
    {"application/x-7z-compressed", ex_archive},
    {"application/x-tar", ex_archive},
    {"application/gzip", ex_archive},
    {"application/x-gzip", ex_archive},
    {"application/x-bzip2", ex_archive},
    {"application/x-xz", ex_archive},
    {"application/x-lzma", ex_archive},
    {"application/x-lzip", ex_archive},
    {"application/zstd", ex_archive},
    {"application/x-zstd", ex_archive},
    {"application/x-rar", ex_archive},
    {"application/vnd.rar", ex_archive},
    {"application/x-rar-compressed", ex_archive},
    {"application/x-cpio", ex_archive},
    {"application/x-archive", ex_archive},
    {"application/x-iso9660-image", ex_archive},
    {"application/vnd.ms-cab-compressed", ex_archive},
    {"application/x-compress", ex_archive},
    {"application/java-archive", ex_archive},
    {"application/epub+zip", ex_archive},
};

static bool mime_matches(const char *pattern, const char *mime)
{
    size_t n = strlen(pattern);
    if (n && (pattern[n - 1] == '/' || pattern[n - 1] == '.'))
        return strncasecmp(pattern, mime, n) == 0;
    return strcasecmp(pattern, mime) == 0;
}

ex_extract_fn ex_type_extractor(const char *mime)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (mime_matches(routes[i].mime, mime))
            return routes[i].fn;
    return NULL;
}

/* ---- zip: OOXML, ODF or plain ------------------------------------------- */

static uint32_t le16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
    return le16(p) | le16(p + 2) << 16;
}

#define ODF_MIME "application/vnd.oasis.opendocument."

/* Looks at one member name (and, for `mimetype`, its stored content at the
 * local header `loff`). Returns the kind or NULL. */
static ex_extract_fn kind_of(const unsigned char *d, size_t len, const unsigned char *name,
                             size_t nlen, uint64_t loff)
{
    if (nlen == 19 && !memcmp(name, "[Content_Types].xml", 19))
        return ex_ooxml;
    if (nlen == 8 && !memcmp(name, "mimetype", 8) && loff <= len && len - loff >= 30 &&
        le32(d + loff) == 0x04034b50) {
        uint64_t at = loff + 30 + le16(d + loff + 26) + le16(d + loff + 28);
        size_t want = sizeof ODF_MIME - 1;
        if (at <= len && len - at >= want && !memcmp(d + at, ODF_MIME, want))
            return ex_odf;
    }
    return NULL;
}

ex_extract_fn ex_zip_kind(const unsigned char *d, size_t len)
{
    /* The end-of-central-directory record is in the last 64 KiB + 22 bytes. */
    size_t lo = len > 65557 ? len - 65557 : 0;
    ex_extract_fn k;

    for (size_t e = len >= 22 ? len - 22 : 0; len >= 22 && e + 1 > lo; e--) {
        uint64_t off, size, n;
        if (le32(d + e) != 0x06054b50) {
            if (e == 0)
                break;
            continue;
        }
        n = le16(d + e + 10);
        size = le32(d + e + 12);
        off = le32(d + e + 16);
        if (off > len || size > len - off)
            break; /* zip64 or broken: fall back to the first local header */
        for (uint64_t p = off, i = 0; i < n && p + 46 <= off + size; i++) {
            size_t nlen = le16(d + p + 28), xlen = le16(d + p + 30), clen = le16(d + p + 32);
            if (le32(d + p) != 0x02014b50 || p + 46 + nlen > off + size)
                break;
            if ((k = kind_of(d, len, d + p + 46, nlen, le32(d + p + 42))))
                return k;
            p += 46 + nlen + xlen + clen;
        }
        break;
    }
    if (len >= 30 && le32(d) == 0x04034b50 && (size_t)30 + le16(d + 26) <= len &&
        (k = kind_of(d, len, d + 30, le16(d + 26), 0)))
        return k;
    return ex_archive;
}

size_t ex_zip_appended(const unsigned char *d, size_t len)
{
    size_t lo = len > 65557 ? len - 65557 : 0;

    for (size_t e = len >= 22 ? len - 22 : 0; len >= 22; e--) {
        if (le32(d + e) == 0x06054b50) {
            uint64_t size = le32(d + e + 12), off = le32(d + e + 16), cd, start;
            if (size > e)
                return 0;
            cd = e - size;
            if (off > cd)
                return 0;
            start = cd - off;
            /* a real zip behind something else: headers where the record says */
            if (start > 0 && start + 30 <= len && le32(d + start) == 0x04034b50 &&
                (size == 0 || (cd + 4 <= len && le32(d + cd) == 0x02014b50)))
                return (size_t)start;
            return 0;
        }
        if (e == lo)
            break;
    }
    return 0;
}

/* ---- the name against the content ---------------------------------------- */

typedef struct ext_rule {
    const char *exts;  /* space-separated, lowercase */
    const char *mimes; /* space-separated patterns (as in routes) */
} ext_rule;

#define OOXML_OK                                                                                   \
    "application/vnd.openxmlformats-officedocument. application/vnd.ms-word. "                     \
    "application/vnd.ms-excel. application/vnd.ms-powerpoint. application/zip "                    \
    "application/encrypted application/CDFV2 application/x-ole-storage"
#define OLE_OK                                                                                     \
    "application/x-ole-storage application/CDFV2 application/msword "                              \
    "application/vnd.ms-excel application/vnd.ms-powerpoint application/vnd.ms-office "            \
    "application/vnd.ms-works application/encrypted"

/* Only extensions whose type is unambiguous; anything else is never flagged.
 * Families are lenient (a .docx holding an .xlsx is not flagged) because the
 * point is a file disguised as something harmless, not a wrong suffix. */
static const ext_rule ext_rules[] = {
    {"txt text log csv tsv md markdown ini conf cfg", "text/ application/json application/csv"},
    {"json", "application/json text/"},
    {"html htm xhtml", "text/ application/xhtml+xml"},
    {"xml", "text/ application/xml image/svg+xml"},
    {"rtf", "text/rtf application/rtf text/plain"},
    {"eml", "message/ text/"},
    {"pdf", "application/pdf"},
    {"jpg jpeg jpe jfif", "image/jpeg"},
    {"png", "image/png"},
    {"gif", "image/gif"},
    {"bmp", "image/bmp image/x-ms-bmp"},
    {"webp", "image/webp"},
    {"tif tiff", "image/tiff"},
    {"docx docm dotx xlsx xlsm xltx pptx pptm potx", OOXML_OK},
    {"doc dot xls xlt ppt pot wps et dps", OLE_OK},
    {"odt ods odp odg", "application/vnd.oasis.opendocument. application/zip"},
    {"zip", "application/zip application/vnd.openxmlformats-officedocument. "
            "application/vnd.oasis.opendocument. application/java-archive application/epub+zip"},
    {"7z", "application/x-7z-compressed"},
    {"rar", "application/x-rar application/vnd.rar application/x-rar-compressed"},
    {"tar", "application/x-tar"},
    {"gz tgz", "application/gzip application/x-gzip"},
    {"bz2 tbz2 tbz", "application/x-bzip2"},
    {"xz txz", "application/x-xz"},
    {"zst tzst", "application/zstd application/x-zstd"},
    {"exe dll", "application/x-dosexec application/vnd.microsoft.portable-executable "
                "application/x-msdownload"},
};

/* True when `word` (length n) is one of the space-separated words of list,
 * compared by `eq`. */
static bool in_list(const char *list, const char *word, size_t n, bool prefix_patterns)
{
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ' ');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (prefix_patterns) {
            char pat[96];
            if (k < sizeof pat) {
                memcpy(pat, p, k);
                pat[k] = 0;
                if (mime_matches(pat, word))
                    return true;
            }
        } else if (k == n && !strncasecmp(p, word, n)) {
            return true;
        }
        p += k;
        while (*p == ' ')
            p++;
    }
    return false;
}

bool ex_type_mismatch(const char *name, const char *mime, char *ext, size_t cap)
{
    const char *base, *dot;
    size_t n;

    if (!name || !mime || !strcmp(mime, "application/x-empty") || !strcmp(mime, "inode/x-empty"))
        return false;
    base = strrchr(name, '/');
    base = base ? base + 1 : name;
    dot = strrchr(base, '.');
    if (!dot || dot == base || !dot[1])
        return false;
    n = strlen(dot + 1);
    if (n > 8)
        return false;
    for (size_t i = 0; i < sizeof ext_rules / sizeof ext_rules[0]; i++) {
        if (!in_list(ext_rules[i].exts, dot + 1, n, false))
            continue;
        if (in_list(ext_rules[i].mimes, mime, 0, true))
            return false;
        snprintf(ext, cap, ".%s", dot + 1);
        return true;
    }
    return false;
}

bool ex_type_executable(const char *mime)
{
    static const char *const programs[] = {
        "application/x-dosexec",        "application/vnd.microsoft.portable-executable",
        "application/x-msdownload",     "application/x-executable",
        "application/x-pie-executable", "application/x-sharedlib",
        "application/x-mach-binary",    "application/x-msi",
    };
    for (size_t i = 0; i < sizeof programs / sizeof *programs; i++)
        if (!strcmp(mime, programs[i]))
            return true;
    return false;
}
