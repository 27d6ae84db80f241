"""The ledgers of the other apps (积分 and 督办) through the same export job."""

from __future__ import annotations

import io

from django.test import Client
from openpyxl import load_workbook

from sanfuwu.points.models import PointEntry, PointRule
from sanfuwu.points.selectors import LEDGER_COLUMNS
from sanfuwu.points.services import process_points, rule_save
from sanfuwu.reports.models import ExportJob, ExportStatus
from sanfuwu.supervision.selectors import LEDGER_HEADER
from sanfuwu.supervision.services import order_issue

FORM = {"start": "2026-11-01", "end": "2026-11-30"}


def run_export(scenario, immediate_tasks, user, ledger: str):
    c = Client()
    c.force_login(user)
    with scenario.now(), immediate_tasks():
        r = c.post("/reports/exports/", {**FORM, "ledger": ledger})
    assert r.status_code == 302, r.content.decode()[:300]
    job = ExportJob.objects.filter(by=user).latest("pk")
    assert job.status == ExportStatus.DONE, job.error
    data = b"".join(c.get(f"/reports/exports/{job.pk}/download/").streaming_content)
    return job, load_workbook(io.BytesIO(data))


def test_points_ledger(scenario, immediate_tasks):
    # the default rules come with a data migration; a flushed test database lacks them
    if not PointRule.objects.filter(trigger="reply_on_time", active=True).exists():
        rule_save(
            by=scenario.tiny.users["admin"],
            code="reply_on_time_test",
            name="按期答复",
            trigger="reply_on_time",
            points=3,
            earner="handler_and_unit",
        )
    with scenario.now():
        process_points(settled=True)
    expected = PointEntry.objects.count()
    assert expected > 0  # the scenario earns points (solved on time, 满意, overdue …)
    job, wb = run_export(scenario, immediate_tasks, scenario.tiny.users["leader"], "points")
    ws = wb["积分台账"]
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == [label for _k, label in LEDGER_COLUMNS]
    assert len(rows) - 1 == expected == job.rows_done
    assert {r[0] for r in rows[1:]} == set(PointEntry.objects.values_list("pk", flat=True))


def test_supervision_ledger(scenario, immediate_tasks):
    supervisor = scenario.tiny.users["supervisor"]
    with scenario.now():
        order = order_issue(
            by=supervisor,
            kind="duban",
            requirement="请三日内书面答复处理进度",
            working_days=3,
            demand=scenario.demands["A"],
        )
    _job, wb = run_export(scenario, immediate_tasks, supervisor, "supervision")
    rows = list(wb["督办清单"].iter_rows(values_only=True))
    assert tuple(rows[0]) == tuple(LEDGER_HEADER)
    assert [r[0] for r in rows[1:]] == [order.pk]
    assert rows[1][2] == scenario.demands["A"].pk and rows[1][3] == "住建局"
