"""Import demands from CSV / Excel and export the ledger (台账).

An import is validated whole: every row goes through ``services.demand_submit`` inside one
transaction; if any row fails, everything is rolled back and the report lists every
failing row with its number (as the user sees it in the sheet), field and reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from sanfuwu.api.serialize import demand_dict
from sanfuwu.core.errors import InvalidInput
from sanfuwu.orgs.models import GRASSROOTS_KINDS, Unit, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import user_scope

from . import services
from .access import demands_visible_to
from .models import Channel, Kind
from .selectors import DemandFilters, apply_filters

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
HEADER_NAMES = {name: key for key, names in COLUMNS.items() for name in names}
MAX_ROWS = 100_000


@dataclass
class RowError:
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行 · {self.field}：{self.message}"


class ImportFailed(InvalidInput):
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


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(data: bytes, *, name: str = "") -> list[list[str]]:
    """Rows of a CSV or an .xlsx file, recognised by content (not by extension)."""
    if data[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:
            raise InvalidInput(f"无法读取 Excel 文件 {name}：{exc}", field="file") from None
        ws = wb.worksheets[0]
        rows = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
        wb.close()
        return rows
    if b"\x00" in data[:4096]:
        raise InvalidInput(f"{name or '文件'} 不是 CSV 或 Excel 文件", field="file")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput(f"{name or '文件'} 不是 CSV 或 Excel 文件（无法识别编码）", field="file")
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]


def _choice(value: str, choices: Any) -> str:
    by_label = {str(label): v for v, label in choices.choices}
    return by_label.get(value, value)


def _community(value: str) -> Unit | str:
    unit = (
        Unit.objects.filter(code=value).first()
        or Unit.objects.filter(name=value, kind__in=GRASSROOTS_KINDS).first()
    )
    return unit or value


def parse_rows(rows: list[list[str]]) -> list[tuple[int, dict[str, str]]]:
    rows = [r for r in rows if any(c for c in r)] if rows else rows
    if not rows:
        raise InvalidInput("文件为空", field="file")
    header = [HEADER_NAMES.get(h.strip().lstrip("\ufeff"), "") for h in rows[0]]
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in header]
    if missing:
        raise InvalidInput(f"缺少必需的列：{'、'.join(missing)}", field="file")
    if len(rows) - 1 > MAX_ROWS:
        raise InvalidInput(f"一次最多导入 {MAX_ROWS} 行", field="file")
    out = []
    for number, row in enumerate(rows[1:], start=2):
        values = {key: (row[i] if i < len(row) else "") for i, key in enumerate(header) if key}
        out.append((number, values))
    return out


def import_demands(
    *, data: bytes, name: str, by: User, dispatch_unit: Unit | None = None
) -> ImportResult:
    """可报 in bulk: all rows or none."""
    scope = user_scope(by)
    if not (scope.is_admin or scope.has_role(Role.DISPATCHER)):
        raise InvalidInput("只有派单员或管理员可以批量导入", field="user")
    rows = parse_rows(read_table(data, name=name))
    result = ImportResult()
    errors: list[RowError] = []
    with transaction.atomic():
        for number, values in rows:
            kwargs: dict[str, Any] = {k: v for k, v in values.items() if v != "" or k in REQUIRED}
            kwargs["kind"] = _choice(values.get("kind", ""), Kind)
            kwargs["channel"] = _choice(values.get("channel") or Channel.IMPORT, Channel)
            if "community" in kwargs:
                kwargs["community"] = _community(kwargs["community"])
            try:
                with transaction.atomic():
                    submitted = services.demand_submit(
                        by=by,
                        source=Path(name).name[:100],
                        dispatch_unit=dispatch_unit,
                        **kwargs,
                    )
            except InvalidInput as exc:
                label = COLUMNS.get(exc.field or "", (exc.field or "",))[0]
                errors.append(RowError(number, label, exc.message))
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


LEDGER_COLUMNS = [
    ("编号", "id"),
    ("标题", "title"),
    ("类型", "kind"),
    ("渠道", "channel"),
    ("分类", "category"),
    ("状态", "state_label"),
    ("主办单位", "lead_unit"),
    ("派单单位", "dispatch_unit"),
    ("受理时间", "created_at"),
    ("办理期限", "due_at"),
    ("答复时间", "replied_at"),
    ("办结时间", "closed_at"),
    ("灯色", "light"),
    ("联系人", "contact_name"),
    ("联系电话", "contact_phone"),
]
LIGHT_LABELS = {"green": "绿", "yellow": "黄", "red": "红"}


def ledger_rows(*, user: User, filters: DemandFilters) -> Iterator[list[Any]]:
    """The ledger of what `user` may see, masked as for that user, streamed in chunks."""
    kinds, channels = dict(Kind.choices), dict(Channel.choices)
    qs = (
        apply_filters(demands_visible_to(user), filters)
        .select_related("category", "lead_unit", "dispatch_unit")
        .order_by("-pk")
    )
    tz = timezone.get_current_timezone()
    for demand in qs.iterator(chunk_size=2000):
        data = demand_dict(demand, user=user)
        row = []
        for _, key in LEDGER_COLUMNS:
            value = data[key]
            if key == "kind":
                value = kinds.get(value, value)
            elif key == "channel":
                value = channels.get(value, value)
            elif key == "light":
                value = LIGHT_LABELS.get(value or "", "")
            elif hasattr(value, "astimezone"):
                value = value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            row.append("" if value is None else value)
        yield row


def write_ledger(rows: Iterator[list[Any]], out, *, fmt: str) -> int:
    """Write CSV (UTF-8 with BOM, for Excel) or xlsx to a binary file object."""
    header = [c for c, _ in LEDGER_COLUMNS]
    count = 0
    if fmt == "csv":
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
        text.flush()
        text.detach()
        return count
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("诉求台账")
        ws.append(header)
        for row in rows:
            ws.append(row)
            count += 1
        wb.save(out)
        return count
    raise InvalidInput(f"未知的导出格式：{fmt}", field="format")
