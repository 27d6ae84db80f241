"""GeoReport v2 endpoints. They translate; the demand services and selectors decide."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sanfuwu.core import clock
from sanfuwu.core.errors import DomainError
from sanfuwu.core.masking import mask_id_number, mask_name, mask_phone
from sanfuwu.demands import services, sla
from sanfuwu.demands.models import Category, Channel, Demand, DemandEvent, Kind, Reply
from sanfuwu.demands.workflow import BEFORE_REPLY
from sanfuwu.orgs.models import hash_token

from .models import CatalogueVersion, Client, Submission
from .render import errors, render

DEFAULT_DAYS = 90
MAX_RESULTS = 1000
DESCRIPTION_MAX = 4000
ATTRIBUTE = re.compile(r"attribute\[([^\[\]]+)\](?:\[\])?")


def allow(*methods: str):
    """Like require_http_methods, but the 405 comes in the spec's error shape."""

    allowed = (*methods, "HEAD") if "GET" in methods else methods

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, fmt: str, *args, **kwargs):
            if request.method not in allowed:
                response = errors(fmt, 405, f"method {request.method} is not allowed here")
                response["Allow"] = ", ".join(allowed)
                return response
            return view(request, fmt, *args, **kwargs)

        return wrapper

    return decorate


_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def scrub(text: str, d: Demand) -> str:
    """Free text published by the GETs, without the person's numbers, e-mail and name
    (a description may repeat them: "请联系我 13812345678")."""
    if not text:
        return ""
    sub = getattr(d, "open311", None)
    for secret, masked in (
        (d.contact_id_number, mask_id_number(d.contact_id_number)),
        (d.contact_phone, mask_phone(d.contact_phone)),
        (sub.email if sub else "", "***@***"),
        (d.contact_name if len(d.contact_name or "") >= 2 else "", mask_name(d.contact_name)),
    ):
        if secret:
            text = text.replace(secret, masked)
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group()), text)
    text = _MOBILE.sub(lambda m: mask_phone(m.group()), text)
    text = _LANDLINE.sub(lambda m: mask_phone(m.group()), text)
    return _EMAIL.sub("***@***", text)


def param(request, name: str) -> str:
    """A parameter; on POST the body wins over the query string (some clients send api_key
    and jurisdiction_id in the URL of their POST). An empty value is an absent one (spec:
    "Optional Arguments")."""
    value = request.POST.get(name) if request.method == "POST" else None
    if value is None or value == "":
        value = request.GET.get(name)
    return (value or "").strip()


def jurisdiction_error(request, fmt: str) -> HttpResponse | None:
    """The spec's jurisdiction rules: ignored when the deployment defines none; required
    (400) when it defines several; 404 when given and not one of them."""
    allowed = list(getattr(settings, "OPEN311_JURISDICTIONS", []))
    if not allowed:
        return None
    given = param(request, "jurisdiction_id")
    if not given:
        if len(allowed) > 1:
            return errors(fmt, 400, "jurisdiction_id was not provided")
        return None
    if given not in allowed:
        return errors(fmt, 404, f"jurisdiction_id {given} not found")
    return None


def service_type() -> str:
    """realtime: POST answers the service_request_id; batch: a token to resolve later."""
    value = getattr(settings, "OPEN311_SERVICE_TYPE", "realtime")
    return value if value in ("realtime", "batch") else "realtime"


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
        "type": service_type(),
        "keywords": ",".join(c.path.split("/")),
        "group": group_of(c),
    }


def catalogue_changeset() -> str:
    """The time the published services (categories, the kind attribute) last changed, seen
    through a fingerprint of what GET services and the definitions publish."""
    published = [service_dict(c) for c in leaf_categories().order_by("pk")]
    payload = json.dumps([published, Kind.choices], ensure_ascii=False, default=str)
    fingerprint = hashlib.sha256(payload.encode()).hexdigest()
    latest = CatalogueVersion.objects.order_by("-pk").first()
    if latest is None or latest.fingerprint != fingerprint:
        latest = CatalogueVersion.objects.create(fingerprint=fingerprint, first_seen=clock.now())
    # microseconds: two changes within a second still give two changesets
    return timezone.localtime(latest.first_seen).isoformat(timespec="microseconds")


