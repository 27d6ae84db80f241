"""Outbound GeoReport v2 (beyond the standard, opt-in): forward a demand to another GeoReport
v2 server — a neighbouring district, an operator's system — and poll its status back onto the
demand's timeline. See docs/adr/0014-open311-outbound.md.

The remote is called as the specification says: a form-encoded POST to ``requests.json``
with ``api_key`` and ``jurisdiction_id``; ``requests/{id}.json`` and ``tokens/{token}.json``
to follow it. Plain urllib with a timeout: a slow or broken remote costs one timeout, the
error is written on the forwarded request, and the poll carries on with the next one.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import IntegrityError, transaction
from django.db.models import F

from sanfuwu.core import clock
from sanfuwu.core.errors import Conflict, DomainError, InvalidInput, NotFound
from sanfuwu.demands import services as demand_services
from sanfuwu.demands.models import Demand
from sanfuwu.demands.workflow import TERMINAL_STATES
from sanfuwu.orgs.models import User

from .models import ForwardedRequest, RemoteEndpoint, Submission
from .services import _require_admin

log = logging.getLogger(__name__)

DESCRIPTION_MAX = 4000  # the spec's limit for description
USER_AGENT = "sanfuwu-open311/1 (GeoReport v2 client)"
STATUS_LABELS = {"open": "办理中", "closed": "已办结"}


class RemoteFailed(DomainError):
    """The remote GeoReport server refused or could not be reached: nothing was changed."""

    code = "remote_failed"
    status = 502


def timeout() -> float:
    return float(getattr(settings, "OPEN311_REMOTE_TIMEOUT", 10))


def _errors_text(body: bytes) -> str:
    """The descriptions of a GeoReport error list, else the start of the body."""
    try:
        data = json.loads(body)
        if isinstance(data, list):
            parts = [f"{e.get('code')} {e.get('description', '')}".strip() for e in data]
            return "；".join(p for p in parts if p)
    except (ValueError, AttributeError):
        pass
    return body[:200].decode("utf-8", "replace")


def call(
    endpoint: RemoteEndpoint, path: str, *, form: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """GET (or POST `form`) ``{base_url}{path}.json``; the answer's list, or RemoteFailed."""
    url = endpoint.base_url.rstrip("/") + "/" + path + ".json"
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form, doseq=True).encode("utf-8")
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    elif endpoint.jurisdiction_id:
        url += "?" + urllib.parse.urlencode({"jurisdiction_id": endpoint.jurisdiction_id})
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout()) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise RemoteFailed(
            f"{endpoint.name} 答复 HTTP {exc.code}：{_errors_text(exc.read())}"
        ) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RemoteFailed(f"无法连接 {endpoint.name}：{reason}") from exc
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise RemoteFailed(f"{endpoint.name} 的答复不是 JSON") from exc
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise RemoteFailed(f"{endpoint.name} 的答复不是 GeoReport 列表")
    return data


# ---------------------------------------------------------------------------------------------
# the remote systems (administrators)


@transaction.atomic
def remote_endpoint_save(
    *,
    by: User,
    name: str,
    base_url: str,
    api_key: str,
    jurisdiction_id: str = "",
    service_codes: dict[str, str] | None = None,
    share_contact: bool = False,
    active: bool = True,
) -> RemoteEndpoint:
    """登记 — add or change the remote GeoReport system called `name` (audited)."""
    _require_admin(by)
    name = demand_services.check_text(name, field="name", max_length=100)
    base_url = demand_services.check_text(base_url, field="base_url", max_length=300)
    if not base_url.startswith(("http://", "https://")):
        raise InvalidInput("接口地址须以 http:// 或 https:// 开头", field="base_url")
    api_key = demand_services.check_text(api_key, field="api_key", max_length=200)
    codes = {str(k): str(v) for k, v in (service_codes or {}).items() if str(v).strip()}
    endpoint, created = RemoteEndpoint.objects.update_or_create(
        name=name,
        defaults={
            "base_url": base_url if base_url.endswith("/") else base_url + "/",
            "api_key": api_key,
            "jurisdiction_id": (jurisdiction_id or "").strip()[:100],
            "service_codes": codes,
            "share_contact": bool(share_contact),
            "active": bool(active),
        },
    )
    LogEntry.objects.log_actions(
        user_id=by.pk,
        queryset=[endpoint],
        action_flag=ADDITION if created else CHANGE,
        change_message=f"{'登记' if created else '修改'}外部 GeoReport 系统 {base_url}",
        single_object=True,
    )
    return endpoint


