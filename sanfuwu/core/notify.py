"""External notifiers: how a notification leaves the platform (短信, e-mail, 浙政钉 …).

The in-app inbox (``sanfuwu.inbox``) is always written first and does not depend on this
module. After the inbox rows of an event are committed, each row is handed to every notifier
listed in ``settings.SANFUWU_NOTIFIERS`` (dotted paths of classes built without arguments).
The defaults only write to the log, so nothing leaves the machine:

- :class:`LogSmsNotifier` logs to ``sanfuwu.notify.sms`` the masked phone (``User.phone``)
  and the text cut to one SMS (70 characters);
- :class:`LogEmailNotifier` logs to ``sanfuwu.notify.email`` a subject and body for users
  with an e-mail address.

Plugging in a gateway (see docs/adr/0007-notifiers.md): write a class with the
:class:`Notifier` method ``send(*, user, message, event_id=None)`` in the deployment's own
package, e.g. one that posts to the county 短信平台 or sends a 浙政钉 work notice, and add
its path::

    SANFUWU_NOTIFIERS = [
        "sanfuwu.core.notify.LogSmsNotifier",
        "gov_gateway.notifiers.ZzdWorkNotice",
    ]

(or the environment variable ``SANFUWU_NOTIFIERS``, comma-separated). The domain does not
change. A notifier that raises is logged and skipped: the others still run and the inbox
rows stay. The old single setting ``SANFUWU_NOTIFIER`` is still honoured: when set, that
notifier is added to the list.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from sanfuwu.core.masking import mask_phone

log = logging.getLogger("sanfuwu.notify")
sms_log = logging.getLogger("sanfuwu.notify.sms")
email_log = logging.getLogger("sanfuwu.notify.email")

DEFAULT_NOTIFIERS = [
    "sanfuwu.core.notify.LogSmsNotifier",
    "sanfuwu.core.notify.LogEmailNotifier",
]
# one SMS holds 70 Chinese characters; longer texts are split and billed as several
SMS_MAX_CHARS = 70


class Notifier(Protocol):
    def send(self, *, user: Any, message: str, event_id: int | None = None) -> None: ...


class LogNotifier:
    """The original notifier: one log line per recipient (kept for old settings)."""

    def send(self, *, user: Any, message: str, event_id: int | None = None) -> None:
        log.info("notify user=%s event=%s %s", getattr(user, "pk", user), event_id, message)


def sms_text(message: str, limit: int = SMS_MAX_CHARS) -> str:
    """The message as one SMS: at most `limit` characters, cut with an ellipsis."""
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LogSmsNotifier:
    """短信 that only logs: the masked number and the text as it would be sent."""

    def send(self, *, user: Any, message: str, event_id: int | None = None) -> None:
        phone = (getattr(user, "phone", "") or "").strip()
        if not phone:
            return  # no number: the inbox is all this user gets
        sms_log.info(
            "sms to=%s user=%s event=%s %s",
            mask_phone(phone),
            getattr(user, "pk", user),
            event_id,
            sms_text(message),
        )


def email_subject(message: str) -> str:
    """Our messages start with their kind ("超期：#12「…」…"): that part is the subject."""
    head = message.split("：", 1)[0].strip()
    return f"【三服务】{head}" if head and head != message else "【三服务】通知"


class LogEmailNotifier:
    """E-mail that only logs subject and body, for users who have an address."""

    def send(self, *, user: Any, message: str, event_id: int | None = None) -> None:
        address = (getattr(user, "email", "") or "").strip()
        if not address:
            return
        email_log.info(
            "email user=%s event=%s subject=%s body=%s",
            getattr(user, "pk", user),
            event_id,
            email_subject(message),
            message,
        )


def notifier_paths() -> list[str]:
    paths = list(getattr(settings, "SANFUWU_NOTIFIERS", DEFAULT_NOTIFIERS))
    legacy = getattr(settings, "SANFUWU_NOTIFIER", None)
    if legacy and legacy not in paths:
        paths.append(legacy)
    return paths


@lru_cache(maxsize=1)
def get_notifiers() -> tuple[Notifier, ...]:
    """The configured external notifiers, built once per process."""
    return tuple(import_string(path)() for path in notifier_paths())


class FanOutNotifier:
    """Hands one message to several notifiers; one failing does not stop the others."""

    def __init__(self, notifiers: Iterable[Notifier]):
        self.notifiers = tuple(notifiers)

    def send(self, *, user: Any, message: str, event_id: int | None = None) -> bool:
        """True when every notifier accepted the message."""
        ok = True
        for notifier in self.notifiers:
            try:
                notifier.send(user=user, message=message, event_id=event_id)
            except Exception:
                ok = False
                log.exception(
                    "notifier %s failed for user=%s event=%s",
                    type(notifier).__name__,
                    getattr(user, "pk", user),
                    event_id,
                )
        return ok


def get_notifier() -> FanOutNotifier:
    """All configured notifiers behind the single-notifier interface of earlier versions."""
    return FanOutNotifier(get_notifiers())


@receiver(setting_changed)
def _reset_notifiers(*, setting: str, **kwargs: Any) -> None:
    if setting in ("SANFUWU_NOTIFIERS", "SANFUWU_NOTIFIER"):
        get_notifiers.cache_clear()