@allow("GET")
def discovery(request, fmt: str):
    base = request.build_absolute_uri("/open311/v2/")
    changeset = catalogue_changeset()
    data = {
        "changeset": changeset,
        "contact": getattr(settings, "OPEN311_CONTACT", "三服务办"),
        "key_service": "向平台管理员申请 api_key",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": changeset,
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return render(fmt, data, root="discovery")


@allow("GET")
def service_list(request, fmt: str):
    if (refused := jurisdiction_error(request, fmt)) is not None:
        return refused
    return render(
        fmt, [service_dict(c) for c in leaf_categories()], root="services", item="service"
    )


@allow("GET")
def service_definition(request, fmt: str, code: str):
    if (refused := jurisdiction_error(request, fmt)) is not None:
        return refused
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


def service_notice(d: Demand) -> str:
    """What is expected to happen: the working-day term of the demand's kind while open."""
    if d.state not in BEFORE_REPLY:
        return ""
    return f"承办时限 {sla.handling_days_for(d.kind)} 个工作日（不含法定节假日）"


def request_dict(d: Demand) -> dict[str, Any]:
    sub = getattr(d, "open311", None)
    closed = d.state not in BEFORE_REPLY
    # spec: for a closed request updated_datetime is when it was closed (here: the reply)
    updated = (d.replied_at or d.closed_at or d.updated_at) if closed else d.updated_at
    return {
        "service_request_id": str(d.pk),
        "status": "closed" if closed else "open",
        "status_notes": scrub(status_notes(d), d),
        "service_name": d.category.name if d.category else "",
        "service_code": str(d.category_id or ""),
        "description": scrub(d.body, d),
        "agency_responsible": d.lead_unit.name if d.lead_unit else "",
        "service_notice": service_notice(d),
        "requested_datetime": iso(d.created_at),
        "updated_datetime": iso(updated),
        "expected_datetime": iso(d.due_at),
        "address": d.address,
        "address_id": sub.address_id if sub else "",
        "zipcode": "",
        "lat": float(d.latitude) if d.latitude is not None else None,
        "long": float(d.longitude) if d.longitude is not None else None,
        "media_url": sub.media_url if sub else "",
    }


def parse_w3c(value: str) -> datetime | None:
    """A w3c/ISO 8601 datetime; one without a timezone is read in the server's zone."""
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        return None
    return dt if dt.tzinfo else timezone.make_aware(dt)


def param_list(request, name: str) -> list[str]:
    """A list parameter: comma delimited, and it may be given several times."""
    return [v.strip() for raw in request.GET.getlist(name) for v in raw.split(",") if v.strip()]


@allow("GET", "POST")
@csrf_exempt
def requests_view(request, fmt: str):
    if (refused := jurisdiction_error(request, fmt)) is not None:
        return refused
    if request.method == "POST":
        return create_request(request, fmt)
    qs = public_demands().select_related("category", "lead_unit", "open311")
    ids = param_list(request, "service_request_id")
    if ids:  # "This overrides all other arguments."
        if not all(i.isdigit() for i in ids):
            return errors(fmt, 400, "service_request_id must be a comma-separated list of ids")
        qs = qs.filter(pk__in=[int(i) for i in ids])
    else:
        start_raw, end_raw = param(request, "start_date"), param(request, "end_date")
        start = parse_w3c(start_raw) if start_raw else None
        end = parse_w3c(end_raw) if end_raw else None
        if (start_raw and start is None) or (end_raw and end is None):
            return errors(fmt, 400, "start_date and end_date must be w3c datetimes")
        span = timedelta(days=DEFAULT_DAYS)
        if start and end:
            if end < start:
                return errors(fmt, 400, "end_date is before start_date")
            if end - start > span:
                return errors(
                    fmt, 400, f"start_date to end_date may not span more than {DEFAULT_DAYS} days"
                )
        elif start:
            end = start + span
        elif end:
            start = end - span
        else:
            end = timezone.now()
            start = end - span
        qs = qs.filter(created_at__gte=start, created_at__lte=end)
        codes = param_list(request, "service_code")
        if codes:
            qs = qs.filter(category_id__in=[int(c) for c in codes if c.isdigit()])
        states = set(param_list(request, "status"))
        if not states <= {"open", "closed"}:
            return errors(fmt, 400, "status must be open or closed")
        if states == {"open"}:
            qs = qs.filter(state__in=BEFORE_REPLY)
        elif states == {"closed"}:
            qs = qs.exclude(state__in=BEFORE_REPLY)
    rows = [request_dict(d) for d in with_notes(qs.order_by("-created_at", "-pk")[:MAX_RESULTS])]
    return render(fmt, rows, root="service_requests", item="request")


@allow("GET")
def request_detail(request, fmt: str, request_id: str):
    if (refused := jurisdiction_error(request, fmt)) is not None:
        return refused
    qs = with_notes(public_demands().select_related("category", "lead_unit", "open311"))
    d = qs.filter(pk=int(request_id)).first() if request_id.isdigit() else None
    if d is None:
        return errors(fmt, 404, f"service_request_id {request_id} not found")
    return render(fmt, [request_dict(d)], root="service_requests", item="request")


@allow("GET")
def token_view(request, fmt: str, token: str):
    if (refused := jurisdiction_error(request, fmt)) is not None:
        return refused
    sub = Submission.objects.filter(token=token).first()
    if sub is None:
        return errors(fmt, 404, f"token {token} not found")
    return render(
        fmt,
        [{"service_request_id": str(sub.demand_id), "token": token}],
        root="service_requests",
        item="request",
    )


def attributes(request) -> dict[str, list[str]]:
    """attribute[code]=value and, for a multivaluelist, attribute[code][]=v1&attribute[code][]=v2."""
    found: dict[str, list[str]] = {}
    source = request.POST if request.POST else request.GET
    for key in source:
        m = ATTRIBUTE.fullmatch(key)
        if m:
            values = [v.strip() for v in source.getlist(key) if v.strip()]
            found.setdefault(m.group(1), []).extend(values)
    return found


def create_request(request, fmt: str):
    raw = param(request, "api_key")
    client = (
        Client.objects.filter(key_hash=hash_token(raw), revoked_at__isnull=True).first()
        if raw
        else None
    )
    if client is None:
        return errors(fmt, 403, "api_key is missing or not valid")
    code = param(request, "service_code")
    if not code:
        return errors(fmt, 400, "service_code was not provided")
    category = leaf_categories().filter(pk=int(code)).first() if code.isdigit() else None
    if category is None:
        return errors(fmt, 404, f"service_code {code} not found")
    lat, lng = param(request, "lat"), param(request, "long")
    address_string = param(request, "address_string")
    address_id = param(request, "address_id")
    if bool(lat) != bool(lng):
        return errors(fmt, 400, "lat and long both need to be sent")
    if not (lat or address_string or address_id):
        return errors(
            fmt, 400, "a location is required: lat and long, address_string or address_id"
        )
    try:
        latitude = float(lat) if lat else None
        longitude = float(lng) if lng else None
    except ValueError:
        return errors(fmt, 400, "lat and long must be decimal degrees (WGS84)")
    description = param(request, "description")
    if len(description) > DESCRIPTION_MAX:
        return errors(fmt, 400, f"description is limited to {DESCRIPTION_MAX} characters")
    email = param(request, "email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            return errors(fmt, 400, "email is not a valid e-mail address")
    media_url = param(request, "media_url")
    if media_url and (len(media_url) > 500 or not media_url.startswith(("http://", "https://"))):
        return errors(fmt, 400, "media_url must be an http(s) URL of at most 500 characters")
    attrs = attributes(request)
    kinds = attrs.get("kind", [])
    if len(kinds) > 1:
        return errors(fmt, 400, "attribute[kind] is a singlevaluelist: give one value")
    kind = kinds[0] if kinds else Kind.HELP
    name = f"{param(request, 'last_name')}{param(request, 'first_name')}".strip()
    description = description or category.name
    try:
        with transaction.atomic():
            result = services.demand_submit(
                by=None,
                title=description if len(description) <= 60 else description[:58] + "……",
                body=description,
                kind=kind,
                channel=Channel.API,
                source=client.name,
                category=category,
                contact_name=name[:50],
                contact_phone=param(request, "phone"),
                address=(address_string or address_id)[:300],
                latitude=latitude,
                longitude=longitude,
                publish_consent=True,
            )
            sub = Submission.objects.create(
                demand=result.demand,
                client=client,
                token=secrets.token_urlsafe(16),
                media_url=media_url,
                account_id=param(request, "account_id")[:100],
                device_id=param(request, "device_id")[:100],
                email=email,
                address_id=address_id[:100],
            )
    except DomainError as exc:
        field = {
            "contact_phone": "phone",
            "contact_name": "first_name/last_name",
            "body": "description",
            "title": "description",
            "kind": "attribute[kind]",
            "address": "address_string",
            "latitude": "lat",
            "longitude": "long",
        }.get(exc.field or "", exc.field)
        return errors(fmt, 400, f"{field}: {exc.message}" if field else exc.message)
    answer: dict[str, Any] = (
        {"token": sub.token}
        if service_type() == "batch"
        else {"service_request_id": str(result.demand.pk)}
    )
    answer["service_notice"] = service_notice(result.demand)
    answer["account_id"] = sub.account_id
    return render(fmt, [answer], root="service_requests", item="request")


def not_found(request, fmt: str, rest: str = ""):
    """Anything else under the endpoint: 404 in the spec's shape."""
    return errors(fmt, 404, "no such resource: see discovery." + fmt)
