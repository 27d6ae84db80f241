"""Reads of the inbox: a user only ever reads their own notifications."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from sanfuwu.core.errors import NotFound
from sanfuwu.orgs.models import User

from .models import Notification

PAGE_SIZE = 20


def unread_count(*, user: User) -> int:
    """The badge: one COUNT on the (recipient, read_at, created_at) index."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_list(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first."""
    qs = Notification.objects.filter(recipient=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


class NotificationNotFound(NotFound):
    def __init__(self) -> None:
        # someone else's notification looks exactly like a missing one
        super().__init__(_("通知不存在"))


def access_notification(user: User, notification_id: int | str) -> Notification:
    """Fetch one of the user's own notifications, or raise NotFound."""
    try:
        pk = int(notification_id)
    except (TypeError, ValueError):
        raise NotificationNotFound() from None
    notification = Notification.objects.filter(pk=pk, recipient=user).first()
    if notification is None:
        raise NotificationNotFound()
    return notification
