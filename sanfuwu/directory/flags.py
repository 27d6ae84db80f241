"""Flag sets stored as one integer bit set: households' need flags and enterprises' tags.

One integer column per record keeps the sets filterable on SQLite and PostgreSQL alike
(``flags & mask``; see ``selectors.with_flags``), compact for 300,000 households, and cheap to
write in bulk. The bit values are part of the stored data: never renumber, only append.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class LabelledFlag(enum.IntFlag):
    """An IntFlag whose members carry a Chinese label (``LABELS``, by member name)."""

    @classmethod
    def label(cls, member: LabelledFlag) -> str:
        return cls._labels()[member.name or ""]

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return cls.LABELS  # type: ignore[attr-defined, no-any-return]

    @classmethod
    def choices(cls) -> list[tuple[int, str]]:
        return [(int(m), cls.label(m)) for m in cls]

    @classmethod
    def labels_of(cls, bits: int) -> list[str]:
        return [cls.label(m) for m in cls if bits & m]

    @classmethod
    def by_label(cls) -> dict[str, LabelledFlag]:
        return {cls.label(m): m for m in cls}

    @classmethod
    def mask(cls, members: Iterable[int | str]) -> int:
        """The bit set of ``members``, given as flags, ints, member names or Chinese labels."""
        labels = cls.by_label()
        bits = 0
        for m in members:
            if isinstance(m, str):
                bits |= int(labels[m]) if m in labels else int(cls[m.upper()])
            else:
                bits |= int(m)
        return bits


class NeedFlag(LabelledFlag):
    HARDSHIP = 1
    HOUSING = 2
    ELDERLY = 4
    DISABLED = 8
    DIBAO = 16
    ALONE = 32
    DESTITUTE = 64
    VETERAN = 128
    LEFT_BEHIND_CHILD = 256
    UNEMPLOYED = 512


NeedFlag.LABELS = {  # type: ignore[attr-defined]
    "HARDSHIP": "困难家庭",
    "HOUSING": "住房困难",
    "ELDERLY": "老年",
    "DISABLED": "残疾",
    "DIBAO": "低保",
    "ALONE": "独居",
    "DESTITUTE": "特困供养",
    "VETERAN": "优抚对象",
    "LEFT_BEHIND_CHILD": "留守儿童",
    "UNEMPLOYED": "失业",
}


class EnterpriseTag(LabelledFlag):
    HIGH_TECH = 1
    KEY_INFO_ECONOMY = 2
    SPECIALISED = 4
    LITTLE_GIANT = 8
    TECH_SME = 16
    LISTED = 32
    HEADQUARTERS = 64
    FOREIGN_FUNDED = 128


EnterpriseTag.LABELS = {  # type: ignore[attr-defined]
    "HIGH_TECH": "高新技术",
    "KEY_INFO_ECONOMY": "重点信息经济",
    "SPECIALISED": "专精特新",
    "LITTLE_GIANT": "专精特新小巨人",
    "TECH_SME": "科技型中小企业",
    "LISTED": "上市企业",
    "HEADQUARTERS": "总部企业",
    "FOREIGN_FUNDED": "外资企业",
}
