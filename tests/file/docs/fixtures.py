"""Document fixtures for the file guard's document extractors, generated at
run time (nothing binary is committed): OOXML and ODF from XML strings with
the stdlib zipfile, PDFs with python3-cairo (and hand-written PDF syntax for
the encrypted and corrupt cases), RTF, HTML and e-mail as strings, and OLE
compound files built here byte by byte (a minimal .doc with a piece table,
a .ppt, an encrypted-OOXML container and an encrypted .doc).

`build(outdir)` writes every fixture and returns {file name: expectations};
each expectation is (rule or category prefix, location suffix or None), and
`status` is the expected item status. The planted values:
  机密★1年            marking.classified
  11010519491231002X  pii.cn_id (valid check digit)
  13800138000         pii.cn_mobile
"""

import io
import os
import struct
import zipfile
import zlib

MARK = "机密★1年"
ID = "11010519491231002X"
PHONE = "13800138000"
URL = "https://exfil.example.net/drop"

W_NS = ('xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:v="urn:schemas-microsoft-com:vml"')


def _zip(members, compress=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        for name, data in members:
            if isinstance(data, str):
                data = data.encode("utf-8")
            z.writestr(name, data)
    return buf.getvalue()


def _wp(text):
    return '<w:p><w:r><w:t xml:space="preserve">%s</w:t></w:r></w:p>' % text


def png_bytes(w=8, h=8):
    """A tiny valid PNG (grey), for embedded media."""
    raw = b"".join(b"\x00" + b"\x80" * w for _ in range(h))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
      'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
      'relationships+xml"/><Override PartName="/word/document.xml" ContentType="application/'
      'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
        '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="word/document.xml"/></Relationships>')


def docx(body, extra=(), custom=None):
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document %s><w:body>%s'
           '</w:body></w:document>' % (W_NS, body))
    members = [("[Content_Types].xml", CT), ("_rels/.rels", RELS), ("word/document.xml", doc)]
    if custom:
        props = "".join('<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="%d" '
                        'name="%s"><vt:lpwstr>%s</vt:lpwstr></property>' % (i + 2, k, v)
                        for i, (k, v) in enumerate(custom))
        members.append(("docProps/custom.xml",
                        '<?xml version="1.0" encoding="UTF-8"?><Properties xmlns="http://schemas.'
                        'openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http'
                        '://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">%s'
                        '</Properties>' % props))
    members.extend(extra)
    return _zip(members)


def full_docx():
    """A docx with something planted in every part the extractor must read."""
    body = (_wp("关于项目进展的报告") +
            # tracked change: deleted text is still in the file
            '<w:p><w:del w:id="1" w:author="a"><w:r><w:delText>身份证号 %s</w:delText></w:r>'
            '</w:del></w:p>' % ID +
            # a text box
            '<w:p><w:r><w:pict><v:shape><v:textbox><w:txbxContent>%s</w:txbxContent></v:textbox>'
            '</v:shape></w:pict></w:r></w:p>' % _wp("联系电话 " + PHONE) +
            # a field code
            '<w:p><w:r><w:instrText xml:space="preserve"> HYPERLINK "%s" </w:instrText></w:r>'
            '<w:r><w:t>链接</w:t></w:r></w:p>' % URL)
    wrap = ('<?xml version="1.0" encoding="UTF-8"?><w:%s %s>%s</w:%s>')
    extra = [
        ("word/footnotes.xml", wrap % ("footnotes", W_NS,
                                       '<w:footnote w:id="1">%s</w:footnote>' % _wp(MARK),
                                       "footnotes")),
        ("word/header1.xml", wrap % ("hdr", W_NS, _wp("内部资料 注意保存"), "hdr")),
        ("word/comments.xml", wrap % ("comments", W_NS,
                                      '<w:comment w:id="0">%s</w:comment>' % _wp("批注 " + ID),
                                      "comments")),
        ("word/styles.xml", wrap % ("styles", W_NS, "", "styles")),
        ("word/media/image1.png", png_bytes()),
        ("docProps/core.xml",
         '<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.'
         'openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/'
         'elements/1.1/"><dc:title>年度计划</dc:title><dc:creator>张三</dc:creator>'
         '</cp:coreProperties>'),
    ]
    return docx(body, extra, custom=[("密级", "机密"), ("保密期限", "1年")])


