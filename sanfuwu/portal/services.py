"""Writes of the public portal: a demand from the 政企直通车 / 民情速递 doors, and sign-up.

The demand itself is written by ``demands.services.demand_submit`` (the one intake of every
channel); this module adds what is particular to the portal: which kinds each door offers,
the required contact, the enterprise's 统一社会信用代码, and the attachments in the same
transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands.models import BODY_MAX, TITLE_MAX, Channel, Kind
from sanfuwu.demands.services import SubmitResult, demand_submit
from sanfuwu.directory.models import Enterprise, Resident
from sanfuwu.directory.validators import validate_mobile_or_phone, validate_uscc
from sanfuwu.orgs.models import Unit, User


@dataclass(frozen=True)
class Door:
    """One entrance of the portal: who comes through it and which kinds it offers."""

    slug: str
    name: Any
    source: str  # kept on the demand (来源): the dispatcher sees which door it came through
    kinds: tuple[str, ...]


DOORS = {
    "enterprise": Door(
        "enterprise",
        gettext_lazy("政企直通车（企业）"),
        "政企直通车",
        # 投诉 too: enterprises complain about the business environment (营商环境)
        (Kind.CONSULT, Kind.DIFFICULTY, Kind.SUGGESTION, Kind.COMPLAINT),
    ),
    "resident": Door(
        "resident",
        gettext_lazy("民情速递（群众）"),
        "民情速递",
        (Kind.CONSULT, Kind.HELP, Kind.COMPLAINT, Kind.SUGGESTION),
    ),
}

ENTERPRISE_NAME_MAX = 200
# the enterprise as typed, kept at the head of the text when it is not in the directory
ENTERPRISE_HEADER = "【企业】{name}（统一社会信用代码：{code}）\n\n"
ENTERPRISE_HEADER_MAX = len(ENTERPRISE_HEADER.format(name="x" * ENTERPRISE_NAME_MAX, code="x" * 18))
# what the person may type into 内容 at each door (the enterprise header needs its room)
BODY_LIMITS = {"enterprise": BODY_MAX - ENTERPRISE_HEADER_MAX, "resident": BODY_MAX}
NONCE = re.compile(r"[A-Za-z0-9_-]{20,64}")
MOBILE = re.compile(r"1[3-9][0-9]{9}")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_field(
    value: Any, *, field: str, label: str, max_length: int, required: bool = True
) -> str:
    """A text field of the portal's own (the intake service checks the demand's fields)."""
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise InvalidInput(_("请填写%(label)s") % {"label": label}, field=field)
    if CONTROL_CHARS.search(text):
        raise InvalidInput(_("%(label)s含有不可见的控制字符") % {"label": label}, field=field)
    if len(text) > max_length:
        raise InvalidInput(
            _("%(label)s最多 %(max)s 字（现有 %(n)s 字）")
            % {"label": label, "max": max_length, "n": len(text)},
            field=field,
        )
    return text


def get_door(slug: str) -> Door:
    try:
        return DOORS[slug]
    except KeyError:
        from sanfuwu.core.errors import NotFound

        raise NotFound(_("没有这个入口")) from None


def check_mobile(value: str, *, field: str = "contact_phone") -> str:
    """A mainland mobile number (the unit calls back and the SMS reaches it), normalised."""
    raw = (value or "").strip()
    if not raw:
        raise InvalidInput(_("请填写手机号，承办单位会据此联系您"), field=field)
    try:
        number = validate_mobile_or_phone(raw)
    except ValidationError as exc:
        raise InvalidInput("；".join(exc.messages), field=field) from None
    if not MOBILE.fullmatch(number):
        raise InvalidInput(_("请填写 11 位手机号（如 13812345678）"), field=field)
    return number


def check_enterprise(name: str, code: str) -> tuple[str, str, Enterprise | None]:
    """The enterprise as typed and, when its 统一社会信用代码 is in the directory, that record.

    The portal never creates directory records: anyone can type any name, and the directory
    is kept by the staff. An unknown enterprise stays in the demand's text.
    """
    name = check_field(
        name, field="enterprise_name", label=_("企业名称"), max_length=ENTERPRISE_NAME_MAX
    )
    code = (code or "").strip()
    found = None
    if code:
        try:
            code = validate_uscc(code)
        except ValidationError as exc:
            raise InvalidInput("；".join(exc.messages), field="uscc") from None
        found = Enterprise.objects.filter(uscc=code).first()
    return name, code, found


def portal_submit(
    *,
    by: User | None,
    door: str,
    kind: str,
    title: str,
    body: str,
    contact_name: str,
    contact_phone: str,
    nonce: str,
    enterprise_name: str = "",
    uscc: str = "",
    address: str = "",
    community: int | str | None = None,
    confidential: bool = False,
    publish_consent: bool = False,
    files: Sequence[Any] = (),
) -> SubmitResult:
    """可报 through the portal — an enterprise or a resident submits a demand themselves.

    The nonce of the form is the idempotency key: a double click or a resent POST returns
    the first demand. A bad attachment refuses the whole submission: the demand and its
    files are written in one transaction, or nothing is.
    """
    d = get_door(door)
    if kind not in d.kinds:
        raise InvalidInput(_("请选择诉求类型"), field="kind")
    if not NONCE.fullmatch(nonce or ""):
        raise InvalidInput(_("表单已失效，请刷新页面后重新提交"), field="nonce")
    contact_name = check_field(contact_name, field="contact_name", label=_("联系人"), max_length=50)
    contact_phone = check_mobile(contact_phone)
    title = check_field(title, field="title", label=_("标题"), max_length=TITLE_MAX)
    body = check_field(body, field="body", label=_("内容"), max_length=BODY_LIMITS[door])
    unit = None
    if community not in (None, ""):
        pk = str(community)
        unit = Unit.objects.filter(pk=int(pk), is_active=True).first() if pk.isdecimal() else None
        if unit is None:
            raise InvalidInput(_("请从列表中选择村社"), field="community")
    enterprise: Enterprise | None = None
    resident: Resident | None = None
    if door == "enterprise":
        name, code, enterprise = check_enterprise(enterprise_name, uscc)
        if enterprise is None:
            body = ENTERPRISE_HEADER.format(name=name, code=code or "未填") + body
    elif by is not None:
        resident = Resident.objects.filter(account=by).first()
    with transaction.atomic():
        result = demand_submit(
            by=by,
            channel=Channel.PORTAL,
            source=d.source,
            kind=kind,
            title=title,
            body=body,
            contact_name=contact_name,
            contact_phone=contact_phone,
            enterprise=enterprise,
            resident=resident,
            community=unit,
            confidential=confidential,
            publish_consent=publish_consent,
            address=address,
            client_key=f"portal:{nonce}",
        )
        if result.created and files:
            from sanfuwu.attachments.services import attachments_add

            attachments_add(demand=result.demand, by=by, files=list(files), purpose="submit")
    return result


# ---------------------------------------------------------------------------------------------
# the optional account


def service_object_register(
    *, username: str, password1: str, password2: str, display_name: str, phone: str
) -> User:
    """注册 — an enterprise or a resident opens a portal account to follow all their demands.

    The account holds no role in any unit: it is the submitter of what it submits and sees
    nothing else. It is not linked to a directory record (the staff do that after checking).
    """
    username = (username or "").strip()
    if not username:
        raise InvalidInput(_("请填写用户名"), field="username")
    if len(username) > 150:
        raise InvalidInput(_("用户名最长 150 个字符"), field="username")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise InvalidInput(_("用户名只能包含字母、数字和 @ . + - _"), field="username") from None
    display_name = check_field(
        display_name, field="display_name", label=_("姓名或企业名称"), max_length=50
    )
    phone = check_mobile(phone, field="phone")
    if not password1:
        raise InvalidInput(_("请设置密码"), field="password1")
    if password1 != password2:
        raise InvalidInput(_("两次输入的密码不一致"), field="password2")
    candidate = User(username=username, display_name=display_name, phone=phone)
    try:
        validate_password(password1, user=candidate)
    except ValidationError as exc:
        raise InvalidInput("；".join(exc.messages), field="password1") from None
    taken = InvalidInput(_("该用户名已被使用"), field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise taken
    try:
        with transaction.atomic():
            return User.objects.create_user(
                username=username, password=password1, display_name=display_name, phone=phone
            )
    except IntegrityError:  # the same name registered a moment ago
        raise taken from None
