"""Writes of 走访: pairings, teams, visits (with the demands they bring back), plans, drafts.

Each function runs in one transaction, takes the acting user as `by=`, checks its input at
the edge (InvalidInput naming the field, nothing written) and leaves an audit entry
(Django's LogEntry, the admin's history — as the Open311 keys do).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.models import F, Model
from django.utils.translation import gettext as _

from sanfuwu.core import clock
from sanfuwu.core.errors import Conflict, Forbidden, InvalidInput
from sanfuwu.demands.models import Channel, Demand, Kind, Level
from sanfuwu.demands.services import check_choice, check_text, demand_submit
from sanfuwu.directory.models import Enterprise, Household, Project
from sanfuwu.directory.validators import validate_mobile_or_phone
from sanfuwu.orgs.models import GRASSROOTS_KINDS, Unit, UnitKind, User
from sanfuwu.orgs.selectors import user_scope

from .access import can_read_household, is_official, may_manage, official_unit
from .models import (
    TEXT_MAX,
    DiaryKind,
    ItemKind,
    ObjectVisitYear,
    Pairing,
    PairingLevel,
    TargetKind,
    Team,
    TeamKind,
    TeamMember,
    Visit,
    VisitDemand,
    VisitDraft,
    VisitPhoto,
    VisitPlan,
    VisitStatMonth,
    VisitTarget,
)

MAX_TARGETS = 20
MAX_PARTICIPANTS = 20
MAX_ITEMS = 20
DRAFT_MAX_BYTES = 64 * 1024


def _audit(by: User, obj: Model, flag: int, message: str) -> None:
    LogEntry.objects.log_actions(
        user_id=by.pk,
        queryset=[obj],
        action_flag=flag,
        change_message=message,
        single_object=True,
    )


def _require_official(by: User) -> None:
    if not is_official(by):
        raise Forbidden(_("只有干部可以记录走访"))


def _require_manager(by: User, path: str | None, *, teams: bool = False) -> None:
    """三服务办 and leaders of the unit's subtree (or above) manage pairings; for teams the
    owning unit's head as well (access.may_manage)."""
    if not may_manage(by, path, teams=teams):
        raise Forbidden(_("无权管理该范围的结对或队伍"))


def _check_date(value: Any, *, field: str, required: bool = True) -> date | None:
    if value in (None, ""):
        if required:
            raise InvalidInput(_("请填写日期"), field=field)
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(
            _("日期无效：%(v)s（格式：2026-01-31）") % {"v": value}, field=field
        ) from None


# ---------------------------------------------------------------------------------------------
# pairings (四级联系)