def xlsx():
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' \
         'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    wb = ('<?xml version="1.0" encoding="UTF-8"?><workbook %s><sheets>'
          '<sheet name="Budget" sheetId="1" r:id="rId1"/><sheet name="人员" sheetId="2" '
          'r:id="rId2"/></sheets></workbook>' % ns)
    wbrels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
              'openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" Type="ws" Target="worksheets/sheet1.xml"/>'
              '<Relationship Id="rId2" Type="ws" Target="/xl/worksheets/sheet2.xml"/>'
              '</Relationships>')
    sst = ('<?xml version="1.0" encoding="UTF-8"?><sst %s count="4" uniqueCount="4">'
           '<si><t>项目</t></si><si><t>%s</t></si><si><r><t>姓名</t></r></si>'
           '<si><t>未引用 %s</t></si></sst>' % (ns, MARK, PHONE))
    s1 = ('<?xml version="1.0" encoding="UTF-8"?><worksheet %s><sheetData>'
          '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
          '<row r="2"><c r="A2"><v>42</v></c></row></sheetData></worksheet>' % ns)
    s2 = ('<?xml version="1.0" encoding="UTF-8"?><worksheet %s><sheetData>'
          '<row r="1"><c r="A1" t="s"><v>2</v></c><c r="B1" t="inlineStr"><is><t>%s</t></is></c>'
          '</row></sheetData></worksheet>' % (ns, ID))
    return _zip([("[Content_Types].xml", CT), ("xl/workbook.xml", wb),
                 ("xl/_rels/workbook.xml.rels", wbrels), ("xl/sharedStrings.xml", sst),
                 ("xl/worksheets/sheet1.xml", s1), ("xl/worksheets/sheet2.xml", s2)])


def pptx():
    a = ('xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
         'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"')
    slide = ('<?xml version="1.0" encoding="UTF-8"?><p:sld %s><p:cSld><p:spTree><p:sp><p:txBody>'
             '<a:p><a:r><a:t>季度汇报</a:t></a:r></a:p><a:p><a:r><a:t>%s</a:t></a:r></a:p>'
             '</p:txBody></p:sp></p:spTree></p:cSld></p:sld>' % (a, MARK))
    notes = ('<?xml version="1.0" encoding="UTF-8"?><p:notes %s><p:cSld><p:spTree><p:sp>'
             '<p:txBody><a:p><a:r><a:t>讲者备注：负责人手机 %s</a:t></a:r></a:p></p:txBody>'
             '</p:sp></p:spTree></p:cSld></p:notes>' % (a, PHONE))
    return _zip([("[Content_Types].xml", CT), ("ppt/slides/slide1.xml", slide),
                 ("ppt/notesSlides/notesSlide1.xml", notes)])


def billion_laughs_docx():
    ents = '<!ENTITY lol "lol">' + "".join(
        '<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10)
        for i in range(1, 10))
    doc = ('<?xml version="1.0"?><!DOCTYPE w:document [%s]><w:document %s><w:body>'
           '<w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>' % (ents, W_NS))
    return _zip([("[Content_Types].xml", CT), ("word/document.xml", doc),
                 ("word/footnotes.xml", '<?xml version="1.0"?><w:footnotes %s>%s</w:footnotes>'
                  % (W_NS, _wp(MARK)))])


