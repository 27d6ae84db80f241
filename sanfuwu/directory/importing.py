"""Import enterprises, households (with their members) and key projects from Excel or CSV.

The whole file is read and validated in Python first; if any row fails, nothing is written and
the report lists every failing row (row number as the user sees it in the sheet, column, why).
Only a clean file is written, in ONE transaction, with ``bulk_create`` / ``bulk_update`` in
batches: no per-row ``save()``, so 300,000 households take minutes, not hours.

Re-importing updates instead of duplicating: enterprises are matched on 统一社会信用代码,
households on 户编号, their members on 身份证号 (or, without one, on name within the
household), projects on 项目编号. An empty cell leaves the stored value as it is; a row only
changes what it fills in (``无`` clears a tag or need-flag set). Nothing is ever deleted.

Each import, applied, rejected or only checked, leaves a ``DirectoryImport`` row: who, when,
which file, the counts and the error report. The columns are documented in docs/import.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from sanfuwu.core import clock
from sanfuwu.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from sanfuwu.orgs.models import GRASSROOTS_KINDS, Grid, Unit, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import user_scope

from . import validators
from .flags import EnterpriseTag, LabelledFlag, NeedFlag
from .models import (
    DirectoryImport,
    Enterprise,
    EnterpriseSize,
    Household,
    ImportKind,
    ImportStatus,
    IndustrySection,
    Project,
    ProjectStage,
    Resident,
)

# the error report kept on the audit row; the command prints every error, the page offers
# them all as a CSV while the file is pending
MAX_STORED_ERRORS = 5000
BATCH = 2000
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
ID_AS_NUMBER_HINT = "（Excel 把身份证号存成了数字，末几位已丢失；请把该列设为文本格式后重新填写）"
CLEAR = "无"  # an explicit empty set of tags / need flags
_SPLIT = re.compile(r"[、,，;；/|\s]+")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]")
_NOT_TABLES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"%PDF", "PDF 文件"),
    (b"\xd0\xcf\x11\xe0", "旧版 Excel（.xls），请另存为 .xlsx 或 CSV"),
    (b"\x1f\x8b", "gzip 压缩文件"),
)

# ---------------------------------------------------------------------------------------------
# columns


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool = False
    help: str = ""
    example: str = ""
    aliases: tuple[str, ...] = ()


ENTERPRISE_COLUMNS = (
    Column("uscc", "统一社会信用代码", True, "18 位，按此匹配已有企业", "91330102000012341X"),
    Column("name", "企业名称", True, "不超过 200 字", "示范精密制造有限公司"),
    Column(
        "industry_section",
        "行业门类",
        help="国民经济行业分类门类：字母 A–T 或名称，如 C 或 制造业",
        example="C",
    ),
    Column("industry", "行业细类", help="自由填写，如 通用设备制造", example="通用设备制造"),
    Column("size", "企业规模", help="大型、中型、小型、微型", example="中型"),
    Column("is_above_scale", "规上企业", help="是 / 否", example="是", aliases=("规上",)),
    Column(
        "tags",
        "企业标签",
        help="用顿号分隔：" + "、".join(EnterpriseTag.by_label()) + "；填“无”清空",
        example="高新技术、专精特新",
    ),
    Column("park", "园区", help="不超过 100 字", example="示范科技园"),
    Column("building", "楼宇", help="不超过 100 字", example="创新大厦"),
    Column("address", "地址", help="不超过 300 字", example="示范区城东街道科技路 1 号"),
    Column("grid", "网格", help="网格编码或名称", example="SFQ-J01-C01-G01"),
    Column("community", "村社", help="村社编码或名称；只填网格时取网格所属村社"),
    Column("contact_name", "联系人", help="不超过 50 字", example="张伟"),
    Column("contact_phone", "联系电话", help="手机、带区号的固话", example="13800001234"),
    Column(
        "contacts",
        "其他联系人",
        help="每人“姓名/职务/电话”，多人用分号分隔",
        example="李娜/财务/13900002222",
    ),
)

HOUSEHOLD_COLUMNS = (
    Column("key", "户编号", True, "每户唯一，按此匹配已有户；同户成员各占一行", "H0001"),
    Column("address", "住址", help="不超过 300 字", example="示范区城东街道幸福里 3 幢 101 室"),
    Column("grid", "网格", help="网格编码或名称", example="SFQ-J01-C01-G01"),
    Column("community", "村社", help="村社编码或名称；只填网格时取网格所属村社"),
    Column("head_name", "户主", help="不填时取与户主关系为“户主”的成员", example="王芳"),
    Column("phone", "户联系电话", help="手机或带区号的固话", example="13800001234"),
    Column(
        "need_flags",
        "需求标识",
        help="用顿号分隔：" + "、".join(NeedFlag.by_label()) + "；同户各行合并；填“无”清空",
        example="老年、独居",
    ),
    Column("name", "姓名", help="成员姓名；整行不填成员时只导入户", example="王芳"),
    Column("id_number", "身份证号", help="18 位（或 15 位旧号），按此匹配已有人员", aliases=()),
    Column("relation", "与户主关系", help="户主、配偶、子女……", example="户主"),
    Column("member_phone", "成员电话", help="手机或带区号的固话", example="13800001234"),
)

PROJECT_COLUMNS = (
    Column("code", "项目编号", True, "每个项目唯一，按此匹配已有项目", "XM2026-001"),
    Column("name", "项目名称", True, "不超过 200 字", "示范区智能制造产业园"),
    Column(
        "stage",
        "阶段",
        help="、".join(str(label) for label in ProjectStage.labels) + "；新项目不填为谋划",
        example="在建",
    ),
    Column("owner_unit", "责任单位", True, "单位编码或名称", "SFQ-B20"),
    Column("site_secretary", "工地书记", help="用户名或姓名（须唯一）", example="jd1_lingdao"),
    Column("address", "地址", help="不超过 300 字", example="示范区青山镇工业路 8 号"),
    Column("community", "村社", help="村社编码或名称"),
    Column("investment", "总投资（万元）", help="数字", example="52000", aliases=("总投资",)),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    ImportKind.ENTERPRISES: ENTERPRISE_COLUMNS,
    ImportKind.HOUSEHOLDS: HOUSEHOLD_COLUMNS,
    ImportKind.PROJECTS: PROJECT_COLUMNS,
}


def _header_names(columns: tuple[Column, ...]) -> dict[str, Column]:
    names = {}
    for c in columns:
        for n in (c.header, c.key, *c.aliases):
            names[_header_text(n)] = c
    return names


def _header_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lstrip("\ufeff")
    return re.sub(r"\s+", "", text.rstrip("*").strip()).lower()


# ---------------------------------------------------------------------------------------------
# the report


@dataclass(frozen=True)
class RowError:
    row: int  # as the user sees it in the sheet; 0 for the file as a whole
    column: str
    message: str

    def __str__(self) -> str:
        where = f"第 {self.row} 行" if self.row else "文件"
        return (
            f"{where} · {self.column}：{self.message}"
            if self.column
            else f"{where}：{self.message}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportReport:
    kind: str
    file_name: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    members_created: int = 0
    members_updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    applied: bool = False
    seconds: float = 0.0
    record: DirectoryImport | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def failing_rows(self) -> int:
        return len({e.row for e in self.errors})


class _Errors:
    """Collects the errors of one file; a row may fail on several columns."""

    def __init__(self, columns: tuple[Column, ...]):
        self.labels = {c.key: c.header for c in columns}
        self.items: list[RowError] = []

    def add(self, row: int, key: str, message: str) -> None:
        self.items.append(RowError(row, self.labels.get(key, key), message))


# ---------------------------------------------------------------------------------------------
# reading the file


class _Number(str):
    """The text of a cell Excel stored as a number (an ID number there has lost digits)."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return _Number(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if _CONTROL_CHARS.search(text):
        text = _CONTROL_CHARS.sub("", text)
    return text.strip()


