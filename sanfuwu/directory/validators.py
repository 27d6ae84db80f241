"""Validators for Chinese identifiers: 统一社会信用代码 (GB 32100), 身份证号 (GB 11643), phones.

Pure Python apart from Django's ``ValidationError``: no settings, models or database. Each
``validate_*`` function normalises its input and returns the normalised value, or raises
``ValidationError`` with a Chinese message naming what is wrong, a single English ``code`` per
validator and ``params["reason"]`` saying which rule failed. They work unchanged as model-field
validators (Django ignores the return value).

The ``*_check_char`` helpers and ``make_*`` generators let tests and the demo loader build valid
numbers.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import ValidationError

# ---------------------------------------------------------------------------------------------
# 统一社会信用代码, GB 32100-2015

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, Z, S, V
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
# 组织机构代码, GB 11714-1997: 8 body characters and a check character
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
_ORG_BODY = re.compile(r"[0-9A-Z]{8}")

# ---------------------------------------------------------------------------------------------
# 居民身份证号码, GB 11643-1999 (ISO 7064 MOD 11-2)

ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"  # indexed by the weighted sum mod 11
_ID18 = re.compile(r"[0-9]{17}[0-9X]")
_ID15 = re.compile(r"[0-9]{15}")
_DIGITS17 = re.compile(r"[0-9]{17}")
_EARLIEST_BIRTH = date(1900, 1, 1)
_CHINA_UTC_OFFSET = timedelta(hours=8)  # no daylight saving since 1991


def _text(value: object) -> str:
    """NFKC (full-width ＡＢＣ１２３ → ABC123), stripped; None → ""."""
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip()


def _invalid(message: str, code: str, reason: str, **params: object) -> ValidationError:
    return ValidationError(message, code=code, params={"reason": reason, **params})


def uscc_check_char(first17: str) -> str:
    """The 18th character of a 统一社会信用代码 whose first 17 characters are given."""
    first17 = first17.upper()
    if len(first17) != 17 or any(c not in USCC_CHARS for c in first17):
        raise ValueError(f"need 17 characters from {USCC_CHARS!r}, got {first17!r}")
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    """The 9th character of a 组织机构代码 (GB 11714) whose first 8 characters are given.

    GB 11714 values letters A=10 … Z=35 over the full alphabet, which differs from their
    positions in the USCC character set after H.
    """
    first8 = first8.upper()
    if not _ORG_BODY.fullmatch(first8):
        raise ValueError(f"need 8 digits or capital letters, got {first8!r}")
    total = sum(int(c, 36) * w for c, w in zip(first8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def validate_uscc(value: str) -> str:
    """Validate a 统一社会信用代码 and return it stripped and upper-cased.

    Layout: 1 登记管理部门代码, 2 机构类别代码, 3–8 登记管理机关行政区划码, 9–17 主体标识码
    (组织机构代码, itself check-digited per GB 11714), 18 校验码.
    """
    code_ = "invalid_uscc"
    code = re.sub(r"\s+", "", _text(value)).upper()
    if len(code) != 18:
        raise _invalid(
            "统一社会信用代码应为 18 位，当前 %(length)s 位", code_, "length", length=len(code)
        )
    for position, char in enumerate(code, start=1):
        if char not in USCC_CHARS:
            raise _invalid(
                "统一社会信用代码第 %(position)s 位含非法字符“%(char)s”"
                "（只用数字和除 I、O、Z、S、V 以外的大写字母）",
                code_,
                "character",
                position=position,
                char=char,
            )
    if not code[2:8].isdigit():
        raise _invalid(
            "统一社会信用代码第 3–8 位应为数字（登记管理机关行政区划码）", code_, "region"
        )
    if code[17] != uscc_check_char(code[:17]):
        raise _invalid("统一社会信用代码校验位（第 18 位）错误，请核对", code_, "check_char")
    if code[16] != org_code_check_char(code[8:16]):
        raise _invalid(
            "统一社会信用代码第 9–17 位的组织机构代码校验位（第 17 位）错误，请核对",
            code_,
            "org_check_char",
        )
    return code


# ---------------------------------------------------------------------------------------------
# 身份证号


def id_check_char(first17: str) -> str:
    """The 18th character of a 身份证号 whose first 17 digits are given."""
    if not _DIGITS17.fullmatch(first17):
        raise ValueError(f"need 17 digits, got {first17!r}")
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def _china_today() -> date:
    return (datetime.now(UTC) + _CHINA_UTC_OFFSET).date()


def _birth(yyyymmdd: str) -> date | None:
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None


def validate_id_number(value: str, *, today: date | None = None) -> str:
    """Validate a 居民身份证号 and return it normalised (spaces removed, final x → X).

    18-character numbers must have a real birth date (characters 7–14) from 1900-01-01 up to
    today (China time, or ``today`` when given) and the right check character. 15-digit numbers
    issued before 1999 (birth date YYMMDD in 19YY, no check character) are accepted unchanged.
    """
    code_ = "invalid_id_number"
    number = re.sub(r"\s+", "", _text(value)).upper()
    if _ID15.fullmatch(number):
        if _birth("19" + number[6:12]) is None:
            raise _invalid(
                "身份证号（15 位）第 7–12 位的出生日期“%(birth)s”不是有效日期",
                code_,
                "birth_date",
                birth=number[6:12],
            )
        return number
    if len(number) != 18:
        raise _invalid(
            "身份证号应为 18 位（或 15 位旧号），当前 %(length)s 位",
            code_,
            "length",
            length=len(number),
        )
    if not _ID18.fullmatch(number):
        raise _invalid("身份证号前 17 位应为数字，末位为数字或 X", code_, "character")
    birth = _birth(number[6:14])
    if birth is None:
        raise _invalid(
            "身份证号第 7–14 位的出生日期“%(birth)s”不是有效日期",
            code_,
            "birth_date",
            birth=number[6:14],
        )
    if birth < _EARLIEST_BIRTH:
        raise _invalid(
            "身份证号中的出生日期 %(birth)s 早于 1900 年",
            code_,
            "birth_date",
            birth=birth.isoformat(),
        )
    if birth > (today or _china_today()):
        raise _invalid(
            "身份证号中的出生日期 %(birth)s 晚于今天",
            code_,
            "birth_date",
            birth=birth.isoformat(),
        )
    if number[17] != id_check_char(number[:17]):
        raise _invalid("身份证号校验位（第 18 位）错误，请核对", code_, "check_char")
    return number


# ---------------------------------------------------------------------------------------------
# phone numbers

# +86 / 0086 / 86 before a mainland mobile is dropped
MOBILE = re.compile(r"(?:\+?86|0086)?(1[3-9][0-9]{9})")
# 区号: 010 and 02X have three digits, every other 0XXX four; local numbers start with 2–9
LANDLINE = re.compile(
    r"\(?(010|02[0-9]|0[3-9][0-9]{2})\)?-?([2-9][0-9]{6,7})"
    r"(?:(?:-|转|#|分机|EXT\.?|X)([0-9]{1,6}))?",
    re.IGNORECASE,
)
# 12345, 81890, 95588, 961890 …
SERVICE = re.compile(r"[1-9][0-9]{4,5}")


def validate_mobile_or_phone(value: str) -> str:
    """Validate a contact number and return it normalised.

    Mobiles (1[3-9] + 9 digits) come back as 11 bare digits; landlines as ``区号-号码`` with an
    optional ``-分机``; 5–6 digit service numbers (12345, 81890) unchanged.
    """
    raw = _text(value)
    compact = re.sub(r"\s+", "", raw)
    mobile = MOBILE.fullmatch(compact.replace("-", ""))
    if mobile:
        return mobile.group(1)
    landline = LANDLINE.fullmatch(compact)
    if landline:
        area, local, extension = landline.groups()
        return f"{area}-{local}" + (f"-{extension}" if extension else "")
    if SERVICE.fullmatch(compact):
        return compact
    raise _invalid(
        "电话号码“%(value)s”格式不正确：应为 11 位手机号、带区号的固话（如 0571-87654321）"
        "或 5–6 位服务热线（如 12345）",
        "invalid_phone",
        "format",
        value=raw,
    )


# ---------------------------------------------------------------------------------------------
# generators for demo data and tests


def make_uscc(seed: int) -> str:
    """A valid, deterministic 统一社会信用代码: 企业 (91), 杭州市上城区 (330102), and an
    all-digit 组织机构代码 from ``seed % 10**8``. Distinct for seeds 0 … 99,999,999."""
    org8 = f"{seed % 10**8:08d}"
    first17 = "91" + "330102" + org8 + org_code_check_char(org8)
    return first17 + uscc_check_char(first17)


def make_id_number(*, birth: date, region: str = "330102", seq: int) -> str:
    """A valid, deterministic 18-character 身份证号. ``seq % 1000`` is the 顺序码, whose last
    digit is odd for men and even for women."""
    if not re.fullmatch(r"[0-9]{6}", region):
        raise ValueError(f"region must be six digits, got {region!r}")
    first17 = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    return first17 + id_check_char(first17)
