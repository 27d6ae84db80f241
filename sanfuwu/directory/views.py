"""名录导入 — the staff page to load enterprises, households and projects from a file.

Two steps: upload (the whole file is checked; a clean one is kept) and 确认导入 (the very same
file is applied). Only administrators and the district's dispatchers reach it. The rules live
in ``importing``; this module only translates HTTP.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sanfuwu.core.errors import DomainError

from . import importing
from .models import DirectoryImport, ImportKind, ImportStatus

RECENT = 20


def _importer_only(request: HttpRequest) -> None:
    if not importing.may_import_directory(request.user):  # type: ignore[arg-type]
        raise PermissionDenied(_("只有管理员或区级派单员可以导入名录"))


def _page(request: HttpRequest, *, error: str = "", kind: str = "", status: int = 200):
    recent = DirectoryImport.objects.select_related("by").order_by("-at", "-pk")[:RECENT]
    return render(
        request,
        "directory/imports.html",
        {
            "kinds": ImportKind.choices,
            "kind": kind or ImportKind.ENTERPRISES,
            "kind_columns": [
                (value, label, importing.COLUMNS[value]) for value, label in ImportKind.choices
            ],
            "recent": recent,
            "error": error,
            "max_mb": importing.MAX_UPLOAD_BYTES >> 20,
        },
        status=status,
    )


@login_required
def import_page(request: HttpRequest) -> HttpResponse:
    _importer_only(request)
    return _page(request, kind=request.GET.get("kind", ""))


@login_required
@require_POST
def import_check(request: HttpRequest) -> HttpResponse:
    _importer_only(request)
    kind = request.POST.get("kind", "")
    upload = request.FILES.get("file")
    if upload is None:
        return _page(request, error=_("请选择要导入的文件"), kind=kind, status=422)
    if upload.size and upload.size > importing.MAX_UPLOAD_BYTES:
        message = _("文件超过 %(mb)s MB，请用命令 import_directory 导入") % {
            "mb": importing.MAX_UPLOAD_BYTES >> 20
        }
        return _page(request, error=message, kind=kind, status=422)
    try:
        report = importing.directory_import_check(
            by=request.user,  # type: ignore[arg-type]
            kind=kind,
            data=upload.read(),
            file_name=upload.name or "",
        )
    except DomainError as exc:
        return _page(request, error=exc.message, kind=kind, status=422)
    assert report.record is not None
    return redirect("directory-import-detail", pk=report.record.pk)


def _visible_import(request: HttpRequest, pk: int) -> DirectoryImport:
    _importer_only(request)
    record = DirectoryImport.objects.select_related("by").filter(pk=pk).first()
    if record is None:
        raise Http404
    return record


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = _visible_import(request, pk)
    errors = record.errors
    return render(
        request,
        "directory/import_detail.html",
        {
            "record": record,
            "errors": errors,
            "errors_cut": record.error_count > len(errors),
            "failing_rows": len({e["row"] for e in errors}),
            "pending": bool(record.pending_file)
            and record.status == ImportStatus.DRY_RUN
            and record.by_id == request.user.pk,
        },
    )


@login_required
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    _importer_only(request)
    try:
        report = importing.directory_import_confirm(by=request.user, pk=pk)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("directory-import-detail", pk=pk)
    assert report.record is not None
    if report.applied:
        messages.success(
            request,
            _("导入完成：新增 %(c)s，更新 %(u)s") % {"c": report.created, "u": report.updated},
        )
    return redirect("directory-import-detail", pk=report.record.pk)


@login_required
def import_errors_csv(request: HttpRequest, pk: int) -> HttpResponse:
    record = _visible_import(request, pk)
    response = HttpResponse(
        "\ufeff" + importing.errors_csv(record.errors), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{record.pk}-errors.csv"'
    return response


@login_required
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    _importer_only(request)
    if kind not in ImportKind.values:
        raise Http404
    response = HttpResponse(
        importing.template_xlsx(kind),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="directory-{kind}-template.xlsx"'
    return response


urlpatterns = [
    path("imports/", import_page, name="directory-imports"),
    path("imports/check/", import_check, name="directory-import-check"),
    path("imports/<int:pk>/", import_detail, name="directory-import-detail"),
    path("imports/<int:pk>/confirm/", import_confirm, name="directory-import-confirm"),
    path("imports/<int:pk>/errors.csv", import_errors_csv, name="directory-import-errors"),
    path("imports/template/<str:kind>.xlsx", import_template, name="directory-import-template"),
]