def _file_error(name: str, why: str) -> InvalidInput:
    return InvalidInput(_("%(name)s 无法读取：%(why)s") % {"name": name or "文件", "why": why})


def _xlsx_rows(data: bytes, name: str) -> Iterator[tuple[Any, ...]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a zip that is no workbook, or a broken one
        raise _file_error(name, f"不是有效的 .xlsx 工作簿（{exc}）") from None
    try:
        if not wb.worksheets:
            raise _file_error(name, "工作簿中没有工作表")
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # some writers claim A1:XFD1048576; read what is there
        yield from ws.iter_rows(values_only=True)
    finally:
        wb.close()


def _csv_rows(data: bytes, name: str) -> Iterator[list[str]]:
    if b"\x00" in data[:65536]:
        raise _file_error(name, "含有二进制内容，不是 CSV 或 .xlsx")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _file_error(name, "既不是 UTF-8 也不是 GB18030 编码的文本")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count) if first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as exc:
        raise _file_error(name, f"CSV 第 {reader.line_num} 行无法解析：{exc}") from None


def read_rows(data: bytes, *, name: str = "") -> Iterator[tuple[int, list[str]]]:
    """(row number in the sheet, cell texts) of the non-blank rows of a CSV or .xlsx file,
    recognised by its content, not by its extension. Streams: nothing is held but a row."""
    if not data.strip():
        raise _file_error(name, "空文件")
    if data[:4] == b"PK\x03\x04":
        raw: Iterable[Iterable[Any]] = _xlsx_rows(data, name)
    else:
        for magic, what in _NOT_TABLES:
            if data.startswith(magic):
                raise _file_error(name, what)
        raw = _csv_rows(data, name)
    number = 0
    try:
        for number, row in enumerate(raw, start=1):
            cells = [_cell(v) for v in row]
            if any(cells):
                yield number, cells
    except InvalidInput:
        raise
    except Exception as exc:  # a workbook broken half-way (truncated zip, bad XML)
        raise _file_error(name, f"第 {number + 1} 行附近内容损坏（{exc}）") from None


