"""One source of "now", so the demo loader can replay history at past dates."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import date, datetime

from django.utils import timezone

_local = threading.local()


def now() -> datetime:
    frozen = getattr(_local, "frozen", None)
    return frozen if frozen is not None else timezone.now()


@contextlib.contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    previous = getattr(_local, "frozen", None)
    _local.frozen = moment
    try:
        yield
    finally:
        _local.frozen = previous


def today() -> date:
    """Today's date in the platform's time zone (Asia/Shanghai): between 00:00 and 08:00
    Beijing time, now().date() would still be yesterday (UTC)."""
    return timezone.localdate(now())
