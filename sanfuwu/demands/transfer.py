"""Import demands from CSV / Excel and export the ledger (台账).

Import (:func:`import_demands`): the file is recognised by its content, the header is mapped
(Chinese or English column names), and every row goes through ``services.demand_submit`` —
the very checks every other intake uses — inside one transaction, each row in a savepoint.
If any row fails, the whole transaction is rolled back and the report lists every failing
row with its number as the user sees it in the sheet (header = row 1), the column and the
reason. Nothing is half-imported.

Export (:func:`ledger_rows`, :func:`write_ledger`): the demands a user may see
(``demands_visible_to`` + ``selectors.apply_filters``), with phone numbers and identities
masked by the same rules as the API, streamed in chunks so a million rows never sit in memory.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation

from sanfuwu.api.serialize import CONFIDENTIAL
from sanfuwu.core import clock
from sanfuwu.core.errors import DomainError, InvalidInput
from sanfuwu.core.masking import mask_phone
from sanfuwu.orgs.models import GRASSROOTS_KINDS, Unit, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import user_scope

from . import services
from .access import actors_for, can_see_identity, can_see_numbers, demands_visible_to
from .models import Category, Channel, Demand, Kind
from .selectors import DemandFilters, apply_filters, demand_light
from .tasks import notifications_suppressed
from .workflow import State, state_label

# ---------------------------------------------------------------------------------------------
# import

COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("标题", "title"),
    "body": ("内容", "body"),
    "kind": ("类型", "kind"),
    "channel": ("渠道", "channel"),
    "category": ("分类", "category"),
    "contact_name": ("联系人", "contact_name"),
    "contact_phone": ("联系电话", "contact_phone"),
    "contact_id_number": ("身份证号", "contact_id_number"),
    "address": ("地址", "address"),
    "community": ("村社", "community"),
    "client_key": ("外部编号", "client_key"),
}
REQUIRED = ("title", "body", "kind")
HEADER_NAMES = {name.lower(): key for key, names in COLUMNS.items() for name in names}
MAX_ROWS = 100_000
MAX_BYTES = 50 * 1024 * 1024

NOT_A_TABLE = "不是 CSV 或 Excel 文件"
# what other files people pick by mistake start with
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
    (b"%PDF", "PDF 文件"),
    (b"\xd0\xcf\x11\xe0", "旧版 Excel（.xls）、Word 文档或加密的工作簿，请另存为 .xlsx 或 CSV"),
    (b"\x1f\x8b", "gzip 压缩文件"),
    (b"Rar!", "RAR 压缩文件"),
    (b"7z\xbc\xaf", "7z 压缩文件"),
)
# C0 control characters other than tab / newline / carriage return: never in a real table
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]")
# some systems export an HTML table and call it .xls
MARKUP = re.compile(r"\s*<(!doctype|html|\?xml|table|meta)\b", re.IGNORECASE)
ID_AS_NUMBER_HINT = "（Excel 把身份证号存成了数字，末几位已丢失；请把该列设为文本格式后重新填写）"


@dataclass
class RowError:
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行 · {self.field}：{self.message}"


class ImportFailed(InvalidInput):
    """At least one row is invalid; nothing was written. ``errors`` has one entry per row."""

    def __init__(self, errors: list[RowError]):
        lines = "\n".join(str(e) for e in errors)
        super().__init__(
            f"导入失败，共 {len(errors)} 处错误，未写入任何数据：\n{lines}", field="file"
        )
        self.errors = errors


@dataclass
class ImportResult:
    created: int = 0
    existing: int = 0
    ids: list[int] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


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
        midnight = (value.hour, value.minute, value.second) == (0, 0, 0)
        return value.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return CONTROL_CHARS.sub("", str(value)).strip()


def _not_a_table(name: str, why: str = "") -> InvalidInput:
    return InvalidInput(
        f"{name or '文件'} {NOT_A_TABLE}" + (f"（{why}）" if why else ""), field="file"
    )


def _numbered(rows: Iterable[Iterable[Any]]) -> list[tuple[int, list[str]]]:
    """(row number in the sheet, cells) of the non-blank rows; numbering counts blank rows."""
    out: list[tuple[int, list[str]]] = []
    for number, row in enumerate(rows, start=1):
        cells = [_cell(v) for v in row]
        if any(cells):
            out.append((number, cells))
            if len(out) > MAX_ROWS + 1:
                raise InvalidInput(f"一次最多导入 {MAX_ROWS} 行", field="file")
    return out


def _read_xlsx(data: bytes, name: str) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a zip that is no workbook (docx, plain zip) or a broken one
        raise _not_a_table(name, f"无法作为 .xlsx 工作簿打开：{exc}") from None
    try:
        if not wb.worksheets:
            raise _not_a_table(name, "工作簿中没有工作表")
        ws = wb.worksheets[0]
        # some writers claim A1:XFD1048576; read the rows that are there, not the claim
        ws.reset_dimensions()
        return _numbered(ws.iter_rows(min_row=1, values_only=True))
    finally:
        wb.close()


def _decode(data: bytes) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _read_csv(data: bytes, name: str) -> list[tuple[int, list[str]]]:
    if b"\x00" in data:
        raise _not_a_table(name, "含有二进制内容")
    text = _decode(data)
    if text is None:
        raise _not_a_table(name, "既不是 UTF-8 也不是 GB18030 编码的文本")
    sample = text[:65536]
    if len(CONTROL_CHARS.findall(sample)) > max(2, len(sample) // 100):
        raise _not_a_table(name, "含有二进制内容")
    if MARKUP.match(text):
        raise _not_a_table(name, "这是网页或 XML 文件；请在 Excel 中打开后另存为 .xlsx")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count) if first_line else ","
    if first_line.count(delimiter) == 0:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _numbered(reader)
    except csv.Error as exc:
        raise InvalidInput(f"CSV 第 {reader.line_num} 行无法解析：{exc}", field="file") from None


def read_table(data: bytes, *, name: str = "") -> list[tuple[int, list[str]]]:
    """The non-blank rows of a CSV or .xlsx file, recognised by content (not by extension),
    each with its row number as the user sees it in the sheet."""
    if not data.strip():
        raise InvalidInput(f"{name or '文件'} 是空文件", field="file")
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"文件超过 {MAX_BYTES // 1024 // 1024} MB，请分批导入", field="file")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, name)
    for magic, what in MAGIC:
        if data.startswith(magic):
            raise _not_a_table(name, what)
    return _read_csv(data, name)


def _header_key(text: str) -> str | None:
    h = text.strip().lstrip("\ufeff").rstrip("*＊").strip().lower()
    return HEADER_NAMES.get(h)


@dataclass
class Table:
    rows: list[tuple[int, dict[str, str]]]
    ignored_columns: list[str]


def parse_rows(numbered: list[tuple[int, list[str]]]) -> Table:
    """Map the header (the first non-blank row) to fields; refuse missing or repeated columns."""
    if not numbered:
        raise InvalidInput("文件中没有数据", field="file")
    _, header_cells = numbered[0]
    keys = [_header_key(h) for h in header_cells]
    seen: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if key:
            seen.setdefault(key, []).append(i + 1)
    repeated = [
        f"{COLUMNS[k][0]}（第 {'、'.join(map(str, cols))} 列）"
        for k, cols in seen.items()
        if len(cols) > 1
    ]
    if repeated:
        raise InvalidInput(f"列重复：{'；'.join(repeated)}", field="file")
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in seen]
    if missing:
        raise InvalidInput(f"缺少必需的列：{'、'.join(missing)}", field="file")
    ignored = [h for h, k in zip(header_cells, keys, strict=True) if h and not k]
    rows = []
    for number, cells in numbered[1:]:
        values = {key: (cells[i] if i < len(cells) else "") for i, key in enumerate(keys) if key}
        rows.append((number, values))
    if not rows:
        raise InvalidInput("文件中只有表头，没有数据行", field="file")
    return Table(rows=rows, ignored_columns=ignored)


def _choice(value: str, choices: Any) -> str:
    """A choice given by its label (投诉) or its code (complaint, Complaint)."""
    text = value.strip()
    for code, label in choices.choices:
        if text == str(label) or text.lower() == code:
            return code
    # the labels are translated: a Chinese sheet stays readable from an English session
    with translation.override("zh-hans"):
        for code, label in choices.choices:
            if text == str(label):
                return code
    return text


class _Lookups:
    """Categories and 村社 by what a sheet says, resolved once per distinct value."""

    def __init__(self) -> None:
        self.categories: dict[str, Category | InvalidInput] = {}
        self.communities: dict[str, Unit | InvalidInput] = {}

    def category(self, value: str) -> Category:
        if value not in self.categories:
            self.categories[value] = self._category(value)
        return _or_raise(self.categories[value])

    def community(self, value: str) -> Unit:
        if value not in self.communities:
            self.communities[value] = self._community(value)
        return _or_raise(self.communities[value])

    @staticmethod
    def _category(value: str) -> Category | InvalidInput:
        path = "/".join(p.strip() for p in re.split(r"[/／\\]", value))
        found = Category.objects.filter(path=path).first()
        if found is not None:
            return found  # an inactive one is refused by the service, with its reason
        same_name = list(Category.objects.filter(name=path, is_active=True).order_by("path"))
        if len(same_name) == 1:
            return same_name[0]
        if same_name:
            paths = "、".join(c.path for c in same_name)
            return InvalidInput(f"分类“{value}”不唯一，请写完整路径：{paths}", field="category")
        return InvalidInput(f"未知的分类：{value}（请写完整路径，如“一级/二级”）", field="category")

    @staticmethod
    def _community(value: str) -> Unit | InvalidInput:
        by_code = Unit.objects.filter(code=value).first()
        if by_code is not None:
            return by_code  # not a 村社, or inactive: the service says so
        named = list(
            Unit.objects.filter(name=value, kind__in=GRASSROOTS_KINDS, is_active=True).order_by(
                "code"
            )
        )
        if len(named) == 1:
            return named[0]
        if named:
            codes = "、".join(u.code for u in named)
            return InvalidInput(f"村社“{value}”重名，请填写单位编码：{codes}", field="community")
        return InvalidInput(f"未知的村社：{value}", field="community")


def _or_raise(found: Any) -> Any:
    if isinstance(found, InvalidInput):
        raise InvalidInput(found.message, field=found.field)
    return found


def _submit_kwargs(values: dict[str, str], lookups: _Lookups) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "title": values.get("title", ""),
        "body": values.get("body", ""),
        "kind": _choice(values.get("kind", ""), Kind),
        "channel": _choice(values.get("channel") or Channel.IMPORT, Channel),
    }
    for key in ("contact_name", "contact_phone", "contact_id_number", "address", "client_key"):
        if values.get(key):
            kwargs[key] = values[key]
    if values.get("category"):
        kwargs["category"] = lookups.category(values["category"])
    if values.get("community"):
        kwargs["community"] = lookups.community(values["community"])
    return kwargs


def _column_label(field_name: str | None) -> str:
    if field_name in COLUMNS:
        return COLUMNS[field_name][0]
    return services.label(field_name or "")


def check_importer(by: User, dispatch_unit: Unit | None) -> None:
    scope = user_scope(by)
    if not by.is_active or not (scope.is_admin or scope.has_role(Role.DISPATCHER)):
        raise InvalidInput("只有派单员或管理员可以批量导入", field="user")
    if dispatch_unit is not None and (
        not dispatch_unit.is_active or dispatch_unit.kind not in services.DISPATCHING_KINDS
    ):
        raise InvalidInput(f"“{dispatch_unit.name}”不是派单单位（区或镇街）", field="dispatch_unit")


def import_demands(
    *, data: bytes, name: str, by: User, dispatch_unit: Unit | None = None
) -> ImportResult:
    """可报 in bulk: all rows or none. Raises ImportFailed listing every failing row."""
    check_importer(by, dispatch_unit)
    table = parse_rows(read_table(data, name=name))
    source = Path(name).name[:100]
    result = ImportResult(ignored_columns=table.ignored_columns)
    errors: list[RowError] = []
    lookups = _Lookups()
    keys_seen: dict[str, int] = {}
    # `submit` is not notified today; should it ever be, one import must not send a message
    # per row
    with notifications_suppressed(), transaction.atomic():
        for number, values in table.rows:
            try:
                kwargs = _submit_kwargs(values, lookups)
                key = kwargs.get("client_key")
                if key is not None:
                    if key in keys_seen:
                        raise InvalidInput(
                            f"外部编号“{key}”与第 {keys_seen[key]} 行重复", field="client_key"
                        )
                    keys_seen[key] = number
                with transaction.atomic():
                    submitted = services.demand_submit(
                        by=by, source=source, dispatch_unit=dispatch_unit, **kwargs
                    )
            except DomainError as exc:
                message = exc.message
                if exc.field == "contact_id_number" and isinstance(
                    values.get("contact_id_number"), _Number
                ):
                    message += ID_AS_NUMBER_HINT
                errors.append(RowError(number, _column_label(exc.field), message))
                continue
            result.ids.append(submitted.demand.pk)
            if submitted.created:
                result.created += 1
            else:
                result.existing += 1
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise ImportFailed(errors)
    return result


# ---------------------------------------------------------------------------------------------
# export

LEDGER_HEADER = (
    "编号",
    "标题",
    "类型",
    "渠道",
    "分类",
    "状态",
    "主办单位",
    "派单单位",
    "受理时间",
    "办理期限",
    "答复时间",
    "办结时间",
    "灯色",
    "联系人",
    "联系电话",
)
LIGHT_LABELS = {"green": "绿", "yellow": "黄", "red": "红"}
LEDGER_FIELDS = (
    "id",
    "title",
    "kind",
    "channel",
    "state",
    "category",
    "category__path",
    "lead_unit",
    "lead_unit__name",
    "dispatch_unit",
    "dispatch_unit__name",
    "dispatch_unit__path",
    "created_at",
    "due_at",
    "warn_at",
    "replied_at",
    "closed_at",
    "contact_name",
    "contact_phone",
    "confidential",
    "submitter",
    "handler",
)
CHUNK = 2000
XLSX_SHEET_ROWS = 1_048_576 - 1  # below the header
XLSX_WIDTHS = (8, 40, 6, 10, 24, 12, 16, 16, 17, 17, 17, 17, 6, 10, 16)


def _code_or_label(value: str, choices: Any, *, field_name: str, what: str) -> str:
    if not value:
        return ""
    code = _choice(value, choices)
    if code not in choices.values:
        allowed = "、".join(f"{c}（{lbl}）" for c, lbl in choices.choices)
        raise InvalidInput(f"未知的{what}：{value}，可选：{allowed}", field=field_name)
    return code


def ledger_filters(
    *,
    state: Iterable[str] = (),
    unit: str | None = None,
    category: str | None = None,
    kind: str = "",
    channel: str = "",
    light: str = "",
    created_from: date | None = None,
    created_to: date | None = None,
) -> DemandFilters:
    """Filters as a person types them: codes or Chinese labels, unit codes, category paths."""
    states = [s.strip() for raw in state for s in re.split(r"[,，]", raw) if s.strip()]
    unit_id = None
    if unit:
        found = Unit.objects.filter(code=unit).first()
        if found is None and unit.isdigit():
            found = Unit.objects.filter(pk=int(unit)).first()
        if found is None:
            raise InvalidInput(f"未知的单位：{unit}", field="unit")
        unit_id = found.pk
    category_id = None
    if category:
        cat = Category.objects.filter(path=category.strip()).first()
        if cat is None and category.isdigit():
            cat = Category.objects.filter(pk=int(category)).first()
        if cat is None:
            raise InvalidInput(f"未知的分类：{category}", field="category")
        category_id = cat.pk
    light_code = {"绿": "green", "黄": "yellow", "红": "red"}.get(light.strip(), light.strip())
    if created_from and created_to and created_from > created_to:
        raise InvalidInput("起始日期晚于结束日期", field="from")
    return DemandFilters(
        state=[_choice(s, State) for s in states],
        unit=unit_id,
        category=category_id,
        kind=_code_or_label(kind, Kind, field_name="kind", what="类型"),
        channel=_code_or_label(channel, Channel, field_name="channel", what="渠道"),
        light=light_code,
        created_from=created_from,
        created_to=created_to,
    )


def ledger_queryset(*, user: User | None, filters: DemandFilters) -> QuerySet[Demand]:
    """What `user` may see, filtered; raises InvalidInput for a bad filter right away."""
    return (
        apply_filters(demands_visible_to(user), filters)
        .select_related("category", "lead_unit", "dispatch_unit")
        .only(*LEDGER_FIELDS)
        .order_by("-pk")
    )


def _contact(demand: Demand, user: User | None) -> tuple[str, str]:
    """联系人 and 联系电话 as ``api.serialize.demand_dict`` shows them to `user`."""
    actors = actors_for(user, demand, with_parties=False)
    if not can_see_identity(user, demand, actors):
        return CONFIDENTIAL, ""
    if can_see_numbers(user, demand, actors):
        return demand.contact_name, demand.contact_phone
    return demand.contact_name, mask_phone(demand.contact_phone)


def ledger_rows(*, user: User | None, filters: DemandFilters) -> Iterator[list[Any]]:
    """The ledger rows (LEDGER_HEADER order) `user` may see, masked as for that user, read in
    chunks. The filters are checked before the first row is asked for."""
    qs = ledger_queryset(user=user, filters=filters)
    return _ledger_rows(qs, user)


def _ledger_rows(qs: QuerySet[Demand], user: User | None) -> Iterator[list[Any]]:
    kinds, channels = dict(Kind.choices), dict(Channel.choices)
    tz = timezone.get_current_timezone()
    now = clock.now()

    def when(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""

    for d in qs.iterator(chunk_size=CHUNK):
        name, phone = _contact(d, user)
        yield [
            d.pk,
            d.title,
            str(kinds.get(d.kind, d.kind)),
            str(channels.get(d.channel, d.channel)),
            d.category.path if d.category else "",
            state_label(d.state),
            d.lead_unit.name if d.lead_unit else "",
            d.dispatch_unit.name,
            when(d.created_at),
            when(d.due_at),
            when(d.replied_at),
            when(d.closed_at),
            LIGHT_LABELS.get(demand_light(d, now=now) or "", ""),
            name,
            phone,
        ]


def _csv_safe(value: Any) -> Any:
    """A text Excel would run as a formula (=, +, -, @) is written with a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class TextOut(Protocol):
    def write(self, text: str, /) -> Any: ...


