#!/usr/bin/python3
"""bench/verdict/gen.py — the files of the verdict-latency benchmark: N
variants of each kind, distinct bytes (the server inspects each content once,
so a repeat would measure its cache), same content for the guard.

usage: gen.py OUTDIR N
  photo-I.jpg   a photographed 机密 page (tests/file/image/gen_images.py:
                rotated, blurred, noisy, uneven light, JPEG q60)
  clean-I.png   a small clean picture of a text page
  doc-I.docx    an office document of about 8 KB of prose, one marking
"""
import io
import os
import random
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "file", "image"))
import gen_images as g  # noqa: E402

CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
      'package/2006/content-types"><Default Extension="rels" ContentType="application/'
      'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
      '"application/xml"/><Override PartName="/word/document.xml" ContentType="application/'
      'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="word/document.xml"/></Relationships>')


def docx(i, rnd):
    words = "关于召开年度工作会议的通知 各单位要认真做好准备工作 会议纪要 项目进展顺利 预算审批".split()
    paras = ["机密★1年"] + [" ".join(rnd.choice(words) for _ in range(20)) for _ in range(40)]
    body = "".join("<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % p for p in paras)
    doc = ('<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
           'openxmlformats.org/wordprocessingml/2006/main"><w:body>%s</w:body></w:document>' % body)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CT)
        z.writestr("_rels/.rels", RELS)
        z.writestr("word/document.xml", doc)
        z.writestr("docProps/custom.xml", "<v>%d-%d</v>" % (i, rnd.getrandbits(64)))
    return out.getvalue()


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(7)
    photo = g.phone_photo(g.official_page())
    clean = g.encoded(g.plain_text_page(), "PNG")
    for i in range(n):
        tag = b"bench-%d-%d" % (i, rnd.getrandbits(64))
        # a JPEG comment (COM) after SOI: other bytes, the same picture
        com = b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag
        g.write(out, "photo-%d.jpg" % i, photo[:2] + com + photo[2:])
        g.write(out, "clean-%d.png" % i, g.png_insert(clean, [g.png_chunk(b"tEXt", b"c\0" + tag)]))
        g.write(out, "doc-%d.docx" % i, docx(i, rnd))


if __name__ == "__main__":
    main()
