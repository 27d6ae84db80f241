"""Pages that manage 四级联系 pairings and service teams (三服务办, leaders, unit heads).

Views parse the form, name the official by username (or a name only one official bears),
call the services and render; the rules (who may, no overlap) live in services/access.
"""

from __future__ import annotations

import re
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sanfuwu.core import clock
from sanfuwu.core.errors import DomainError, Forbidden, InvalidInput
from sanfuwu.directory.models import Enterprise
from sanfuwu.orgs.models import Unit, UnitKind, User

from . import selectors, services
from .access import is_official, manager_paths, may_manage
from .models import Pairing, PairingLevel, Team, TeamKind, TeamMember


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _official_from(handle: str, field: str = "official") -> User | None:
    """The official a form field names; an unknown name is an error, an empty one is None."""
    handle = (handle or "").strip()
    if not handle:
        return None
    found = selectors.official_by_handle(handle)
    if found is None:
        raise InvalidInput(
            _("找不到干部“%(h)s”（请填写用户名，或唯一的姓名）") % {"h": handle}, field=field
        )
    return found


@login_required
def official_options(request: HttpRequest) -> HttpResponse:
    """htmx: <option>s of officials matching what was typed, for a <datalist>."""
    if not is_official(_user(request)):
        raise PermissionDenied
    text = next(
        (request.GET[k] for k in ("q", "official", "who", "with") if request.GET.get(k)), ""
    )
    # in a list of several names, suggest for the last one
    text = re.split(r"[\s,，、;；]+", text.strip())[-1]
    return render(
        request,
        "visits/_official_options.html",
        {"officials": selectors.official_search(text=text)},
    )


# ---------------------------------------------------------------------------------------------
# pairings


def _enterprise_path(ent: Enterprise) -> str | None:
    return ent.community.path if ent.community else None


@login_required
def pairing_index(request: HttpRequest) -> HttpResponse:
    """结对管理: find an enterprise (or an official) whose pairings to look at."""
    user = _user(request)
    if not manager_paths(user):
        raise PermissionDenied
    who = request.GET.get("who", "").strip()
    who_error = ""
    if who:
        official = selectors.official_by_handle(who)
        if official is not None:
            return redirect("pairings-official", pk=official.pk)
        who_error = _("找不到干部“%(h)s”（请填写用户名，或唯一的姓名）") % {"h": who}
    q = request.GET.get("q", "")
    return render(
        request,
        "visits/pairings.html",
        {
            "q": q,
            "who": who,
            "who_error": who_error,
            "enterprises": selectors.pairing_enterprises(user=user, text=q),
        },
    )


def _enterprise_for(request: HttpRequest, pk: int) -> Enterprise:
    ent = Enterprise.objects.select_related("community", "grid").filter(pk=pk).first()
    if ent is None:
        raise Http404
    if not may_manage(_user(request), _enterprise_path(ent)):
        raise PermissionDenied
    return ent