@transaction.atomic
def pairing_create(
    *,
    by: User,
    enterprise: Enterprise | int,
    level: str,
    start_date: date | str,
    official: User | int | None = None,
    unit: Unit | int | None = None,
    end_date: date | str | None = None,
    note: str = "",
) -> Pairing:
    """结对 — pair an enterprise with a 区领导 / 区管干部 / 部门中层 (an official) or a 镇街 (a
    unit) from `start_date`. One enterprise has at most one pairing per level at any time;
    one official may hold many."""
    level = check_choice(level, PairingLevel, field="level")
    start = _check_date(start_date, field="start_date")
    end = _check_date(end_date, field="end_date", required=False)
    assert start is not None
    if end is not None and end < start:
        raise InvalidInput(_("结束日期不能早于开始日期"), field="end_date")
    note = check_text(note, field="note", max_length=200, required=False)
    ent_id = enterprise.pk if isinstance(enterprise, Enterprise) else int(enterprise)
    # the lock makes concurrent pairings of one enterprise take turns, so the overlap check
    # below cannot race (SQLite serialises writers anyway; PostgreSQL also has the
    # exclusion constraint of migration 0002)
    ent = (
        Enterprise.objects.select_for_update(of=("self",))
        .select_related("community")
        .filter(pk=ent_id)
        .first()
    )
    if ent is None:
        raise InvalidInput(_("企业不存在"), field="enterprise")
    _require_manager(by, ent.community.path if ent.community else None)
    holder_user: User | None = None
    holder_unit: Unit | None = None
    if level == PairingLevel.STREET:
        uid = unit.pk if isinstance(unit, Unit) else unit
        holder_unit = Unit.objects.filter(pk=uid, kind=UnitKind.STREET).first() if uid else None
        if holder_unit is None:
            raise InvalidInput(_("镇街层级须选择一个镇街"), field="unit")
    else:
        uid = official.pk if isinstance(official, User) else official
        holder_user = User.objects.filter(pk=uid, is_active=True).first() if uid else None
        if holder_user is None or not is_official(holder_user):
            raise InvalidInput(_("请选择联系干部"), field="official")
    overlapping = Pairing.objects.filter(enterprise=ent, level=level)
    overlapping = overlapping.exclude(end_date__isnull=False, end_date__lte=start)
    if end is not None:
        overlapping = overlapping.filter(start_date__lt=end)
    clash = overlapping.first()
    if clash is not None:
        raise Conflict(
            _("%(ent)s在“%(level)s”层级已有结对（%(who)s，自 %(start)s），时间不能重叠")
            % {
                "ent": ent.name,
                "level": PairingLevel(level).label,
                "who": clash.holder_name,
                "start": clash.start_date,
            },
            code="pairing_overlap",
        )
    try:
        with transaction.atomic():
            pairing = Pairing.objects.create(
                enterprise=ent,
                level=level,
                official=holder_user,
                unit=holder_unit,
                start_date=start,
                end_date=end,
                note=note,
                created_by=by,
                created_at=clock.now(),
            )
    except IntegrityError as exc:  # the exclusion constraint (PostgreSQL)
        raise Conflict(_("该企业在此层级的结对时间重叠"), code="pairing_overlap") from exc
    _audit(by, pairing, ADDITION, f"结对：{pairing}（自 {start}）")
    return pairing


@transaction.atomic
def pairing_end(*, by: User, pairing: Pairing | int, end_date: date | str) -> Pairing:
    """结束结对 — the pairing ends before `end_date`; the row stays as history."""
    pid = pairing.pk if isinstance(pairing, Pairing) else int(pairing)
    p = (
        Pairing.objects.select_for_update(of=("self",))
        .select_related("enterprise__community")
        .filter(pk=pid)
        .first()
    )
    if p is None:
        raise InvalidInput(_("结对不存在"), field="pairing")
    _require_manager(by, p.enterprise.community.path if p.enterprise.community else None)
    end = _check_date(end_date, field="end_date")
    assert end is not None
    if end < p.start_date:
        raise InvalidInput(_("结束日期不能早于开始日期"), field="end_date")
    if p.end_date is not None and p.end_date <= end:
        raise Conflict(_("该结对已于 %(d)s 结束") % {"d": p.end_date}, code="pairing_ended")
    p.end_date = end
    p.save(update_fields=["end_date"])
    _audit(by, p, CHANGE, f"结束结对：{p}（至 {end}）")
    return p


@transaction.atomic
def pairing_replace(
    *,
    by: User,
    pairing: Pairing | int,
    on: date | str,
    official: User | int | None = None,
    unit: Unit | int | None = None,
    note: str = "",
) -> Pairing:
    """更换结对 — the pairing ends before `on` and a new one of the same enterprise and
    level starts on that day, both or neither (one transaction)."""
    old = pairing_end(by=by, pairing=pairing, end_date=on)
    return pairing_create(
        by=by,
        enterprise=old.enterprise_id,
        level=old.level,
        start_date=old.end_date,  # type: ignore[arg-type]
        official=official,
        unit=unit,
        note=note,
    )


# ---------------------------------------------------------------------------------------------
# teams