def _records(
    numbered: Iterable[tuple[int, list[str]]], columns: tuple[Column, ...], errors: _Errors
) -> tuple[Iterator[tuple[int, dict[str, str]]], list[str]]:
    """Map the header (the first non-blank row) onto columns; then yield (row, values)."""
    it = iter(numbered)
    first = next(it, None)
    if first is None:
        raise InvalidInput(_("文件中没有数据"), field="file")
    _row, header = first
    names = _header_names(columns)
    index: list[tuple[int, str]] = []
    seen: dict[str, list[int]] = {}
    ignored = []
    for i, text in enumerate(header):
        col = names.get(_header_text(text)) if text else None
        if col is None:
            if text:
                ignored.append(text)
            continue
        seen.setdefault(col.key, []).append(i + 1)
        index.append((i, col.key))
    repeated = [
        f"{errors.labels[k]}（第 {'、'.join(map(str, c))} 列）"
        for k, c in seen.items()
        if len(c) > 1
    ]
    if repeated:
        raise InvalidInput(_("列重复：%(cols)s") % {"cols": "；".join(repeated)}, field="file")
    missing = [c.header for c in columns if c.required and c.key not in seen]
    if missing:
        raise InvalidInput(
            _("缺少必需的列：%(cols)s（表头须在第一行，列名见模板）")
            % {"cols": "、".join(missing)},
            field="file",
        )

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for number, cells in it:
            n = len(cells)
            yield number, {key: cells[i] if i < n else "" for i, key in index}

    return rows(), ignored


# ---------------------------------------------------------------------------------------------
# value parsers: each returns the value or raises ValueError with the Chinese reason


def _text(value: str, max_length: int) -> str:
    if len(value) > max_length:
        raise ValueError(f"不能超过 {max_length} 个字（当前 {len(value)} 个）")
    return value


def _validated(fn: Callable[[str], str], value: str) -> str:
    try:
        return fn(value)
    except ValidationError as exc:
        raise ValueError("；".join(exc.messages)) from None


def _choice(value: str, choices: type[models.TextChoices], what: str) -> str:
    text = value.strip()
    for code, label in choices.choices:
        if text in (str(label), code) or text.lower() == code:
            return str(code)
    allowed = "、".join(str(label) for label in choices.labels)
    raise ValueError(f"未知的{what}“{value}”，可选：{allowed}")


def _industry_section(value: str) -> str:
    text = value.strip().upper()
    m = re.match(r"^([A-T])(?:\b|[\s\-—、.．:：]|$)", text)
    if m and (len(text) == 1 or not text[1:2].isalpha() or not text[1:2].isascii()):
        return m.group(1)
    names = {str(label): code for code, label in IndustrySection.choices}
    if value.strip() in names:
        return names[value.strip()]
    raise ValueError(f"未知的行业门类“{value}”，请填字母 A–T 或门类名称（如 C 或 制造业）")


_TRUE = {"是", "y", "yes", "true", "1", "规上", "√"}
_FALSE = {"否", "n", "no", "false", "0", "规下", "×"}


def _yes_no(value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"“{value}”应填 是 或 否")


def _flags(value: str, flag: type[LabelledFlag], what: str) -> int:
    text = value.strip()
    if text == CLEAR:
        return 0
    labels = flag.by_label()
    bits = 0
    unknown = []
    for part in _SPLIT.split(text):
        if not part:
            continue
        if part in labels:
            bits |= int(labels[part])
        else:
            unknown.append(part)
    if unknown:
        raise ValueError(
            f"未知的{what}“{'、'.join(unknown)}”，可选：{'、'.join(labels)}；填“{CLEAR}”清空"
        )
    return bits


def _contacts(value: str) -> list[dict[str, str]]:
    out = []
    for entry in re.split(r"[;；\n]+", value):
        parts = [p.strip() for p in re.split(r"[/／|]", entry) if p.strip()]
        if not parts:
            continue
        person: dict[str, str] = {"name": "", "role": "", "phone": ""}
        words = []
        for p in parts:
            try:
                person["phone"] = validators.validate_mobile_or_phone(p)
            except ValidationError:
                words.append(p)
        if not words:
            raise ValueError(f"“{entry.strip()}”缺少姓名")
        person["name"] = _text(words[0], 50)
        person["role"] = _text("、".join(words[1:]), 50)
        out.append(person)
    return out


def _decimal(value: str) -> Decimal:
    try:
        number = Decimal(value.replace(",", "").replace("，", "").strip())
    except InvalidOperation:
        raise ValueError(f"“{value}”不是数字") from None
    if not number.is_finite() or number < 0 or number >= Decimal(10) ** 12:
        raise ValueError(f"“{value}”应为 0 到 1 万亿之间的数字")
    return number.quantize(Decimal("0.01"))