def _render_enterprise(
    request: HttpRequest,
    ent: Enterprise,
    *,
    error: dict[str, Any] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    error = error or {}
    slots, history = selectors.enterprise_pairings(enterprise=ent)
    today = clock.today().isoformat()
    return render(
        request,
        "visits/pairing_enterprise.html",
        {
            "ent": ent,
            "slots": slots,
            "history": history,
            "levels": PairingLevel.choices,
            "streets": Unit.objects.filter(kind=UnitKind.STREET, is_active=True).order_by("path"),
            "error": error,
            "new_official_invalid": error.get("form") == "new" and error["field"] == "official",
            # an error of the new-pairing form not tied to one of its fields (an overlap)
            "new_general_error": error.get("form") == "new"
            and error["field"] not in ("official", "unit", "start_date", "end_date"),
            "nv": typed or {"start_date": today},
            "today": today,
        },
        status=status,
    )


def _pairing_error(exc: DomainError, form: str, pairing: int | None = None) -> dict[str, Any]:
    if isinstance(exc, Forbidden):
        raise PermissionDenied(exc.message)
    return {"form": form, "pairing": pairing, "field": exc.field or "", "message": exc.message}


@login_required
def pairing_enterprise(request: HttpRequest, pk: int) -> HttpResponse:
    """四级联系 of one enterprise: who holds each level, the history, and the forms."""
    return _render_enterprise(request, _enterprise_for(request, pk))


@login_required
@require_POST
def pairing_new(request: HttpRequest, pk: int) -> HttpResponse:
    ent = _enterprise_for(request, pk)
    post = request.POST
    typed = {
        k: post.get(k, "").strip()
        for k in ("level", "official", "unit", "start_date", "end_date", "note")
    }
    try:
        level = typed["level"]
        services.pairing_create(
            by=_user(request),
            enterprise=ent,
            level=level,
            official=_official_from(typed["official"]) if level != PairingLevel.STREET else None,
            unit=int(typed["unit"]) if typed["unit"].isdigit() else None,
            start_date=typed["start_date"],
            end_date=typed["end_date"] or None,
            note=typed["note"],
        )
    except DomainError as exc:
        return _render_enterprise(
            request, ent, error=_pairing_error(exc, "new"), typed=typed, status=422
        )
    messages.success(request, _("已建立结对"))
    return redirect("pairings-enterprise", pk=ent.pk)


def _pairing_of(ent: Enterprise, pairing_pk: int) -> Pairing:
    p = Pairing.objects.filter(pk=pairing_pk, enterprise=ent).first()
    if p is None:
        raise Http404
    return p


@login_required
@require_POST
def pairing_end(request: HttpRequest, pk: int, pairing: int) -> HttpResponse:
    ent = _enterprise_for(request, pk)
    p = _pairing_of(ent, pairing)
    try:
        services.pairing_end(
            by=_user(request), pairing=p, end_date=request.POST.get("end_date", "")
        )
    except DomainError as exc:
        return _render_enterprise(request, ent, error=_pairing_error(exc, "end", p.pk), status=422)
    messages.success(request, _("已结束结对"))
    return redirect("pairings-enterprise", pk=ent.pk)


@login_required
@require_POST
def pairing_replace(request: HttpRequest, pk: int, pairing: int) -> HttpResponse:
    ent = _enterprise_for(request, pk)
    p = _pairing_of(ent, pairing)
    post = request.POST
    try:
        services.pairing_replace(
            by=_user(request),
            pairing=p,
            on=post.get("on", ""),
            official=_official_from(post.get("official", ""))
            if p.level != PairingLevel.STREET
            else None,
            unit=int(post["unit"]) if post.get("unit", "").isdigit() else None,
            note=post.get("note", ""),
        )
    except DomainError as exc:
        return _render_enterprise(
            request, ent, error=_pairing_error(exc, "replace", p.pk), status=422
        )
    messages.success(request, _("已更换结对"))
    return redirect("pairings-enterprise", pk=ent.pk)


@login_required
def pairing_official(request: HttpRequest, pk: int) -> HttpResponse:
    """An official's paired enterprises: theirs to see, and managers' within their scope."""
    viewer = _user(request)
    official = selectors.staff_users().filter(pk=pk).first()
    if official is None:
        raise Http404
    if viewer.pk != official.pk and not manager_paths(viewer):
        raise PermissionDenied
    include_ended = request.GET.get("all") == "1"
    return render(
        request,
        "visits/pairing_official.html",
        {
            "official": official,
            "pairings": selectors.official_pairings(
                viewer=viewer, official=official, include_ended=include_ended
            ),
            "include_ended": include_ended,
            "can_manage": bool(manager_paths(viewer)),
            "today": clock.today(),
        },
    )


# ---------------------------------------------------------------------------------------------
# teams


def _team_form_values(post: Any) -> dict[str, Any]:
    return {
        "name": post.get("name", "").strip(),
        "kind": post.get("kind", ""),
        "unit": post.get("unit", ""),
        "is_active": post.get("is_active") == "1",
    }


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    """服务队伍: the teams the user runs or serves in; managers create new ones here."""
    user = _user(request)
    units = selectors.team_units(user=user)
    if not units and not TeamMember.objects.filter(user=user).exists():
        raise PermissionDenied
    error: dict[str, str] = {}
    typed: dict[str, Any] = {"kind": TeamKind.SERVICE_SQUAD, "is_active": True}
    status = 200
    if request.method == "POST":
        typed = _team_form_values(request.POST)
        try:
            team = services.team_create(
                by=user,
                name=typed["name"],
                kind=typed["kind"],
                unit=int(typed["unit"]) if typed["unit"].isdigit() else 0,
            )
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from None
        except DomainError as exc:
            error = {"field": exc.field or "", "message": exc.message}
            status = 422
        else:
            messages.success(request, _("已组建队伍“%(name)s”") % {"name": team.name})
            return redirect("team-detail", pk=team.pk)
    return render(
        request,
        "visits/teams.html",
        {
            "teams": selectors.teams_for(user=user),
            "units": units,
            "kinds": TeamKind.choices,
            "error": error,
            "nv": typed,
        },
        status=status,
    )


def _team_for(request: HttpRequest, pk: int) -> tuple[Team, bool]:
    team = Team.objects.select_related("unit").filter(pk=pk).first()
    if team is None:
        raise Http404
    user = _user(request)
    manages = may_manage(user, team.unit.path, teams=True)
    if not manages and not team.memberships.filter(user=user).exists():
        raise PermissionDenied
    return team, manages


def _render_team(
    request: HttpRequest,
    team: Team,
    manages: bool,
    *,
    error: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "visits/team_detail.html",
        {
            "team": team,
            "manages": manages,
            "members": team.memberships.select_related("user").order_by("pk"),
            "history": selectors.team_history(team),
            "units": selectors.team_units(user=_user(request)) if manages else [],
            "kinds": TeamKind.choices,
            "error": error or {},
            "nv": typed
            or {
                "name": team.name,
                "kind": team.kind,
                "unit": str(team.unit_id),
                "is_active": team.is_active,
            },
            "stats_url": reverse("visits-stats") + "?group=team",
        },
        status=status,
    )


@login_required
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One team: its members and history; managers edit it and its members here."""
    team, manages = _team_for(request, pk)
    if request.method != "POST":
        return _render_team(request, team, manages)
    if not manages:
        raise PermissionDenied
    typed = _team_form_values(request.POST)
    try:
        services.team_update(
            by=_user(request),
            team=team,
            name=typed["name"],
            kind=typed["kind"],
            unit=int(typed["unit"]) if typed["unit"].isdigit() else 0,
            is_active=typed["is_active"],
        )
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from None
    except DomainError as exc:
        error = {"form": "edit", "field": exc.field or "", "message": exc.message}
        return _render_team(request, team, manages, error=error, typed=typed, status=422)
    messages.success(request, _("已保存队伍"))
    return redirect("team-detail", pk=team.pk)


@login_required
@require_POST
def team_member(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a member (by username or name, with a role in the team) or remove one."""
    team, manages = _team_for(request, pk)
    if not manages:
        raise PermissionDenied
    post = request.POST
    remove = post.get("remove") == "1"
    try:
        if remove:
            member = User.objects.filter(pk=int(post.get("user", "0") or 0)).first()
            if member is None:
                raise InvalidInput(_("队员不存在"), field="user")
        else:
            member = _official_from(post.get("official", ""), field="user")
            if member is None:
                raise InvalidInput(_("请填写要加入的干部"), field="user")
        services.team_set_member(
            by=_user(request),
            team=team,
            user=member,
            role=post.get("role", "").strip() or "队员",
            remove=remove,
        )
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from None
    except DomainError as exc:
        error = {"form": "member", "field": exc.field or "", "message": exc.message}
        return _render_team(request, team, manages, error=error, status=422)
    messages.success(
        request,
        (_("已移出队员：%(u)s") if remove else _("已加入队员：%(u)s")) % {"u": member},
    )
    return redirect("team-detail", pk=team.pk)
