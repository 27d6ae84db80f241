"""Run the notification task for real: services → on_commit → django-tasks → inbox rows."""

from __future__ import annotations

import contextlib

import pytest

from sanfuwu.demands.models import DemandEvent
from sanfuwu.inbox.models import Notification

IMMEDIATE = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default"],
    }
}


@pytest.fixture
def delivered(settings, django_capture_on_commit_callbacks):
    """`with delivered():` runs the block's on-commit hooks, so each event it records is
    delivered by the real task on django-tasks' immediate backend (synchronously)."""
    settings.TASKS = IMMEDIATE

    @contextlib.contextmanager
    def run():
        with django_capture_on_commit_callbacks(execute=True):
            yield

    return run


def inbox_of(demand, action: str) -> dict[str, tuple[str, str]]:
    """username → (kind, message) of the notifications written for the demand's event."""
    event = DemandEvent.objects.filter(demand=demand, action=action).latest("id")
    return {
        n.recipient.username: (n.kind, n.message)
        for n in Notification.objects.filter(event=event).select_related("recipient")
    }
