#!/usr/bin/env python3
"""Image fixtures for the image extractor's tests, generated at run time.

usage: gen_images.py OUTDIR

Writes (nothing is committed; everything is made here, deterministically):

  page_clean.png     an official document (红头文件) rendered at ~100 dpi:
                     份号 000123 / 机密★1年 / 特急 at the top left, the red
                     masthead "XX市教育局文件", the 发文字号 教发〔2023〕15号
                     above a red rule, a title and body sentences
  page_photo.jpg     the same page as a phone photo: rotated 3°, blurred,
                     noised, unevenly lit, JPEG quality 60
  page_unmarked.png  the same page with 特急 and no marking, no 份号: a red
                     header alone (warn)
  page_copyno.png    the same page with the 份号 000123 and no marking: a
                     numbered copy of an official document (confirm)
  page_bare_level.png, page_bare_level_photo.jpg
                     份号 000123 and a bare 秘密 (no ★, no period) under the
                     masthead, clean and as a phone photo: a marking (block)
  plain_text.png     an innocent notice (no marking, no masthead): allow
  page_rot90.jpg, page_rot180.jpg, page_rot270.jpg
                     the phone photo turned a quarter, half and three
                     quarters clockwise, no EXIF (a scan, a forwarded copy)
  page_exif6.tif, page_exif8.tif
                     the same as a TIFF with the tag in its own IFD0 (6 and
                     8: both quarter turns; IFD0 after the pixels, as
                     Pillow writes it), Make and DateTime beside it;
                     page_upright.png the photo as both are shown
  page_exif6.jpg     the phone photo stored sideways with EXIF Orientation 6,
                     as a phone stores a portrait shot, and GPS, time, Make
  page_exif6.png, page_exif6.webp   the same in a PNG eXIf / WebP EXIF
  page_tilt12.jpg    the phone photo taken at 12° instead of 3°
  portrait_gps.jpg   a portrait "photo" (no text; 240 wide, 320 high as
                     shown) stored sideways with Orientation 6, GPS, time, Make
  plain_rot90.png    the innocent notice turned a quarter: allow
  marked_text_rot90.png
                     a typed notice with 机密★1年 at the top and no red
                     masthead, turned a quarter (found by its text alone)
  gps.jpg            a photo-like image with EXIF GPS, capture time, device
  xmp.jpg            the same with an XMP packet (GPS, CreatorTool, a
                     description that holds a marking) instead of EXIF
  gps.png, gps.webp  the same EXIF in a PNG eXIf chunk and a WebP EXIF chunk
  nometa.jpg         the same photo without any metadata
  text_chunks.png    PNG with tEXt/zTXt/iTXt/tIME chunks, zTXt holding a
                     marking (密级：机密, UTF-8 as many writers do)
  qr_phish.png       a QR code of a phishing URL (needs `qrencode`; skipped
                     with a note when it is missing)
  pages.tif          a two-page TIFF, the marking on page 2
  anim.gif           the same two pages as an animated GIF
  huge_header.png    a valid PNG signature and IHDR claiming 50,000×50,000
                     pixels, then garbage: must be refused before decoding
  bad_trunc.*, bad_corrupt.*, ok.*   (jpg png webp tif gif bmp)
                     cut, corrupted and intact small files of every format

Needs python3-pil and the CJK font of fonts-wqy-zenhei.
"""

import io
import os
import random
import shutil
import struct
import subprocess
import sys
import zlib

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
RED = (200, 16, 16)
W, H = 827, 1169  # A4 at 100 dpi: small enough for OCR on one slow core


def font(px):
    return ImageFont.truetype(FONT, px)


def center(draw, y, text, f, fill):
    w = draw.textlength(text, font=f)
    draw.text(((W - w) / 2, y), text, font=f, fill=fill)


