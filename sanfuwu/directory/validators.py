"""Validators for Chinese identifiers: 统一社会信用代码 (GB 32100), 身份证号 (GB 11643), phones."""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def validate_uscc(value: str) -> str:
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise ValidationError(
            f"统一社会信用代码应为 18 位，当前 {len(code)} 位", code="invalid_uscc"
        )
    bad = [c for c in code if c not in USCC_CHARS]
    if bad:
        raise ValidationError(
            f"统一社会信用代码含非法字符“{bad[0]}”（不使用 I、O、Z、S、V）", code="invalid_uscc"
        )
    if not code[2:8].isdigit():
        raise ValidationError("统一社会信用代码第 3–8 位应为行政区划码", code="invalid_uscc")
    if code[17] != uscc_check_char(code[:17]):
        raise ValidationError("统一社会信用代码校验位错误", code="invalid_uscc")
    if code[16] != org_code_check_char(code[8:16]):
        raise ValidationError("统一社会信用代码中的组织机构代码校验位错误", code="invalid_uscc")
    return code


def id_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def _birth(text: str) -> date | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def validate_id_number(value: str) -> str:
    number = (value or "").strip().upper()
    if len(number) == 15 and number.isdigit():
        birth = _birth("19" + number[6:12])
        if birth is None:
            raise ValidationError("身份证号中的出生日期无效", code="invalid_id_number")
        return number
    if len(number) != 18:
        raise ValidationError(
            f"身份证号应为 18 位（或 15 位旧号），当前 {len(number)} 位", code="invalid_id_number"
        )
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValidationError("身份证号前 17 位应为数字，末位为数字或 X", code="invalid_id_number")
    birth = _birth(number[6:14])
    if birth is None or birth.year < 1900 or birth > date.today():
        raise ValidationError("身份证号中的出生日期无效", code="invalid_id_number")
    if number[17] != id_check_char(number[:17]):
        raise ValidationError("身份证号校验位错误", code="invalid_id_number")
    return number


MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
SERVICE = re.compile(r"^\d{5,6}$")


def validate_mobile_or_phone(value: str) -> str:
    raw = (value or "").strip()
    compact = re.sub(r"[\s]", "", raw)
    if MOBILE.match(compact.replace("-", "")) and len(compact.replace("-", "")) == 11:
        return compact.replace("-", "")
    if LANDLINE.match(compact) or SERVICE.match(compact):
        return compact
    raise ValidationError(f"电话号码“{raw}”格式不正确", code="invalid_phone")


def make_uscc(seed: int) -> str:
    """A valid, deterministic 统一社会信用代码 for demo data and tests."""
    digits = f"{seed:08d}"[-8:]
    org8 = digits
    org9 = org8 + org_code_check_char(org8)
    first17 = "91" + "330102" + org9
    return first17 + uscc_check_char(first17)


def make_id_number(*, birth: date, region: str = "330102", seq: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    return first17 + id_check_char(first17)
