/*
 * ex_qr.c — QR codes and barcodes (zbar), so that a link hidden in a picture
 * meets the same link detector as a link typed in a message (a phishing QR
 * code is the usual way a fake login page reaches a phone).
 *
 * zbar reads 8-bit grayscale ("Y800") directly; the image is handed over
 * row by row without the padding of Leptonica's 32-bit words. Very large
 * images are scanned at a reduced size: QR modules stay several pixels wide
 * long before that matters, and zbar's time grows with the area.
 */
#include <leptonica/allheaders.h>
#include <stdlib.h>
#include <string.h>
#include <zbar.h>

#include "ex_image.h"

#define QR_MAX_SIDE   2400 /* scan at most this many pixels along the longer side */
#define QR_MAX_CODES  32   /* payloads reported per image */
#define QR_MAX_LENGTH 4096 /* bytes of one payload (a QR code holds < 3 KB) */

int ex_qr_scan(ex_job *j, struct Pix *gray_in)
{
    zbar_image_scanner_t *sc = NULL;
    zbar_image_t *img = NULL;
    PIX *g = NULL;
    unsigned char *buf = NULL;
    l_int32 w, h, side;
    int rc = 0, count = 0;

    if (!gray_in || pixGetDepth(gray_in) != 8)
        return 0;
    w = pixGetWidth(gray_in);
    h = pixGetHeight(gray_in);
    side = w > h ? w : h;
    g = side > QR_MAX_SIDE
            ? pixScale(gray_in, (float)QR_MAX_SIDE / (float)side, (float)QR_MAX_SIDE / (float)side)
            : pixClone(gray_in);
    if (!g)
        goto out;
    if (pixGetDepth(g) != 8)
        goto out; /* pixScale keeps 8 bpp; anything else is not expected */
    w = pixGetWidth(g);
    h = pixGetHeight(g);
    buf = malloc((size_t)w * (size_t)h);
    if (!buf)
        goto out;
    for (l_int32 y = 0; y < h; y++) {
        const l_uint32 *line = pixGetData(g) + (size_t)y * (size_t)pixGetWpl(g);
        for (l_int32 x = 0; x < w; x++)
            buf[(size_t)y * (size_t)w + (size_t)x] = (unsigned char)GET_DATA_BYTE(line, x);
    }
    sc = zbar_image_scanner_create();
    img = zbar_image_create();
    if (!sc || !img)
        goto out;
    zbar_image_scanner_set_config(sc, ZBAR_NONE, ZBAR_CFG_ENABLE, 1);
    /* Interleaved 2 of 5 has no check character and decodes from the
     * noise of a phone photo: a photographed notice gave "021814", read
     * as a 份号 (bench/detect/photos.py, seed 31). Cartons use it, not
     * messages. */
    zbar_image_scanner_set_config(sc, ZBAR_I25, ZBAR_CFG_ENABLE, 0);
    zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
    zbar_image_set_size(img, (unsigned)w, (unsigned)h);
    zbar_image_set_data(img, buf, (unsigned long)w * (unsigned long)h, NULL);
    if (zbar_scan_image(sc, img) <= 0)
        goto out;
    for (const zbar_symbol_t *s = zbar_image_first_symbol(img); s && count < QR_MAX_CODES;
         s = zbar_symbol_next(s), count++) {
        const char *data = zbar_symbol_get_data(s);
        unsigned len = zbar_symbol_get_data_length(s);
        if (!data || !len)
            continue;
        if (len > QR_MAX_LENGTH)
            len = QR_MAX_LENGTH;
        /* The code itself is a finding (an inbound rule warns about a code
         * one cannot read before following it); its text goes to the
         * text guard like any other. */
        if (count == 0 && ex_finding(j, "qr", GUARD_CAT_IMAGE, GUARD_SEV_LOW, 90, "image.qr_code",
                                     "the image holds a QR code or barcode",
                                     zbar_get_symbol_name(zbar_symbol_get_type(s))) < 0) {
            rc = -1;
            goto out;
        }
        if (ex_text_part(j, "qr", data, len) < 0) {
            rc = -1;
            goto out;
        }
    }
out:
    if (img)
        zbar_image_destroy(img);
    if (sc)
        zbar_image_scanner_destroy(sc);
    free(buf);
    pixDestroy(&g);
    return rc;
}