def write_csv(rows: Iterable[list[Any]], out: TextOut) -> int:
    writer = csv.writer(out)
    writer.writerow(LEDGER_HEADER)
    count = 0
    for row in rows:
        writer.writerow([_csv_safe(v) for v in row])
        count += 1
    return count


def write_xlsx(rows: Iterable[list[Any]], out: IO[bytes]) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook(write_only=True)

    def new_sheet(number: int):
        ws = wb.create_sheet("诉求台账" if number == 1 else f"诉求台账（{number}）")
        for letter, width in zip("ABCDEFGHIJKLMNO", XLSX_WIDTHS, strict=True):
            ws.column_dimensions[letter].width = width
        ws.append(list(LEDGER_HEADER))
        return ws

    def cell(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith("="):  # text, never a formula
            c = WriteOnlyCell(ws, value=value)
            c.data_type = "s"
            return c
        return value

    sheets = 1
    ws = new_sheet(sheets)
    count = 0
    for row in rows:
        if count and count % XLSX_SHEET_ROWS == 0:  # a sheet holds 1,048,576 rows at most
            sheets += 1
            ws = new_sheet(sheets)
        ws.append([cell(v) for v in row])
        count += 1
    wb.save(out)
    return count


def write_ledger(rows: Iterable[list[Any]], out: IO[bytes], *, fmt: str) -> int:
    """Write CSV (UTF-8 with BOM, so Excel reads the Chinese) or xlsx to a binary file."""
    if fmt == "csv":
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        try:
            return write_csv(rows, text)
        finally:
            text.flush()
            text.detach()
    if fmt == "xlsx":
        return write_xlsx(rows, out)
    raise InvalidInput(f"未知的导出格式：{fmt}（可选 csv、xlsx）", field="format")
