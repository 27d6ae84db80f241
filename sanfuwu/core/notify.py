"""The notifier interface: a deployment plugs in its SMS / 浙政钉 gateway here.

The default implementation writes to the log only, so nothing leaves the machine.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger("sanfuwu.notify")


class Notifier(Protocol):
    def send(self, *, user, message: str, event_id: int | None = None) -> None: ...


class LogNotifier:
    def send(self, *, user, message: str, event_id: int | None = None) -> None:
        log.info("notify user=%s event=%s %s", getattr(user, "pk", user), event_id, message)


@lru_cache(maxsize=1)
def get_notifier() -> Notifier:
    path = getattr(settings, "SANFUWU_NOTIFIER", "sanfuwu.core.notify.LogNotifier")
    return import_string(path)()
