"""A streaming xlsx writer (openpyxl write-only mode) for ledgers of any shape.

Rows are written as they come, so memory stays flat however long the ledger is; a sheet
that reaches Excel's 1,048,576-row limit continues on a new sheet. Text that Excel would
read as a formula stays text; dates and datetimes are real Excel dates.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import IO, Any

from django.utils import timezone

XLSX_SHEET_ROWS = 1_048_576 - 1  # below the header
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"


@dataclass
class Sheet:
    """One sheet: a Chinese title (≤ 31 characters), the header, column widths and the rows.

    ``percent_columns`` (0-based) hold ratios (0.874) shown as percentages (87.4%)."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: Sequence[int] = ()
    percent_columns: frozenset[int] = field(default_factory=frozenset)
    # rows of this sheet count in the progress and the result (not a cover sheet's)
    counted: bool = True


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def excel_value(value: Any, tz: Any = None) -> Any:
    """Aware datetimes become local naive ones (Excel has no time zones)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(tz or timezone.get_current_timezone())
        return value.replace(tzinfo=None, microsecond=0)
    return value


def write_workbook(
    out: IO[bytes],
    sheets: Sequence[Sheet],
    *,
    progress: Callable[[int], None] | None = None,
    every: int = 1000,
) -> int:
    """Write `sheets` to `out`; call `progress(rows written so far)` every `every` rows.
    Returns the number of data rows written (of the counted sheets)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook(write_only=True)
    tz = timezone.get_current_timezone()

    def _text(ws: Any, value: str) -> Any:
        if not value:
            return None  # no cell at all rather than an empty one
        if ILLEGAL_CHARACTERS_RE.search(value):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith("="):  # text, never a formula
            c = WriteOnlyCell(ws, value=value)
            c.data_type = "s"
            return c
        return value

    def _styled(ws: Any, value: Any, number_format: str) -> Any:
        # the number format set before the value: a datetime bound first would look up
        # openpyxl's default date format only to replace it
        c = WriteOnlyCell(ws)
        c.number_format = number_format
        c.value = value
        return c

    count = 0
    for sheet in sheets:
        part = 0

        def new_ws(part: int, sheet: Sheet = sheet):
            title = sheet.title if part == 1 else f"{sheet.title}（{part}）"
            ws = wb.create_sheet(title[:31])
            for i, width in enumerate(sheet.widths):
                ws.column_dimensions[_column_letter(i)].width = width
            ws.freeze_panes = "A2"
            ws.append(list(sheet.header))
            return ws

        part += 1
        ws = new_ws(part)
        in_sheet = 0
        percent = sheet.percent_columns
        for row in sheet.rows:
            if in_sheet == XLSX_SHEET_ROWS:
                part += 1
                ws = new_ws(part)
                in_sheet = 0
            # dispatch on the exact type: this loop runs once per cell (millions of times)
            cells: list[Any] = []
            for i, value in enumerate(row):
                t = type(value)
                if t is str:
                    value = _text(ws, value)
                elif t is datetime:
                    value = _styled(ws, excel_value(value, tz), DATETIME_FORMAT)
                elif t is date:
                    value = _styled(ws, value, DATE_FORMAT)
                elif t is float and i in percent:
                    value = _styled(ws, value, PERCENT_FORMAT)
                elif value is not None and t is not int and t is not float:
                    # subclasses (a lazy or safe string, a driver's datetime), bool, Decimal
                    if isinstance(value, str):
                        value = _text(ws, str(value))
                    elif isinstance(value, datetime):
                        value = _styled(ws, excel_value(value, tz), DATETIME_FORMAT)
                    elif isinstance(value, date):
                        value = _styled(ws, value, DATE_FORMAT)
                    elif isinstance(value, float) and i in percent:
                        value = _styled(ws, value, PERCENT_FORMAT)
                cells.append(value)
            ws.append(cells)
            in_sheet += 1
            if sheet.counted:
                count += 1
                if progress is not None and count % every == 0:
                    progress(count)
    wb.save(out)
    if progress is not None:
        progress(count)
    return count


# --- the writer in a second process ----------------------------------------------------------
# openpyxl spends ~0.3 ms of CPU per 29-column row serialising cells, about as much as the
# database reads and masking that produce the row. On a machine with two cores a 100,000-row
# ledger takes the longer of the two instead of their sum when the rows are handed to a
# forked child that does only the writing. The child never touches the database (it inherits
# the connection objects but never uses them, and leaves through os._exit), so the rows are
# read exactly as in-process — inside the caller's transaction and with its visibility.

PIPE_BATCH = 500  # rows per message: big enough to amortise pickling, small for flat memory


def _pipe_available() -> bool:
    import multiprocessing

    return (os.cpu_count() or 1) > 1 and "fork" in multiprocessing.get_all_start_methods()


def _child_write(conn: Any, path: str, sheets: Sequence[Sheet]) -> None:
    """In the child: rebuild each sheet with rows received from the parent, write the file,
    send back ("done", rows) or ("error", message)."""

    def received(index: int) -> Iterator[Sequence[Any]]:
        while True:
            tag, batch = conn.recv()
            if tag != index:
                raise RuntimeError(f"rows of sheet {tag} while writing sheet {index}")
            if batch is None:
                return
            yield from batch

    try:
        local = [replace(s, rows=received(i)) for i, s in enumerate(sheets)]
        with open(path, "wb") as out:
            count = write_workbook(out, local)
        conn.send(("done", count))
    except BaseException as exc:  # reported to the parent, which raises it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def write_workbook_file(
    path: str,
    sheets: Sequence[Sheet],
    *,
    progress: Callable[[int], None] | None = None,
    every: int = 1000,
    pipe: bool | None = None,
) -> int:
    """Write `sheets` to the file `path` like :func:`write_workbook`; with `pipe` (default:
    when the machine has a second core and can fork) the cells are serialised in a child
    process while this one reads the rows. Returns the number of counted rows."""
    if pipe is None:
        pipe = _pipe_available()
    if not pipe:
        with open(path, "wb") as out:
            return write_workbook(out, sheets, progress=progress, every=every)
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    ours, theirs = ctx.Pipe()
    # the child gets the sheets' titles and headers; their rows are read here, never there
    shells = [replace(s, rows=()) for s in sheets]
    child = ctx.Process(target=_child_write, args=(theirs, path, shells), daemon=True)
    child.start()
    theirs.close()
    count = 0
    try:
        for index, sheet in enumerate(sheets):
            batch: list[Sequence[Any]] = []
            for row in sheet.rows:
                batch.append(row)
                if sheet.counted:
                    count += 1
                    if progress is not None and count % every == 0:
                        progress(count)
                if len(batch) == PIPE_BATCH:
                    ours.send((index, batch))
                    batch = []
            if batch:
                ours.send((index, batch))
            ours.send((index, None))
        tag, result = ours.recv()
    except (BrokenPipeError, EOFError, ConnectionResetError):
        # the child stopped early: its own message says why, if it could send one
        tag, result = ours.recv() if ours.poll(1) else ("error", "the writer process died")
    except BaseException:
        child.kill()
        raise
    finally:
        child.join(timeout=30)
        ours.close()
    if tag != "done":
        raise RuntimeError(f"xlsx writer: {result}")
    if progress is not None:
        progress(count)
    return int(result)
