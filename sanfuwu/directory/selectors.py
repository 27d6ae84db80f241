"""Reads of the directory: search for staff recording a demand, the picked person, 村社, and
the filtered lists of enterprises, households and projects (coverage of visits builds on them).

Only staff who may record a demand for someone (``INTAKE_ROLES``) search the directory; phone
and ID numbers come back masked unless the viewer is a dispatcher or an admin (the roles that
see the numbers of the demands they triage).
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from sanfuwu.core.errors import Forbidden, InvalidInput
from sanfuwu.core.masking import mask_id_number, mask_phone
from sanfuwu.orgs.models import GRASSROOTS_KINDS, Unit, User
from sanfuwu.orgs.roles import INTAKE_ROLES, Role
from sanfuwu.orgs.selectors import user_scope

from .flags import EnterpriseTag, NeedFlag
from .models import Enterprise, Household, Project, Resident
from .validators import validate_mobile_or_phone

PersonKind = Literal["enterprise", "resident"]
PERSON_KINDS: tuple[PersonKind, ...] = ("enterprise", "resident")
SEARCH_LIMIT = 8
_USCC_PREFIX = re.compile(r"[0-9A-Z]{4,18}")


def is_directory_staff(user: User | None) -> bool:
    """Staff who record demands for someone (hotline, grid, visit) and may search the files."""
    scope = user_scope(user)
    return scope.is_admin or bool(scope.unit_ids(INTAKE_ROLES))


def check_directory_staff(user: User | None) -> None:
    if not is_directory_staff(user):
        raise Forbidden(_("只有录入诉求的工作人员可以查询和新建服务对象档案"))


def may_see_directory_numbers(user: User | None) -> bool:
    """Numbers in clear for dispatchers and admins; everyone else sees them masked."""
    scope = user_scope(user)
    return scope.is_admin or scope.has_role(Role.DISPATCHER)


@dataclass(frozen=True)
class PersonHit:
    """One enterprise or resident as a staff member may see it."""

    kind: PersonKind
    pk: int
    name: str
    code: str  # 统一社会信用代码 (public) or the 身份证号, masked for most viewers
    phone: str  # masked for most viewers
    address: str
    contact_name: str

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.pk}"


def _text(value: object) -> str:
    return unicodedata.normalize("NFKC", str(value or "")).strip()


def person_hit(
    person: Enterprise | Resident, *, user: User | None, numbers: bool | None = None
) -> PersonHit:
    if numbers is None:
        numbers = may_see_directory_numbers(user)
    if isinstance(person, Enterprise):
        phone = person.contact_phone
        return PersonHit(
            kind="enterprise",
            pk=person.pk,
            name=person.name,
            code=person.uscc or "",
            phone=phone if numbers else mask_phone(phone),
            address=person.address,
            contact_name=person.contact_name,
        )
    number = person.id_number or ""
    return PersonHit(
        kind="resident",
        pk=person.pk,
        name=person.name,
        code=number if numbers else mask_id_number(number),
        phone=person.phone if numbers else mask_phone(person.phone),
        address=person.address,
        contact_name=person.name,
    )


def directory_search(
    *, user: User | None, q: str, kind: str, limit: int = SEARCH_LIMIT
) -> list[PersonHit]:
    """Enterprises by name or 统一社会信用代码, residents by name or phone.

    A viewer who sees numbers masked finds a resident by phone only with the whole number,
    so partial numbers cannot be used to fish for people.
    """
    check_directory_staff(user)
    if kind not in PERSON_KINDS:
        raise InvalidInput(_("请选择企业或群众"), field="type")
    q = _text(q)[:60]
    if not q:
        return []
    numbers = may_see_directory_numbers(user)
    limit = max(1, min(limit, 20))
    if kind == "enterprise":
        code = re.sub(r"\s+", "", q).upper()
        cond = Q(name__icontains=q)
        if _USCC_PREFIX.fullmatch(code):
            cond |= Q(uscc__startswith=code)
        enterprises = Enterprise.objects.filter(cond).order_by("name", "id")[:limit]
        return [person_hit(e, user=user, numbers=numbers) for e in enterprises]
    cond = Q(name__icontains=q)
    digits = re.sub(r"[\s()+-]", "", q)
    if digits.isdigit() and len(digits) >= 4:
        with contextlib.suppress(ValidationError):
            cond |= Q(phone=validate_mobile_or_phone(q))
        if numbers:
            cond |= Q(phone__contains=digits)
    residents = Resident.objects.filter(cond).order_by("name", "id")[:limit]
    return [person_hit(r, user=user, numbers=numbers) for r in residents]


def person_from_ref(ref: str | None, *, field: str = "person") -> Enterprise | Resident | None:
    """ "enterprise:12" / "resident:3" (the value a form posts) → the record; "" → None."""
    ref = (ref or "").strip()
    if not ref:
        return None
    kind, _sep, raw = ref.partition(":")
    if kind in PERSON_KINDS and raw.isascii() and raw.isdigit() and len(raw) <= 18:
        model = Enterprise if kind == "enterprise" else Resident
        found = model.objects.filter(pk=int(raw)).first()
        if found is not None:
            return found
    raise InvalidInput(_("所选服务对象不存在，请重新搜索"), field=field)


def contact_defaults(person: Enterprise | Resident | None) -> dict[str, str]:
    """The contact fields a demand takes from the person's file when left empty."""
    if person is None:
        return {}
    if isinstance(person, Enterprise):
        return {
            "contact_name": person.contact_name,
            "contact_phone": person.contact_phone,
            "address": person.address,
        }
    return {
        "contact_name": person.name,
        "contact_phone": person.phone,
        "contact_id_number": person.id_number or "",
        "address": person.address,
    }


