"""Writes: adding files to a demand (上传附件)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.utils.translation import gettext as _

from sanfuwu.core import clock
from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands.access import DemandNotFound, access_demand
from sanfuwu.demands.models import Demand, DemandEvent
from sanfuwu.orgs.models import User
from sanfuwu.orgs.selectors import user_scope

from .models import Attachment, Purpose, Via
from .sniff import ALLOWED_LABEL, FileType, Refused, clean_name, name_for, sniff
from .storage import RollbackCleanup, attachment_storage, new_stored_name

MB = 1024 * 1024


def max_file_bytes() -> int:
    return int(getattr(settings, "SANFUWU_ATTACHMENT_MAX_BYTES", 10 * MB))


def max_files() -> int:
    return int(getattr(settings, "SANFUWU_ATTACHMENT_MAX_COUNT", 9))


def max_total_bytes() -> int:
    return int(getattr(settings, "SANFUWU_ATTACHMENT_MAX_TOTAL_BYTES", 30 * MB))


def human_size(n: int) -> str:
    if n >= MB:
        return f"{n / MB:.1f}".removesuffix(".0") + " MB"
    if n >= 1024:
        return f"{n / 1024:.1f}".removesuffix(".0") + " KB"
    return f"{n} B"


@dataclass
class Checked:
    file: Any
    kind: FileType
    name: str
    size: int
    sha256: str


def _measure(f: Any, limit: int) -> tuple[int, str]:
    """Size and sha256 from the bytes themselves (a declared size may lie); stops past
    `limit`."""
    digest, size = hashlib.sha256(), 0
    f.seek(0)
    for chunk in f.chunks() if hasattr(f, "chunks") else iter(lambda: f.read(64 * 1024), b""):
        size += len(chunk)
        if size > limit:
            break
        digest.update(chunk)
    f.seek(0)
    return size, digest.hexdigest()


def check_files(files: Sequence[Any]) -> list[Checked]:
    """Validate every file (count, size, type by content); raise InvalidInput(field="files")
    for the first one that fails. Reads the files, writes nothing."""
    if len(files) > max_files():
        raise InvalidInput(
            _("一次最多上传 %(max)d 个文件（本次 %(count)d 个）")
            % {"max": max_files(), "count": len(files)},
            field="files",
        )
    checked: list[Checked] = []
    total = 0
    for f in files:
        shown = clean_name(getattr(f, "name", "")) or _("未命名文件")
        declared = getattr(f, "size", None)
        sha = ""
        if getattr(f, "truncated", False) or (declared is not None and declared > max_file_bytes()):
            # the upload handler kept no bytes of it (uploads.OversizeUpload), or it is
            # declared too big: refused on its size without reading it
            size = declared or 0
        else:
            size, sha = _measure(f, max_file_bytes())
        if size > max_file_bytes():
            raise InvalidInput(
                _("文件“%(name)s”超过 %(max)s 的上限（%(size)s）")
                % {"name": shown, "max": human_size(max_file_bytes()), "size": human_size(size)},
                field="files",
            )
        if size == 0:
            raise InvalidInput(_("文件“%(name)s”是空文件") % {"name": shown}, field="files")
        total += size
        if total > max_total_bytes() or getattr(f, "truncated", False):
            raise InvalidInput(
                _("一次上传的文件合计不能超过 %(max)s") % {"max": human_size(max_total_bytes())},
                field="files",
            )
        try:
            kind = sniff(f)
        except Refused as refused:
            message = _("文件“%(name)s”%(reason)s。") % {
                "name": shown,
                "reason": _(refused.reason),
            }
            raise InvalidInput(
                message + _("只接受：%(allowed)s") % {"allowed": _(ALLOWED_LABEL)},
                field="files",
            ) from None
        checked.append(Checked(f, kind, name_for(getattr(f, "name", ""), kind), size, sha))
    return checked


def _via(by: User | None, demand: Demand) -> str:
    if by is None:
        return Via.PORTAL
    scope = user_scope(by)
    if demand.submitter_id == by.pk and not scope.is_admin and not scope.unit_ids():
        return Via.PORTAL
    return Via.STAFF


def attachments_add(
    *,
    demand: Demand | int,
    by: User | None,
    files: Sequence[Any],
    purpose: str,
    event: DemandEvent | None = None,
    via: str | None = None,
) -> list[Attachment]:
    """上传附件 — add files to a demand (with 提交, 答复, 退单, 进展 or 回访).

    Every file is checked first (count, size, type by its content); if one fails this raises
    InvalidInput(field="files") and nothing is written. Then the files are stored under
    random names, one row each, and one "attach" event goes on the demand's timeline. The
    rows point at `event` (the caller's transition, e.g. the 退单) when given, else at the
    upload's own event. `by` must be able to read the demand; None is the person on the
    portal (the caller has the demand from its own submit or the secret link). The written
    files are deleted again if the transaction does not commit.
    """
    if not files:
        return []
    if purpose not in Purpose.values:
        raise InvalidInput(_("附件用途无效：%(value)s") % {"value": purpose}, field="purpose")
    if via is not None and via not in Via.values:
        raise InvalidInput(_("上传渠道无效：%(value)s") % {"value": via}, field="via")
    pk = demand.pk if isinstance(demand, Demand) else int(demand)
    found = access_demand(by, pk) if by is not None else Demand.objects.filter(pk=pk).first()
    if found is None:
        raise DemandNotFound()
    d = found
    if event is not None and event.demand_id != d.pk:
        raise InvalidInput(_("事件不属于该诉求"), field="event")
    checked = check_files(list(files))
    uploaded_via = via or _via(by, d)

    from sanfuwu.demands.services import demand_record_attachments

    storage = attachment_storage()
    written: list[str] = []
    cleanup: RollbackCleanup | None = None
    try:
        with transaction.atomic():
            own = demand_record_attachments(
                demand=d,
                by=by,
                names=[c.name for c in checked],
                purpose=purpose,
                data={"event_id": event.pk} if event is not None else None,
            )
            now = clock.now()
            for c in checked:
                c.file.seek(0)
                name = storage.save(new_stored_name(), File(c.file, name=c.name))
                written.append(name)
            cleanup = RollbackCleanup(storage, written)
            transaction.on_commit(cleanup)
            rows = Attachment.objects.bulk_create(
                [
                    Attachment(
                        demand=d,
                        event=event or own,
                        purpose=purpose,
                        round=d.reopen_count + 1,
                        original_name=c.name,
                        stored_name=name,
                        content_type=c.kind.content_type,
                        size=c.size,
                        sha256=c.sha256,
                        uploaded_by=by,
                        uploaded_via=uploaded_via,
                        created_at=now,
                    )
                    for c, name in zip(checked, written, strict=True)
                ]
            )
    except BaseException:
        if cleanup is not None:
            cleanup.discard()
        else:
            RollbackCleanup(storage, written).discard()
        raise
    if rows and rows[0].pk is None:  # backends without RETURNING: read the ids back
        rows = list(Attachment.objects.filter(stored_name__in=written).order_by("id"))
    return rows


def attachment_files_orphaned(*, older_than: timedelta = timedelta(hours=24)) -> list[str]:
    """Stored files no row refers to (a process killed between the write and the commit),
    older than `older_than` so that uploads in flight are never touched."""
    storage = attachment_storage()
    cutoff = clock.now() - older_than
    found: list[str] = []

    def walk(folder: str) -> None:
        try:
            dirs, names = storage.listdir(folder)
        except FileNotFoundError:
            return
        for d in sorted(dirs):
            walk(f"{folder}/{d}" if folder else d)
        batch = [f"{folder}/{n}" if folder else n for n in names]
        known = set(
            Attachment.objects.filter(stored_name__in=batch).values_list("stored_name", flat=True)
        )
        found.extend(
            name for name in batch if name not in known and storage.get_modified_time(name) < cutoff
        )

    walk("")
    return found


def attachment_files_sweep(*, older_than: timedelta = timedelta(hours=24)) -> list[str]:
    """Delete the orphaned files (see attachment_files_orphaned); returns their names."""
    storage = attachment_storage()
    names = attachment_files_orphaned(older_than=older_than)
    for name in names:
        storage.delete(name)
    return names
