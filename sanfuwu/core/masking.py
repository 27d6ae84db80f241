"""Masking of personal numbers for users who may not see them in full."""

from __future__ import annotations


def mask_phone(value: str | None) -> str:
    """138****1234; landlines keep the area code and the last four digits."""
    v = (value or "").strip()
    if not v:
        return ""
    if v.startswith("0") and "-" in v:
        area, rest = v.split("-", 1)
        keep = 4 if len(rest) > 4 else 1
        return f"{area}-{'*' * (len(rest) - keep)}{rest[-keep:]}"
    if len(v) <= 6:
        return "*" * (len(v) - 2) + v[-2:] if len(v) > 2 else "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:] if len(v) >= 11 else "*" * (len(v) - 2) + v[-2:]


def mask_id_number(value: str | None) -> str:
    v = (value or "").strip()
    if not v:
        return ""
    if len(v) == 18:
        return v[:6] + "*" * 8 + v[-4:]
    if len(v) == 15:
        return v[:6] + "*" * 6 + v[-3:]
    return "*" * len(v)


def mask_name(value: str | None) -> str:
    v = (value or "").strip()
    if not v:
        return ""
    return v[0] + "*" * (len(v) - 1 if len(v) > 1 else 1)
