"""Importing the directory from Excel / CSV: all rows or none, every error reported, re-import
updates, and the audit row."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from sanfuwu.core.errors import Forbidden
from sanfuwu.directory.flags import EnterpriseTag, NeedFlag
from sanfuwu.directory.importing import directory_import, template_xlsx
from sanfuwu.directory.models import (
    DirectoryImport,
    Enterprise,
    Household,
    ImportStatus,
    Project,
    Resident,
)
from sanfuwu.directory.validators import make_id_number, make_uscc
from sanfuwu.orgs.models import Grid

pytestmark = pytest.mark.django_db


def xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8-sig") -> bytes:
    return "\n".join(",".join(str(c) for c in row) for row in rows).encode(encoding)


@pytest.fixture
def grid(tiny):
    return Grid.objects.create(code="Q-J1-C1-G01", name="幸福社区第1网格", community=tiny.community)


def ids(n: int) -> list[str]:
    return [make_id_number(birth=date(1950 + i, 3, 4), seq=i + 1) for i in range(n)]


ENT_HEADER = [
    "统一社会信用代码*",
    "企业名称*",
    "行业门类",
    "企业规模",
    "规上企业",
    "企业标签",
    "园区",
    "网格",
    "联系电话",
]


def test_enterprises_import_and_reimport_updates_instead_of_duplicating(tiny, grid):
    admin = tiny.users["admin"]
    rows = [
        ENT_HEADER,
        [
            make_uscc(1),
            "甲精密制造有限公司",
            "C",
            "中型",
            "是",
            "高新技术、专精特新",
            "科技园",
            grid.code,
            "13800001234",
        ],
        [
            make_uscc(2),
            "乙软件有限公司",
            "信息传输、软件和信息技术服务业",
            "小型",
            "否",
            "",
            "",
            "",
            "",
        ],
    ]
    report = directory_import(by=admin, kind="enterprises", data=xlsx(rows), file_name="企业.xlsx")
    assert report.ok and (report.rows, report.created, report.updated) == (2, 2, 0)
    first = Enterprise.objects.get(uscc=make_uscc(1))
    assert (first.industry_section, first.size, first.is_above_scale, first.park) == (
        "C",
        "medium",
        True,
        "科技园",
    )
    assert first.tags == EnterpriseTag.HIGH_TECH | EnterpriseTag.SPECIALISED
    assert (first.grid, first.community) == (grid, tiny.community)  # the grid gives the 村社
    assert Enterprise.objects.get(uscc=make_uscc(2)).industry_section == "I"

    rows[2][1] = "乙软件股份有限公司"
    again = directory_import(by=admin, kind="enterprises", data=xlsx(rows), file_name="企业.xlsx")
    assert (again.created, again.updated) == (0, 1)
    assert Enterprise.objects.count() == 2
    assert Enterprise.objects.get(uscc=make_uscc(2)).name == "乙软件股份有限公司"
    audit = DirectoryImport.objects.order_by("at", "pk")
    assert [(a.status, a.created, a.updated, a.by) for a in audit] == [
        (ImportStatus.APPLIED, 2, 0, admin),
        (ImportStatus.APPLIED, 0, 1, admin),
    ]


def test_any_failing_row_writes_nothing_and_every_error_is_reported(tiny, grid):
    admin = tiny.users["admin"]
    bad_uscc = make_uscc(3)[:-1] + ("0" if make_uscc(3)[-1] != "0" else "1")
    rows = [
        ENT_HEADER,
        [make_uscc(1), "好企业", "C", "中型", "是", "", "", "", ""],
        [bad_uscc, "校验位错", "C", "", "", "", "", "", ""],
        [make_uscc(4), "", "Z", "巨型", "也许", "高科技", "", "不存在网格", "123"],
        [make_uscc(1), "重复", "", "", "", "", "", "", ""],
    ]
    report = directory_import(by=admin, kind="enterprises", data=xlsx(rows), file_name="坏.xlsx")
    assert not report.ok and not report.applied
    found = {(e.row, e.column) for e in report.errors}
    assert found == {
        (3, "统一社会信用代码"),
        (4, "企业名称"),
        (4, "行业门类"),
        (4, "企业规模"),
        (4, "规上企业"),
        (4, "企业标签"),
        (4, "网格"),
        (4, "联系电话"),
        (5, "统一社会信用代码"),
    }
    messages = {(e.row, e.column): e.message for e in report.errors}
    assert "校验位" in messages[(3, "统一社会信用代码")]
    assert "与第 2 行重复" in messages[(5, "统一社会信用代码")]
    assert "必填" in messages[(4, "企业名称")] and "高科技" in messages[(4, "企业标签")]
    assert Enterprise.objects.count() == 0  # not even the good row
    audit = DirectoryImport.objects.get()
    assert (audit.status, audit.error_count, audit.file_name) == (
        ImportStatus.REJECTED,
        9,
        "坏.xlsx",
    )
    assert {(e["row"], e["column"]) for e in audit.errors} == found


def test_households_with_members_from_csv_and_matching_on_id_number(tiny, grid):
    admin = tiny.users["admin"]
    a, b, c = ids(3)
    # a resident already on file (filed at intake) joins her household by her 身份证号
    Resident.objects.create(name="王芳", phone="13900000000", id_number=b)
    header = ["户编号", "住址", "网格", "需求标识", "姓名", "身份证号", "与户主关系", "成员电话"]
    rows = [
        header,
        ["H1", "幸福里1幢101", grid.name, "老年", "王大", a, "户主", "13800000001"],
        ["H1", "幸福里1幢101", "", "残疾", "王芳", b, "女儿", ""],
        ["H2", "幸福里2幢202", grid.code, "无", "李四", c, "户主", ""],
        ["H2", "", "", "", "李小", "", "儿子", ""],
    ]
    report = directory_import(
        by=admin, kind="households", data=csv_bytes(rows, "gb18030"), file_name="户.csv"
    )
    assert report.ok, report.errors
    assert (report.created, report.members_created, report.members_updated) == (2, 3, 1)
    h1 = Household.objects.get(key="H1")
    assert h1.need_flags == NeedFlag.ELDERLY | NeedFlag.DISABLED and h1.head_name == "王大"
    assert (h1.grid, h1.community) == (grid, tiny.community)
    assert sorted(h1.members.values_list("name", flat=True)) == ["王大", "王芳"]
    wang = Resident.objects.get(id_number=b)
    assert (wang.household, wang.phone, wang.relation) == (
        h1,
        "13900000000",
        "女儿",
    )  # empty phone kept
    assert Household.objects.get(key="H2").members.count() == 2

    again = directory_import(by=admin, kind="households", data=csv_bytes(rows), file_name="户.csv")
    assert (again.created, again.updated, again.members_created, again.members_updated) == (
        0,
        0,
        0,
        0,
    )
    assert (Household.objects.count(), Resident.objects.count()) == (2, 4)
    rows[3][3] = "低保"
    third = directory_import(by=admin, kind="households", data=csv_bytes(rows), file_name="户.csv")
    assert (third.created, third.updated) == (0, 1)
    assert Household.objects.get(key="H2").need_flags == NeedFlag.DIBAO


def test_household_errors_name_the_row_and_the_column(tiny, grid):
    a = ids(1)[0]
    header = ["户编号", "住址", "姓名", "身份证号"]
    rows = [
        header,
        ["H1", "一号", "甲", a],
        ["H1", "二号", "乙", a],  # other address, same ID number
        ["", "三号", "", "12345"],
    ]
    report = directory_import(
        by=tiny.users["admin"], kind="households", data=csv_bytes(rows), file_name="x.csv"
    )
    assert {(e.row, e.column) for e in report.errors} == {
        (3, "住址"),
        (3, "身份证号"),
        (4, "户编号"),
        (4, "身份证号"),
        (4, "姓名"),
    }
    assert (Household.objects.count(), Resident.objects.count()) == (0, 0)


def test_an_id_number_stored_as_a_number_by_excel_gets_a_hint(tiny):
    rows = [["户编号", "姓名", "身份证号"], ["H1", "甲", 110105194912310021]]
    report = directory_import(
        by=tiny.users["admin"], kind="households", data=xlsx(rows), file_name="x.xlsx"
    )
    assert len(report.errors) == 1 and "文本格式" in report.errors[0].message


def test_projects_import_with_owner_unit_and_site_secretary(tiny):
    rows = [
        ["项目编号", "项目名称", "阶段", "责任单位", "工地书记", "村社", "总投资（万元）"],
        [
            "XM-1",
            "智能制造产业园",
            "在建",
            tiny.dept.code,
            "jd_fuzeren",
            tiny.community.name,
            "52,000",
        ],
        ["XM-2", "老旧小区改造", "", "测试街道", "", "", ""],
    ]
    report = directory_import(
        by=tiny.users["dispatcher"], kind="projects", data=xlsx(rows), file_name="p.xlsx"
    )
    assert report.ok, report.errors
    p1 = Project.objects.get(code="XM-1")
    assert (p1.stage, p1.owner_unit, p1.site_secretary, p1.community, p1.investment) == (
        "construction",
        tiny.dept,
        tiny.users["street_head"],
        tiny.community,
        Decimal("52000.00"),
    )
    assert Project.objects.get(code="XM-2").stage == "planning"
    rows[1][2] = "竣工"
    again = directory_import(
        by=tiny.users["dispatcher"], kind="projects", data=xlsx(rows), file_name="p.xlsx"
    )
    assert (again.created, again.updated, Project.objects.count()) == (0, 1, 2)
    assert Project.objects.get(code="XM-1").stage == "completed"


def test_only_admins_and_district_dispatchers_import(tiny):
    data = xlsx([["项目编号", "项目名称", "责任单位"], ["XM-1", "园区", tiny.dept.code]])
    for name in ("street_dispatcher", "handler", "leader", "grid_worker", "stranger"):
        with pytest.raises(Forbidden):
            directory_import(by=tiny.users[name], kind="projects", data=data, file_name="p.xlsx")
    assert not DirectoryImport.objects.exists()


def test_a_missing_required_column_and_a_non_table_file_are_refused(tiny):
    admin = tiny.users["admin"]
    report = directory_import(
        by=admin, kind="projects", data=xlsx([["项目名称"], ["园区"]]), file_name="p.xlsx"
    )
    assert "缺少必需的列" in report.errors[0].message and "项目编号" in report.errors[0].message
    report = directory_import(by=admin, kind="projects", data=b"%PDF-1.4 ...", file_name="p.pdf")
    assert "PDF" in report.errors[0].message
    assert Project.objects.count() == 0


def test_dry_run_checks_without_writing(tiny):
    data = xlsx([["项目编号", "项目名称", "责任单位"], ["XM-1", "园区", tiny.dept.code]])
    report = directory_import(
        by=tiny.users["admin"], kind="projects", data=data, file_name="p.xlsx", dry_run=True
    )
    assert report.ok and not report.applied and Project.objects.count() == 0
    assert DirectoryImport.objects.get().status == ImportStatus.DRY_RUN


def test_the_template_has_the_chinese_header_and_imports_back(tiny, tmp_path):
    for kind in ("enterprises", "households", "projects"):
        wb = load_workbook(io.BytesIO(template_xlsx(kind)))
        assert wb.sheetnames[1] == "说明"
    header = [
        c.value
        for c in next(load_workbook(io.BytesIO(template_xlsx("households"))).active.iter_rows())
    ]
    assert header[:2] == ["户编号*", "住址"]
    out = tmp_path / "t.xlsx"
    call_command("directory_template", "projects", str(out))
    assert load_workbook(out).active["A1"].value == "项目编号*"


def test_the_command_imports_and_reports_errors(tiny, tmp_path, capsys):
    good = tmp_path / "p.xlsx"
    good.write_bytes(xlsx([["项目编号", "项目名称", "责任单位"], ["XM-1", "园区", tiny.dept.code]]))
    call_command("import_directory", "projects", str(good), "--user", "guanli", "--dry-run")
    assert Project.objects.count() == 0
    call_command("import_directory", "projects", str(good), "--user", "guanli")
    assert "新增 1" in capsys.readouterr().out and Project.objects.count() == 1
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx([["项目编号", "项目名称", "责任单位"], ["XM-9", "", "没有的单位"]]))
    with pytest.raises(CommandError, match="校验未通过"):
        call_command("import_directory", "projects", str(bad), "--user", "guanli")
    err = capsys.readouterr().err
    assert "第 2 行 · 项目名称" in err and "第 2 行 · 责任单位：未知的单位" in err
    assert Project.objects.count() == 1


def test_empty_cells_keep_stored_values_and_wu_clears_tags(tiny):
    admin = tiny.users["admin"]
    header = ["统一社会信用代码", "企业名称", "园区", "企业标签", "其他联系人"]
    first = [
        [*header],
        [make_uscc(1), "甲公司", "科技园", "高新技术", "李娜/财务/13900002222；王五"],
    ]
    directory_import(by=admin, kind="enterprises", data=csv_bytes(first), file_name="a.csv")
    e = Enterprise.objects.get()
    assert e.contacts == [
        {"name": "李娜", "role": "财务", "phone": "13900002222"},
        {"name": "王五", "role": "", "phone": ""},
    ]
    second = [[*header], [make_uscc(1), "甲公司", "", "无", ""]]
    report = directory_import(
        by=admin, kind="enterprises", data=csv_bytes(second), file_name="b.csv"
    )
    assert report.updated == 1
    e.refresh_from_db()
    assert (e.park, e.tags, len(e.contacts)) == ("科技园", 0, 2)


def test_a_truncated_workbook_is_reported_not_crashed(tiny):
    data = xlsx(
        [
            ["项目编号", "项目名称", "责任单位"],
            *[[f"XM-{i}", "园区", tiny.dept.code] for i in range(50)],
        ]
    )
    report = directory_import(
        by=tiny.users["admin"], kind="projects", data=data[: len(data) // 2], file_name="坏.xlsx"
    )
    assert not report.ok and "无法读取" in report.errors[0].message
    assert Project.objects.count() == 0
