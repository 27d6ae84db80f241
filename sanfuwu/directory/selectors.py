"""Reads of the directory for staff recording a demand: search, the picked person, 村社.

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
from django.db.models import Q
from django.utils.translation import gettext as _

from sanfuwu.core.errors import Forbidden, InvalidInput
from sanfuwu.core.masking import mask_id_number, mask_phone
from sanfuwu.orgs.models import GRASSROOTS_KINDS, Unit, User
from sanfuwu.orgs.roles import INTAKE_ROLES, Role
from sanfuwu.orgs.selectors import user_scope

from .models import Enterprise, Resident
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
