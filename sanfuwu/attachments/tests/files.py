"""Real bytes of every kind of file, made here (no fixtures on disk)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    # the browser's content type is deliberately wrong or generic: only the bytes count
    return SimpleUploadedFile(name, data, content_type=content_type)


def png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    # SOI, a JFIF APP0 segment, EOI
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


def gif() -> bytes:
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
        b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def webp() -> bytes:
    vp8l = b"\x2f\x00\x00\x00\x00\x88\x88\x08\x00"  # a 1×1 lossless image
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l + b"\x00"
    return b"RIFF" + struct.pack("<I", len(body)) + body


def heic() -> bytes:
    return b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 32


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


CT_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
)


def _put(zf: zipfile.ZipFile, name: str, data: str | bytes) -> None:
    # a fixed time stamp: the same file built twice is the same bytes (tests compare them)
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def ooxml(main_part: str, main_type: str, extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        _put(
            zf,
            "[Content_Types].xml",
            CT_HEAD + f'<Override PartName="/{main_part}" ContentType="{main_type}"/></Types>',
        )
        _put(
            zf,
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            f'Target="{main_part}"/></Relationships>',
        )
        _put(zf, main_part, "<document/>")
        for name, data in (extra or {}).items():
            _put(zf, name, data)
    return buf.getvalue()


def docx() -> bytes:
    return ooxml(
        "word/document.xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    )


def docm() -> bytes:
    return ooxml(
        "word/document.xml",
        "application/vnd.ms-word.document.macroEnabled.main+xml",
        {"word/vbaProject.bin": b"\x00" * 64},
    )


def pptx() -> bytes:
    return ooxml(
        "ppt/presentation.xml",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
    )


def xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["诉求", "数量"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        _put(zf, "readme.txt", "hello")
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# OLE2 compound files (doc / xls / ppt), 512-byte sectors: header, one FAT sector, one
# directory sector

FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _dir_entry(name: str, kind: int, *, left=NOSTREAM, right=NOSTREAM, child=NOSTREAM) -> bytes:
    raw = name.encode("utf-16-le") + b"\x00\x00"
    entry = raw.ljust(64, b"\x00")
    entry += struct.pack("<HBB", len(raw), kind, 1)
    entry += struct.pack("<III", left, right, child)
    entry += b"\x00" * 16 + b"\x00" * 4 + b"\x00" * 16
    entry += struct.pack("<IQ", END, 0)
    assert len(entry) == 128
    return entry


def ole(entries: list[tuple[str, int, dict]]) -> bytes:
    """entries after the root: (name, 1 storage / 2 stream, links); the root's child is 1."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
    header += struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, END, 0, END, 0)
    header += struct.pack("<109I", 0, *([FREE] * 108))
    assert len(header) == 512
    fat = struct.pack("<128I", FATSECT, END, *([FREE] * 126))
    directory = _dir_entry("Root Entry", 5, child=1)
    for name, kind, links in entries:
        directory += _dir_entry(name, kind, **links)
    directory = directory.ljust(512, b"\x00")
    assert len(directory) == 512, "at most 3 entries after the root"
    return header + fat + directory


def doc() -> bytes:
    # WordDocument with an embedded workbook below ObjectPool: still a Word file
    return ole(
        [
            ("WordDocument", 2, {"right": 2}),
            ("ObjectPool", 1, {"child": 3}),
            ("Workbook", 2, {}),
        ]
    )


def xls() -> bytes:
    return ole(
        [("Workbook", 2, {"right": 2}), ("MBD0001", 1, {"child": 3}), ("WordDocument", 2, {})]
    )


def ppt() -> bytes:
    return ole([("PowerPoint Document", 2, {"right": 2}), ("Current User", 2, {})])


def doc_with_macros() -> bytes:
    return ole([("WordDocument", 2, {"right": 2}), ("Macros", 1, {})])


def msi_like() -> bytes:
    return ole([("SummaryInformation", 2, {})])


def exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"PE\x00\x00"


def html() -> bytes:
    return b"<!doctype html><html><script>alert(document.cookie)</script></html>"


def svg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="4"/></svg>'


def stored_files(root) -> list:
    """The files under the attachment folder `root`."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _ole_loop() -> bytes:
    data = bytearray(ole([("Workbook", 2, {})]))
    # FAT entry 1 (the directory sector) points at itself instead of ENDOFCHAIN
    data[512 + 4 : 512 + 8] = struct.pack("<I", 1)
    return bytes(data)


OLE_LOOP = _ole_loop()