class _Places:
    """Grids, 村社, units and users as a sheet names them, each distinct value resolved once."""

    def __init__(self) -> None:
        self._grids: dict[str, tuple[int, int] | str] = {}
        self._communities: dict[str, int | str] = {}
        self._units: dict[str, int | str] = {}
        self._users: dict[str, int | str] = {}

    @staticmethod
    def _one(found: list[Any], value: str, what: str) -> Any:
        if len(found) == 1:
            return found[0]
        if found:
            return f"{what}“{value}”重名，请填写编码"
        return f"未知的{what}“{value}”"

    def _resolve(
        self, cache: dict[str, Any], value: str, what: str, qs: QuerySet, key: str, name: str, *cols
    ) -> Any:
        """One row by its code (key) first, else by its name; each distinct value read once."""
        if value not in cache:
            found = list(qs.filter(**{key: value}).values_list(*cols, flat=len(cols) == 1))
            if not found:
                found = list(qs.filter(**{name: value}).values_list(*cols, flat=len(cols) == 1)[:2])
            cache[value] = self._one(found, value, what)
        return _or_raise(cache[value])

    def grid(self, value: str) -> tuple[int, int]:
        """(grid id, its 村社 id)."""
        return self._resolve(
            self._grids, value, "网格", Grid.objects.all(), "code", "name", "pk", "community_id"
        )

    def community(self, value: str) -> int:
        qs = Unit.objects.filter(kind__in=GRASSROOTS_KINDS, is_active=True)
        return self._resolve(self._communities, value, "村社", qs, "code", "name", "pk")

    def unit(self, value: str) -> int:
        qs = Unit.objects.filter(is_active=True)
        return self._resolve(self._units, value, "单位", qs, "code", "name", "pk")

    def user(self, value: str) -> int:
        qs = User.objects.filter(is_active=True)
        return self._resolve(self._users, value, "用户", qs, "username", "display_name", "pk")

    def place(self, values: dict[str, str], errors: _Errors, row: int) -> dict[str, int]:
        """grid_id and community_id from the 网格 / 村社 cells; a grid implies its 村社."""
        out: dict[str, int] = {}
        grid, community = values.get("grid", ""), values.get("community", "")
        grid_community = None
        if grid:
            try:
                out["grid_id"], grid_community = self.grid(grid)
            except ValueError as exc:
                errors.add(row, "grid", str(exc))
        if community:
            try:
                out["community_id"] = self.community(community)
            except ValueError as exc:
                errors.add(row, "community", str(exc))
                return out
            if grid_community is not None and grid_community != out["community_id"]:
                errors.add(row, "community", f"网格“{grid}”不属于村社“{community}”")
        elif grid_community is not None:
            out["community_id"] = grid_community
        return out


def _or_raise(found: Any) -> Any:
    if isinstance(found, str):
        raise ValueError(found)
    return found


def _parse(
    values: dict[str, str],
    row: int,
    errors: _Errors,
    parsers: dict[str, Callable[[str], Any]],
    out: dict[str, Any],
) -> None:
    """Run the parser of each filled-in column; an empty cell sets nothing."""
    for key, parse in parsers.items():
        raw = values.get(key, "")
        if not raw:
            continue
        try:
            out[key] = parse(raw)
        except ValueError as exc:
            message = str(exc)
            if key == "id_number" and isinstance(raw, _Number):
                message += ID_AS_NUMBER_HINT
            errors.add(row, key, message)


def _required(values: dict[str, str], row: int, errors: _Errors, keys: Iterable[str]) -> bool:
    ok = True
    for key in keys:
        if not values.get(key):
            errors.add(row, key, "必填，不能为空")
            ok = False
    return ok


# ---------------------------------------------------------------------------------------------
# checking each kind: rows → normalised records (field name → value), keyed for matching

ENTERPRISE_PARSERS: dict[str, Callable[[str], Any]] = {
    "name": lambda v: _text(v, 200),
    "industry_section": _industry_section,
    "industry": lambda v: _text(v, 100),
    "size": lambda v: _choice(v, EnterpriseSize, "企业规模"),
    "is_above_scale": _yes_no,
    "tags": lambda v: _flags(v, EnterpriseTag, "企业标签"),
    "park": lambda v: _text(v, 100),
    "building": lambda v: _text(v, 100),
    "address": lambda v: _text(v, 300),
    "contact_name": lambda v: _text(v, 50),
    "contact_phone": lambda v: _validated(validators.validate_mobile_or_phone, v),
    "contacts": _contacts,
}


def _check_enterprises(
    rows: Iterable[tuple[int, dict[str, str]]], errors: _Errors
) -> tuple[dict[str, dict[str, Any]], int]:
    places = _Places()
    records: dict[str, dict[str, Any]] = {}
    first_row: dict[str, int] = {}
    count = 0
    for row, values in rows:
        count += 1
        _required(values, row, errors, ("uscc", "name"))
        rec: dict[str, Any] = {}
        _parse(values, row, errors, ENTERPRISE_PARSERS, rec)
        rec.update(places.place(values, errors, row))
        if not values.get("uscc"):
            continue
        try:
            uscc = validators.validate_uscc(values["uscc"])
        except ValidationError as exc:
            errors.add(row, "uscc", "；".join(exc.messages))
            continue
        if uscc in first_row:
            errors.add(row, "uscc", f"与第 {first_row[uscc]} 行重复")
            continue
        first_row[uscc] = row
        records[uscc] = rec
    return records, count


PROJECT_PARSERS: dict[str, Callable[[str], Any]] = {
    "name": lambda v: _text(v, 200),
    "stage": lambda v: _choice(v, ProjectStage, "阶段"),
    "address": lambda v: _text(v, 300),
    "investment": _decimal,
}


