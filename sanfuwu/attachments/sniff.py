"""What a file really is, from its bytes: never from its name or the browser's content type.

Accepted: JPEG, PNG, GIF, WebP, HEIC photos; PDF; Word, Excel and PowerPoint files, both
OOXML (a zip whose [Content_Types].xml names the main part) and the legacy OLE2 compound
files (doc/xls/ppt, told apart by their top-level streams). Everything else (executables,
HTML, SVG, which can carry script, archives, macro-enabled Office files) is refused.
"""

from __future__ import annotations

import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext_noop

from .models import NAME_MAX


@dataclass(frozen=True)
class FileType:
    key: str
    content_type: str
    ext: str  # the extension a stored name gets, without the dot
    aliases: frozenset[str]  # extensions a user's name may keep for this type
    label: str
    inline: bool  # shown in the browser (images, PDF); everything else is downloaded


def _ft(key, content_type, ext, label, *, aliases=(), inline=False) -> FileType:
    return FileType(key, content_type, ext, frozenset({ext, *aliases}), label, inline)


JPEG = _ft("jpeg", "image/jpeg", "jpg", "JPEG", aliases=("jpeg", "jpe"), inline=True)
PNG = _ft("png", "image/png", "png", "PNG", inline=True)
GIF = _ft("gif", "image/gif", "gif", "GIF", inline=True)
WEBP = _ft("webp", "image/webp", "webp", "WebP", inline=True)
HEIC = _ft("heic", "image/heic", "heic", "HEIC", aliases=("heif",))
PDF = _ft("pdf", "application/pdf", "pdf", "PDF", inline=True)
DOCX = _ft(
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "docx",
    "Word",
)
XLSX = _ft(
    "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "Excel"
)
PPTX = _ft(
    "pptx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "pptx",
    "PowerPoint",
)
DOC = _ft("doc", "application/msword", "doc", "Word 97-2003")
XLS = _ft("xls", "application/vnd.ms-excel", "xls", "Excel 97-2003")
PPT = _ft("ppt", "application/vnd.ms-powerpoint", "ppt", "PowerPoint 97-2003")

TYPES: tuple[FileType, ...] = (JPEG, PNG, GIF, WEBP, HEIC, PDF, DOCX, XLSX, PPTX, DOC, XLS, PPT)
TYPES_BY_CONTENT_TYPE = {t.content_type: t for t in TYPES}
# for <input accept>: extensions and types, so every browser's picker offers the files
ACCEPT = ",".join(
    [f".{ext}" for t in TYPES for ext in sorted(t.aliases)]
    + sorted({t.content_type for t in TYPES})
)
ALLOWED_LABEL = gettext_noop("JPEG、PNG、GIF、WebP、HEIC 图片，PDF，Word、Excel、PowerPoint 文档")


