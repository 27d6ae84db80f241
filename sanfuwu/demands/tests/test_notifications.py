"""Events that someone must hear about are queued for the worker after commit."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from sanfuwu.demands import services
from sanfuwu.demands.models import DemandEvent
from sanfuwu.demands.tasks import deliver_event_notifications
from sanfuwu.demands.workflow import State

from .recipes import Route, drive

pytestmark = pytest.mark.django_db


def test_dispatch_is_queued_after_commit_and_reaches_the_lead_unit(
    tiny, caplog, django_capture_on_commit_callbacks
):
    for key in ("handler", "head"):
        tiny.users[key].phone = "13900001111"
        tiny.users[key].save(update_fields=["phone"])
    d = drive(State.SUBMITTED, Route(tiny))
    with django_capture_on_commit_callbacks(execute=True):
        services.demand_dispatch(
            demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept, category=tiny.category
        )
    event = DemandEvent.objects.get(demand=d, action="dispatch")
    queued = DBTaskResult.objects.filter(args_kwargs__args=[event.pk])
    assert queued.count() == 1
    with caplog.at_level(logging.INFO, logger="sanfuwu.notify"):
        assert deliver_event_notifications.call(event.pk) == 2  # the handler and the head
    sent = [r.getMessage() for r in caplog.records if r.name == "sanfuwu.notify.sms"]
    assert len(sent) == 2
    assert all("派单：#" in m and "139****1111" in m and "13900001111" not in m for m in sent)


def test_a_return_reaches_the_dispatcher_and_a_note_notifies_nobody(
    tiny, django_capture_on_commit_callbacks
):
    d = drive(State.DISPATCHED, Route(tiny))
    with django_capture_on_commit_callbacks(execute=True):
        services.demand_note(demand=d, by=tiny.users["handler"], text="进展")
        services.demand_return(
            demand=d, by=tiny.users["handler"], reason_code="other", reason="退回"
        )
    note = DemandEvent.objects.get(demand=d, action="note")
    ret = DemandEvent.objects.get(demand=d, action="return")
    assert not DBTaskResult.objects.filter(args_kwargs__args=[note.pk]).exists()
    assert DBTaskResult.objects.filter(args_kwargs__args=[ret.pk]).exists()
    assert deliver_event_notifications.call(ret.pk) == 1  # the district dispatcher


def test_nothing_is_queued_when_the_transaction_rolls_back(
    tiny, django_capture_on_commit_callbacks
):
    d = drive(State.DISPATCHED, Route(tiny))
    before = DBTaskResult.objects.count()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.demand_return(
            demand=d, by=tiny.users["handler"], reason_code="other", reason="退回"
        )
        transaction.set_rollback(True)
    assert not DemandEvent.objects.filter(demand=d, action="return").exists()
    assert DBTaskResult.objects.count() == before
