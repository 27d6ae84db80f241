"""Inbox notifications of supervision orders (督办), written after the order's transaction
committed.

Orders on a unit have no demand event to hang a notification on, so this module writes the
inbox rows itself (kind 督办) for both kinds of target, then hands each row to the external
notifiers like ``inbox.services.deliver_event`` does. Rows of an order on a demand point at
the demand, so opening them leads to its page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q, QuerySet

from sanfuwu.core.notify import get_notifier
from sanfuwu.demands import tasks as demand_tasks
from sanfuwu.demands.models import Demand
from sanfuwu.inbox.models import MESSAGE_MAX, Notification, NotificationKind
from sanfuwu.inbox.recipients import safe_text
from sanfuwu.orgs.models import User
from sanfuwu.orgs.roles import Role

from .models import SupervisionOrder

log = logging.getLogger(__name__)
TITLE_CHARS = 30


def short_title(order: SupervisionOrder) -> str:
    """The order's title without phone/ID numbers (and a confidential name), cut short."""
    title = safe_text(order.title, order.demand or Demand())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def target_users(order: SupervisionOrder) -> QuerySet[User]:
    """Who must answer: the target unit's heads; on a demand also its handler (or the unit's
    handlers before anyone is named)."""
    q = Q(memberships__unit_id=order.unit_id, memberships__role=Role.UNIT_HEAD)
    if order.demand_id:
        demand = order.demand
        if demand is not None and demand.handler_id and demand.lead_unit_id == order.unit_id:
            q |= Q(pk=demand.handler_id)
        else:
            q |= Q(memberships__unit_id=order.unit_id, memberships__role=Role.HANDLER)
    return User.objects.filter(q, is_active=True).distinct()


def notify_after_commit(
    order: SupervisionOrder, users: Iterable[User], message: str, *, by: User | None
) -> None:
    """Schedule one 督办 notification per user (never to `by`, the one who acted)."""
    if getattr(demand_tasks._local, "suppressed", False):  # demo data, replayed history
        return
    ids = sorted({u.pk for u in users} - ({by.pk} if by is not None else set()))
    if not ids:
        return
    demand_id = order.demand_id
    text = message[:MESSAGE_MAX]
    transaction.on_commit(lambda: _deliver(ids, text, demand_id))


def _deliver(user_ids: list[int], message: str, demand_id: int | None) -> None:
    users = list(User.objects.filter(pk__in=user_ids, is_active=True))
    rows = Notification.objects.bulk_create(
        [
            Notification(
                recipient=u, demand_id=demand_id, kind=NotificationKind.SUPERVISION, message=message
            )
            for u in users
        ]
    )
    notifier = get_notifier()
    for row in rows:
        notifier.send(user=row.recipient, message=row.message)
