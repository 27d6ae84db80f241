"""录入诉求: recording a demand for someone (hotline operator, grid worker, visiting official).

The views parse the form and call the same functions as the API: the directory's selectors and
services for the person served, ``demands.services`` for the demand and its first step,
``demands.duplicates`` for the warning. Every action works as a plain form post; htmx only
refreshes parts of the page (search, picking a person, the duplicate warning, the hint).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sanfuwu.api.serialize import demand_dict
from sanfuwu.attachments.services import attachments_add
from sanfuwu.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from sanfuwu.demands import services
from sanfuwu.demands.access import access_demand, actors_for
from sanfuwu.demands.duplicates import SimilarDemand, similar_open_demands
from sanfuwu.demands.models import Category, Channel, Demand, Kind
from sanfuwu.demands.workflow import Actor, TransitionError, allowed_transitions
from sanfuwu.directory import selectors as directory
from sanfuwu.directory.models import Enterprise, Resident
from sanfuwu.directory.services import enterprise_get_or_create, resident_get_or_create
from sanfuwu.orgs.models import GRASSROOTS_KINDS, Unit, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import user_scope

# the channels staff record through; the portal and the API file their own demands
STAFF_CHANNELS = (Channel.HOTLINE, Channel.GRID, Channel.VISIT, Channel.OPEN_SPACE)
FINISHES = ("submit", "answer", "reject")
TEXT_FIELDS = (
    "channel",
    "kind",
    "title",
    "body",
    "contact_name",
    "contact_phone",
    "contact_id_number",
    "address",
    "community",
    "category",
    "person",
    "answer_text",
    "reject_reason",
    "q",
    "type",
    "nonce",
    "new_ent_name",
    "new_ent_uscc",
    "new_res_name",
    "new_res_phone",
    "new_res_id_number",
)
CONTACT_FIELDS = ("contact_name", "contact_phone", "contact_id_number", "address")
NUMBER_FIELDS = ("contact_phone", "contact_id_number")
# a service names its field; the form calls some of them differently
SERVICE_FIELDS = {"text": "answer_text", "reason": "reject_reason", "enterprise_id": "person"}
NEW_PERSON_FIELDS = {
    "enterprise": {"name": "new_ent_name", "uscc": "new_ent_uscc"},
    "resident": {
        "name": "new_res_name",
        "phone": "new_res_phone",
        "id_number": "new_res_id_number",
    },
}


def intake_staff(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login required, then only staff with an intake role; everyone else a clear 403 page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not directory.is_directory_staff(request.user):
            return render(request, "web/intake_forbidden.html", status=403)
        try:
            return view(request, *args, **kwargs)
        except Forbidden:
            return render(request, "web/intake_forbidden.html", status=403)

    return wrapper


# ---------------------------------------------------------------------------------------------
# what the form holds


def _values(data: Any) -> dict[str, str]:
    return {name: (data.get(name) or "").strip() for name in TEXT_FIELDS}


def _default_values(user: User) -> dict[str, str]:
    scope = user_scope(user)
    if scope.has_role(Role.GRID_WORKER):
        channel = Channel.GRID
    elif scope.has_role(Role.VISITOR):
        channel = Channel.VISIT
    else:
        channel = Channel.HOTLINE
    values = dict.fromkeys(TEXT_FIELDS, "")
    _choices, mine = directory.community_choices(user=user)
    values.update(
        channel=str(channel),
        type="resident",
        community=str(mine or ""),
        nonce=uuid.uuid4().hex,
    )
    return values


def _person(values: dict[str, str], errors: dict[str, str]) -> Enterprise | Resident | None:
    try:
        return directory.person_from_ref(values["person"])
    except InvalidInput as exc:
        errors["person"] = exc.message
        values["person"] = ""
        return None


def _fill_from_person(
    values: dict[str, str], person: Enterprise | Resident | None, *, user: User, numbers: bool
) -> None:
    """Empty contact fields take the person's file. Numbers go into the form only for viewers
    who may see them; for the others they are taken from the file on submit."""
    for name, value in directory.contact_defaults(person).items():
        if not values.get(name) and (numbers or name not in NUMBER_FIELDS):
            values[name] = value or ""


def _community(values: dict[str, str]) -> Unit | None:
    raw = values.get("community", "")
    if not (raw.isascii() and raw.isdigit()):
        return None
    return Unit.objects.filter(pk=int(raw), kind__in=GRASSROOTS_KINDS, is_active=True).first()


def _category(values: dict[str, str]) -> Category | None:
    raw = values.get("category", "")
    if not (raw.isascii() and raw.isdigit()):
        return None
    return Category.objects.filter(pk=int(raw), is_active=True).first()


def _category_groups() -> list[tuple[Category, list[Category]]]:
    groups: dict[int, tuple[Category, list[Category]]] = {}
    for c in Category.objects.filter(is_active=True, level__lte=2).order_by("path"):
        if c.level == 1:
            groups[c.pk] = (c, [])
        elif c.parent_id in groups:
            groups[c.parent_id][1].append(c)
    return list(groups.values())


def _finishes(user: User, community: Unit | None) -> set[str]:
    """Which first steps the workflow lets this user take on the demand they record: a demand
    recorded now is triaged by default_dispatch_unit, so ask the workflow about that unit."""
    try:
        unit = services.default_dispatch_unit(by=user, community=community)
    except InvalidInput:
        return set()
    probe = Demand(dispatch_unit=unit)
    actors = actors_for(user, probe, with_parties=False)
    names = {t.name for t in allowed_transitions(state=probe.state, actors=actors)}
    offered = set()
    if "answer_directly" in names:
        offered.add("answer")
    if "reject" in names:
        offered.add("reject")
    return offered


def _duplicates(
    user: User,
    values: dict[str, str],
    person: Enterprise | Resident | None,
    *,
    phone: str | None = None,
) -> list[SimilarDemand]:
    return similar_open_demands(
        user=user,
        title=values["title"],
        body=values["body"],
        phone=values["contact_phone"] if phone is None else phone,
        address=values["address"],
        enterprise=person if isinstance(person, Enterprise) else None,
        resident=person if isinstance(person, Resident) else None,
        community=_community(values),
        category=_category(values),
        exclude_client_key=_client_key(values),
    )


def _client_key(values: dict[str, str]) -> str | None:
    nonce = values.get("nonce", "")
    return f"web:{nonce}" if nonce else None


def _dup_rows(user: User, hits: list[SimilarDemand]) -> list[dict[str, Any]]:
    return [{"d": demand_dict(h.demand, user=user), "reasons": h.reasons} for h in hits]


def _context(
    request: HttpRequest,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    person: Enterprise | Resident | None = None,
    results: list[directory.PersonHit] | None = None,
    duplicates: list[SimilarDemand] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    user = request.user
    communities, _mine = directory.community_choices(user=user)
    hit = directory.person_hit(person, user=user) if person is not None else None
    numbers = directory.may_see_directory_numbers(user)
    file_phone = ""
    if hit is not None and not numbers and not values.get("contact_phone"):
        file_phone = hit.phone  # masked: the placeholder says which number will be used
    return {
        "v": values,
        "errors": errors or {},
        "person": hit,
        "file_phone": file_phone,
        "results": results,
        "duplicates": _dup_rows(user, duplicates or []),
        "dup_seen": [h.demand.pk for h in duplicates or []],
        "notice": notice,
        "channels": [(str(c.value), c.label) for c in STAFF_CHANNELS],
        "kinds": Kind.choices,
        "communities": communities,
        "category_groups": _category_groups(),
        "finishes": _finishes(user, _community(values)),
        "is_dispatcher": user_scope(user).has_role(Role.DISPATCHER),
    }


def _page(request: HttpRequest, values: dict[str, str], *, status: int = 200, **kw: Any):
    ctx = _context(request, values, **kw)
    # a browser never refills a file input: say so when the form comes back
    ctx["files_lost"] = bool(request.FILES.getlist("files"))
    return render(request, "web/intake.html", ctx, status=status)


# ---------------------------------------------------------------------------------------------
# the page


@require_http_methods(["GET", "POST"])
@intake_staff
def demand_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "GET":
        values = _default_values(user)
        recorded = None
        raw = request.GET.get("recorded", "")
        if raw.isascii() and raw.isdigit():
            try:
                recorded = access_demand(user, raw)
            except NotFound:
                recorded = None
        ctx = _context(request, values)
        ctx["recorded"] = recorded
        return render(request, "web/intake.html", ctx)

    values = _values(request.POST)
    if not values["nonce"]:
        values["nonce"] = uuid.uuid4().hex
    errors: dict[str, str] = {}
    numbers = directory.may_see_directory_numbers(user)
    action = request.POST.get("action", "submit")
    if action == "clear_person":
        values["person"] = ""
        return _page(request, values)
    # a person picked from the search results (without JavaScript: a radio button)
    picked = request.POST.get("pick", "").strip()
    if picked:
        values["person"] = picked
    person = _person(values, errors)
    if action == "pick":
        _fill_from_person(values, person, user=user, numbers=numbers)
        return _page(request, values, person=person, errors=errors)
    if action == "search":
        try:
            results = directory.directory_search(user=user, q=values["q"], kind=values["type"])
        except InvalidInput as exc:
            results, errors["person"] = [], exc.message
        return _page(request, values, person=person, results=results, errors=errors)
    if action in ("create_enterprise", "create_resident"):
        kind = "enterprise" if action == "create_enterprise" else "resident"
        created = _create_person(user, kind, values, errors)
        if created is not None:
            person = created
            values["person"] = f"{kind}:{created.pk}"
            _fill_from_person(values, person, user=user, numbers=numbers)
        status = 422 if errors else 200
        return _page(request, values, person=person, errors=errors, status=status)

    finish = action if action in FINISHES else "submit"
    if errors:
        return _page(request, values, person=person, errors=errors, status=422)
    # the contact fields left empty take the person's file (also the numbers a masked
    # viewer did not see)
    data = dict(values)
    for name, value in directory.contact_defaults(person).items():
        if not data.get(name):
            data[name] = value or ""

    # the duplicate warning again on submit: shown once, then the operator may go on
    hits = _duplicates(user, values, person, phone=data["contact_phone"])
    seen = {int(x) for x in request.POST.getlist("dup_seen") if x.isascii() and x.isdigit()}
    if {h.demand.pk for h in hits} - seen:
        notice = _("发现可能重复的诉求，请先核对。确认不是重复后，再次点击提交即可。")
        return _page(request, values, person=person, duplicates=hits, notice=notice)

    try:
        demand, created = _record(request, data, person, finish)
    except (DomainError, TransitionError) as exc:
        field = SERVICE_FIELDS.get(exc.field or "", exc.field or "")
        if field not in TEXT_FIELDS and field != "files":
            field = "form"
        errors[field] = exc.message
        return _page(request, values, person=person, errors=errors, status=422)

    if finish != "submit" or Actor.DISPATCHER in actors_for(user, demand, with_parties=False):
        return redirect("demand-detail", pk=demand.pk)
    return redirect(f"{reverse('demand-new')}?recorded={demand.pk}")


def _record(
    request: HttpRequest,
    data: dict[str, str],
    person: Enterprise | Resident | None,
    finish: str,
) -> tuple[Demand, bool]:
    """The demand, its files and the first step in ONE transaction: if any part fails,
    nothing is written."""
    user = request.user
    with transaction.atomic():
        result = services.demand_submit(
            by=user,
            title=data["title"],
            body=data["body"],
            kind=data["kind"],
            channel=data["channel"],
            category=data["category"] or None,
            contact_name=data["contact_name"],
            contact_phone=data["contact_phone"],
            contact_id_number=data["contact_id_number"],
            enterprise=person if isinstance(person, Enterprise) else None,
            resident=person if isinstance(person, Resident) else None,
            community=data["community"] or None,
            address=data["address"],
            client_key=_client_key(data),
        )
        demand = result.demand
        if not result.created:  # the same form posted twice: the first demand, untouched
            return demand, False
        files = request.FILES.getlist("files")
        if files:
            attachments_add(demand=demand, by=user, files=files, purpose="submit")
        if finish == "answer":
            services.demand_answer_directly(demand=demand, by=user, text=data["answer_text"])
        elif finish == "reject":
            services.demand_reject(demand=demand, by=user, reason=data["reject_reason"])
    return demand, True


def _create_person(
    user: User, kind: str, values: dict[str, str], errors: dict[str, str]
) -> Enterprise | Resident | None:
    fields = NEW_PERSON_FIELDS[kind]
    try:
        if kind == "enterprise":
            filed: Any = enterprise_get_or_create(
                by=user, name=values[fields["name"]], uscc=values[fields["uscc"]]
            )
        else:
            filed = resident_get_or_create(
                by=user,
                name=values[fields["name"]],
                phone=values[fields["phone"]],
                id_number=values[fields["id_number"]],
            )
    except InvalidInput as exc:
        errors[fields.get(exc.field or "", fields["name"])] = exc.message
        return None
    for name in fields.values():
        values[name] = ""
    return filed.record


# ---------------------------------------------------------------------------------------------
# htmx parts


@require_GET
@intake_staff
def directory_search(request: HttpRequest) -> HttpResponse:
    """/directory/search/?q=&type=enterprise|resident: a short list to pick from."""
    try:
        hits = directory.directory_search(
            user=request.user, q=request.GET.get("q", ""), kind=request.GET.get("type", "")
        )
    except InvalidInput as exc:
        return render(
            request, "web/intake/results.html", {"error": exc.message, "results": []}, status=422
        )
    return render(
        request, "web/intake/results.html", {"results": hits, "q": request.GET.get("q", "")}
    )


def _person_part(
    request: HttpRequest,
    values: dict[str, str],
    person: Enterprise | Resident | None,
    errors: dict[str, str],
    *,
    status: int = 200,
) -> HttpResponse:
    """The person box, and the contact fields swapped out of band; tells the page a person
    changed so the duplicate warning refreshes."""
    ctx = _context(request, values, person=person, errors=errors)
    response = render(request, "web/intake/person_part.html", ctx, status=status)
    response["HX-Trigger"] = "intake-person"
    return response


@require_POST
@intake_staff
def person_pick(request: HttpRequest) -> HttpResponse:
    values = _values(request.POST)
    errors: dict[str, str] = {}
    if request.POST.get("clear"):
        values["person"] = ""
        return _person_part(request, values, None, errors)
    values["person"] = (request.POST.get("pick") or values["person"]).strip()
    person = _person(values, errors)
    numbers = directory.may_see_directory_numbers(request.user)
    _fill_from_person(values, person, user=request.user, numbers=numbers)
    return _person_part(request, values, person, errors, status=422 if errors else 200)


@require_POST
@intake_staff
def person_create(request: HttpRequest) -> HttpResponse:
    values = _values(request.POST)
    errors: dict[str, str] = {}
    kind = request.POST.get("kind", "")
    if kind not in NEW_PERSON_FIELDS:
        return HttpResponse(_("请选择企业或群众"), status=400)
    person = _person(values, errors)
    created = _create_person(request.user, kind, values, errors)
    if created is not None:
        person = created
        values["person"] = f"{kind}:{created.pk}"
        numbers = directory.may_see_directory_numbers(request.user)
        _fill_from_person(values, person, user=request.user, numbers=numbers)
    return _person_part(request, values, person, errors, status=422 if errors else 200)


@require_POST
@intake_staff
def duplicates_check(request: HttpRequest) -> HttpResponse:
    values = _values(request.POST)
    errors: dict[str, str] = {}
    person = _person(values, errors)
    phone = values["contact_phone"] or directory.contact_defaults(person).get("contact_phone", "")
    hits = _duplicates(request.user, values, person, phone=phone)
    ctx = {"duplicates": _dup_rows(request.user, hits), "dup_seen": [h.demand.pk for h in hits]}
    return render(request, "web/intake/duplicates.html", ctx)


@require_POST
@intake_staff
def category_hint(request: HttpRequest) -> HttpResponse:
    """建议分类: the router's first-level category for the text typed so far."""
    from sanfuwu.insights.selectors import route_suggestion

    values = _values(request.POST)
    suggestion = route_suggestion(title=values["title"], body=values["body"])
    ctx: dict[str, Any] = {"s": suggestion, "v": values}
    if request.POST.get("apply") and suggestion["category_id"]:
        values["category"] = str(suggestion["category_id"])
        ctx.update(applied=True, category_groups=_category_groups(), errors={})
    return render(request, "web/intake/hint.html", ctx)


urlpatterns = [
    path("demands/new/", demand_new, name="demand-new"),
    path("demands/new/person/", person_pick, name="demand-new-person"),
    path("demands/new/duplicates/", duplicates_check, name="demand-new-duplicates"),
    path("demands/new/hint/", category_hint, name="demand-new-hint"),
    path("directory/search/", directory_search, name="directory-search"),
    path("directory/new/", person_create, name="directory-new"),
]