def official_page(marked=True, copy_no=None, urgency=None, level="机密★1年"):
    """The GB/T 9704 layout, simplified: copy number, secrecy level and
    urgency top left, masthead, document number, red rule, title, body.
    copy_no / urgency default to `marked`; each element can be left out."""
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    f_small = font(22)
    if copy_no if copy_no is not None else marked:
        d.text((90, 70), "000123", font=f_small, fill="black")
    if marked:
        d.text((90, 102), level, font=f_small, fill="black")
    if urgency if urgency is not None else marked:
        d.text((90, 134), "特急", font=f_small, fill="black")
    # The masthead: big red characters, horizontally centred.
    center(d, 200, "XX市教育局文件", font(64), RED)
    center(d, 320, "教发〔2023〕15号", font(22), "black")
    d.rectangle((80, 362, W - 80, 365), fill=RED)
    center(d, 410, "关于做好2023年学校安全工作的通知", font(28), "black")
    body = [
        "各区县教育局，各直属学校：",
        "为切实做好本年度学校安全工作，现将有关事项通知如下。",
        "一、各单位要高度重视安全管理，落实主体责任。",
        "二、要定期开展隐患排查，建立整改台账。",
        "三、要加强值班值守，确保信息报送及时准确。",
        "请各单位于十月底前将工作总结报送市教育局。",
    ]
    y = 480
    for line in body:
        d.text((90, y), line, font=font(20), fill="black")
        y += 44
    d.text((520, y + 60), "XX市教育局", font=font(20), fill="black")
    d.text((520, y + 100), "2023年9月1日", font=font(20), fill="black")
    return img


def phone_photo(img, seed=3, angle=3):
    """What a phone makes of the page: a 3° rotation, focus blur, sensor
    noise, uneven lighting (darker towards the bottom right), JPEG quality
    60. Tuned so that the plain `tesseract` CLI loses the marking line
    (it reads 机密★1年 as "Here" or nothing) while a person still reads it."""
    rnd = random.Random(seed)
    p = img.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(235, 232, 225))
    p = p.filter(ImageFilter.GaussianBlur(1.4))
    px = p.load()
    w, h = p.size
    for y in range(h):
        for x in range(w):
            r, g, b = px[x, y]
            n = rnd.randint(-30, 30) - int(30 * (x / w) * (y / h))
            px[x, y] = (max(0, min(255, r + n)), max(0, min(255, g + n)),
                        max(0, min(255, b + n)))
    out = io.BytesIO()
    p.save(out, "JPEG", quality=60)
    return out.getvalue()


def plain_text_page():
    img = Image.new("RGB", (W, 500), "white")
    d = ImageDraw.Draw(img)
    d.text((60, 50), "周五下午团建活动安排", font=font(30), fill="black")
    for i, line in enumerate([
            "大家好，本周五下午三点在二楼会议室集合。",
            "请大家准时参加，活动结束后一起聚餐。",
            "如有问题请联系行政部小王。"]):
        d.text((60, 130 + i * 50), line, font=font(22), fill="black")
    return img


def marked_text_page():
    img = Image.new("RGB", (W, 700), "white")
    d = ImageDraw.Draw(img)
    d.text((60, 40), "机密★1年", font=font(26), fill="black")
    d.text((60, 110), "关于调整下周工作安排的通知", font=font(30), fill="black")
    for i, line in enumerate([
            "各处室：根据工作需要，下周一上午九点召开全体会议。",
            "请各处室负责人提前准备本季度工作总结材料。",
            "会议期间请将手机调至静音，不得录音录像。",
            "会后请各处室将会议精神传达到每一位同志。"]):
        d.text((60, 200 + i * 50), line, font=font(22), fill="black")
    return img


def orientation_exif(o):
    """EXIF with Orientation `o` and what stripping must remove: GPS, time,
    Make/Model."""
    ex = Image.Exif()
    ex[0x0112] = o
    ex[0x010F] = "Huawei"
    ex[0x0110] = "Mate 60 Pro"
    ex[0x0132] = "2023:09:01 10:20:30"
    ex[0x8825] = {1: "N", 2: (39.0, 54.0, 15.12), 3: "E", 4: (116.0, 24.0, 26.64)}
    return ex.tobytes()