def zip_bomb_docx(mb=64):
    """document.xml inflates to `mb` MiB of one repeated byte inside a valid
    paragraph (ratio ~1000:1), written with zlib streaming, not held whole."""
    head = ('<?xml version="1.0"?><w:document %s><w:body><w:p><w:r><w:t>' % W_NS).encode()
    tail = b"</w:t></w:r></w:p></w:body></w:document>"
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    comp = [co.compress(head)]
    crc = zlib.crc32(head)
    block = b"a" * (1 << 20)
    for _ in range(mb):
        comp.append(co.compress(block))
        crc = zlib.crc32(block, crc)
    comp.append(co.compress(tail))
    crc = zlib.crc32(tail, crc)
    comp.append(co.flush())
    data = b"".join(comp)
    size = len(head) + len(tail) + mb * (1 << 20)
    return _raw_zip([("word/document.xml", data, crc & 0xFFFFFFFF, size, 8),
                     ("word/footnotes.xml",) + _deflated(
                         ('<?xml version="1.0"?><w:footnotes %s>%s</w:footnotes>'
                          % (W_NS, _wp(MARK))).encode())])


def _deflated(raw):
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    return (co.compress(raw) + co.flush(), zlib.crc32(raw) & 0xFFFFFFFF, len(raw), 8)


def _raw_zip(entries):
    """A zip from (name, compressed data, crc, size, method) with honest headers."""
    out, cd = io.BytesIO(), io.BytesIO()
    for name, data, crc, size, method in entries:
        off = out.tell()
        n = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, method, 0, 0x21, crc,
                              len(data), size, len(n), 0) + n + data)
        cd.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x800, method, 0, 0x21,
                             crc, len(data), size, len(n), 0, 0, 0, 0, 0, off) + n)
    cdb = cd.getvalue()
    pos = out.tell()
    out.write(cdb)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(cdb),
                          pos, 0))
    return out.getvalue()


# ---- ODF --------------------------------------------------------------------------

ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
          'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
          'xmlns:dc="http://purl.org/dc/elements/1.1/" '
          'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"')


