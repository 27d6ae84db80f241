"""GeoReport v2 endpoints. They translate; the demand services and selectors decide."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sanfuwu.core.errors import DomainError
from sanfuwu.demands import services
from sanfuwu.demands.models import Category, Channel, Demand, DemandEvent, Kind, Reply
from sanfuwu.demands.workflow import BEFORE_REPLY
from sanfuwu.orgs.models import hash_token

from .models import Client, Submission
from .render import errors, render

DEFAULT_DAYS = 90
MAX_RESULTS = 1000


def jurisdiction_ok(request) -> bool:
    allowed = getattr(settings, "OPEN311_JURISDICTIONS", [])
    given = request.GET.get("jurisdiction_id") or request.POST.get("jurisdiction_id")
    return not allowed or not given or given in allowed


def iso(dt: datetime | None) -> str | None:
    return timezone.localtime(dt).isoformat(timespec="seconds") if dt else None


def leaf_categories() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True, children__isnull=True).select_related(
        "parent__parent"
    )


def group_of(c: Category) -> str:
    top = c
    while top.parent_id and top.parent is not None:
        top = top.parent
    return top.name


def service_dict(c: Category) -> dict[str, Any]:
    return {
        "service_code": str(c.pk),
        "service_name": c.name,
        "description": c.path,
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(c.path.split("/")),
        "group": group_of(c),
    }


@require_http_methods(["GET"])
def discovery(request, fmt: str):
    base = request.build_absolute_uri("/open311/v2/")
    data = {
        "changeset": "2026-11-24T00:00:00+08:00",
        "contact": getattr(settings, "OPEN311_CONTACT", "三服务办"),
        "key_service": "向平台管理员申请 api_key",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-11-24T00:00:00+08:00",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return render(fmt, data, root="discovery")


@require_http_methods(["GET"])
def service_list(request, fmt: str):
    if not jurisdiction_ok(request):
        return errors(fmt, 404, "jurisdiction_id not found")
    return render(
        fmt, [service_dict(c) for c in leaf_categories()], root="services", item="service"
    )


@require_http_methods(["GET"])
def service_definition(request, fmt: str, code: str):
    if not jurisdiction_ok(request):
        return errors(fmt, 404, "jurisdiction_id not found")
    category = leaf_categories().filter(pk=int(code)).first() if code.isdigit() else None
    if category is None:
        return errors(fmt, 404, f"service_code {code} not found")
    data = {
        "service_code": str(category.pk),
        "attributes": [
            {
                "variable": True,
                "code": "kind",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "诉求类型（默认：求助）",
                "order": 1,
                "description": "诉求类型",
                "values": [{"key": k, "name": str(label)} for k, label in Kind.choices],
            }
        ],
    }
    return render(fmt, data, root="service_definition")


def public_demands() -> QuerySet[Demand]:
    """What the unauthenticated GETs may show: GeoReport submissions, and demands whose
    person agreed to publication in a category that may be published. Nothing else."""
    return Demand.objects.filter(
        Q(open311__isnull=False)
        | Q(publish_consent=True, confidential=False, category__publishable=True)
    )


def with_notes(qs: QuerySet[Demand]) -> QuerySet[Demand]:
    """Load the approved replies and public notes of a page of demands in two queries."""
    return qs.prefetch_related(
        Prefetch(
            "replies",
            queryset=Reply.objects.filter(approved_at__isnull=False).order_by("-id"),
            to_attr="approved_replies",
        ),
        Prefetch(
            "events",
            queryset=DemandEvent.objects.filter(action="note", data__public=True).order_by("-id"),
            to_attr="public_notes",
        ),
    )


def status_notes(d: Demand) -> str:
    """The latest reply once replied, else the latest public progress note."""
    replies = getattr(d, "approved_replies", [])
    if replies and d.state not in BEFORE_REPLY:
        return replies[0].text
    notes = getattr(d, "public_notes", [])
    return notes[0].note if notes else ""


def request_dict(d: Demand) -> dict[str, Any]:
    sub = getattr(d, "open311", None)
    return {
        "service_request_id": str(d.pk),
        "status": "open" if d.state in BEFORE_REPLY else "closed",
        "status_notes": status_notes(d),
        "service_name": d.category.name if d.category else "",
        "service_code": str(d.category_id or ""),
        "description": d.body,
        "agency_responsible": d.lead_unit.name if d.lead_unit else "",
        "service_notice": "",
        "requested_datetime": iso(d.created_at),
        "updated_datetime": iso(d.updated_at),
        "expected_datetime": iso(d.due_at),
        "address": d.address,
        "address_id": "",
        "zipcode": "",
        "lat": float(d.latitude) if d.latitude is not None else None,
        "long": float(d.longitude) if d.longitude is not None else None,
        "media_url": sub.media_url if sub else "",
    }


def _parse_date(value: str) -> datetime | None:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else timezone.make_aware(dt)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def requests_view(request, fmt: str):
    if not jurisdiction_ok(request):
        return errors(fmt, 404, "jurisdiction_id not found")
    if request.method == "POST":
        return create_request(request, fmt)
    qs = public_demands().select_related("category", "lead_unit", "open311")
    ids = request.GET.get("service_request_id")
    if ids:
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
        if not all(i.isdigit() for i in wanted):
            return errors(fmt, 400, "service_request_id must be a comma-separated list of ids")
        qs = qs.filter(pk__in=[int(i) for i in wanted])
    else:
        start = request.GET.get("start_date")
        end = request.GET.get("end_date")
        start_dt = _parse_date(start) if start else timezone.now() - timedelta(days=DEFAULT_DAYS)
        end_dt = _parse_date(end) if end else None
        if start_dt is None or (end and end_dt is None):
            return errors(fmt, 400, "start_date and end_date must be ISO 8601 (w3c) datetimes")
        qs = qs.filter(created_at__gte=start_dt)
        if end_dt is not None:
            qs = qs.filter(created_at__lte=end_dt)
        codes = request.GET.get("service_code")
        if codes:
            qs = qs.filter(
                category_id__in=[int(c) for c in codes.split(",") if c.strip().isdigit()]
            )
        status = request.GET.get("status")
        if status:
            states = [s.strip() for s in status.split(",")]
            if not set(states) <= {"open", "closed"}:
                return errors(fmt, 400, "status must be open or closed")
            if states == ["open"]:
                qs = qs.filter(state__in=BEFORE_REPLY)
            elif states == ["closed"]:
                qs = qs.exclude(state__in=BEFORE_REPLY)
    rows = [request_dict(d) for d in with_notes(qs.order_by("-created_at", "-pk")[:MAX_RESULTS])]
    return render(fmt, rows, root="service_requests", item="request")


@require_http_methods(["GET"])
def request_detail(request, fmt: str, request_id: str):
    if not jurisdiction_ok(request):
        return errors(fmt, 404, "jurisdiction_id not found")
    qs = with_notes(public_demands().select_related("category", "lead_unit", "open311"))
    d = qs.filter(pk=int(request_id)).first() if request_id.isdigit() else None
    if d is None:
        return errors(fmt, 404, f"service_request_id {request_id} not found")
    return render(fmt, [request_dict(d)], root="service_requests", item="request")


@require_http_methods(["GET"])
def token_view(request, fmt: str, token: str):
    sub = Submission.objects.filter(token=token).first()
    if sub is None:
        return errors(fmt, 404, "token not found")
    return render(
        fmt,
        [{"service_request_id": str(sub.demand_id), "token": token}],
        root="service_requests",
        item="request",
    )


def create_request(request, fmt: str):
    p = request.POST
    raw = p.get("api_key", "")
    client = (
        Client.objects.filter(key_hash=hash_token(raw), revoked_at__isnull=True).first()
        if raw
        else None
    )
    if client is None:
        return errors(fmt, 403, "api_key is missing or not valid")
    code = p.get("service_code", "")
    if not code:
        return errors(fmt, 400, "service_code is required")
    category = leaf_categories().filter(pk=int(code)).first() if code.isdigit() else None
    if category is None:
        return errors(fmt, 404, f"service_code {code} not found")
    lat, lng = p.get("lat"), p.get("long")
    address = p.get("address_string", "") or p.get("address_id", "")
    if not ((lat and lng) or address):
        return errors(
            fmt, 400, "a location is required: lat and long, address_string or address_id"
        )
    try:
        latitude = float(lat) if lat else None
        longitude = float(lng) if lng else None
    except ValueError:
        return errors(fmt, 400, "lat and long must be numbers (WGS84)")
    kind = p.get("attribute[kind]") or Kind.HELP
    name = f"{p.get('last_name', '')}{p.get('first_name', '')}".strip()
    description = (p.get("description") or "").strip() or category.name
    media_url = p.get("media_url", "")[:500]
    try:
        with transaction.atomic():
            result = services.demand_submit(
                by=None,
                title=description[:60] if len(description) <= 60 else description[:58] + "……",
                body=description,
                kind=kind,
                channel=Channel.API,
                source=client.name,
                category=category,
                contact_name=name[:50],
                contact_phone=p.get("phone", ""),
                address=address[:300],
                latitude=latitude,
                longitude=longitude,
                publish_consent=True,
            )
            Submission.objects.create(
                demand=result.demand,
                client=client,
                token=secrets.token_urlsafe(16),
                media_url=media_url if media_url.startswith(("http://", "https://")) else "",
                account_id=p.get("account_id", "")[:100],
                device_id=p.get("device_id", "")[:100],
            )
    except DomainError as exc:
        field = {
            "contact_phone": "phone",
            "body": "description",
            "title": "description",
            "kind": "attribute[kind]",
        }.get(exc.field or "", exc.field)
        return errors(fmt, 400, f"{field}: {exc.message}" if field else exc.message)
    data = [
        {
            "service_request_id": str(result.demand.pk),
            "service_notice": "",
            "account_id": p.get("account_id", ""),
        }
    ]
    return render(fmt, data, root="service_requests", item="request")