@transaction.atomic
def team_create(
    *,
    by: User,
    name: str,
    kind: str,
    unit: Unit | int,
    members: Sequence[tuple[User, str]] = (),
) -> Team:
    """组建队伍 — a 服务小分队, 工作专班, 红色帮办员 or 工地书记 group of a unit."""
    name = check_text(name, field="name", max_length=100)
    kind = check_choice(kind, TeamKind, field="kind")
    u = unit if isinstance(unit, Unit) else Unit.objects.filter(pk=unit).first()
    if u is None:
        raise InvalidInput(_("单位不存在"), field="unit")
    _require_manager(by, u.path, teams=True)
    if Team.objects.filter(unit=u, name=name).exists():
        raise InvalidInput(
            _("%(unit)s已有队伍“%(name)s”") % {"unit": u.name, "name": name}, field="name"
        )
    team = Team.objects.create(name=name, kind=kind, unit=u, created_at=clock.now())
    for user, role in members:
        _check_member(user)
        TeamMember.objects.create(team=team, user=user, role=(role or "队员")[:30])
    _audit(by, team, ADDITION, f"组建{team.get_kind_display()}：{name}（{len(members)} 人）")
    return team


def _check_member(user: User) -> None:
    # a team visits in the district's name: only officials serve in one
    if not user.is_active or not is_official(user):
        raise InvalidInput(_("“%(u)s”不是在岗干部，不能加入队伍") % {"u": user}, field="user")


def _locked_team(team: Team | int) -> Team:
    tid = team.pk if isinstance(team, Team) else int(team)
    found = (
        Team.objects.select_for_update(of=("self",)).select_related("unit").filter(pk=tid).first()
    )
    if found is None:
        raise InvalidInput(_("队伍不存在"), field="team")
    return found


@transaction.atomic
def team_update(
    *,
    by: User,
    team: Team | int,
    name: str,
    kind: str,
    unit: Unit | int,
    is_active: bool = True,
) -> Team:
    """修改队伍 — rename a team, change its kind or owning unit, or stand it down
    (is_active=False: it keeps its visits but takes no new ones)."""
    t = _locked_team(team)
    _require_manager(by, t.unit.path, teams=True)
    name = check_text(name, field="name", max_length=100)
    kind = check_choice(kind, TeamKind, field="kind")
    u = unit if isinstance(unit, Unit) else Unit.objects.filter(pk=unit).first()
    if u is None:
        raise InvalidInput(_("单位不存在"), field="unit")
    if u.pk != t.unit_id:
        # moving a team needs the right over both units
        _require_manager(by, u.path, teams=True)
    if Team.objects.filter(unit=u, name=name).exclude(pk=t.pk).exists():
        raise InvalidInput(
            _("%(unit)s已有队伍“%(name)s”") % {"unit": u.name, "name": name}, field="name"
        )
    changes = []
    if t.name != name:
        changes.append(f"名称 {t.name} → {name}")
    if t.kind != kind:
        changes.append(f"类型 {t.get_kind_display()} → {TeamKind(kind).label}")
    if t.unit_id != u.pk:
        changes.append(f"所属单位 {t.unit.name} → {u.name}")
    if t.is_active != bool(is_active):
        changes.append("启用" if is_active else "停用")
    if not changes:
        return t
    t.name, t.kind, t.unit, t.is_active = name, kind, u, bool(is_active)
    t.save(update_fields=["name", "kind", "unit", "is_active"])
    _audit(by, t, CHANGE, "修改队伍：" + "；".join(changes))
    return t


@transaction.atomic
def team_set_member(
    *, by: User, team: Team | int, user: User, role: str = "队员", remove: bool = False
) -> None:
    """调整队员 — add a member (or change their role in the team), or remove them.

    Membership rows are not kept once removed; the audit log is the team's history."""
    t = _locked_team(team)
    _require_manager(by, t.unit.path, teams=True)
    if remove:
        deleted, _rows = TeamMember.objects.filter(team=t, user=user).delete()
        if not deleted:
            raise InvalidInput(_("“%(u)s”不在队伍中") % {"u": user}, field="user")
        _audit(by, t, CHANGE, f"移出队员：{user}")
        return
    _check_member(user)
    role = check_text(role or "队员", field="role", max_length=30)
    TeamMember.objects.update_or_create(team=t, user=user, defaults={"role": role})
    _audit(by, t, CHANGE, f"队员：{user}（{role}）")


# ---------------------------------------------------------------------------------------------
# visits


