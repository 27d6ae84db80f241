"""Background work run by the django-tasks database worker (``manage.py db_worker``).

Events that someone must hear about (派单 to a unit, 退单, 超期, 不满意 …) are handed to the
worker after commit; it works out the recipients and passes them to the notifier. The
in-app inbox and real gateways plug in behind ``sanfuwu.core.notify``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from django_tasks import task

log = logging.getLogger(__name__)

# Actions worth a notification; the rest only go to the audit trail.
NOTIFY_ACTIONS = frozenset(
    {
        "dispatch",
        "redispatch",
        "return",
        "assign",
        "request_extension",
        "approve_extension",
        "refuse_extension",
        "escalate_to_parent",
        "approve_reply",
        "rate_reopen",
        "rate_to_review",
        "mark_overdue",
        "mark_sign_overdue",
    }
)

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
    from .models import DemandEvent

    action = DemandEvent.objects.filter(pk=event_id).values_list("action", flat=True).first()
    if action in NOTIFY_ACTIONS:
        deliver_event_notifications.enqueue(event_id)


@task()
def deliver_event_notifications(event_id: int) -> int:
    """Work out who must hear about an event and hand each recipient to the notifier."""
    from sanfuwu.core.notify import get_notifier

    from .selectors import event_recipients

    recipients = event_recipients(event_id)
    notifier = get_notifier()
    for user, message in recipients:
        notifier.send(user=user, message=message, event_id=event_id)
    return len(recipients)
