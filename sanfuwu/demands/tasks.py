"""Background work run by the django-tasks database worker (``manage.py db_worker``).

Events that someone must hear about (派单 to a unit, 退单, 即将超期, 超期, 不满意 …) are
handed to the worker after commit. The worker writes the in-app inbox (``sanfuwu.inbox``:
who hears about what is decided in ``inbox/recipients.py``) and then hands each new
notification to the external notifiers of ``sanfuwu.core.notify`` (短信, e-mail, 浙政钉).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from django_tasks import task

log = logging.getLogger(__name__)

_local = threading.local()


@contextlib.contextmanager
def notifications_suppressed() -> Iterator[None]:
    """Used when replaying history (demo data, imports of closed cases)."""
    previous = getattr(_local, "suppressed", False)
    _local.suppressed = True
    try:
        yield
    finally:
        _local.suppressed = previous


def schedule_event_notifications(event_id: int) -> None:
    if getattr(_local, "suppressed", False):
        return
    from sanfuwu.inbox.recipients import NOTIFY_ACTIONS

    from .models import DemandEvent

    action = DemandEvent.objects.filter(pk=event_id).values_list("action", flat=True).first()
    if action in NOTIFY_ACTIONS:
        deliver_event_notifications.enqueue(event_id)


@task()
def deliver_event_notifications(event_id: int) -> int:
    """Write the event's inbox notifications and send them on; returns how many are new.

    Idempotent: a retried or duplicated task writes and sends nothing twice.
    """
    from sanfuwu.inbox.services import deliver_event

    return len(deliver_event(event_id=event_id))