@dataclass
class TargetRef:
    """An object of a visit as the form names it: kind and id."""

    kind: str
    id: int


@dataclass
class ItemInput:
    """A difficulty or suggestion (带走困难 / 带走建议) and the level the visitor gives it."""

    item: str
    text: str
    level: str
    target: int = 0  # index into the visit's targets


@dataclass
class _Resolved:
    kind: str
    obj: Any
    grid_id: int | None = None
    community: Unit | None = None
    label: str = ""


@dataclass
class VisitInput:
    targets: list[TargetRef]
    visited_on: date | str | None = None
    place: str = ""
    theme: str = ""
    diary_kind: str = ""
    diary: str = ""
    findings: str = ""
    items: list[ItemInput] = field(default_factory=list)
    phone_left: str = ""
    help_intent: str = ""
    responsible_name: str = ""
    team: Team | int | None = None
    participants: list[User] = field(default_factory=list)
    photos: list[Any] = field(default_factory=list)


def _resolve_target(by: User, ref: TargetRef) -> _Resolved:
    kind = check_choice(ref.kind, TargetKind, field="targets")
    if kind == TargetKind.ENTERPRISE:
        ent = Enterprise.objects.select_related("community", "grid").filter(pk=ref.id).first()
        if ent is None:
            raise InvalidInput(_("企业不存在"), field="targets")
        community = ent.community or (ent.grid.community if ent.grid else None)
        return _Resolved(kind, ent, ent.grid_id, community, ent.name)
    if kind == TargetKind.HOUSEHOLD:
        hh = (
            Household.objects.select_related("community", "grid__community")
            .filter(pk=ref.id)
            .first()
        )
        # a household outside the user's grid chain is as unknown as a missing one
        if hh is None or not can_read_household(by, hh):
            raise InvalidInput(_("户不存在或不在您的网格范围内"), field="targets")
        community = hh.community or (hh.grid.community if hh.grid else None)
        return _Resolved(kind, hh, hh.grid_id, community, str(hh))
    if kind == TargetKind.COMMUNITY:
        unit = Unit.objects.filter(pk=ref.id, kind__in=GRASSROOTS_KINDS).first()
        if unit is None:
            raise InvalidInput(_("村社不存在"), field="targets")
        return _Resolved(kind, unit, None, unit, unit.name)
    project = Project.objects.select_related("community").filter(pk=ref.id).first()
    if project is None:
        raise InvalidInput(_("项目不存在"), field="targets")
    return _Resolved(kind, project, None, project.community, project.name)


DEFAULT_DIARY: dict[str, str] = {
    TargetKind.ENTERPRISE: DiaryKind.ENTERPRISE,
    TargetKind.PROJECT: DiaryKind.ENTERPRISE,
    TargetKind.HOUSEHOLD: DiaryKind.PEOPLE,
    TargetKind.COMMUNITY: DiaryKind.GRASSROOTS,
}
STAT_FIELD: dict[str, str] = {
    TargetKind.ENTERPRISE: "enterprise_visits",
    TargetKind.COMMUNITY: "grassroots_visits",
    TargetKind.HOUSEHOLD: "household_visits",
    TargetKind.PROJECT: "project_visits",
}


def month_start(day: date) -> date:
    return day.replace(day=1)


def _roll_up(visit: Visit, resolved: list[_Resolved], demands: int) -> None:
    """Keep ObjectVisitYear and VisitStatMonth in step with the visit, in its transaction."""
    bit = 1 << (visit.visited_on.month - 1)
    for r in resolved:
        row, created = ObjectVisitYear.objects.get_or_create(
            kind=r.kind,
            year=visit.visited_on.year,
            object_id=r.obj.pk,
            defaults={"months": bit, "visits": 1},
        )
        if not created:
            ObjectVisitYear.objects.filter(pk=row.pk).update(
                months=F("months").bitor(bit), visits=F("visits") + 1
            )
    counts: dict[str, Any] = {"visits": F("visits") + 1, "demands": F("demands") + demands}
    per_kind: dict[str, int] = {}
    for r in resolved:
        per_kind[STAT_FIELD[r.kind]] = per_kind.get(STAT_FIELD[r.kind], 0) + 1
    for name, n in per_kind.items():
        counts[name] = F(name) + n
    key = {
        "month": month_start(visit.visited_on),
        "official_id": visit.official_id,
        "unit_id": visit.unit_id,
        "team_id": visit.team_id,
    }
    stat, created = VisitStatMonth.objects.get_or_create(
        **key, defaults={"visits": 1, "demands": demands, **per_kind}
    )
    if not created:
        VisitStatMonth.objects.filter(pk=stat.pk).update(**counts)


