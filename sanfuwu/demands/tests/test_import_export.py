"""Import from CSV / Excel (all rows or none) and export of the ledger, via the commands."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from sanfuwu.conftest import hotline_demand
from sanfuwu.demands import services
from sanfuwu.demands.models import Demand, DemandEvent
from sanfuwu.orgs.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db

HEADER = ["标题", "内容", "类型", "分类", "联系人", "联系电话", "身份证号", "村社", "外部编号"]
GOOD_ROWS = [
    [
        "路灯不亮",
        "幸福小区门口路灯坏了。",
        "投诉",
        "城乡建设/物业管理",
        "张三",
        "13812341234",
        "",
        "幸福社区",
        "X-1",
    ],
    [
        "咨询社保",
        "退休手续怎么办？",
        "咨询",
        "城乡建设",
        "李四",
        "0571-87654321",
        "11010519491231002X",
        "",
        "X-2",
    ],
]


def write_csv(path, rows, encoding="utf-8-sig"):
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def write_xlsx(path, rows):
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def run_import(path, user="paidan"):
    out = io.StringIO()
    call_command("import_demands", str(path), "--user", user, stdout=out)
    return out.getvalue()


def test_a_good_csv_is_imported_through_the_service(tiny, tmp_path):
    out = run_import(write_csv(tmp_path / "batch.csv", [HEADER, *GOOD_ROWS]))
    assert "新增 2 件" in out
    d = Demand.objects.get(title="路灯不亮")
    assert (d.kind, d.channel, d.source, d.category_id, d.community_id) == (
        "complaint",
        "import",
        "batch.csv",
        tiny.category.pk,
        tiny.community.pk,
    )
    assert d.contact_phone == "13812341234" and d.state == "submitted"
    assert DemandEvent.objects.filter(action="submit").count() == 2


def test_an_excel_file_and_a_gb18030_csv_are_read(tiny, tmp_path):
    assert "新增 2 件" in run_import(write_xlsx(tmp_path / "batch.xlsx", [HEADER, *GOOD_ROWS]))
    rows = [["title", "body", "kind"], ["噪音", "夜间施工", "complaint"]]
    assert "新增 1 件" in run_import(write_csv(tmp_path / "gbk.csv", rows, encoding="gb18030"))
    assert Demand.objects.count() == 3


def test_reimporting_the_same_file_duplicates_nothing(tiny, tmp_path):
    path = write_csv(tmp_path / "batch.csv", [HEADER, *GOOD_ROWS])
    run_import(path)
    out = run_import(path)
    assert "新增 0 件，已存在 2 件" in out
    assert Demand.objects.count() == 2


def test_one_bad_file_writes_nothing_and_reports_every_failing_row(tiny, tmp_path):
    rows = [
        HEADER,
        GOOD_ROWS[0],
        ["坏身份证", "x", "求助", "", "", "", "11010519491231002Y", "", ""],
        ["分类不存在", "x", "求助", "不存在/的分类", "", "", "", "", ""],
        ["", "没有标题", "求助", "", "", "", "", "", ""],
        ["类型不对", "x", "闲聊", "", "", "", "", "", ""],
        ["太长", "长" * 5001, "建议", "", "", "", "", "", ""],
        ["只有标题"],  # a row with missing columns
        GOOD_ROWS[1],
    ]
    with pytest.raises(CommandError) as exc:
        run_import(write_csv(tmp_path / "bad.csv", rows))
    report = str(exc.value)
    for line in (
        "第 3 行 · 身份证号",
        "第 4 行 · 分类",
        "第 5 行 · 标题",
        "第 6 行 · 类型",
        "第 7 行 · 内容",
        "第 8 行 · 内容",
    ):
        assert line in report
    assert "共 6 处错误" in report
    assert Demand.objects.count() == 0 and DemandEvent.objects.count() == 0


def test_a_missing_column_and_a_file_that_is_not_a_table_are_refused(tiny, tmp_path):
    with pytest.raises(CommandError, match="缺少必需的列：类型"):
        run_import(write_csv(tmp_path / "cols.csv", [["标题", "内容"], ["a", "b"]]))
    png = tmp_path / "photo.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    with pytest.raises(CommandError, match="不是 CSV 或 Excel 文件"):
        run_import(png)
    assert Demand.objects.count() == 0


def test_only_a_dispatcher_or_admin_imports(tiny, tmp_path):
    with pytest.raises(CommandError, match="派单员或管理员"):
        run_import(write_csv(tmp_path / "b.csv", [HEADER, GOOD_ROWS[0]]), user="chengban")


def ledger(tmp_path, user, fmt="csv", *extra):
    out = tmp_path / f"ledger-{user}.{fmt}"
    call_command(
        "export_demands",
        "--user",
        user,
        "--format",
        fmt,
        "--output",
        str(out),
        *extra,
        stderr=io.StringIO(),
    )
    if fmt == "csv":
        return list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    wb = load_workbook(out, read_only=True)
    return [
        [("" if c is None else str(c)) for c in row]
        for row in wb.worksheets[0].iter_rows(values_only=True)
    ]


def test_export_shows_what_the_user_may_see_masked_as_for_them(tiny, tmp_path):
    hotline_demand(tiny, dispatch=True)
    services.demand_submit(
        by=tiny.users["dispatcher"], title="另一件", body="y", kind="help", channel="hotline"
    )
    rows = ledger(tmp_path, "paidan")
    assert rows[0][:3] == ["编号", "标题", "类型"]
    assert sorted(r[1] for r in rows[1:]) == ["另一件", "电梯故障"]
    assert next(r for r in rows if r[1] == "电梯故障")[14] == "13812341234"
    head_rows = ledger(tmp_path, "fuzeren", "xlsx")
    assert [r[1] for r in head_rows[1:]] == ["电梯故障"]
    assert (
        head_rows[1][14] == "138****1234"
        and head_rows[1][6] == "住建局"
        and head_rows[1][12] == "绿"
    )
    assert len(ledger(tmp_path, "other")) == 1  # header only
    assert len(ledger(tmp_path, "paidan", "csv", "--state", "dispatched")) == 2


def test_create_api_token_prints_a_key_that_authenticates(tiny, client):
    out = io.StringIO()
    call_command("create_api_token", "paidan", "--name", "hotline-system", stdout=out)
    raw = out.getvalue().strip()
    token = ApiToken.objects.get(name="hotline-system")
    assert token.key_hash == hash_token(raw) and raw.startswith(token.prefix)
    r = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 200 and r.json()["username"] == "paidan"


def test_a_chinese_sheet_imports_from_an_english_session(tiny, tmp_path):
    from django.utils import translation

    with translation.override("en"):
        out = run_import(write_csv(tmp_path / "batch.csv", [HEADER, *GOOD_ROWS]))
    assert "2" in out
    assert Demand.objects.get(title="路灯不亮").kind == "complaint"
