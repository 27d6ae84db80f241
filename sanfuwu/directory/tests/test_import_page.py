"""The 名录导入 page: who may use it, upload → report → confirm, and the audit."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import Workbook

from sanfuwu.directory.models import DirectoryImport, ImportStatus, Project

pytestmark = pytest.mark.django_db
URL = "/directory/imports/"


@pytest.fixture(autouse=True)
def _pending_files_in_tmp(settings, tmp_path):
    settings.DATA_DIR = tmp_path  # checked files wait there, never in var/


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def xlsx(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(c: Client, data: bytes, name: str = "项目.xlsx", kind: str = "projects"):
    return c.post(URL + "check/", {"kind": kind, "file": SimpleUploadedFile(name, data)})


def test_only_admins_and_district_dispatchers_reach_the_page(tiny):
    for name in ("admin", "dispatcher"):
        page = client_for(tiny.users[name]).get(URL)
        assert page.status_code == 200 and "名录导入" in page.content.decode()
    for name in ("street_dispatcher", "handler", "leader", "grid_worker", "resident"):
        assert client_for(tiny.users[name]).get(URL).status_code == 403
        assert upload(client_for(tiny.users[name]), b"x").status_code == 403
    assert Client().get(URL).status_code == 302  # to the login page
    home = client_for(tiny.users["dispatcher"]).get("/").content.decode()
    assert 'href="/directory/imports/"' in home
    assert (
        'href="/directory/imports/"'
        not in client_for(tiny.users["handler"]).get("/").content.decode()
    )


def test_upload_shows_every_error_and_writes_nothing(tiny):
    c = client_for(tiny.users["dispatcher"])
    data = xlsx(
        [
            ["项目编号", "项目名称", "阶段", "责任单位"],
            ["XM-1", "好项目", "在建", tiny.dept.code],
            ["XM-2", "", "造着", tiny.dept.code],
            ["XM-1", "重复", "", "不存在的单位"],
        ]
    )
    response = upload(c, data)
    record = DirectoryImport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{URL}{record.pk}/"
    page = c.get(response["Location"]).content.decode()
    assert "校验未通过" in page and "2 行共 4 处错误" in page
    for text in (
        "项目名称",
        "必填",
        "未知的阶段“造着”",
        "与第 2 行重复",
        "未知的单位“不存在的单位”",
    ):
        assert text in page
    assert 'id="confirm-import"' not in page
    assert Project.objects.count() == 0 and record.status == ImportStatus.REJECTED
    csv_text = c.get(f"{URL}{record.pk}/errors.csv").content.decode("utf-8-sig")
    assert csv_text.splitlines()[0] == "行号,列,原因" and "3,阶段," in csv_text


def test_a_clean_file_is_checked_then_confirmed_once(tiny):
    c = client_for(tiny.users["admin"])
    data = xlsx([["项目编号", "项目名称", "责任单位"], ["XM-1", "园区", tiny.dept.code]])
    checked_url = upload(c, data)["Location"]
    page = c.get(checked_url).content.decode()
    assert "校验通过" in page and 'id="confirm-import"' in page
    assert Project.objects.count() == 0
    checked = DirectoryImport.objects.get()
    # someone else cannot confirm another's checked file
    other = client_for(tiny.users["dispatcher"]).post(f"{URL}{checked.pk}/confirm/")
    assert other.status_code == 302 and Project.objects.count() == 0
    done = c.post(f"{URL}{checked.pk}/confirm/")
    applied = DirectoryImport.objects.get(status=ImportStatus.APPLIED)
    assert done["Location"] == f"{URL}{applied.pk}/" and applied.applied_from == checked
    assert Project.objects.get().name == "园区" and (applied.created, applied.by) == (
        1,
        tiny.users["admin"],
    )
    assert "导入完成" in c.get(done["Location"]).content.decode()
    again = c.post(f"{URL}{checked.pk}/confirm/", follow=True)  # a second click
    assert "没有待确认的导入" in again.content.decode() and Project.objects.count() == 1


def test_upload_without_a_file_and_the_template_download(tiny):
    c = client_for(tiny.users["admin"])
    response = c.post(URL + "check/", {"kind": "projects"})
    assert response.status_code == 422 and "请选择要导入的文件" in response.content.decode()
    template = c.get(URL + "template/households.xlsx")
    assert template.status_code == 200 and template.content[:2] == b"PK"
    assert c.get(URL + "template/nonsense.xlsx").status_code == 404


def test_a_checked_file_expires_after_a_day(tiny, settings):
    c = client_for(tiny.users["admin"])
    data = xlsx([["项目编号", "项目名称", "责任单位"], ["XM-1", "园区", tiny.dept.code]])
    upload(c, data)
    old = DirectoryImport.objects.get()
    stored = settings.DATA_DIR / "directory_imports" / old.pending_file
    assert stored.exists()
    DirectoryImport.objects.filter(pk=old.pk).update(at=old.at - timedelta(hours=25))
    upload(c, data, name="again.xlsx")  # any new check sweeps the expired ones
    assert not stored.exists()
    page = c.post(f"{URL}{old.pk}/confirm/", follow=True).content.decode()
    assert "没有待确认的导入" in page and Project.objects.count() == 0