class Refused(Exception):
    """The file is not acceptable; `reason` (a zh-Hans msgid, translated where it is shown)
    follows the file's name."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


HEAD_BYTES = 16


def sniff(f: IO[bytes]) -> FileType:
    """The type of the file `f` (seekable, read from the start), or raise Refused."""
    f.seek(0)
    head = f.read(HEAD_BYTES)
    f.seek(0)
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS:
        return HEIC
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return _ooxml(f)
    if head.startswith(OLE_MAGIC):
        return _ole(f)
    raise Refused(gettext_noop("的内容不是允许的类型"))


# HEIF with HEVC images (iPhone photos); plain "mif1" may be AVIF, so it is not enough
HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})

# ---------------------------------------------------------------------------------------------
# OOXML: read the zip directory and one small part, never unpack anything else

OOXML_MAIN = {
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
}
MAIN_PARTS = {DOCX: "word/", XLSX: "xl/", PPTX: "ppt/"}
MAX_ZIP_ENTRIES = 10_000
MAX_CONTENT_TYPES = 512 * 1024


def _ooxml(f: IO[bytes]) -> FileType:
    try:
        with zipfile.ZipFile(f) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                raise Refused(gettext_noop("的内容不是允许的类型"))
            names = {i.filename for i in infos}
            if "[Content_Types].xml" not in names:
                raise Refused(gettext_noop("是压缩包，不是允许的类型"))
            info = zf.getinfo("[Content_Types].xml")
            if info.file_size > MAX_CONTENT_TYPES:
                raise Refused(gettext_noop("已损坏或无法识别"))
            with zf.open(info) as part:
                content_types = part.read(MAX_CONTENT_TYPES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError):
        raise Refused(gettext_noop("已损坏或无法识别")) from None
    except (RuntimeError, NotImplementedError):  # encrypted, unknown compression
        raise Refused(gettext_noop("已加密或无法识别")) from None
    finally:
        f.seek(0)
    lowered = {n.lower() for n in names}
    if b"macroEnabled" in content_types or any(n.endswith("vbaproject.bin") for n in lowered):
        raise Refused(gettext_noop("含有宏，不允许上传"))
    found = [kind for marker, kind in OOXML_MAIN.items() if marker in content_types]
    if len(found) != 1:
        raise Refused(gettext_noop("的内容不是允许的类型"))
    kind = found[0]
    if not any(n.startswith(MAIN_PARTS[kind]) for n in names):
        raise Refused(gettext_noop("已损坏或无法识别"))
    return kind


# ---------------------------------------------------------------------------------------------
# OLE2 compound files: walk the directory just far enough to see the top-level streams

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENDOFCHAIN, FREESECT = 0xFFFFFFFE, 0xFFFFFFFF
NOSTREAM = 0xFFFFFFFF
MAX_DIR_SECTORS = 1024
MAX_DIFAT_SECTORS = 256


def _ole(f: IO[bytes]) -> FileType:
    try:
        names = _ole_top_level_names(f)
    except (struct.error, ValueError, OSError):
        raise Refused(gettext_noop("已损坏或无法识别")) from None
    finally:
        f.seek(0)
    if names & {"Macros", "_VBA_PROJECT_CUR", "VBA"}:
        raise Refused(gettext_noop("含有宏，不允许上传"))
    # a document embedding another keeps that one in a sub-storage, not at the top
    if "WordDocument" in names:
        return DOC
    if "PowerPoint Document" in names:
        return PPT
    if names & {"Workbook", "Book"}:
        return XLS
    raise Refused(gettext_noop("的内容不是允许的类型"))


def _ole_top_level_names(f: IO[bytes]) -> set[str]:
    f.seek(0)
    header = f.read(512)
    if len(header) < 512:
        raise ValueError("short header")
    shift = struct.unpack_from("<H", header, 0x1E)[0]
    if shift not in (9, 12):
        raise ValueError("sector size")
    size = 1 << shift
    per_sector = size // 4
    first_dir = struct.unpack_from("<I", header, 0x30)[0]
    difat_next, difat_count = struct.unpack_from("<II", header, 0x44)
    difat = list(struct.unpack_from("<109I", header, 0x4C))
    seen: set[int] = set()
    while difat_next not in (ENDOFCHAIN, FREESECT) and difat_count > 0:
        if difat_next in seen or len(seen) >= MAX_DIFAT_SECTORS:
            raise ValueError("difat loop")
        seen.add(difat_next)
        block = _sector(f, difat_next, size)
        pointers = struct.unpack(f"<{per_sector}I", block)
        difat += pointers[:-1]
        difat_next = pointers[-1]
        difat_count -= 1
    fat_sectors = [s for s in difat if s not in (FREESECT, ENDOFCHAIN)]

    def next_sector(sector: int) -> int:
        index, offset = divmod(sector, per_sector)
        if index >= len(fat_sectors):
            raise ValueError("fat")
        f.seek((fat_sectors[index] + 1) * size + offset * 4)
        data = f.read(4)
        if len(data) < 4:
            raise ValueError("fat")
        return struct.unpack("<I", data)[0]

    entries: list[bytes] = []
    sector, visited = first_dir, set[int]()
    while sector not in (ENDOFCHAIN, FREESECT):
        if sector in visited or len(visited) >= MAX_DIR_SECTORS:
            raise ValueError("directory loop")
        visited.add(sector)
        block = _sector(f, sector, size)
        entries += [block[i : i + 128] for i in range(0, size, 128)]
        sector = next_sector(sector)
    if not entries:
        raise ValueError("no directory")

    def field(i: int, offset: int) -> int:
        return struct.unpack_from("<I", entries[i], offset)[0]

    names: set[str] = set()
    stack, done = [field(0, 76)], set[int]()  # the root entry's child: a tree of siblings
    while stack:
        i = stack.pop()
        if i == NOSTREAM or i in done:
            continue
        if i >= len(entries) or len(done) > len(entries):
            raise ValueError("directory entry")
        done.add(i)
        length = struct.unpack_from("<H", entries[i], 64)[0]
        if 2 <= length <= 64:
            names.add(entries[i][: length - 2].decode("utf-16-le", "replace"))
        stack += [field(i, 68), field(i, 72)]
    return names


def _sector(f: IO[bytes], sector: int, size: int) -> bytes:
    f.seek((sector + 1) * size)
    block = f.read(size)
    if len(block) < size:
        raise ValueError("truncated")
    return block


# ---------------------------------------------------------------------------------------------
# names


def clean_name(raw: str | None) -> str:
    """The name as shown: no folders, no control or invisible characters, at most NAME_MAX."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    # drops control, format (e.g. the right-to-left override of "gpj.exe"), private and
    # unassigned characters
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = " ".join(name.split()).strip(" .")
    return _shorten(name, NAME_MAX)


def name_for(raw: str | None, kind: FileType) -> str:
    """The shown name with the extension of the detected type (photo.png that is a JPEG
    becomes photo.jpg)."""
    name = clean_name(raw)
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = ext.lower()
    if ext not in kind.aliases:
        # an unknown ending is part of the name ("报告.v2"), a known other type's is replaced
        if ext and not any(ext in t.aliases for t in TYPES) and stem:
            stem = f"{stem}.{ext}"
        elif not stem:
            stem = name
        ext = kind.ext
    stem = _shorten(stem.strip(" ."), NAME_MAX - len(ext) - 1) or "附件"
    return f"{stem}.{ext}"


def _shorten(text: str, limit: int) -> str:
    return text[:limit].rstrip(" .")
