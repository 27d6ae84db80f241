"""Ledger exports: queued by the page, written by the real task (django-tasks' immediate
backend), downloaded only by the person who asked; the files open in openpyxl with the right
rows, real dates and the masking of the user's role; old files are swept."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from django.test import Client
from openpyxl import load_workbook

from sanfuwu.core.clock import frozen_at
from sanfuwu.reports import services
from sanfuwu.reports.ledgers import DEMAND_HEADER, RATES_HEADER
from sanfuwu.reports.models import ExportJob, ExportStatus

from .conftest import NOW

FORM = {"ledger": "demands", "start": "2026-11-01", "end": "2026-11-30"}


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def export(scenario, immediate_tasks, user, **form) -> tuple[Client, ExportJob]:
    c = client_for(user)
    with scenario.now(), immediate_tasks():
        r = c.post("/reports/exports/", {**FORM, **form})
    assert r.status_code == 302, r.content.decode()[:500]
    job = ExportJob.objects.filter(by=user).latest("pk")
    assert r["Location"] == f"/reports/exports/{job.pk}/"
    return c, job


def workbook(response):
    data = b"".join(response.streaming_content)
    return load_workbook(io.BytesIO(data))  # a full (not read-only) load: the whole file parses


def test_demand_ledger_through_the_task(scenario, immediate_tasks):
    leader = scenario.tiny.users["leader"]
    c, job = export(scenario, immediate_tasks, leader)
    assert job.status == ExportStatus.DONE
    assert (job.rows_done, job.rows_total) == (7, 7)
    page = c.get(f"/reports/exports/{job.pk}/").content.decode()
    assert "已完成" in page and f"/reports/exports/{job.pk}/download/" in page
    r = c.get(f"/reports/exports/{job.pk}/download/")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r["Content-Disposition"]
    wb = workbook(r)
    assert wb.sheetnames == ["说明", "诉求台账"]
    ws = wb["诉求台账"]
    rows = list(ws.iter_rows(values_only=True))
    assert tuple(rows[0]) == DEMAND_HEADER
    assert len(rows) == 8
    by_id = {row[0]: dict(zip(DEMAND_HEADER, row, strict=True)) for row in rows[1:]}
    a = by_id[scenario.demands["A"].pk]
    assert a["状态"] == "办理中" and a["灯色"] == "红" and a["是否超期"] == "是"
    assert a["主办单位"] == "住建局" and a["协办单位"] == "教育局"
    assert isinstance(a["受理时间"], datetime)  # a real Excel date, in Beijing time
    assert a["受理时间"] == datetime(2026, 11, 2, 10, 0)
    assert "派单" in a["办理过程"] and "签收" in a["办理过程"] and "超期" in a["办理过程"]
    # names looked up once per export rather than joined per row
    demand_a = scenario.demands["A"]
    assert a["分类"] == demand_a.category.path
    assert a["派单单位"] == demand_a.dispatch_unit.name
    assert demand_a.handler is not None
    assert a["承办人"] == (demand_a.handler.display_name or demand_a.handler.username)
    e = by_id[scenario.demands["E"].pk]
    assert e["满意度"] == "满意" and e["状态"] == "已销号" and e["办结时间"] is not None
    # a leader is neither the dispatcher nor the handler: numbers masked
    assert a["联系人"] == "王五" and a["联系电话"] == "138****5678"


def test_dispatcher_sees_numbers_in_clear(scenario, immediate_tasks):
    c, job = export(scenario, immediate_tasks, scenario.tiny.users["dispatcher"])
    ws = workbook(c.get(f"/reports/exports/{job.pk}/download/"))["诉求台账"]
    phones = {row[14] for row in ws.iter_rows(min_row=2, values_only=True) if row[14]}
    assert phones == {"13812345678"}


def test_street_leader_ledger_is_scoped(scenario, immediate_tasks):
    leader = scenario.tiny.users["street_leader"]
    c, job = export(scenario, immediate_tasks, leader, unit=str(scenario.tiny.street.pk))
    ws = workbook(c.get(f"/reports/exports/{job.pk}/download/"))["诉求台账"]
    ids = {row[0] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert ids == {scenario.demands[k].pk for k in "DFG"}


def test_filters_of_the_demand_ledger(scenario, immediate_tasks):
    c, job = export(scenario, immediate_tasks, scenario.tiny.users["leader"], light="red")
    ws = workbook(c.get(f"/reports/exports/{job.pk}/download/"))["诉求台账"]
    assert [row[0] for row in ws.iter_rows(min_row=2, values_only=True)] == [
        scenario.demands["A"].pk
    ]


def test_rates_ledger(scenario, immediate_tasks):
    c, job = export(scenario, immediate_tasks, scenario.tiny.users["leader"], ledger="rates")
    wb = workbook(c.get(f"/reports/exports/{job.pk}/download/"))
    ws = wb["单位指标"]
    rows = list(ws.iter_rows(values_only=True))
    assert tuple(rows[0]) == RATES_HEADER
    by_unit = {row[0]: row for row in rows[1:]}
    assert by_unit["测试街道"][1] == 3 and by_unit["住建局"][1] == 4
    resolved = RATES_HEADER.index("化解率")
    assert by_unit["合计"][resolved] == pytest.approx(2 / 7)
    assert by_unit["合计"][resolved + 1] == "2/7"
    assert ws.cell(row=2, column=resolved + 1).number_format == "0.0%"


def test_only_the_requester_downloads(scenario, immediate_tasks):
    _c, job = export(scenario, immediate_tasks, scenario.tiny.users["leader"])
    url = f"/reports/exports/{job.pk}/download/"
    assert client_for(scenario.tiny.users["supervisor"]).get(url).status_code == 404
    assert client_for(scenario.tiny.users["supervisor"]).get(url[:-9]).status_code == 404
    assert Client().get(url).status_code == 302  # to the login page
    assert client_for(scenario.tiny.users["admin"]).get(url).status_code == 200


def test_unknown_or_unavailable_ledger_is_refused(scenario):
    c = client_for(scenario.tiny.users["leader"])
    with scenario.now():
        r = c.post("/reports/exports/", {**FORM, "ledger": "secrets"})
    assert r.status_code == 422 and "未知的台账" in r.content.decode()
    assert not ExportJob.objects.exists()


def test_unit_outside_scope_is_refused(scenario):
    c = client_for(scenario.tiny.users["street_leader"])
    with scenario.now():
        r = c.post("/reports/exports/", {**FORM, "unit": str(scenario.tiny.root.pk)})
    assert r.status_code == 422 and "不在您的管辖范围内" in r.content.decode()
    assert not ExportJob.objects.exists()


def test_handler_may_not_export(scenario):
    c = client_for(scenario.tiny.users["handler"])
    with scenario.now():
        assert c.post("/reports/exports/", FORM).status_code == 403
    assert not ExportJob.objects.exists()


def test_pending_job_page_polls_with_htmx(scenario, settings):
    # without the on-commit hooks the job stays queued, as when the worker is busy
    leader = scenario.tiny.users["leader"]
    with scenario.now():
        job = services.export_request(by=leader, kind="demands", params=FORM)
    c = client_for(leader)
    page = c.get(f"/reports/exports/{job.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in page and "排队中" in page
    fragment = c.get(f"/reports/exports/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<section class="card" id="job-')
    assert c.get(f"/reports/exports/{job.pk}/download/").status_code == 404
    # the worker picks it up later; the same task runs it once only
    with scenario.now():
        assert services.export_run(job_id=job.pk).status == ExportStatus.DONE
        assert services.export_run(job_id=job.pk) is None
    done = c.get(f"/reports/exports/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done and "下载" in done


def test_too_many_unfinished_jobs(scenario):
    leader = scenario.tiny.users["leader"]
    with scenario.now():
        for _ in range(services.MAX_UNFINISHED):
            services.export_request(by=leader, kind="demands", params=FORM)
        with pytest.raises(Exception, match="导出任务在进行中"):
            services.export_request(by=leader, kind="demands", params=FORM)


def test_expired_files_are_swept(scenario, immediate_tasks, export_dir):
    c, job = export(scenario, immediate_tasks, scenario.tiny.users["leader"])
    path = services.export_file(job)
    assert path.is_file() and path.parent == export_dir
    with frozen_at(NOW + timedelta(hours=services.keep_hours() - 1)):
        assert services.export_sweep() == 0
    with frozen_at(NOW + timedelta(hours=services.keep_hours() + 1)):
        assert services.export_sweep() == 1
    assert not path.exists()
    job.refresh_from_db()
    assert job.status == ExportStatus.EXPIRED
    assert c.get(f"/reports/exports/{job.pk}/download/").status_code == 404
    assert "已过期" in c.get(f"/reports/exports/{job.pk}/").content.decode()


def test_export_file_is_outside_the_static_root(settings):
    from pathlib import Path

    root = Path(settings.SANFUWU_EXPORT_ROOT).resolve()
    assert not root.is_relative_to(Path(settings.STATIC_ROOT).resolve())


def test_export_ledger_command(scenario, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = tmp_path / "台账.xlsx"
    with scenario.now():
        call_command(
            "export_ledger", "demands", "--user", "lingdao", "--output", str(out),
            "--from", "2026-11-01", "--to", "2026-11-30",
        )  # fmt: skip
    ws = load_workbook(out, read_only=True)["诉求台账"]
    assert sum(1 for _ in ws.iter_rows(min_row=2)) == 7
    with pytest.raises(CommandError, match="只有领导、督查、派单员和管理员"):
        call_command("export_ledger", "demands", "--user", "chengban", "--output", str(out))