def _check_projects(
    rows: Iterable[tuple[int, dict[str, str]]], errors: _Errors
) -> tuple[dict[str, dict[str, Any]], int]:
    places = _Places()
    records: dict[str, dict[str, Any]] = {}
    first_row: dict[str, int] = {}
    count = 0
    for row, values in rows:
        count += 1
        _required(values, row, errors, ("code", "name", "owner_unit"))
        rec: dict[str, Any] = {}
        _parse(values, row, errors, PROJECT_PARSERS, rec)
        for key, attname, resolve in (
            ("owner_unit", "owner_unit_id", places.unit),
            ("site_secretary", "site_secretary_id", places.user),
            ("community", "community_id", places.community),
        ):
            if values.get(key):
                try:
                    rec[attname] = resolve(values[key])
                except ValueError as exc:
                    errors.add(row, key, str(exc))
        code = values.get("code", "")
        if not code:
            continue
        if len(code) > 40:
            errors.add(row, "code", "不能超过 40 个字符")
            continue
        if code in first_row:
            errors.add(row, "code", f"与第 {first_row[code]} 行重复")
            continue
        first_row[code] = row
        records[code] = rec
    return records, count


HOUSEHOLD_FIELDS = ("address", "head_name", "phone", "grid_id", "community_id")
HOUSEHOLD_PARSERS: dict[str, Callable[[str], Any]] = {
    "address": lambda v: _text(v, 300),
    "head_name": lambda v: _text(v, 50),
    "phone": lambda v: _validated(validators.validate_mobile_or_phone, v),
    "need_flags": lambda v: _flags(v, NeedFlag, "需求标识"),
}
MEMBER_PARSERS: dict[str, Callable[[str], Any]] = {
    "name": lambda v: _text(v, 50),
    "id_number": lambda v: _validated(validators.validate_id_number, v),
    "relation": lambda v: _text(v, 20),
    "member_phone": lambda v: _validated(validators.validate_mobile_or_phone, v),
}
HEAD_RELATIONS = frozenset({"户主", "本人"})


@dataclass(slots=True)
class _Household:
    row: int
    fields: dict[str, Any]
    # (row, name, id_number or "", relation, phone)
    members: list[tuple[int, str, str, str, str]]


def _check_households(
    rows: Iterable[tuple[int, dict[str, str]]], errors: _Errors
) -> tuple[dict[str, _Household], int]:
    places = _Places()
    households: dict[str, _Household] = {}
    id_rows: dict[str, int] = {}
    count = 0
    for row, values in rows:
        count += 1
        key = values.get("key", "")
        if not key:
            errors.add(row, "key", "必填，不能为空")
        elif len(key) > 40:
            errors.add(row, "key", "不能超过 40 个字符")
            key = ""
        hh: dict[str, Any] = {}
        _parse(values, row, errors, HOUSEHOLD_PARSERS, hh)
        hh.update(places.place(values, errors, row))
        member: dict[str, Any] = {}
        _parse(values, row, errors, MEMBER_PARSERS, member)
        number = member.get("id_number", "")
        if number:
            if number in id_rows:
                errors.add(row, "id_number", f"与第 {id_rows[number]} 行重复")
            else:
                id_rows[number] = row
        if not member.get("name") and any(values.get(k) for k in MEMBER_PARSERS):
            errors.add(row, "name", "填写了成员信息，但没有姓名")
        if not key:
            continue
        found = households.get(key)
        if found is None:
            found = households[key] = _Household(row, {}, [])
        # household cells may repeat on every member's row, but must agree
        for name, value in hh.items():
            if name == "need_flags":  # flags are per person in most sheets: the household has all
                found.fields[name] = found.fields.get(name, 0) | value
            elif name not in found.fields:
                found.fields[name] = value
            elif found.fields[name] != value:
                column = {"grid_id": "grid", "community_id": "community"}.get(name, name)
                errors.add(row, column, f"与同一户编号第 {found.row} 行填写的不一致")
        if member.get("name"):
            found.members.append(
                (
                    row,
                    member["name"],
                    number,
                    member.get("relation", ""),
                    member.get("member_phone", ""),
                )
            )
    for hh_rec in households.values():
        if "head_name" not in hh_rec.fields:
            head = next((m[1] for m in hh_rec.members if m[3] in HEAD_RELATIONS), None)
            if head:
                hh_rec.fields["head_name"] = head
    return households, count


# ---------------------------------------------------------------------------------------------
# writing: match on the stable key, create the new, update the changed, in batches


def _chunk_size() -> int:
    # SQLite allows 999 parameters per statement in old builds; PostgreSQL many more
    return 900 if connection.vendor == "sqlite" else 10_000


def _existing(
    model: type[models.Model], key_field: str, keys: list[Any], fields: Iterable[str]
) -> dict[Any, tuple[int, dict[str, Any]]]:
    """key → (pk, current values of `fields`), for the keys already stored."""
    names = list(fields)
    out: dict[Any, tuple[int, dict[str, Any]]] = {}
    step = _chunk_size()
    for i in range(0, len(keys), step):
        chunk = keys[i : i + step]
        for row in model._default_manager.filter(**{f"{key_field}__in": chunk}).values_list(
            key_field, "pk", *names
        ):
            out[row[0]] = (row[1], dict(zip(names, row[2:], strict=True)))
    return out


@dataclass
class _Upserted:
    created: int
    updated: int
    pks: dict[Any, int]