@dataclass(frozen=True)
class CommunityChoice:
    pk: int
    name: str
    parent: str


def community_choices(*, user: User | None) -> tuple[list[CommunityChoice], int | None]:
    """The 村社 a demand can be recorded for, and the user's own one (a grid worker's)."""
    scope = user_scope(user)
    units = list(
        Unit.objects.filter(kind__in=GRASSROOTS_KINDS, is_active=True)
        .order_by("path")
        .values_list("pk", "name", "path")
    )
    parents = dict(
        Unit.objects.filter(path__in={p[: -Unit.steplen] for _pk, _n, p in units}).values_list(
            "path", "name"
        )
    )
    own = scope.unit_ids()
    mine = next((pk for pk, _n, _p in units if pk in own), None)
    choices = [
        CommunityChoice(pk, name, parents.get(path[: -Unit.steplen], ""))
        for pk, name, path in units
    ]
    return choices, mine


# ---------------------------------------------------------------------------------------------
# lists with filters: enterprises, households, projects

FlagMatch = Literal["any", "all"]
# who reads household files beyond their grid workers: the chain above the grid (村社 and 镇街
# staff and leaders; at the district its dispatchers, leaders and supervisors)
HOUSEHOLD_CHAIN_ROLES = frozenset(
    {Role.UNIT_HEAD, Role.LEADER, Role.HANDLER, Role.DISPATCHER, Role.SUPERVISOR}
)


def is_workbench_staff(user: User | None) -> bool:
    scope = user_scope(user)
    return scope.is_admin or any(r != Role.SERVICE_OBJECT for r in scope.unit_ids_by_role)


def check_workbench_staff(user: User | None) -> None:
    if not is_workbench_staff(user):
        raise Forbidden(_("只有工作人员可以查看服务对象名录"))


def with_flags(qs: QuerySet, field: str, mask: int, *, match: FlagMatch = "any") -> QuerySet:
    """Rows whose bit-set column `field` has any (or all) of the bits of `mask`; 0 = no filter.

    ``(col & mask) <> 0`` is plain SQL on SQLite and PostgreSQL alike.
    """
    if not mask:
        return qs
    alias = f"_{field}_bits"
    qs = qs.alias(**{alias: F(field).bitand(mask)})
    if match == "all":
        return qs.filter(**{alias: mask})
    return qs.exclude(**{alias: 0})


def in_scope(qs: QuerySet, unit: Unit | None, *, field: str = "community") -> QuerySet:
    """Rows whose 村社 lies in `unit`'s subtree; the district root (or None) filters nothing,
    so records without a 村社 still count for the whole district."""
    if unit is None or unit.is_root():
        return qs
    return qs.filter(**{f"{field}__path__startswith": unit.path})


def _flag_mask(values: int | list | tuple | set | frozenset, flag) -> int:
    if isinstance(values, int):
        return values
    try:
        return flag.mask(values)
    except KeyError as exc:
        raise InvalidInput(_("未知的标识：%(v)s") % {"v": exc.args[0]}, field="flags") from None


def enterprise_list(
    *,
    user: User | None,
    scope: Unit | None = None,
    grid: int | None = None,
    community: int | None = None,
    tags: int | list | tuple | set | frozenset = 0,
    tags_match: FlagMatch = "any",
    above_scale: bool | None = None,
    industry_section: str = "",
    size: str = "",
    park: str = "",
    q: str = "",
) -> QuerySet[Enterprise]:
    """企业名录: every staff member of the district reads it (any official may visit any
    enterprise). ``tags`` are EnterpriseTag members, labels (高新技术) or a bit mask."""
    check_workbench_staff(user)
    qs = in_scope(Enterprise.objects.all(), scope)
    if grid:
        qs = qs.filter(grid_id=grid)
    if community:
        qs = qs.filter(community_id=community)
    qs = with_flags(qs, "tags", _flag_mask(tags, EnterpriseTag), match=tags_match)
    if above_scale is not None:
        qs = qs.filter(is_above_scale=above_scale)
    if industry_section:
        qs = qs.filter(industry_section=industry_section)
    if size:
        qs = qs.filter(size=size)
    if park:
        qs = qs.filter(park=park)
    q = _text(q)[:60]
    if q:
        code = re.sub(r"\s+", "", q).upper()
        cond = Q(name__icontains=q)
        if _USCC_PREFIX.fullmatch(code):
            cond |= Q(uscc__startswith=code)
        qs = qs.filter(cond)
    return qs.order_by("name", "pk")


