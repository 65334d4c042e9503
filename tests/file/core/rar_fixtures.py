"""RAR 4 and RAR 5 archives built by hand, for the file guard's tests
(tests/file/core/test_core.py) and the archive fuzzer's seeds
(fuzz/gen_core_corpus.py). Deterministic: the bytes that stand for salts and
ciphertext come from a fixed-seed generator.
"""
import random
import struct
import zlib

_rng = random.Random(20261121)


def _noise(n):
    return _rng.randbytes(n)


# RAR fixtures are built by hand: RAR is a proprietary format whose only
# writer (rar/WinRAR) is not free software, no RAR creator is in Debian main,
# and libarchive reads RAR but cannot write it. The layouts follow the
# published format notes (RAR 4.x technote.txt; "RAR 5.0 archive format" on
# rarlab.com) with method store only, so no compressor is needed. libarchive
# checks every header's CRC, so a wrong layout fails the tests, never passes
# them silently.
RAR_TIME = ((2024 - 1980) << 25) | (1 << 21) | (1 << 16)  # 2024-01-01 as a DOS date


def rar4_bytes(members, archive_flags=0):
    """RAR 4.x: marker block, archive header (0x73), one file header (0x74)
    plus stored data per member, end-of-archive block (0x7B). members =
    [(name, data)] or [(name, data, encrypted)]; an encrypted member has the
    password flag 0x04 with a salt (0x400) and random bytes for data.
    archive_flags 0x80 is the archive's own password flag (encrypted headers)."""
    def block(htype, hflags, body):
        # HEAD_CRC: low 16 bits of the CRC32 of the header from HEAD_TYPE on
        rest = struct.pack("<BHH", htype, hflags, 7 + len(body)) + body
        return struct.pack("<H", zlib.crc32(rest) & 0xFFFF) + rest
    out = b"Rar!\x1a\x07\x00" + block(0x73, archive_flags, bytes(6))
    for m in members:
        name, data, encrypted = (m + (False,))[:3]
        data = data.encode() if isinstance(data, str) else data
        nb = name.encode()
        flags = 0x8000  # LONG_BLOCK: PACK_SIZE and data follow the header
        salt = b""
        if encrypted:
            flags |= 0x04 | 0x400
            salt = _noise(8)
            data = _noise(len(data))
        # PACK_SIZE UNP_SIZE HOST_OS(3 Unix) FILE_CRC FTIME UNP_VER(2.0)
        # METHOD(0x30 store) NAME_SIZE ATTR(a Unix mode), name, salt
        body = struct.pack("<IIBIIBBHI", len(data), len(data), 3, zlib.crc32(data), RAR_TIME,
                           20, 0x30, len(nb), 0o100644) + nb + salt
        out += block(0x74, flags, body) + data
    return out + block(0x7B, 0x4000, b"")


def vint(n):
    """RAR 5 variable-length integer: 7 bits a byte, low first."""
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def rar5_bytes(members, archive_encrypted=False):
    """RAR 5.0: signature, main header (type 1), a file header (type 2) with
    its stored data per member, end-of-archive header (type 5). Each header
    is a CRC32, then its size, type, flags and fields as vints; the CRC covers
    the size and what follows it. members = [(name, data)] or [(name, data,
    encrypted)]: an encrypted member's header gets an encryption record (type
    1) in its extra area and `data` stands for its ciphertext, kept as given.
    archive_encrypted starts the archive with an archive encryption header
    (type 4, encrypted headers)."""
    def block(htype, fields, data_size=None, extra=b""):
        flags = (0x01 if extra else 0) | (0x02 if data_size is not None else 0)
        body = vint(htype) + vint(flags)
        if extra:
            body += vint(len(extra))
        if data_size is not None:
            body += vint(data_size)
        body += fields + extra
        rest = vint(len(body)) + body
        return struct.pack("<I", zlib.crc32(rest)) + rest
    # version 0, flags 0, KDF count 15, salt (16 bytes)
    crypt = vint(0) + vint(0) + bytes([15]) + _noise(16)
    out = b"Rar!\x1a\x07\x01\x00"
    if archive_encrypted:
        out += block(4, crypt)
    out += block(1, vint(0))
    for m in members:
        name, data, encrypted = (m + (False,))[:3]
        data = data.encode() if isinstance(data, str) else data
        nb = name.encode()
        # file flags 0x06 (mtime, CRC32 present), size, attributes (a Unix
        # mode), mtime, CRC32, compression info 0 (store), host OS 1 (Unix),
        # name
        fields = (vint(0x06) + vint(len(data)) + vint(0o100644) +
                  struct.pack("<II", 1704067200, zlib.crc32(data)) + vint(0) + vint(1) +
                  vint(len(nb)) + nb)
        extra = b""
        if encrypted:
            # record: size, type 1 (encryption), version, flags, KDF count,
            # salt, IV
            rec = vint(1) + crypt + _noise(16)
            extra = vint(len(rec)) + rec
        out += block(2, fields, len(data), extra) + data
    return out + block(5, vint(0))