def _upsert(
    model: type[models.Model],
    key_field: str,
    records: dict[Any, dict[str, Any]],
    fields: tuple[str, ...],
    *,
    now: datetime,
) -> _Upserted:
    """Create the records whose key is new, update those whose given values differ.

    Only the fields a record carries are compared and changed (an empty cell set nothing).
    Works through the keys a chunk at a time (one lookup, one insert, one update per chunk),
    so memory holds one chunk of model instances, never 300,000.
    """
    has_updated_at = any(f.name == "updated_at" for f in model._meta.concrete_fields)
    update_fields = list(fields) + (["updated_at"] if has_updated_at else [])
    manager = model._default_manager
    returns_pks = connection.features.can_return_rows_from_bulk_insert
    keys = list(records)
    done = _Upserted(0, 0, {})
    step = min(_chunk_size(), BATCH)
    for i in range(0, len(keys), step):
        chunk = keys[i : i + step]
        existing = _existing(model, key_field, chunk, fields)
        to_create, to_update = [], []
        for key in chunk:
            rec = records[key]
            found = existing.get(key)
            if found is None:
                values = {**rec, key_field: key, "created_at": now}
                if has_updated_at:
                    values["updated_at"] = now
                to_create.append(model(**values))
                continue
            pk, current = found
            done.pks[key] = pk
            if all(current.get(f) == v for f, v in rec.items()):
                continue
            obj = model(pk=pk, **{**current, **rec})
            if has_updated_at:
                obj.updated_at = now  # type: ignore[attr-defined]
            to_update.append(obj)
        if to_create:
            manager.bulk_create(to_create)
            if returns_pks:
                done.pks.update((getattr(o, key_field), o.pk) for o in to_create)
            else:
                created_keys = [getattr(o, key_field) for o in to_create]
                found_now = _existing(model, key_field, created_keys, ())
                done.pks.update((k, v[0]) for k, v in found_now.items())
        if to_update:
            manager.bulk_update(to_update, update_fields)
        done.created += len(to_create)
        done.updated += len(to_update)
    return done


ENTERPRISE_FIELDS = (
    "name",
    "industry_section",
    "industry",
    "size",
    "is_above_scale",
    "tags",
    "park",
    "building",
    "address",
    "contact_name",
    "contact_phone",
    "contacts",
    "grid_id",
    "community_id",
)
PROJECT_FIELDS = (
    "name",
    "stage",
    "owner_unit_id",
    "site_secretary_id",
    "address",
    "community_id",
    "investment",
)
MEMBER_FIELDS = ("name", "phone", "household_id", "relation", "address", "grid_id")


def _write_enterprises(
    records: dict[str, dict[str, Any]], report: ImportReport, now: datetime
) -> None:
    done = _upsert(Enterprise, "uscc", records, ENTERPRISE_FIELDS, now=now)
    report.created, report.updated = done.created, done.updated


def _write_projects(
    records: dict[str, dict[str, Any]], report: ImportReport, now: datetime
) -> None:
    done = _upsert(Project, "code", records, PROJECT_FIELDS, now=now)
    report.created, report.updated = done.created, done.updated


def _write_households(
    households: dict[str, _Household], report: ImportReport, now: datetime
) -> None:
    records = {key: hh.fields for key, hh in households.items()}
    done = _upsert(Household, "key", records, (*HOUSEHOLD_FIELDS, "need_flags"), now=now)
    report.created, report.updated = done.created, done.updated
    # members: by 身份证号, or without one by name within their household
    with_id: dict[str, dict[str, Any]] = {}
    without_id: dict[tuple[int, str], dict[str, Any]] = {}
    for key, hh in households.items():
        hh_id = done.pks[key]
        for _row, name, number, relation, phone in hh.members:
            rec: dict[str, Any] = {"name": name, "household_id": hh_id}
            if relation:
                rec["relation"] = relation
            if phone:
                rec["phone"] = phone
            # members live at their household: its address and grid when the sheet gives them
            for f in ("address", "grid_id"):
                if f in hh.fields:
                    rec[f] = hh.fields[f]
            if number:
                with_id[number] = rec
            else:
                without_id[(hh_id, name)] = rec
    members = _upsert(Resident, "id_number", with_id, MEMBER_FIELDS, now=now)
    created, updated = members.created, members.updated
    if without_id:
        created_more, updated_more = _write_members_without_id(without_id, now)
        created, updated = created + created_more, updated + updated_more
    report.members_created, report.members_updated = created, updated


