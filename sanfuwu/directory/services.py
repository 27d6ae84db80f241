"""Writes of the directory: a person served is put on file on the spot (当场建档).

Both functions are idempotent: the same 统一社会信用代码, the same 身份证号 (or, for a resident
without one, the same name and phone) returns the existing record unchanged, so two operators
recording the same caller never create two files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from sanfuwu.core import clock
from sanfuwu.core.errors import InvalidInput
from sanfuwu.orgs.models import User

from . import validators
from .models import Enterprise, Resident
from .selectors import check_directory_staff

T = TypeVar("T", Enterprise, Resident)

NAME_MAX = {"enterprise": 200, "resident": 50}


@dataclass(frozen=True)
class Filed(Generic[T]):
    record: T
    created: bool


def _name(value: object, *, label: str, max_length: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInput(_("%(label)s不能为空") % {"label": label}, field="name")
    if len(text) > max_length:
        raise InvalidInput(
            _("%(label)s不能超过 %(n)s 个字") % {"label": label, "n": max_length}, field="name"
        )
    return text


def _valid(validator, value: object, *, field: str) -> str:
    try:
        return validator(value)
    except ValidationError as exc:
        raise InvalidInput("；".join(exc.messages), field=field) from None


def enterprise_get_or_create(
    *,
    by: User,
    name: str,
    uscc: str,
    contact_name: str = "",
    contact_phone: str = "",
    address: str = "",
) -> Filed[Enterprise]:
    """建档（企业）— file an enterprise by its 统一社会信用代码; an existing code returns the
    enterprise already on file."""
    check_directory_staff(by)
    name = _name(name, label=_("企业名称"), max_length=NAME_MAX["enterprise"])
    code = _valid(validators.validate_uscc, uscc, field="uscc")
    phone = (contact_phone or "").strip()
    if phone:
        phone = _valid(validators.validate_mobile_or_phone, phone, field="contact_phone")
    existing = Enterprise.objects.filter(uscc=code).first()
    if existing is not None:
        return Filed(existing, False)
    try:
        with transaction.atomic():
            enterprise = Enterprise.objects.create(
                name=name,
                uscc=code,
                contact_name=(contact_name or "").strip()[:50],
                contact_phone=phone,
                address=(address or "").strip()[:300],
                created_at=clock.now(),
            )
    except IntegrityError:
        # a concurrent filing of the same code won the race
        return Filed(Enterprise.objects.get(uscc=code), False)
    return Filed(enterprise, True)


def resident_get_or_create(
    *, by: User, name: str, phone: str, id_number: str = "", address: str = ""
) -> Filed[Resident]:
    """建档（群众）— file a resident. The 身份证号, when given, identifies the person; without
    it the same name and phone do."""
    check_directory_staff(by)
    name = _name(name, label=_("姓名"), max_length=NAME_MAX["resident"])
    if not (phone or "").strip():
        raise InvalidInput(_("电话不能为空"), field="phone")
    phone = _valid(validators.validate_mobile_or_phone, phone, field="phone")
    number = (id_number or "").strip()
    if number:
        number = _valid(validators.validate_id_number, number, field="id_number")
        existing = Resident.objects.filter(id_number=number).first()
    else:
        existing = (
            Resident.objects.filter(name=name, phone=phone, id_number__isnull=True)
            .order_by("id")
            .first()
        )
    if existing is not None:
        return Filed(existing, False)
    try:
        with transaction.atomic():
            resident = Resident.objects.create(
                name=name,
                phone=phone,
                id_number=number or None,
                address=(address or "").strip()[:300],
                created_at=clock.now(),
            )
    except IntegrityError:
        if not number:
            raise
        return Filed(Resident.objects.get(id_number=number), False)
    return Filed(resident, True)