def _demand_for(by: User, visit: Visit, r: _Resolved, it: ItemInput, n: int, phone: str) -> Demand:
    kind = Kind.DIFFICULTY if it.item == ItemKind.DIFFICULTY else Kind.SUGGESTION
    text = it.text
    title = f"{r.label}：{text}"
    if len(title) > 60:
        title = title[:59] + "…"
    body = _("走访（%(day)s，%(who)s）带走的%(item)s：%(text)s") % {
        "day": visit.visited_on,
        "who": visit.official,
        "item": ItemKind(it.item).label,
        "text": text,
    }
    kwargs: dict[str, Any] = {}
    if r.kind == TargetKind.ENTERPRISE:
        kwargs["enterprise"] = r.obj
        kwargs["contact_name"] = r.obj.contact_name
    elif r.kind == TargetKind.HOUSEHOLD:
        head = r.obj.members.order_by("id").first()
        if head is not None:
            kwargs["resident"] = head
        kwargs["contact_name"] = r.obj.head_name
    if r.community is not None:
        kwargs["community"] = r.community
    return demand_submit(
        by=by,
        title=title,
        body=body,
        kind=kind,
        channel=Channel.VISIT,
        source=_("走访"),
        contact_phone=phone,
        address=visit.place,
        level=it.level,
        client_key=f"visit-{visit.pk}-{n}",
        **kwargs,
    ).demand


def _check_items(items: Sequence[ItemInput], n_targets: int) -> list[ItemInput]:
    if len(items) > MAX_ITEMS:
        raise InvalidInput(_("一次最多带走 %(n)d 条困难和建议") % {"n": MAX_ITEMS}, field="items")
    out = []
    for i, it in enumerate(items):
        text = (it.text or "").strip()
        if not text:
            continue
        if it.item not in ItemKind.values:
            raise InvalidInput(_("第 %(n)d 条：类型无效") % {"n": i + 1}, field="items")
        if it.level not in Level.values:
            raise InvalidInput(
                _("第 %(n)d 条“%(t)s”：请选择本职、提交上级或疑难") % {"n": i + 1, "t": text[:20]},
                field="items",
            )
        if not 0 <= it.target < n_targets:
            raise InvalidInput(_("第 %(n)d 条：对象无效") % {"n": i + 1}, field="items")
        text = check_text(text, field="items", max_length=2000)
        out.append(ItemInput(it.item, text, it.level, it.target))
    return out


def _check_participants(by: User, users: Sequence[User]) -> list[User]:
    """同行人员: fellow officials on the visit (the visitor is not their own participant)."""
    out: dict[int, User] = {}
    for u in users:
        if u.pk == by.pk or u.pk in out:
            continue
        if not u.is_active or not is_official(u):
            raise InvalidInput(
                _("“%(u)s”不是在岗干部，不能作为同行人员") % {"u": u}, field="participants"
            )
        out[u.pk] = u
    if len(out) > MAX_PARTICIPANTS:
        raise InvalidInput(
            _("同行人员最多 %(n)d 人") % {"n": MAX_PARTICIPANTS}, field="participants"
        )
    return list(out.values())


def _check_photos(photos: Sequence[Any]) -> list[Any]:
    if not photos:
        return []
    from sanfuwu.attachments.services import check_files

    try:
        checked = check_files(list(photos))
    except InvalidInput as exc:  # the attachments' checks name their own field
        raise InvalidInput(exc.message, field="photos") from None
    for c in checked:
        if not c.kind.content_type.startswith("image/"):
            raise InvalidInput(
                _("“%(name)s”不是照片（只接受 JPEG、PNG、GIF、WebP、HEIC）") % {"name": c.name},
                field="photos",
            )
    return checked


