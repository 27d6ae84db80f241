"""Export jobs (导出任务): request one, run it in the background, sweep expired files.

A ledger can hold a hundred thousand demands: it is written by a django-tasks task
(``tasks.run_export``) into a file outside the web root, with its progress on the job row,
and downloaded later by the person who asked (docs/adr/0012-reports-exports-as-jobs.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from sanfuwu.core import clock
from sanfuwu.core.errors import DomainError, InvalidInput, NotFound
from sanfuwu.demands.transfer import ledger_filters
from sanfuwu.orgs.models import User
from sanfuwu.orgs.selectors import user_scope

from . import ledgers
from .models import ExportJob, ExportKind, ExportStatus
from .scope import parse_period, report_unit
from .xlsx import write_workbook_file

log = logging.getLogger(__name__)

# a user may not queue more than this many unfinished jobs (one click is enough)
MAX_UNFINISHED = 3
PROGRESS_EVERY = 2000
FILTER_KEYS = ("state", "kind", "channel", "light")


def export_root() -> Path:
    root = Path(settings.SANFUWU_EXPORT_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    return root


def export_pipe() -> bool | None:
    """SANFUWU_EXPORT_PIPE: serialise the cells in a second process — "on", "off", or
    "auto" (None: when the machine has a second core and can fork)."""
    value = str(getattr(settings, "SANFUWU_EXPORT_PIPE", "auto")).strip().lower()
    if value in ("on", "1", "true", "yes"):
        return True
    if value in ("off", "0", "false", "no"):
        return False
    return None


def keep_hours() -> int:
    return int(settings.SANFUWU_EXPORT_KEEP_HOURS)


@dataclass(frozen=True)
class ExportParams:
    """The checked parameters of a job, as stored in ``ExportJob.params``."""

    unit: int
    start: str
    end: str
    filters: dict[str, str]


def check_export_params(*, by: User, kind: str, params: dict[str, Any]) -> ExportParams:
    """Refuse what the user may not export or what makes no sense, before anything is queued."""
    if kind not in ExportKind.values:
        raise InvalidInput(_("未知的台账：%s") % kind, field="kind")
    if kind not in ledgers.available_kinds():
        raise InvalidInput(_("该台账暂不可用"), field="kind")
    unit = report_unit(by, params.get("unit"))
    period = parse_period(
        start=params.get("start") or None,
        end=params.get("end") or None,
        month=params.get("month") or None,
    )
    filters = {k: str(params[k]).strip() for k in FILTER_KEYS if params.get(k)}
    if kind == ExportKind.DEMANDS:
        # the same parser as export_demands: codes or Chinese labels, bad values refused
        ledger_filters(
            state=[filters["state"]] if "state" in filters else [],
            kind=filters.get("kind", ""),
            channel=filters.get("channel", ""),
            light=filters.get("light", ""),
        )
    return ExportParams(unit.pk, period.start.isoformat(), period.end.isoformat(), filters)


def export_request(*, by: User, kind: str, params: dict[str, Any]) -> ExportJob:
    """导出: queue a ledger for `by`; the worker writes it after commit."""
    checked = check_export_params(by=by, kind=kind, params=params)
    export_sweep()
    with transaction.atomic():
        unfinished = ExportJob.objects.filter(
            by=by, status__in=[ExportStatus.PENDING, ExportStatus.RUNNING]
        ).count()
        if unfinished >= MAX_UNFINISHED:
            raise DomainError(
                _("已有 %d 个导出任务在进行中，请等待完成后再申请") % unfinished,
                field="kind",
                code="too_many",
            )
        job = ExportJob.objects.create(
            by=by,
            kind=kind,
            params={
                "unit": checked.unit,
                "start": checked.start,
                "end": checked.end,
                **checked.filters,
            },
            created_at=clock.now(),
        )
        from .tasks import run_export

        transaction.on_commit(lambda: run_export.enqueue(job.pk))
    return job


def _build(job: ExportJob) -> ledgers.LedgerSpec:
    p = job.params
    unit = report_unit(job.by, p.get("unit"))
    period = parse_period(start=p.get("start"), end=p.get("end"))
    if job.kind == ExportKind.DEMANDS:
        filters = ledger_filters(
            state=[p["state"]] if p.get("state") else [],
            kind=p.get("kind", ""),
            channel=p.get("channel", ""),
            light=p.get("light", ""),
        )
        return ledgers.demands_ledger(user=job.by, unit=unit, period=period, filters=filters)
    builder = ledgers.builder_for(job.kind)
    return builder(user=job.by, unit=unit, period=period)


def file_name_for(job: ExportJob) -> str:
    p = job.params
    label = str(ExportKind(job.kind).label)
    return f"{label}_{p.get('start', '')}_{p.get('end', '')}_{job.pk}.xlsx"


def export_run(*, job_id: int) -> ExportJob | None:
    """Write the job's file. Claims the job with a compare-and-swap so that a retried or
    duplicated task never writes twice; records the progress every PROGRESS_EVERY rows."""
    now = clock.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.PENDING).update(
        status=ExportStatus.RUNNING, started_at=now
    )
    if not claimed:
        return None
    job = ExportJob.objects.select_related("by").get(pk=job_id)
    root = export_root()
    fd, tmp = tempfile.mkstemp(prefix=f".export-{job.pk}-", suffix=".xlsx", dir=root)
    os.close(fd)  # the writer opens it by name (possibly in a second process)
    try:
        spec = _build(job)
        if spec.total is not None:
            ExportJob.objects.filter(pk=job.pk).update(rows_total=spec.total)

        def progress(done: int) -> None:
            ExportJob.objects.filter(pk=job.pk).update(rows_done=done)

        rows = write_workbook_file(
            tmp, spec.sheets, progress=progress, every=PROGRESS_EVERY, pipe=export_pipe()
        )
        final = root / f"{job.pk}-{os.urandom(8).hex()}.xlsx"
        os.replace(tmp, final)
        os.chmod(final, 0o640)
    except Exception as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        message = exc.message if isinstance(exc, DomainError) else _("导出失败，请稍后重试")
        if not isinstance(exc, DomainError):
            log.exception("export job %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, error=message, finished_at=clock.now()
        )
        job.refresh_from_db()
        return job
    finished = clock.now()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE,
        rows_done=rows,
        rows_total=rows,
        file_path=final.name,
        file_name=file_name_for(job),
        file_size=final.stat().st_size,
        finished_at=finished,
        expires_at=finished + timedelta(hours=keep_hours()),
    )
    job.refresh_from_db()
    return job


def access_export_job(user: User | None, job_id: int | str) -> ExportJob:
    """The job if `user` asked for it or is an administrator; the same 404 otherwise."""
    try:
        pk = int(job_id)
    except (TypeError, ValueError):
        raise NotFound(_("导出任务不存在")) from None
    job = ExportJob.objects.filter(pk=pk).select_related("by").first()
    scope = user_scope(user)
    if job is None or scope.user_id is None or not (scope.is_admin or job.by_id == scope.user_id):
        raise NotFound(_("导出任务不存在"))
    return job


def export_file(job: ExportJob) -> Path:
    """The finished file of a job, or NotFound when it expired or is not ready."""
    if job.status != ExportStatus.DONE or not job.file_path:
        raise NotFound(_("文件尚未生成或已过期"))
    path = export_root() / Path(job.file_path).name
    if not path.is_file():
        raise NotFound(_("文件尚未生成或已过期"))
    return path


def export_sweep(*, now=None) -> int:
    """Delete the files of jobs past their expiry and mark the jobs expired; also remove
    temporary files a killed worker left behind. Returns how many jobs expired."""
    now = now or clock.now()
    root = export_root()
    expired = 0
    for job in ExportJob.objects.filter(status=ExportStatus.DONE, expires_at__lte=now).only(
        "pk", "file_path"
    ):
        if job.file_path:
            with contextlib.suppress(FileNotFoundError):
                (root / Path(job.file_path).name).unlink()
        expired += ExportJob.objects.filter(pk=job.pk, status=ExportStatus.DONE).update(
            status=ExportStatus.EXPIRED, file_path=""
        )
    # a job stuck in "running" for a day lost its worker: fail it so the user may retry
    ExportJob.objects.filter(
        status=ExportStatus.RUNNING, started_at__lte=now - timedelta(days=1)
    ).update(status=ExportStatus.FAILED, error=_("导出中断，请重新申请"), finished_at=now)
    for leftover in root.glob(".export-*"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < (now - timedelta(days=1)).timestamp():
                leftover.unlink()
    return expired