def exif_gps_jpeg():
    """A 'photo' (a gradient) with EXIF: Make/Model/BodySerialNumber,
    DateTimeOriginal and a GPS position in Beijing."""
    img = Image.new("RGB", (320, 240))
    d = ImageDraw.Draw(img)
    for y in range(240):
        d.line((0, y, 320, y), fill=(y, 100, 255 - y))
    ex = Image.Exif()
    ex[0x010F] = "Huawei"        # Make
    ex[0x0110] = "Mate 60 Pro"   # Model
    ex[0x0132] = "2023:09:01 10:20:30"
    ex[0x8769] = {                     # Exif IFD
        0x9003: "2023:09:01 10:20:30",  # DateTimeOriginal
        0xA431: "SN12345678",           # BodySerialNumber
    }
    ex[0x8825] = {                     # GPS IFD
        1: "N", 2: (39.0, 54.0, 15.12),   # 39.904200 N
        3: "E", 4: (116.0, 24.0, 26.64),  # 116.407400 E
    }
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, exif=ex.tobytes())
    return img, out.getvalue()


XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmp:CreatorTool="Adobe Photoshop 24.0"
    xmp:CreateDate="2023-09-01T10:20:30+08:00"
    exif:GPSLatitude="39,54.252N"
    exif:GPSLongitude="116,24.444E">
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">机密★1年 内部会议照片</rdf:li></rdf:Alt></dc:description>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def jpeg_with_app1(jpeg, payload):
    """Inserts an APP1 segment right after SOI."""
    seg = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + seg + jpeg[2:]


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_insert(png, chunks):
    """Inserts chunks right after IHDR (8 + 25 bytes)."""
    return png[:33] + b"".join(chunks) + png[33:]


def small_png():
    img = Image.new("RGB", (64, 48), (30, 120, 200))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def huge_header_png():
    ihdr = struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
            png_chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + png_chunk(b"IEND", b""))