def visit_record(*, by: User, data: VisitInput) -> Visit:
    """走访 — record a visit (遇一事、记一文) with what it took away and left behind.

    Each difficulty or suggestion becomes a demand in the same transaction (channel 走访,
    the level the visitor chose, the visited object as enterprise / resident / community),
    linked to the visit through VisitDemand. Open plans of the official for these objects
    are marked done, the draft is cleared, and the rollups are updated."""
    _require_official(by)
    if not data.targets:
        raise InvalidInput(_("请至少选择一个走访对象"), field="targets")
    if len(data.targets) > MAX_TARGETS:
        raise InvalidInput(_("一次走访最多 %(n)d 个对象") % {"n": MAX_TARGETS}, field="targets")
    seen: set[tuple[str, int]] = set()
    resolved: list[_Resolved] = []
    for ref in data.targets:
        if (ref.kind, ref.id) in seen:
            continue
        seen.add((ref.kind, ref.id))
        resolved.append(_resolve_target(by, ref))
    households = [r for r in resolved if r.kind == TargetKind.HOUSEHOLD]
    if len({r.grid_id for r in households}) > 1:
        raise InvalidInput(_("一次入户走访的各户须在同一网格"), field="targets")
    visited_on = _check_date(data.visited_on or clock.today(), field="visited_on")
    assert visited_on is not None
    if visited_on > clock.today():
        raise InvalidInput(_("走访日期不能晚于今天"), field="visited_on")
    diary_kind = data.diary_kind or DEFAULT_DIARY[TargetKind(resolved[0].kind)]
    diary_kind = check_choice(diary_kind, DiaryKind, field="diary_kind")
    place = check_text(data.place, field="place", max_length=300, required=False)
    theme = check_text(data.theme, field="theme", max_length=100, required=False)
    diary = check_text(data.diary, field="diary", max_length=TEXT_MAX, required=False)
    findings = check_text(data.findings, field="findings", max_length=TEXT_MAX, required=False)
    help_intent = check_text(data.help_intent, field="help_intent", max_length=2000, required=False)
    responsible = check_text(
        data.responsible_name, field="responsible_name", max_length=50, required=False
    )
    phone = (data.phone_left or "").strip()
    if phone:
        try:
            phone = validate_mobile_or_phone(phone)
        except Exception:
            raise InvalidInput(
                _("联系电话格式不对：%(v)s") % {"v": phone}, field="phone_left"
            ) from None
    items = _check_items(data.items, len(resolved))
    if not (diary or findings or items):
        raise InvalidInput(_("请写下走访日记、情况或带走的困难建议"), field="diary")
    team: Team | None = None
    if data.team not in (None, "", 0):
        tid = data.team.pk if isinstance(data.team, Team) else int(data.team)  # type: ignore[arg-type]
        team = Team.objects.select_related("unit").filter(pk=tid, is_active=True).first()
        if team is None:
            raise InvalidInput(_("队伍不存在"), field="team")
        if not user_scope(by).is_admin and not team.memberships.filter(user=by).exists():
            raise InvalidInput(_("您不是“%(t)s”的成员") % {"t": team.name}, field="team")
    unit = team.unit if team is not None else official_unit(by)
    if unit is None:
        raise InvalidInput(_("您没有所属单位，无法记录走访"), field="team")
    participants = _check_participants(by, data.participants)
    photos = _check_photos(data.photos)
    private = bool(households) or diary_kind == DiaryKind.PEOPLE
    grid_id = households[0].grid_id if households else None
    community = households[0].community if households else None

    from sanfuwu.attachments.storage import RollbackCleanup, attachment_storage, new_stored_name

    with transaction.atomic():
        visit = Visit.objects.create(
            official=by,
            team=team,
            unit=unit,
            visited_on=visited_on,
            place=place,
            theme=theme,
            diary_kind=diary_kind,
            diary=diary,
            findings=findings,
            phone_left=phone,
            help_intent=help_intent,
            responsible_name=responsible,
            private=private,
            grid_id=grid_id,
            community=community,
            created_at=clock.now(),
        )
        if participants:
            visit.participants.set(participants)
        targets = [
            VisitTarget(
                visit=visit,
                kind=r.kind,
                visited_on=visited_on,
                **{r.kind: r.obj},
            )
            for r in resolved
        ]
        VisitTarget.objects.bulk_create(targets)
        for n, it in enumerate(items):
            r = resolved[it.target]
            demand = _demand_for(by, visit, r, it, n, phone)
            VisitDemand.objects.create(
                visit=visit,
                target=targets[it.target],
                demand=demand,
                item=it.item,
                level=it.level,
                official=by,
                team=team,
                unit=unit,
                visited_on=visited_on,
            )
        if photos:
            storage = attachment_storage()
            written = []
            for c in photos:
                c.file.seek(0)
                written.append(storage.save(new_stored_name(), File(c.file, name=c.name)))
            transaction.on_commit(RollbackCleanup(storage, written))
            VisitPhoto.objects.bulk_create(
                [
                    VisitPhoto(
                        visit=visit,
                        original_name=c.name,
                        stored_name=name,
                        content_type=c.kind.content_type,
                        size=c.size,
                        sha256=c.sha256,
                        uploaded_by=by,
                    )
                    for c, name in zip(photos, written, strict=True)
                ]
            )
        _roll_up(visit, resolved, len(items))
        for r in resolved:
            VisitPlan.objects.filter(
                official=by, visit__isnull=True, kind=r.kind, **{r.kind: r.obj}
            ).update(visit=visit)
        VisitDraft.objects.filter(user=by).delete()
        _audit(
            by,
            visit,
            ADDITION,
            f"走访 {visited_on}：{'、'.join(r.label for r in resolved)}；带走诉求 {len(items)} 条",
        )
    return visit