def households_visible_to(user: User | None) -> QuerySet[Household]:
    """户 files: admins; grid workers and 包片 officials for their grids; staff of a 村社 or
    镇街 (and the district's dispatchers, leaders, supervisors) for the 村社 under their unit.
    Departments read none: household data stays in the grid's chain."""
    scope = user_scope(user)
    if scope.is_admin:
        return Household.objects.all()
    if user is None or not user.is_authenticated:
        return Household.objects.none()
    cond = Q(grid__workers=user) | Q(grid__official=user)
    for path in scope.paths(HOUSEHOLD_CHAIN_ROLES):
        if len(path) == Unit.steplen:  # held at the district root: every household
            return Household.objects.all()
        # a department's subtree holds no 村社: its staff match nothing here
        cond |= Q(community__path__startswith=path)
    return Household.objects.filter(pk__in=Household.objects.filter(cond).values("pk"))


def household_list(
    *,
    user: User | None,
    scope: Unit | None = None,
    grid: int | None = None,
    community: int | None = None,
    need_flags: int | list | tuple | set | frozenset = 0,
    match: FlagMatch = "any",
    q: str = "",
) -> QuerySet[Household]:
    """户 the user may read, filtered by place and need flags (NeedFlag members, labels such
    as 困难家庭, or a mask); ``q`` matches the 户主, the address or the 户编号."""
    qs = in_scope(households_visible_to(user), scope)
    if grid:
        qs = qs.filter(grid_id=grid)
    if community:
        qs = qs.filter(community_id=community)
    qs = with_flags(qs, "need_flags", _flag_mask(need_flags, NeedFlag), match=match)
    q = _text(q)[:60]
    if q:
        qs = qs.filter(Q(head_name__icontains=q) | Q(address__icontains=q) | Q(key=q))
    return qs.order_by("key")


def project_list(
    *,
    user: User | None,
    scope: Unit | None = None,
    stage: str = "",
    owner_unit: int | None = None,
    site_secretary: int | None = None,
    q: str = "",
) -> QuerySet[Project]:
    """重大项目 for staff; ``scope`` keeps the projects located in the unit's 村社 or owned by a
    unit under it."""
    check_workbench_staff(user)
    qs = Project.objects.all()
    if scope is not None and not scope.is_root():
        qs = qs.filter(
            Q(community__path__startswith=scope.path) | Q(owner_unit__path__startswith=scope.path)
        )
    if stage:
        qs = qs.filter(stage=stage)
    if owner_unit:
        qs = qs.filter(owner_unit_id=owner_unit)
    if site_secretary:
        qs = qs.filter(site_secretary_id=site_secretary)
    q = _text(q)[:60]
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code=q))
    return qs.order_by("code")


@dataclass(frozen=True)
class MemberRow:
    pk: int
    name: str
    relation: str
    id_number: str  # masked unless the viewer sees numbers
    phone: str


@dataclass(frozen=True)
class HouseholdRow:
    pk: int
    key: str
    head_name: str
    address: str
    phone: str
    need_labels: list[str]
    grid: str
    community: str
    members: list[MemberRow]


def household_rows(
    households: QuerySet[Household] | list[Household], *, user: User | None
) -> list[HouseholdRow]:
    """Households (from ``household_list``) for display: members prefetched in one query,
    phone and ID numbers masked as for the viewer."""
    numbers = may_see_directory_numbers(user)
    if isinstance(households, QuerySet):
        households = households.select_related("grid", "community")
    items = list(households)
    members: dict[int, list[Resident]] = {}
    if items:
        for r in Resident.objects.filter(household__in=[h.pk for h in items]).order_by("pk"):
            members.setdefault(r.household_id or 0, []).append(r)

    def shown(value: str, masker) -> str:
        return value if numbers else masker(value)

    return [
        HouseholdRow(
            pk=h.pk,
            key=h.key,
            head_name=h.head_name,
            address=h.address,
            phone=shown(h.phone, mask_phone),
            need_labels=NeedFlag.labels_of(h.need_flags),
            grid=h.grid.name if h.grid else "",
            community=h.community.name if h.community else "",
            members=[
                MemberRow(
                    pk=m.pk,
                    name=m.name,
                    relation=m.relation,
                    id_number=shown(m.id_number or "", mask_id_number),
                    phone=shown(m.phone, mask_phone),
                )
                for m in members.get(h.pk, [])
            ],
        )
        for h in items
    ]