def active_endpoints() -> list[RemoteEndpoint]:
    return list(RemoteEndpoint.objects.filter(active=True).order_by("name"))


# ---------------------------------------------------------------------------------------------
# forwarding


def _form_for(d: Demand, endpoint: RemoteEndpoint, service_code: str) -> dict[str, Any]:
    form: dict[str, Any] = {"api_key": endpoint.api_key, "service_code": service_code}
    if endpoint.jurisdiction_id:
        form["jurisdiction_id"] = endpoint.jurisdiction_id
    if d.latitude is not None and d.longitude is not None:
        form["lat"], form["long"] = str(d.latitude), str(d.longitude)
    address = d.address or (d.community.name if d.community_id and d.community else "")
    if address:
        form["address_string"] = address
    if "lat" not in form and not address:
        raise InvalidInput("诉求没有地点（地址或坐标），外部系统无法受理", field="endpoint")
    form["description"] = d.body[:DESCRIPTION_MAX]
    if endpoint.share_contact and not d.confidential:
        if d.contact_name:
            form["first_name"] = d.contact_name
        if d.contact_phone:
            form["phone"] = d.contact_phone
    sub = Submission.objects.filter(demand=d).first()
    if sub is not None and sub.media_url:
        form["media_url"] = sub.media_url
    return form


def forward_demand(*, demand: Demand | int, endpoint: RemoteEndpoint | int | str, by: User):
    """转外部系统 — POST the demand to the remote system and keep its service_request_id (or
    token). Once only per demand and system; a refusal by the remote changes nothing."""
    ep = endpoint if isinstance(endpoint, RemoteEndpoint) else None
    if ep is None:
        key = str(endpoint or "").strip()
        ep = RemoteEndpoint.objects.filter(pk=int(key)).first() if key.isdigit() else None
    if ep is None or not ep.active:
        raise InvalidInput("请选择一个启用的外部系统", field="endpoint")
    remote: ForwardedRequest | None = None

    def send(d: Demand) -> tuple[str, dict[str, Any]]:
        nonlocal remote
        if ForwardedRequest.objects.filter(demand=d, endpoint=ep).exists():
            raise Conflict(f"已转交过 {ep.name}", code="already_forwarded")
        code = ep.service_code_for(d.category_id)
        if not code:
            raise InvalidInput(
                f"“{ep.name}”没有与该分类对应的 service_code（请管理员配置分类对照）",
                field="endpoint",
            )
        rows = call(ep, "requests", form=_form_for(d, ep, code))
        answer = rows[0] if rows else {}
        remote_id = str(answer.get("service_request_id") or "")
        token = str(answer.get("token") or "")
        if not remote_id and not token:
            raise RemoteFailed(f"{ep.name} 没有返回 service_request_id 或 token，无法跟踪")
        try:
            with transaction.atomic():
                remote = ForwardedRequest.objects.create(
                    demand=d,
                    endpoint=ep,
                    remote_id=remote_id,
                    token=token,
                    last_status="open",
                    created_by=by,
                    created_at=clock.now(),
                )
        except IntegrityError as exc:  # a concurrent forward won
            raise Conflict(f"已转交过 {ep.name}", code="already_forwarded") from exc
        notice = str(answer.get("service_notice") or "")
        note = f"已转交“{ep.name}”，对方编号 {remote_id or '（待分配，令牌 ' + token + '）'}"
        if notice:
            note += f"。{notice}"
        data = {"to": ep.name, "upper_reference": remote_id or token, "endpoint_id": ep.pk}
        return note, data

    demand_services.demand_forward(demand=demand, by=by, send=send)
    assert remote is not None
    return remote