# ---------------------------------------------------------------------------------------------
# plans and drafts


@transaction.atomic
def plan_create(
    *, by: User, target: TargetRef, planned_on: date | str, note: str = ""
) -> VisitPlan:
    """走访计划 — the official means to visit the object by `planned_on`."""
    _require_official(by)
    r = _resolve_target(by, target)
    day = _check_date(planned_on, field="planned_on")
    assert day is not None
    note = check_text(note, field="note", max_length=200, required=False)
    plan = VisitPlan.objects.create(
        official=by,
        kind=r.kind,
        planned_on=day,
        note=note,
        created_at=clock.now(),
        **{r.kind: r.obj},
    )
    _audit(by, plan, ADDITION, f"走访计划：{r.label}（{day}）")
    return plan


@transaction.atomic
def plan_cancel(*, by: User, plan: VisitPlan | int) -> None:
    pid = plan.pk if isinstance(plan, VisitPlan) else int(plan)
    p = VisitPlan.objects.filter(pk=pid, official=by, visit__isnull=True).first()
    if p is None:
        raise InvalidInput(_("计划不存在或已完成"), field="plan")
    _audit(by, p, CHANGE, "取消走访计划")
    p.delete()


def visit_draft_save(*, by: User, data: dict[str, Any]) -> VisitDraft:
    """自动保存 — keep what the official has typed so far (one draft per user)."""
    import json

    if len(json.dumps(data, ensure_ascii=False).encode()) > DRAFT_MAX_BYTES:
        raise InvalidInput(_("草稿过大"), field="draft")
    with transaction.atomic():
        draft, _created = VisitDraft.objects.update_or_create(
            user=by, defaults={"data": data, "updated_at": clock.now()}
        )
    return draft


def visit_draft_clear(*, by: User) -> None:
    VisitDraft.objects.filter(user=by).delete()


__all__ = [
    "ItemInput",
    "TargetRef",
    "VisitInput",
    "pairing_create",
    "pairing_end",
    "pairing_replace",
    "plan_cancel",
    "plan_create",
    "team_create",
    "team_set_member",
    "team_update",
    "visit_draft_clear",
    "visit_draft_save",
    "visit_record",
]
