"""Writes of the inbox: delivering an event's notifications, marking them read.

``deliver_event`` runs in the django-tasks worker after the event's transaction committed
(``demands.tasks.deliver_event_notifications``). The in-app rows are always written; the
external notifiers of ``sanfuwu.core.notify`` only get the rows written by this run, after
they are committed, so a retried task neither writes nor sends anything twice, and a
gateway that fails never loses a row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import translation

from sanfuwu.core import clock
from sanfuwu.core.notify import get_notifier
from sanfuwu.demands.models import DemandEvent
from sanfuwu.orgs.models import User

from .models import Notification
from .recipients import event_recipients
from .selectors import access_notification


def deliver_event(*, event_id: int) -> list[Notification]:
    """Write the inbox rows of one event (once per recipient and kind, in one transaction)
    and hand each new row to every external notifier. Returns the new rows."""
    # the worker has no request: messages are stored in the platform's language (zh-Hans)
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        # concurrent deliveries of one event take turns (PostgreSQL; SQLite's IMMEDIATE
        # transactions already do); the unique constraint is the second guard
        event = (
            DemandEvent.objects.select_for_update(of=("self",))
            .select_related("demand", "demand__dispatch_unit", "demand__lead_unit")
            .filter(pk=event_id)
            .first()
        )
        if event is None:
            return []
        done = set(Notification.objects.filter(event=event).values_list("recipient_id", "kind"))
        fresh = [
            Notification(
                recipient=r.user,
                demand=event.demand,
                event=event,
                kind=r.kind,
                message=r.message,
                created_at=event.created_at,
            )
            for r in event_recipients(event)
            if (r.user.pk, r.kind) not in done
        ]
        Notification.objects.bulk_create(fresh, ignore_conflicts=True)
    notifier = get_notifier()
    for notification in fresh:
        # one failing gateway is logged and skipped (FanOutNotifier); the rows stay
        notifier.send(user=notification.recipient, message=notification.message, event_id=event_id)
    return fresh


@transaction.atomic
def notification_open(*, user: User, notification_id: int | str) -> Notification:
    """Open one of my notifications: it is read from now on (idempotent)."""
    notification = access_notification(user, notification_id)
    if notification.read_at is None:
        now = clock.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user: User) -> int:
    """全部标为已读 — every unread notification of the user; returns how many."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=clock.now()
    )