# ---------------------------------------------------------------------------------------------
# polling


@dataclass
class PollResult:
    checked: int = 0
    updated: int = 0
    failed: int = 0


def _fail(fr: ForwardedRequest, message: str, now: datetime) -> None:
    ForwardedRequest.objects.filter(pk=fr.pk).update(
        last_error=message[:1000], error_count=fr.error_count + 1, last_polled_at=now
    )


def _poll_one(fr: ForwardedRequest, now: datetime) -> bool:
    """Look at one forwarded request; True when something new was recorded."""
    ep = fr.endpoint
    if not fr.remote_id and fr.token:
        rows = call(ep, f"tokens/{urllib.parse.quote(fr.token, safe='')}")
        rid = str((rows[0] if rows else {}).get("service_request_id") or "")
        if not rid:
            ForwardedRequest.objects.filter(pk=fr.pk).update(last_polled_at=now, last_error="")
            return False  # still queued on the remote side
        ForwardedRequest.objects.filter(pk=fr.pk).update(remote_id=rid)
        fr.remote_id = rid
    rows = call(ep, f"requests/{urllib.parse.quote(fr.remote_id, safe='')}")
    if not rows:
        raise RemoteFailed(f"{ep.name} 没有返回编号 {fr.remote_id} 的诉求")
    row = rows[0]
    status = str(row.get("status") or "")
    notes = str(row.get("status_notes") or "")
    agency = str(row.get("agency_responsible") or "")
    with transaction.atomic():
        # compare-and-swap: of two concurrent polls only one records the change
        changed = (
            ForwardedRequest.objects.filter(
                pk=fr.pk, last_status=fr.last_status, last_notes=fr.last_notes
            )
            .exclude(last_status=status, last_notes=notes)
            .update(
                last_status=status[:20],
                last_notes=notes,
                last_agency=agency[:200],
                last_polled_at=now,
                last_error="",
            )
        )
        if not changed:
            ForwardedRequest.objects.filter(pk=fr.pk).update(last_polled_at=now, last_error="")
            return False
        label = STATUS_LABELS.get(status, status)
        note = f"{ep.name}：{label}" + (f"。{notes}" if notes else "")
        demand_services.demand_record_remote_update(
            demand=fr.demand_id,
            actor_label=ep.name,
            note=note,
            data={
                "upper_reference": fr.remote_id,
                "status": status,
                "status_notes": notes,
                "agency_responsible": agency,
                "updated_datetime": str(row.get("updated_datetime") or ""),
            },
        )
    return True


def poll_forwarded(*, now: datetime | None = None, limit: int = 200) -> PollResult:
    """Poll the remote systems for the forwarded demands still open here, least recently
    polled first. Never raises for one request: its error is kept on its row."""
    now = now or clock.now()
    result = PollResult()
    rows = (
        ForwardedRequest.objects.select_related("endpoint")
        .filter(endpoint__active=True)
        .exclude(demand__state__in=TERMINAL_STATES)
        .order_by(F("last_polled_at").asc(nulls_first=True), "pk")[:limit]
    )
    for fr in rows:
        result.checked += 1
        try:
            if _poll_one(fr, now):
                result.updated += 1
        except DomainError as exc:
            result.failed += 1
            _fail(fr, exc.message, now)
        except Exception as exc:  # a bug or odd answer must not stop the sweep
            log.exception("open311 poll of forwarded request %s failed", fr.pk)
            result.failed += 1
            _fail(fr, f"{type(exc).__name__}: {exc}", now)
    return result


def forwarded_for(demand: Demand) -> list[ForwardedRequest]:
    return list(ForwardedRequest.objects.filter(demand=demand).select_related("endpoint"))


def endpoint_by_name(name: str) -> RemoteEndpoint:
    ep = RemoteEndpoint.objects.filter(name=name).first()
    if ep is None:
        raise NotFound(f"外部系统“{name}”不存在")
    return ep
