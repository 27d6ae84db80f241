"""Bulk import (all rows or none) and the ledger export, driven through the commands."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook, load_workbook

from sanfuwu.api.serialize import demand_dict
from sanfuwu.conftest import hotline_demand
from sanfuwu.demands import services, transfer
from sanfuwu.demands.models import Demand, DemandEvent
from sanfuwu.demands.transfer import LEDGER_HEADER
from sanfuwu.directory.validators import make_id_number
from sanfuwu.orgs.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db

ID_1980 = make_id_number(birth=date(1980, 5, 17), seq=21)
ID_1975 = make_id_number(birth=date(1975, 1, 2), seq=8)
BAD_CHECK_DIGIT = ID_1980[:-1] + ("1" if ID_1980[-1] == "0" else "0")
HEADER = [
    "标题",
    "内容",
    "类型",
    "分类",
    "联系人",
    "联系电话",
    "身份证号",
    "地址",
    "村社",
    "外部编号",
]
ROW_A = [
    "路灯不亮",
    "幸福小区门口路灯坏了一个月。",
    "投诉",
    "城乡建设/物业管理",
    "张三",
    "13812341234",
    ID_1980,
    "幸福路 1 号",
    "幸福社区",
    "HL-1",
]
ROW_B = [
    "退休手续",
    "退休手续怎么办？",
    "咨询",
    "城乡建设",
    "李四",
    "0571-87654321",
    "",
    "",
    "",
    "HL-2",
]


def write_csv(path, rows, *, encoding="utf-8", delimiter=","):
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path, rows):
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def run_import(path, *extra, user="paidan"):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_demands", str(path), "--user", user, *extra, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def import_error(path, *extra, user="paidan") -> str:
    with pytest.raises(CommandError) as exc:
        run_import(path, *extra, user=user)
    return str(exc.value)


# --- import ------------------------------------------------------------------------------------


def test_a_utf8_csv_without_bom_creates_each_row_through_submit(tiny, tmp_path):
    path = write_csv(tmp_path / "热线-0601.csv", [HEADER, ROW_A, ROW_B])
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")

    assert "导入完成：新增 2 件，已存在 0 件" in run_import(path)

    a = Demand.objects.get(title="路灯不亮")
    assert (a.body, a.kind, a.channel, a.source, a.state) == (
        "幸福小区门口路灯坏了一个月。",
        "complaint",
        "import",
        "热线-0601.csv",
        "submitted",
    )
    assert (a.category, a.community, a.dispatch_unit) == (tiny.category, tiny.community, tiny.root)
    assert (a.contact_name, a.contact_phone, a.contact_id_number, a.address) == (
        "张三",
        "13812341234",
        ID_1980,
        "幸福路 1 号",
    )
    assert (a.recorded_by, a.submitter) == (tiny.users["dispatcher"], None)
    b = Demand.objects.get(title="退休手续")
    assert (b.kind, b.category.path, b.contact_phone, b.community) == (
        "consult",
        "城乡建设",
        "0571-87654321",
        None,
    )
    for d in (a, b):
        events = list(d.events.values_list("action", "actor__username", "to_state"))
        assert events == [("submit", "paidan", "submitted")]


def test_an_xlsx_with_english_headers_numbers_and_blank_rows_is_imported(tiny, tmp_path):
    rows = [
        ["title", "body", "kind", "channel", "category", "contact_phone", "community", "备注"],
        [
            "噪音扰民",
            "夜间施工",
            "complaint",
            "热线",
            "城乡建设/物业管理",
            13900001111,
            "Q-J1-C1",
            "x",
        ],
        [None, None, None],
        ["加装电梯", "老小区加装电梯", "建议", None, "物业管理", None, "幸福社区", None],
    ]
    out = run_import(write_xlsx(tmp_path / "batch.xlsx", rows))

    assert "新增 2 件" in out and "已忽略无法识别的列：备注" in out
    noise = Demand.objects.get(title="噪音扰民")
    assert (noise.kind, noise.channel, noise.contact_phone, noise.community) == (
        "complaint",
        "hotline",
        "13900001111",
        tiny.community,
    )
    lift = Demand.objects.get(title="加装电梯")
    assert (lift.kind, lift.channel, lift.category, lift.source) == (
        "suggestion",
        "import",
        tiny.category,
        "batch.xlsx",
    )
    assert DemandEvent.objects.filter(action="submit").count() == 2


def test_an_xlsx_that_claims_the_whole_sheet_as_its_size_reads_only_its_rows(tiny, tmp_path):
    buf = io.BytesIO()
    write_xlsx(buf, [["标题", "内容", "类型"], ["积水", "路口积水", "求助"]])
    path = tmp_path / "claims-xfd.xlsx"
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, n = re.subn(
                    rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:XFD1048576"/>', data
                )
                assert n == 1
            zout.writestr(item, data)

    assert "新增 1 件" in run_import(path)
    assert Demand.objects.get().title == "积水"


def test_a_tab_separated_gb18030_file_is_read(tiny, tmp_path):
    rows = [["标题", "内容", "类型"], ["窨井盖缺失", "人行道窨井盖没了", "求助"]]
    path = write_csv(tmp_path / "gbk.csv", rows, encoding="gb18030", delimiter="\t")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")

    assert "新增 1 件" in run_import(path)
    assert Demand.objects.get().kind == "help"


def test_reimporting_rows_with_client_keys_doubles_nothing(tiny, tmp_path):
    xlsx = write_xlsx(tmp_path / "batch.xlsx", [HEADER, ROW_A, ROW_B])
    assert "新增 2 件，已存在 0 件" in run_import(xlsx)
    assert "新增 0 件，已存在 2 件" in run_import(xlsx)

    row_c = ["井盖", "井盖松动", "求助", "", "", "", "", "", "", "HL-3"]
    csv_path = write_csv(tmp_path / "again.csv", [HEADER, ROW_B, ROW_A, row_c])
    assert "新增 1 件，已存在 2 件" in run_import(csv_path)

    assert sorted(Demand.objects.values_list("title", flat=True)) == [
        "井盖",
        "路灯不亮",
        "退休手续",
    ]
    assert DemandEvent.objects.filter(action="submit").count() == 3


def test_a_file_with_bad_rows_writes_nothing_and_names_every_row_and_column(tiny, tmp_path):
    blank = [""] * len(HEADER)
    rows = [
        HEADER,
        ROW_A,  # 2
        ["坏身份证", "x", "求助", "", "", "", BAD_CHECK_DIGIT, "", "", ""],  # 3
        blank,  # 4: blank rows keep their number
        ["分类不存在", "x", "求助", "城乡建设/不存在", "", "", "", "", "", ""],  # 5
        ["", "没有标题", "求助", "", "", "", "", "", "", ""],  # 6
        ["类型不对", "x", "闲聊", "", "", "", "", "", "", ""],  # 7
        ["太长", "长" * 5001, "建议", "", "", "", "", "", "", ""],  # 8
        ROW_B,  # 9
        ["重复编号", "x", "求助", "", "", "", "", "", "", "HL-1"],  # 10
        ["电话不对", "x", "求助", "", "", "138-1234", "", "", "", ""],  # 11
        ["不是村社", "x", "求助", "", "", "", "", "", "Q-B1", ""],  # 12
    ]
    report = import_error(write_csv(tmp_path / "bad.csv", rows))

    lines = [line for line in report.splitlines() if line.startswith("第 ")]
    assert [line.split("：", 1)[0] for line in lines] == [
        "第 3 行 · 身份证号",
        "第 5 行 · 分类",
        "第 6 行 · 标题",
        "第 7 行 · 类型",
        "第 8 行 · 内容",
        "第 10 行 · 外部编号",
        "第 11 行 · 联系电话",
        "第 12 行 · 村社",
    ]
    assert "校验位" in lines[0]
    assert "未知的分类：城乡建设/不存在" in lines[1]
    assert "标题不能为空" in lines[2]
    assert "“闲聊”无效" in lines[3]
    assert "超过 5000 字的上限（5001 字）" in lines[4]
    assert "与第 2 行重复" in lines[5]
    assert "“住建局”不是村社" in lines[7]
    assert "共 8 处错误，未写入任何数据" in report
    assert Demand.objects.count() == 0 and DemandEvent.objects.count() == 0


def test_an_id_number_excel_turned_into_a_number_is_reported_with_the_reason(tiny, tmp_path):
    rows = [["标题", "内容", "类型", "身份证号"], ["a", "b", "咨询", float(ID_1975)]]
    report = import_error(write_xlsx(tmp_path / "ids.xlsx", rows))
    assert "第 2 行 · 身份证号" in report and "请把该列设为文本格式" in report
    assert Demand.objects.count() == 0


def test_missing_or_repeated_columns_are_named_and_nothing_is_written(tiny, tmp_path):
    no_body = write_csv(tmp_path / "cols.csv", [["标题", "联系人"], ["a", "b"]])
    assert "缺少必需的列：内容、类型" in import_error(no_body)
    twice = write_csv(
        tmp_path / "twice.csv", [["标题", "内容", "类型", "title"], ["a", "b", "咨询", "c"]]
    )
    assert "列重复：标题（第 1、4 列）" in import_error(twice)
    assert Demand.objects.count() == 0


ZIP_NOT_XLSX = io.BytesIO()
with zipfile.ZipFile(ZIP_NOT_XLSX, "w") as _z:
    _z.writestr("readme.txt", "not a workbook")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)),
        ("noise.csv", bytes(range(256)) * 8),
        ("archive.xlsx", ZIP_NOT_XLSX.getvalue()),
        ("old.xls.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)),
        ("report.xls", "<html><table><tr><td>标题</td></tr></table></html>".encode()),
    ],
)
def test_a_file_that_is_not_a_table_is_refused_whatever_its_name(tiny, tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    assert "不是 CSV 或 Excel 文件" in import_error(path)
    assert Demand.objects.count() == 0


def test_only_a_dispatcher_or_admin_imports(tiny, tmp_path):
    path = write_csv(tmp_path / "b.csv", [HEADER, ROW_A])
    assert "只有派单员或管理员可以批量导入" in import_error(path, user="chengban")
    assert "用户不存在或已停用：nobody" in import_error(path, user="nobody")
    assert Demand.objects.count() == 0


def test_the_dispatch_unit_option_routes_the_batch_and_must_be_a_district_or_street(tiny, tmp_path):
    path = write_csv(tmp_path / "b.csv", [HEADER, ROW_A, ROW_B])
    refused = import_error(path, "--dispatch-unit", "Q-B1")
    assert refused == "“住建局”不是派单单位（区或镇街）"  # said once, not once per row

    assert "新增 2 件" in run_import(path, "--dispatch-unit", "Q-J1", user="guanli")
    assert set(Demand.objects.values_list("dispatch_unit__code", flat=True)) == {"Q-J1"}
    street_view = export(tmp_path, "jd_paidan")
    assert sorted(r[1] for r in street_view[1:]) == ["路灯不亮", "退休手续"]


# --- export ------------------------------------------------------------------------------------


def export(tmp_path, user, fmt="csv", *extra):
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
        raw = out.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # so Excel opens the Chinese right
        return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    wb = load_workbook(out, read_only=True)
    rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    wb.close()
    return [["" if c is None else c for c in r] for r in rows]


@pytest.fixture
def ledger(tiny):
    """住建局's demand, signed by its handler; two at 教育局 (one confidential); one not yet
    dispatched."""
    dispatcher = tiny.users["dispatcher"]
    lamp = hotline_demand(tiny, dispatch=True, title="路灯不亮")
    services.demand_sign(demand=lamp, by=tiny.users["handler"])
    school = hotline_demand(
        tiny, title="校门口拥堵", kind="suggestion", contact_phone="13900005678"
    )
    services.demand_dispatch(
        demand=school, by=dispatcher, lead_unit=tiny.other_dept, category=tiny.category
    )
    secret = hotline_demand(tiny, title="举报", contact_name="王五", confidential=True)
    services.demand_dispatch(
        demand=secret, by=dispatcher, lead_unit=tiny.other_dept, category=tiny.category
    )
    waiting = hotline_demand(tiny, title="待分拣", kind="consult", channel="visit")
    return {d.title: Demand.objects.get(pk=d.pk) for d in (lamp, school, secret, waiting)}


def by_title(rows):
    return {r[1]: r for r in rows[1:]}


def test_the_dispatcher_exports_every_demand_with_numbers_in_clear(ledger, tmp_path):
    rows = export(tmp_path, "paidan")
    assert rows[0] == list(LEDGER_HEADER)
    assert [r[1] for r in rows[1:]] == ["待分拣", "举报", "校门口拥堵", "路灯不亮"]  # newest first
    lamp = by_title(rows)["路灯不亮"]
    assert lamp[0] == str(ledger["路灯不亮"].pk)
    assert lamp[2:8] == ["投诉", "热线", "城乡建设/物业管理", "办理中", "住建局", "测试区"]
    assert lamp[8] and lamp[9] > lamp[8] and lamp[10:12] == ["", ""]
    assert lamp[12:] == ["绿", "张三", "13812341234"]
    assert by_title(rows)["举报"][13:] == ["王五", "13812341234"]
    waiting = by_title(rows)["待分拣"]
    assert waiting[2:8] == ["咨询", "走访", "", "待分拣", "", "测试区"]
    assert waiting[9] == "" and waiting[12] == ""


def test_a_handler_of_another_unit_exports_only_its_units_rows_masked(ledger, tmp_path):
    rows = export(tmp_path, "other", "xlsx")
    assert rows[0] == list(LEDGER_HEADER)
    assert sorted(by_title(rows)) == ["举报", "校门口拥堵"]
    school = by_title(rows)["校门口拥堵"]
    assert school[0] == ledger["校门口拥堵"].pk  # a number in the sheet
    assert school[2:7] == ["建议", "热线", "城乡建设/物业管理", "待签收", "教育局"]
    assert school[13:] == ["张三", "139****5678"]
    assert by_title(rows)["举报"][13:] == ["（保密）", ""]


def test_the_assigned_handler_sees_the_number_and_its_unit_head_does_not(ledger, tmp_path):
    assert [r[13:] for r in export(tmp_path, "chengban")[1:]] == [["张三", "13812341234"]]
    assert [r[13:] for r in export(tmp_path, "fuzeren", "xlsx")[1:]] == [["张三", "138****1234"]]
    assert export(tmp_path, "stranger") == [list(LEDGER_HEADER)]


@pytest.mark.parametrize("user", ["dispatcher", "handler", "head", "other_handler", "leader"])
def test_the_ledger_masks_contacts_exactly_as_the_api_does(ledger, tiny, tmp_path, user):
    person = tiny.users[user]
    rows = by_title(export(tmp_path, person.username))
    assert rows
    for title, row in rows.items():
        shown = demand_dict(ledger[title], user=person)
        assert row[13:] == [shown["contact_name"], shown["contact_phone"]]


def test_filters_take_codes_or_labels_and_a_bad_one_writes_no_file(ledger, tmp_path):
    def titles(*extra):
        return sorted(by_title(export(tmp_path, "paidan", "csv", *extra)))

    assert titles("--state", "handling,待签收") == ["举报", "校门口拥堵", "路灯不亮"]
    assert titles("--kind", "建议") == ["校门口拥堵"]
    assert titles("--unit", "Q-B2", "--channel", "hotline") == ["举报", "校门口拥堵"]
    assert titles("--category", "城乡建设", "--light", "绿", "--state", "handling") == ["路灯不亮"]
    today = date.today().isoformat()
    assert len(titles("--from", today, "--to", today)) == 4
    assert titles("--to", "2000-01-01") == []

    target = tmp_path / "ledger-paidan.csv"
    target.unlink()
    for bad in (["--state", "done"], ["--kind", "闲聊"], ["--unit", "NOPE"], ["--light", "蓝"]):
        with pytest.raises(CommandError):
            export(tmp_path, "paidan", "csv", *bad)
        assert not target.exists()
    assert list(tmp_path.glob(".ledger-*")) == []  # no temporary file left behind


def test_text_that_looks_like_a_formula_stays_text(tiny, tmp_path):
    hotline_demand(tiny, title='=HYPERLINK("http://evil.example","点我")')
    # a control character from before intake refused them (old data, a direct import)
    Demand.objects.filter(pk=hotline_demand(tiny, title="-1+1 路灯坏了").pk).update(
        title="-1+1 路灯\x0b坏了"
    )

    csv_titles = sorted(r[1] for r in export(tmp_path, "paidan")[1:])
    assert csv_titles == ["'-1+1 路灯\x0b坏了", '\'=HYPERLINK("http://evil.example","点我")']

    out = tmp_path / "ledger-paidan.xlsx"
    export(tmp_path, "paidan", "xlsx")
    ws = load_workbook(out).worksheets[0]
    cells = sorted((c.value, c.data_type) for c in ws["B"][1:])
    assert cells == [
        ("-1+1 路灯坏了", "s"),
        ('=HYPERLINK("http://evil.example","点我")', "s"),
    ]


def test_an_xlsx_ledger_longer_than_a_sheet_continues_on_the_next(ledger, tmp_path, monkeypatch):
    monkeypatch.setattr(transfer, "XLSX_SHEET_ROWS", 3)
    out = tmp_path / "ledger-paidan.xlsx"
    export(tmp_path, "paidan", "xlsx")
    wb = load_workbook(out, read_only=True)
    sheets = {ws.title: [r[1] for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    assert sheets == {
        "诉求台账": ["标题", "待分拣", "举报", "校门口拥堵"],
        "诉求台账（2）": ["标题", "路灯不亮"],
    }


def test_export_reads_in_a_fixed_number_of_queries_whatever_the_row_count(ledger, tiny, tmp_path):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            export(tmp_path, "other", "xlsx")
        return len(ctx)

    few = queries()
    for i in range(6):
        d = hotline_demand(tiny, title=f"更多{i}")
        services.demand_dispatch(
            demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.other_dept, category=tiny.category
        )
    assert len(export(tmp_path, "other", "xlsx")) == 1 + 2 + 6
    assert queries() == few


def test_without_output_the_csv_goes_to_standard_output(ledger):
    out = io.StringIO()
    call_command("export_demands", "--user", "other", "--kind", "suggestion", stdout=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(LEDGER_HEADER)
    assert [(r[1], r[14]) for r in rows[1:]] == [("校门口拥堵", "139****5678")]
    with pytest.raises(CommandError, match="需要 --output"):
        call_command("export_demands", "--user", "other", "--format", "xlsx")


# --- API tokens --------------------------------------------------------------------------------


def test_create_api_token_prints_the_key_once_and_keeps_only_its_hash(tiny, client):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "other", "--name", "教育局对接", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert "\n" not in raw and "只显示这一次" in err.getvalue()
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.key_hash, token.prefix) == (
        tiny.users["other_handler"],
        "教育局对接",
        hash_token(raw),
        raw[:8],
    )
    assert raw not in str(list(ApiToken.objects.values_list()))
    me = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert me.status_code == 200 and me.json()["username"] == "other"
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}x").status_code == 401

    with pytest.raises(CommandError, match="用户不存在或已停用：ghost"):
        call_command("create_api_token", "ghost", "--name", "x")
    assert ApiToken.objects.count() == 1
