"""Masking of personal numbers for users who may not see them in full."""

from __future__ import annotations


def mask_phone(value: str | None) -> str:
    v = (value or "").strip()
    if not v:
        return ""
    if len(v) == 11 and v.isdigit():
        return f"{v[:3]}****{v[-4:]}"
    if len(v) <= 4:
        return "*" * len(v)
    keep = 2 if len(v) < 8 else 4
    head = v.split("-")[0] if "-" in v and v.startswith("0") else ""
    middle = len(v) - len(head) - keep
    return head + "*" * max(middle, 1) + v[-keep:]


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