def encoded(img, fmt, **kw):
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def write(outdir, name, data):
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    page = official_page()
    write(outdir, "page_clean.png", encoded(page, "PNG"))
    write(outdir, "page_photo.jpg", phone_photo(page))
    write(outdir, "page_unmarked.png",
          encoded(official_page(marked=False, urgency=True), "PNG"))
    write(outdir, "page_copyno.png",
          encoded(official_page(marked=False, copy_no=True), "PNG"))
    bare = official_page(level="秘密", urgency=False)
    write(outdir, "page_bare_level.png", encoded(bare, "PNG"))
    write(outdir, "page_bare_level_photo.jpg", phone_photo(bare))
    write(outdir, "plain_text.png", encoded(plain_text_page(), "PNG"))

    # Turned pages. Image.transpose's ROTATE_* turn counter-clockwise.
    photo = Image.open(io.BytesIO(phone_photo(page)))
    for name, t in (("page_rot90.jpg", Image.Transpose.ROTATE_270),
                    ("page_rot180.jpg", Image.Transpose.ROTATE_180),
                    ("page_rot270.jpg", Image.Transpose.ROTATE_90)):
        # quality 100: the turn adds no second compression of note, so
        # what is tested is the turn, not a worse photo
        write(outdir, name, encoded(photo.transpose(t), "JPEG", quality=100))
    # Orientation 6: the stored pixels turned a quarter counter-clockwise;
    # a viewer turns them a quarter clockwise to show them.
    side = photo.transpose(Image.Transpose.ROTATE_90)
    write(outdir, "page_exif6.jpg", encoded(side, "JPEG", quality=100, exif=orientation_exif(6)))
    write(outdir, "page_exif6.png", encoded(side, "PNG", exif=orientation_exif(6)))
    write(outdir, "page_exif6.webp", encoded(side, "WEBP", quality=90, exif=orientation_exif(6)))
    # A scanner's TIFF: the tag in the TIFF's own IFD0, with a make and a
    # time; 8 is the other quarter turn (stored turned clockwise)
    write(outdir, "page_upright.png", encoded(photo, "PNG"))  # how both are shown
    for o, t in ((6, side), (8, photo.transpose(Image.Transpose.ROTATE_270))):
        write(outdir, f"page_exif{o}.tif",
              encoded(t, "TIFF", compression="tiff_deflate",
                      tiffinfo={0x0112: o, 0x010F: "Huawei", 0x0132: "2023:09:01 10:00:00"}))
    write(outdir, "page_tilt12.jpg", phone_photo(page, angle=12))
    portrait = Image.new("RGB", (240, 320))
    pd = ImageDraw.Draw(portrait)
    for y in range(320):
        pd.line((0, y, 240, y), fill=(200 - y // 2, 120, 60 + y // 2))
    pd.rectangle((90, 20, 150, 60), fill=(250, 250, 250))  # "up" is where the white block is
    write(outdir, "portrait_gps.jpg", encoded(portrait.transpose(Image.Transpose.ROTATE_90),
                                              "JPEG", quality=90, exif=orientation_exif(6)))
    write(outdir, "plain_rot90.png",
          encoded(plain_text_page().transpose(Image.Transpose.ROTATE_270), "PNG"))
    write(outdir, "marked_text.png", encoded(marked_text_page(), "PNG"))
    write(outdir, "marked_text_rot90.png",
          encoded(marked_text_page().transpose(Image.Transpose.ROTATE_270), "PNG"))

    photo, gps = exif_gps_jpeg()
    write(outdir, "gps.jpg", gps)
    plain = encoded(photo, "JPEG", quality=85)
    write(outdir, "nometa.jpg", plain)
    write(outdir, "xmp.jpg", jpeg_with_app1(
        plain, b"http://ns.adobe.com/xap/1.0/\0" + XMP.encode()))
    write(outdir, "gps.png", png_insert(encoded(photo, "PNG"), [
        png_chunk(b"eXIf", gps[gps.index(b"Exif\0\0") + 6:gps.index(b"\xff\xdb")])]))
    write(outdir, "gps.webp", encoded(photo, "WEBP", quality=80,
                                      exif=gps[gps.index(b"Exif\0\0"):
                                               gps.index(b"\xff\xdb")]))
    write(outdir, "text_chunks.png", png_insert(small_png(), [
        png_chunk(b"tEXt", b"Comment\0harmless note"),
        png_chunk(b"zTXt", b"Description\0\0" + zlib.compress("密级：机密".encode())),
        png_chunk(b"iTXt", b"Title\0\0\0zh\0\0" + "内部资料 会议纪要".encode()),
        png_chunk(b"tIME", struct.pack(">HBBBBB", 2023, 9, 1, 10, 20, 30)),
    ]))

    # qrencode is a test dependency (scripts/install-deps.sh); without it the
    # QR case fails in test_images.py
    if shutil.which("qrencode"):
        subprocess.run(["qrencode", "-s", "6", "-m", "4", "-o",
                        os.path.join(outdir, "qr_phish.png"),
                        "http://paypa1-secure-login.xn--80ak6aa92e.com/verify?id=1"],
                       check=True)
    else:
        print("gen_images: qrencode is not installed, qr_phish.png not made", file=sys.stderr)

    write(outdir, "huge_header.png", huge_header_png())
    p1, p2 = (Image.new("RGB", (600, 160), "white") for _ in range(2))
    ImageDraw.Draw(p1).text((30, 50), "本周工作安排", font=font(44), fill="black")
    ImageDraw.Draw(p2).text((30, 50), "机密★1年", font=font(44), fill="black")
    write(outdir, "pages.tif", encoded(p1, "TIFF", save_all=True, append_images=[p2]))
    write(outdir, "anim.gif", encoded(p1, "GIF", save_all=True, append_images=[p2],
                                      duration=500, loop=0))

    # Truncated and corrupt files of each format. Cut after the headers so
    # that the decoder starts and then runs out of data.
    src = plain_text_page().resize((200, 120))
    for ext, fmt, kw in (("jpg", "JPEG", {"quality": 80}), ("png", "PNG", {}),
                         ("webp", "WEBP", {"quality": 80}), ("tif", "TIFF", {}),
                         ("gif", "GIF", {}), ("bmp", "BMP", {})):
        data = encoded(src, fmt, **kw)
        write(outdir, "bad_trunc." + ext, data[:max(40, len(data) // 3)])
        bad = bytearray(data)
        for i in range(len(bad) // 4, len(bad), 97):
            bad[i] ^= 0x5A
        write(outdir, "bad_corrupt." + ext, bytes(bad[:len(bad) // 2]))
        write(outdir, "ok." + ext, data)


if __name__ == "__main__":
    main()
