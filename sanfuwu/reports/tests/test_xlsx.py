"""The streaming writer: what a cell becomes (text never a formula, no illegal characters,
no empty cells, real dates in Beijing time, percentages)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from django.utils.safestring import mark_safe
from openpyxl import load_workbook

from sanfuwu.reports.xlsx import Sheet, write_workbook, write_workbook_file


def test_cells_as_excel_reads_them():
    rows = [
        ["=SUM(A1:A2)", "a\x01b", "", datetime(2026, 11, 2, 2, 0, tzinfo=UTC), date(2026, 11, 2)],
        [mark_safe("=1+1"), mark_safe("办理中"), None, 0.874, True],
    ]
    out = io.BytesIO()
    n = write_workbook(
        out, [Sheet("台账", ("甲", "乙", "丙", "丁", "戊"), rows, percent_columns=frozenset({3}))]
    )
    assert n == 2
    ws = load_workbook(io.BytesIO(out.getvalue()))["台账"]
    first, second = ws[2], ws[3]
    assert first[0].value == "=SUM(A1:A2)" and first[0].data_type == "s"
    assert first[1].value == "ab"
    assert first[2].value is None
    assert first[3].value == datetime(2026, 11, 2, 10, 0)  # Asia/Shanghai, naive
    assert first[3].number_format == "yyyy-mm-dd hh:mm"
    assert first[4].number_format == "yyyy-mm-dd"
    assert second[0].value == "=1+1" and second[0].data_type == "s"
    assert second[1].value == "办理中"
    assert second[3].value == 0.874 and second[3].number_format == "0.0%"
    assert second[4].value is True


def _sheets(n: int) -> list[Sheet]:
    rows = (
        [i, f"诉求{i}", datetime(2026, 11, 2, 2, i % 60, tzinfo=UTC), "=1+1", i / n]
        for i in range(n)
    )
    about = Sheet("说明", ("项目", "内容"), [["台账", "诉求台账"]], counted=False)
    main = Sheet(
        "台账", ("编号", "标题", "时间", "文本", "比例"), rows, percent_columns=frozenset({4})
    )
    return [about, main]


def _cells(path) -> dict[str, list[tuple]]:
    wb = load_workbook(path)
    return {
        ws.title: [tuple((c.value, c.data_type, c.number_format) for c in r) for r in ws.rows]
        for ws in wb.worksheets
    }


def test_the_writer_process_writes_what_the_process_itself_writes(tmp_path):
    seen: list[int] = []
    piped = write_workbook_file(
        str(tmp_path / "piped.xlsx"), _sheets(1203), progress=seen.append, every=500, pipe=True
    )
    local = write_workbook_file(str(tmp_path / "local.xlsx"), _sheets(1203), pipe=False)
    assert piped == local == 1203  # the cover sheet is not counted
    assert seen == [500, 1000, 1203]
    assert _cells(tmp_path / "piped.xlsx") == _cells(tmp_path / "local.xlsx")


def test_a_failure_in_the_writer_process_is_raised_here(tmp_path):
    rows = [["ok"], [{"not": "a cell value"}]]  # openpyxl refuses a dict
    with pytest.raises(RuntimeError, match="xlsx writer"):
        write_workbook_file(str(tmp_path / "x.xlsx"), [Sheet("台账", ("甲",), rows)], pipe=True)


def test_a_failure_reading_the_rows_stops_the_writer_process(tmp_path):
    def rows():
        yield ["ok"]
        raise ValueError("the database went away")

    with pytest.raises(ValueError, match="went away"):
        write_workbook_file(str(tmp_path / "x.xlsx"), [Sheet("台账", ("甲",), rows())], pipe=True)
