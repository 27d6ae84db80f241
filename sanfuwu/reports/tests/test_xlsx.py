"""The streaming writer: what a cell becomes (text never a formula, no illegal characters,
no empty cells, real dates in Beijing time, percentages)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from django.utils.safestring import mark_safe
from openpyxl import load_workbook

from sanfuwu.reports.xlsx import Sheet, write_workbook


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