def odf(kind="text", body=None, styles=None, meta=None, manifest=None, extra=()):
    mt = "application/vnd.oasis.opendocument." + kind
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content %s>'
               '<office:body><office:%s>%s</office:%s></office:body></office:document-content>'
               % (ODF_NS, kind, body or "", kind))
    members = [("mimetype", mt), ("content.xml", content)]
    if styles:
        members.append(("styles.xml", '<?xml version="1.0"?><office:document-styles %s>'
                        '<office:master-styles><style:master-page style:name="Standard">'
                        '<style:header>%s</style:header></style:master-page>'
                        '</office:master-styles></office:document-styles>' % (ODF_NS, styles)))
    if meta:
        members.append(("meta.xml", '<?xml version="1.0"?><office:document-meta %s>'
                        '<office:meta>%s</office:meta></office:document-meta>' % (ODF_NS, meta)))
    members.append(("META-INF/manifest.xml", manifest or (
        '<?xml version="1.0"?><manifest:manifest %s><manifest:file-entry '
        'manifest:full-path="/" manifest:media-type="%s"/><manifest:file-entry '
        'manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        '</manifest:manifest>' % (ODF_NS, mt))))
    members.extend(extra)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i, (name, data) in enumerate(members):
            z.writestr(name, data, zipfile.ZIP_STORED if i == 0 else zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def docm_macro():
    """A macro-enabled Word document: a docx with word/vbaProject.bin."""
    return docx(_wp("请启用宏以查看内容"), extra=[("word/vbaProject.bin", b"\xd0\xcf\x11\xe0" + bytes(508))])


def odt_macro():
    """An ODF text with a Basic macro library."""
    return odf("text", "<text:p>请启用宏</text:p>", extra=[
        ("Basic/script-lc.xml", '<?xml version="1.0"?><library:libraries/>'),
        ("Basic/Standard/Module1.xml", '<?xml version="1.0"?><script:module/>')])


def pe_exe():
    """The head of a Windows program: an MZ stub pointing at a PE header."""
    mz = bytearray(128)
    mz[0:2] = b"MZ"
    mz[0x3C:0x40] = (64).to_bytes(4, "little")
    pe = b"PE\0\0" + (0x14C).to_bytes(2, "little") + bytes(18)
    mz[64:64 + len(pe)] = pe
    return bytes(mz) + bytes(384)


def odt():
    body = ('<text:h>工作简报</text:h><text:p>正文 %s</text:p>'
            '<text:p>脚注<text:note><text:note-body><text:p>%s</text:p></text:note-body>'
            '</text:note></text:p>' % (PHONE, MARK))
    meta = ('<dc:title>简报</dc:title><meta:user-defined meta:name="密级">机密'
            '</meta:user-defined>')
    return odf("text", body, styles="<text:p>页眉 %s</text:p>" % ID, meta=meta,
               extra=[("Pictures/1.png", png_bytes())])


def ods():
    body = ('<table:table table:name="名单"><table:table-row><table:table-cell><text:p>%s'
            '</text:p></table:table-cell><table:table-cell><text:p>%s</text:p>'
            '</table:table-cell></table:table-row></table:table>' % (ID, MARK))
    return odf("spreadsheet", body)


def odt_encrypted():
    manifest = ('<?xml version="1.0"?><manifest:manifest %s><manifest:file-entry '
                'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.'
                'text"/><manifest:file-entry manifest:full-path="content.xml" '
                'manifest:media-type="text/xml" manifest:size="1234"><manifest:encryption-data '
                'manifest:checksum-type="SHA1/1K" manifest:checksum="AAAA"><manifest:algorithm '
                'manifest:algorithm-name="Blowfish CFB" manifest:initialisation-vector="AAAA"/>'
                '<manifest:key-derivation manifest:key-derivation-name="PBKDF2" '
                'manifest:iteration-count="1024" manifest:salt="AAAA"/></manifest:encryption-data>'
                '</manifest:file-entry></manifest:manifest>' % ODF_NS)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED)
        z.writestr("content.xml", os.urandom(600), zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


# ---- PDF ---------------------------------------------------------------------------

FONT = "WenQuanYi Zen Hei"


def _pdf_surface(pages, meta=None, link=None):
    import cairo
    buf = io.BytesIO()
    s = cairo.PDFSurface(buf, 595, 842)
    if meta:
        for k, v in meta.items():
            s.set_metadata(getattr(cairo.PDFMetadata, k), v)
    cr = cairo.Context(s)
    for lines in pages:
        cr.select_font_face(FONT)
        cr.set_font_size(16)
        for n, line in enumerate(lines):
            cr.move_to(72, 100 + 28 * n)
            cr.show_text(line)
        if link:
            cr.tag_begin(cairo.TAG_LINK, "uri='%s'" % link)
            cr.move_to(72, 700)
            cr.show_text("link")
            cr.tag_end(cairo.TAG_LINK)
            link = None
        cr.show_page()
    s.finish()
    return buf.getvalue()


def pdf_text():
    return _pdf_surface([["第一页 普通内容"], ["第二页", MARK, "关于某项目的请示"]],
                        link="https://exfil.example.net/x")


def pdf_meta():
    return _pdf_surface([["正文"]], meta={"TITLE": "机密文件", "AUTHOR": "李四",
                                          "KEYWORDS": "密级：机密", "SUBJECT": "手机 " + PHONE})


def pdf_image_only():
    """One page that is a picture of text: no text layer at all."""
    import cairo
    img = cairo.ImageSurface(cairo.FORMAT_RGB24, 1240, 400)
    c = cairo.Context(img)
    c.set_source_rgb(1, 1, 1)
    c.paint()
    c.set_source_rgb(0, 0, 0)
    c.select_font_face(FONT)
    c.set_font_size(64)
    c.move_to(80, 150)
    c.show_text(MARK)
    c.move_to(80, 300)
    c.show_text("关于某项目的请示")
    buf = io.BytesIO()
    s = cairo.PDFSurface(buf, 595, 842)
    cr = cairo.Context(s)
    cr.scale(595 / 1240, 595 / 1240)
    cr.set_source_surface(img, 0, 0)
    cr.paint()
    cr.show_page()
    s.finish()
    return buf.getvalue()


def _pdf_objects(objs, trailer_extra=""):
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, o in enumerate(objs):
        offs.append(out.tell())
        out.write(b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n")
    x = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for o in offs:
        out.write(b"%010d 00000 n \n" % o)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objs) + 1, trailer_extra.encode(), x))
    return out.getvalue()


def pdf_encrypted():
    """Standard security handler, RC4 40-bit, with a user password that is
    not empty: poppler must refuse to open it without the password."""
    import hashlib
    pad = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
    fid = b"0123456789abcdef"

    def rc4(key, data):
        S = list(range(256))
        j = 0
        for i in range(256):
            j = (j + S[i] + key[i % len(key)]) & 255
            S[i], S[j] = S[j], S[i]
        i = j = 0
        out = bytearray()
        for ch in data:
            i = (i + 1) & 255
            j = (j + S[i]) & 255
            S[i], S[j] = S[j], S[i]
            out.append(ch ^ S[(S[i] + S[j]) & 255])
        return bytes(out)
    user = (b"secret" + pad)[:32]
    owner = (b"owner" + pad)[:32]
    O = rc4(hashlib.md5(owner).digest()[:5], user)
    P = -44
    key = hashlib.md5(user + O + struct.pack("<i", P) + fid).digest()[:5]
    U = rc4(key, pad)
    hexs = lambda b: "<" + b.hex() + ">"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
            ("<< /Filter /Standard /V 1 /R 2 /O %s /U %s /P %d >>" % (hexs(O), hexs(U), P))
            .encode()]
    return _pdf_objects(objs, "/Encrypt 4 0 R /ID [%s %s]" % (hexs(fid), hexs(fid)))


def pdf_corrupt():
    return b"%PDF-1.7\n" + os.urandom(64) + b"\nthis is not a pdf body\n%%EOF\n"


# ---- RTF --------------------------------------------------------------------------

def _rtf_hex(s, enc="gbk"):
    return "".join("\\'%02x" % b for b in s.encode(enc))


def _ole1(cls, native):
    def lp(s):
        b = s.encode() + b"\0"
        return struct.pack("<I", len(b)) + b
    return (struct.pack("<II", 0x501, 2) + lp(cls) + lp("") + lp("")
            + struct.pack("<I", len(native)) + native)


def _package(name, data):
    return (b"\x02\x00" + name.encode() + b"\0" + b"C:\\tmp\\" + name.encode() + b"\0"
            + b"\x00\x00\x03\x00" + struct.pack("<I", 4) + b"C:\\\0"
            + struct.pack("<I", len(data)) + data)


def rtf():
    body = ("{\\rtf1\\ansi\\ansicpg936\\deff0{\\fonttbl{\\f0\\fnil\\fcharset134 SimSun;}}"
            "{\\colortbl;\\red255\\green0\\blue0;}"
            "{\\info{\\title %s}{\\author \\u24352?\\u19977?}{\\keywords \\u23494?\\u32423?"
            "\\uc1 \\u65306?\\u26426?\\u23494?}}"
            "{\\header \\pard %s\\par}"
            "\\pard %s\\par "
            "\\pard\\uc1 \\u36523?\\u20221?\\u35777? %s\\par "
            "{\\field{\\*\\fldinst HYPERLINK \"%s\"}{\\fldrslt link}}\\par "
            "{\\*\\shppict{\\pict{\\*\\picprop{\\sp{\\sn shapeType}{\\sv 75}}}\\pngblip %s}}"
            "{\\nonshppict{\\pict\\wmetafile8 0102}}"
            "{\\object\\objemb{\\*\\objclass Package}{\\*\\objdata %s}}"
            "\\par}" % (_rtf_hex("年度计划"), _rtf_hex("联系电话 " + PHONE), _rtf_hex(MARK),
                        ID, URL, png_bytes().hex(),
                        _ole1("Package", _package("secret.txt",
                                                  ("附件 身份证 %s\n" % ID).encode())).hex()))
    return body.encode("ascii")


# ---- HTML and e-mail -----------------------------------------------------------------

def html():
    return ("<!DOCTYPE html><html><head><meta charset=\"gbk\"><title>%s</title>"
            "<meta name=\"keywords\" content=\"密级：机密\"><style>p{color:red}</style>"
            "<script>var x='13900000000';</script></head><body><div>正文第一段</div>"
            "<p>联系人手机 %s</p><p><img src=\"cid:1\" alt=\"身份证 %s\">"
            "<a href=\"%s\">点这里</a></p></body></html>"
            % (MARK, PHONE, ID, URL)).encode("gbk")


def xml_billion_laughs():
    ents = '<!ENTITY lol "lol">' + "".join(
        '<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10)
        for i in range(1, 10))
    return ('<?xml version="1.0"?><!DOCTYPE r [%s]><r><a>&lol9;</a><b>%s</b></r>'
            % (ents, MARK)).encode()


def eml(attach_docx=None):
    import base64
    from email.header import Header
    docx_b64 = base64.encodebytes(attach_docx or full_docx()).decode()
    inner = ("From: x@example.com\r\nTo: y@example.com\r\nSubject: inner\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n\r\n转发的内容 %s\r\n" % MARK)
    subject = Header("关于 %s 的通知" % MARK, "utf-8").encode()
    body_gbk = base64.encodebytes(("请查收，联系电话 %s\n" % PHONE).encode("gbk")).decode()
    html_part = ("<html><body><p>身份证号 %s</p><script>x=1</script></body></html>" % ID)
    return ("From: =?utf-8?b?5byg5LiJ?= <zhang@example.com>\r\n"
            "To: li@example.com\r\nCc: wang@example.com\r\n"
            "Subject: %s\r\nDate: Mon, 1 Jan 2024 10:00:00 +0800\r\n"
            "X-Classification: internal\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B1\"\r\n\r\n"
            "--B1\r\nContent-Type: multipart/alternative; boundary=\"B2\"\r\n\r\n"
            "--B2\r\nContent-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: base64"
            "\r\n\r\n%s\r\n"
            "--B2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n%s\r\n--B2--\r\n"
            "--B1\r\nContent-Type: application/vnd.openxmlformats-officedocument."
            "wordprocessingml.document; name=\"plan.docx\"\r\nContent-Disposition: attachment; "
            "filename=\"plan.docx\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n"
            "--B1\r\nContent-Type: message/rfc822\r\n\r\n%s\r\n"
            "--B1--\r\n" % (subject, body_gbk, html_part, docx_b64, inner)).encode("utf-8")


# ---- OLE compound files --------------------------------------------------------------

def cfb(streams):
    """A version-3 compound file holding `streams` [(name, bytes)] in the root
    storage. Every stream is padded to the 4096-byte mini-stream cutoff so
    that only the FAT is needed."""
    END, FREE, FATSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    data = [(n, d + b"\0" * max(0, 4096 - len(d))) for n, d in streams]
    nsec = lambda n: (n + 511) // 512
    ndir = nsec(128 * (len(data) + 1))
    nstream = sum(nsec(len(d)) for _, d in data)
    nfat = 1
    while nfat * 128 < nfat + ndir + nstream:
        nfat += 1
    fat = [FATSECT] * nfat
    dir_start = len(fat)
    fat += [i + 1 for i in range(dir_start, dir_start + ndir - 1)] + [END]
    starts = []
    for _, d in data:
        s = len(fat)
        starts.append(s)
        k = nsec(len(d))
        fat += [i + 1 for i in range(s, s + k - 1)] + [END]
    fat += [FREE] * (nfat * 128 - len(fat))

    def dirent(name, typ, child, right, start, size):
        nm = name.encode("utf-16-le") + b"\0\0"
        return (nm.ljust(64, b"\0") + struct.pack("<HBBIII", len(nm), typ, 1, FREE, right, child)
                + b"\0" * 16 + b"\0" * 4 + b"\0" * 16 + struct.pack("<III", start, size, 0))
    ents = [dirent("Root Entry", 5, 1 if data else FREE, FREE, END, 0)]
    for i, (n, d) in enumerate(data):
        ents.append(dirent(n, 2, FREE, i + 2 if i + 1 < len(data) else FREE, starts[i], len(d)))
    dirb = b"".join(ents).ljust(ndir * 512, b"\0")
    # unused directory slots must look empty (type 0) with no siblings
    hdr = (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" + b"\0" * 16 + struct.pack(
        "<HHHHH6xIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, 0, nfat, dir_start, 0, 4096, END, 0, END, 0)
        + b"".join(struct.pack("<I", i) for i in range(nfat))
        + struct.pack("<I", FREE) * (109 - nfat))
    body = b"".join(struct.pack("<%dI" % 128, *fat[i * 128:(i + 1) * 128]) for i in range(nfat))
    body += dirb + b"".join(d.ljust(nsec(len(d)) * 512, b"\0") for _, d in data)
    return hdr + body


def summary_info(props):
    """A SummaryInformation property set: [(pid, str)], code page UTF-8."""
    fmtid = bytes.fromhex("E0859FF2F94F6810AB9108002B27B3D9")
    entries = [(1, struct.pack("<IHH", 2, 65001, 0))]
    for pid, s in props:
        b = s.encode("utf-8") + b"\0"
        entries.append((pid, struct.pack("<II", 0x1E, len(b)) + b.ljust((len(b) + 3) // 4 * 4,
                                                                         b"\0")))
    head = 8 + 8 * len(entries)
    offs, body = [], b""
    for pid, v in entries:
        offs.append((pid, head + len(body)))
        body += v
    sect = struct.pack("<II", head + len(body), len(entries)) + b"".join(
        struct.pack("<II", p, o) for p, o in offs) + body
    return (struct.pack("<HHI", 0xFFFE, 0, 0x00020006) + b"\0" * 16 + struct.pack("<I", 1)
            + fmtid + struct.pack("<I", 48) + sect)


def word_doc(text16, text8="", encrypted=False):
    """A Word 97 .doc: a FIB, a 1Table stream with a two-piece table (UTF-16
    piece at 1024, cp1252 piece at 3072), and SummaryInformation."""
    wd = bytearray(4096)
    struct.pack_into("<HH", wd, 0, 0xA5EC, 0x00C1)
    struct.pack_into("<H", wd, 0x0A, 0x0200 | (0x0100 if encrypted else 0))
    struct.pack_into("<H", wd, 32, 14)
    struct.pack_into("<H", wd, 62, 22)
    struct.pack_into("<H", wd, 152, 93)
    t16 = text16.encode("utf-16-le")
    wd[1024:1024 + len(t16)] = t16
    t8 = text8.encode("cp1252")
    wd[3072:3072 + len(t8)] = t8
    n16, n8 = len(text16), len(text8)
    plc = struct.pack("<III", 0, n16, n16 + n8) + struct.pack("<HIH", 0, 1024, 0) + \
        struct.pack("<HIH", 0, (3072 * 2) | 0x40000000, 0)
    clx = b"\x01" + struct.pack("<H", 2) + b"\0\0" + b"\x02" + struct.pack("<I", len(plc)) + plc
    tbl = b"\0" * 16 + clx
    struct.pack_into("<II", wd, 154 + 33 * 8, 16, len(clx))
    return cfb([("WordDocument", bytes(wd)), ("1Table", tbl),
                ("\x05SummaryInformation", summary_info([(2, "机密文件"), (4, "王五"),
                                                         (5, "密级：机密")]))])


def doc():
    return word_doc("关于项目的请示\r%s\r联系电话 %s\r" % (MARK, PHONE),
                    "ID %s\r" % ID)


def doc_encrypted():
    return word_doc("ciphertext", encrypted=True)


def ooxml_encrypted():
    return cfb([("EncryptionInfo", b"\x04\x00\x04\x00\x40\x00\x00\x00" + os.urandom(200)),
                ("EncryptedPackage", struct.pack("<Q", 5000) + os.urandom(5000))])


def ppt():
    def atom(t, d, ver=0):
        return struct.pack("<HHI", ver, t, len(d)) + d
    inner = (atom(0x0FA0, ("汇报 " + MARK).encode("utf-16-le"))
             + atom(0x0FA8, ("phone %s" % PHONE).encode("cp1252")))
    stream = atom(0x03E8, inner, ver=0x0F) + atom(0x1234, b"\0" * 64)
    return cfb([("PowerPoint Document", stream),
                ("\x05SummaryInformation", summary_info([(2, "演示")]))])