def _write_members_without_id(
    records: dict[tuple[int, str], dict[str, Any]], now: datetime
) -> tuple[int, int]:
    hh_ids = sorted({hh_id for hh_id, _name in records})
    existing: dict[tuple[int, str], tuple[int, dict[str, Any]]] = {}
    step = _chunk_size()
    for i in range(0, len(hh_ids), step):
        qs = Resident.objects.filter(household_id__in=hh_ids[i : i + step], id_number__isnull=True)
        for row in qs.order_by("pk").values_list("household_id", "name", "pk", *MEMBER_FIELDS):
            existing.setdefault(
                (row[0], row[1]), (row[2], dict(zip(MEMBER_FIELDS, row[3:], strict=True)))
            )
    to_create, to_update = [], []
    for key, rec in records.items():
        found = existing.get(key)
        if found is None:
            to_create.append(Resident(**rec, created_at=now))
        elif any(found[1].get(f) != v for f, v in rec.items()):
            to_update.append(Resident(pk=found[0], **{**found[1], **rec}))
    Resident.objects.bulk_create(to_create, batch_size=BATCH)
    Resident.objects.bulk_update(to_update, list(MEMBER_FIELDS), batch_size=BATCH // 2)
    return len(to_create), len(to_update)


# ---------------------------------------------------------------------------------------------
# the service


def may_import_directory(user: User | None) -> bool:
    """Administrators and the district's dispatchers (区三服务办) load the directory."""
    scope = user_scope(user)
    if scope.is_admin:
        return True
    # the district is the root of the unit tree: no query needed
    return any(len(p) == Unit.steplen for p in scope.paths([Role.DISPATCHER]))


def check_directory_importer(user: User | None) -> None:
    if user is None or not user.is_active or not may_import_directory(user):
        raise Forbidden(_("只有管理员或区级派单员可以导入名录"))


CHECKERS: dict[str, Callable[[Iterable[tuple[int, dict[str, str]]], _Errors], tuple[Any, int]]] = {
    ImportKind.ENTERPRISES: _check_enterprises,
    ImportKind.HOUSEHOLDS: _check_households,
    ImportKind.PROJECTS: _check_projects,
}
WRITERS: dict[str, Callable[[Any, ImportReport, datetime], None]] = {
    ImportKind.ENTERPRISES: _write_enterprises,
    ImportKind.HOUSEHOLDS: _write_households,
    ImportKind.PROJECTS: _write_projects,
}


def _check_kind(kind: str) -> str:
    if kind not in ImportKind.values:
        allowed = "、".join(f"{v}（{label}）" for v, label in ImportKind.choices)
        raise InvalidInput(
            _("未知的导入类型：%(kind)s，可选：%(allowed)s") % {"kind": kind, "allowed": allowed},
            field="kind",
        )
    return kind


def directory_import(
    *,
    by: User,
    kind: str,
    data: bytes,
    file_name: str,
    dry_run: bool = False,
    keep_pending: Callable[[DirectoryImport], str] | None = None,
) -> ImportReport:
    """导入名录 — load enterprises, households or projects from a CSV / .xlsx file.

    All rows or none: every row is checked first; with any error nothing is written and the
    report lists them all. ``dry_run`` only checks. The attempt is audited either way.
    ``keep_pending`` (the page's) stores a clean checked file for a later confirmation and
    returns where.
    """
    check_directory_importer(by)
    kind = _check_kind(kind)
    return _run(
        by=by,
        kind=kind,
        file_name=file_name,
        dry_run=dry_run,
        sha256=hashlib.sha256(data).hexdigest(),
        table=lambda: read_rows(data, name=file_name),
        keep_pending=keep_pending,
    )


def directory_import_rows(
    *, by: User, kind: str, rows: Iterable[dict[str, str]], file_name: str, dry_run: bool = False
) -> ImportReport:
    """The same import for rows already in memory (the demo builder), keyed by Chinese header;
    row numbers in the report count the header as row 1."""
    check_directory_importer(by)
    kind = _check_kind(kind)
    rows = list(rows)
    headers = list(dict.fromkeys(h for r in rows for h in r))

    def table() -> Iterator[tuple[int, list[str]]]:
        yield 1, headers
        for i, r in enumerate(rows, start=2):
            yield i, [str(r.get(h, "") or "") for h in headers]

    return _run(by=by, kind=kind, file_name=file_name, dry_run=dry_run, sha256="", table=table)


def _run(
    *,
    by: User,
    kind: str,
    file_name: str,
    dry_run: bool,
    sha256: str,
    table: Callable[[], Iterable[tuple[int, list[str]]]],
    keep_pending: Callable[[DirectoryImport], str] | None = None,
) -> ImportReport:
    started = time.monotonic()
    file_name = (file_name or "").strip()[-255:] or "未命名"
    columns = COLUMNS[kind]
    report = ImportReport(kind=kind, file_name=file_name)
    errors = _Errors(columns)
    try:
        rows, report.ignored_columns = _records(table(), columns, errors)
        checked, report.rows = CHECKERS[kind](rows, errors)
        if not report.rows and not errors.items:
            errors.add(0, "", "文件中只有表头，没有数据行")
    except InvalidInput as exc:
        errors.items.append(RowError(0, "", exc.message))
        checked = None
    report.errors = errors.items
    status = (
        ImportStatus.REJECTED
        if report.errors
        else ImportStatus.DRY_RUN
        if dry_run
        else ImportStatus.APPLIED
    )
    now = clock.now()
    with transaction.atomic():
        if status == ImportStatus.APPLIED:
            try:
                with transaction.atomic():
                    WRITERS[kind](checked, report, now)
            except IntegrityError as exc:
                # a concurrent import stored the same key between check and write
                report.errors = [RowError(0, "", f"写入冲突，未写入任何数据，请重试（{exc}）")]
                status = ImportStatus.REJECTED
                report.created = report.updated = report.members_created = (
                    report.members_updated
                ) = 0
        report.applied = status == ImportStatus.APPLIED
        report.seconds = round(time.monotonic() - started, 3)
        report.record = DirectoryImport.objects.create(
            kind=kind,
            file_name=file_name,
            status=status,
            by=by,
            at=now,
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            members_created=report.members_created,
            members_updated=report.members_updated,
            errors=[e.as_dict() for e in report.errors[:MAX_STORED_ERRORS]],
            error_count=len(report.errors),
            seconds=report.seconds,
            sha256=sha256,
        )
        if status == ImportStatus.DRY_RUN and keep_pending is not None:
            report.record.pending_file = keep_pending(report.record)
            report.record.save(update_fields=["pending_file"])
    return report


# ---------------------------------------------------------------------------------------------
# templates and the error report as files


TEXT_COLUMNS = frozenset(
    {"uscc", "id_number", "code", "key", "contact_phone", "phone", "member_phone"}
)


def template_xlsx(kind: str) -> bytes:
    """An empty import sheet with the Chinese header, one example row, and a 说明 sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    columns = COLUMNS[_check_kind(kind)]
    wb = Workbook()
    wb.remove(wb.worksheets[0])
    ws = wb.create_sheet(str(ImportKind(kind).label)[:31])
    ws.append([c.header + ("*" if c.required else "") for c in columns])
    ws.append([c.example for c in columns])
    for i, c in enumerate(columns, start=1):
        ws.cell(row=1, column=i).font = Font(bold=True)
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(12, min(40, len(c.header) * 2 + 6))
        if c.key in TEXT_COLUMNS:
            # text format: Excel would otherwise turn an ID number into 1.1E+17
            for row in ws.iter_rows(min_row=2, max_row=300, min_col=i, max_col=i):
                row[0].number_format = "@"
    notes = wb.create_sheet("说明")
    notes.append(["列名", "必填", "说明"])
    for c in columns:
        notes.append([c.header, "是" if c.required else "", c.help])
    notes.append([])
    notes.append(["", "", "带 * 的列必填。第二行是示例，导入前请删除。"])
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["C"].width = 80
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def errors_csv(errors: Iterable[RowError | dict[str, Any]]) -> str:
    """The error report as CSV text (UTF-8 with a BOM when written, so Excel reads it)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["行号", "列", "原因"])
    for e in errors:
        d = e.as_dict() if isinstance(e, RowError) else e
        writer.writerow([d["row"] or "", d["column"], d["message"]])
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# the page's two steps: check and keep the file, then confirm

