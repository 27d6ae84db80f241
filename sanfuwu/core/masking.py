"""Masking of personal numbers and names for users who may not see them in full.

Every function takes anything (None, numbers, odd strings), never raises, and returns "" for
empty input. Values too short to mask partially come back as all stars.
"""

from __future__ import annotations

import re

# 0571-87654321, (0571)87654321, 0571-87654321-123
_LANDLINE = re.compile(r"(?:\((0[0-9]{2,3})\)-?|(0[0-9]{2,3})-)([0-9]{2,})(-[0-9]{1,6})?")
_SEPARATORS = re.compile(r"[\s-]+")


def _text(value: object) -> str:
    if value is None:
        return ""
    try:
        return str(value).strip()
    except Exception:
        return ""


def _keep_tail(text: str, keep: int) -> str:
    if len(text) <= keep:
        return "*" * len(text)
    return "*" * (len(text) - keep) + text[-keep:]


def mask_phone(value: object) -> str:
    """138****1234. A landline written ``区号-号码`` keeps the area code and the last four
    digits (0571-****4321); other numbers keep the last two (12345 → ***45), and 11 or more
    characters also the first three. Four characters or fewer become all stars."""
    v = _text(value)
    if not v:
        return ""
    landline = _LANDLINE.fullmatch(v)
    if landline:
        area = landline.group(1) or landline.group(2)
        local, extension = landline.group(3), landline.group(4)
        keep = 4 if len(local) > 6 else 2
        return f"{area}-{_keep_tail(local, keep)}{extension or ''}"
    compact = _SEPARATORS.sub("", v) or v
    if len(compact) <= 4:
        return "*" * len(compact)
    if len(compact) >= 11:
        return compact[:3] + "*" * (len(compact) - 7) + compact[-4:]
    return _keep_tail(compact, 2)


def mask_id_number(value: object) -> str:
    """Keep the region (first 6) and the last 4 of 18 characters (110105********002X), the
    last 3 of 15; anything else becomes all stars."""
    v = _text(value)
    if len(v) == 18:
        return v[:6] + "*" * 8 + v[-4:]
    if len(v) == 15:
        return v[:6] + "*" * 6 + v[-3:]
    return "*" * len(v)


def mask_name(value: object) -> str:
    """Keep the first character: 张三 → 张*, 欧阳修 → 欧**; a one-character name still shows a
    star (李 → 李*) so the mask never shows a whole name."""
    v = _text(value)
    if not v:
        return ""
    return v[0] + "*" * max(len(v) - 1, 1)