PENDING_HOURS = 24


def pending_dir() -> Path:
    return Path(settings.DATA_DIR) / "directory_imports"


def _keeper(data: bytes) -> Callable[[DirectoryImport], str]:
    def keep(record: DirectoryImport) -> str:
        folder = pending_dir()
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{record.pk}-{secrets.token_hex(8)}.dat"
        (folder / name).write_bytes(data)
        return name

    return keep


def directory_import_check(*, by: User, kind: str, data: bytes, file_name: str) -> ImportReport:
    """Step one on the page: check the whole file; keep a clean one for 确认导入."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            _("文件超过 %(mb)s MB，请用命令 import_directory 导入")
            % {"mb": MAX_UPLOAD_BYTES >> 20},
            field="file",
        )
    _sweep_expired_pending()
    return directory_import(
        by=by, kind=kind, data=data, file_name=file_name, dry_run=True, keep_pending=_keeper(data)
    )


def _sweep_expired_pending() -> None:
    """Checked files never confirmed are dropped after PENDING_HOURS."""
    cutoff = clock.now() - timedelta(hours=PENDING_HOURS)
    for record in DirectoryImport.objects.filter(at__lt=cutoff).exclude(pending_file=""):
        _drop_pending(record)


def pending_import(*, by: User, pk: int) -> DirectoryImport:
    """A checked file of `by`'s still waiting for confirmation."""
    check_directory_importer(by)
    record = DirectoryImport.objects.filter(pk=pk, by=by, status=ImportStatus.DRY_RUN).first()
    if record is None or not record.pending_file:
        raise NotFound(_("没有待确认的导入（可能已确认或已过期），请重新上传"))
    if clock.now() - record.at > timedelta(hours=PENDING_HOURS):
        _drop_pending(record)
        raise NotFound(_("待确认的导入已过期，请重新上传"))
    return record


def _drop_pending(record: DirectoryImport) -> None:
    name = record.pending_file
    if name:
        (pending_dir() / Path(name).name).unlink(missing_ok=True)
        DirectoryImport.objects.filter(pk=record.pk).update(pending_file="")
        record.pending_file = ""


def directory_import_confirm(*, by: User, pk: int) -> ImportReport:
    """Step two: apply the very file that was checked (its SHA-256 is compared)."""
    record = pending_import(by=by, pk=pk)
    path = pending_dir() / Path(record.pending_file).name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        _drop_pending(record)
        raise NotFound(_("待确认的文件已不存在，请重新上传")) from None
    if hashlib.sha256(data).hexdigest() != record.sha256:
        _drop_pending(record)
        raise Conflict(_("待确认的文件已被改动，请重新上传"))
    report = directory_import(by=by, kind=record.kind, data=data, file_name=record.file_name)
    if report.record is not None:
        DirectoryImport.objects.filter(pk=report.record.pk).update(applied_from=record)
    _drop_pending(record)
    return report
