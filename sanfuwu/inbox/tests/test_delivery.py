"""Who hears about each action of the closed loop, written by the real task after commit."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from sanfuwu.conftest import hotline_demand, make_user
from sanfuwu.core import clock
from sanfuwu.demands import services
from sanfuwu.demands.models import DemandEvent
from sanfuwu.demands.tasks import deliver_event_notifications
from sanfuwu.demands.tests.recipes import Route, drive
from sanfuwu.demands.workflow import Actor, State
from sanfuwu.inbox.models import Notification, NotificationKind
from sanfuwu.orgs.roles import Role

from .conftest import inbox_of

pytestmark = pytest.mark.django_db

K = NotificationKind


def test_dispatch_reaches_the_lead_units_handlers_and_head_and_the_co_units(tiny, delivered):
    d = drive(State.SUBMITTED, Route(tiny))
    with delivered():
        services.demand_dispatch(
            demand=d,
            by=tiny.users["dispatcher"],
            lead_unit=tiny.dept,
            co_units=[tiny.other_dept],
            category=tiny.category,
        )
    got = inbox_of(d, "dispatch")
    assert set(got) == {"chengban", "fuzeren", "other", "other_head"}
    assert {kind for kind, _ in got.values()} == {K.DISPATCHED_TO_UNIT}
    assert got["chengban"][1].startswith(f"派单：#{d.pk}「路灯不亮」由住建局主办")
    assert "签收" in got["chengban"][1]
    assert "协办" in got["other"][1] and "主办：住建局" in got["other"][1]


def test_redispatch_reaches_the_new_lead_unit(tiny, delivered):
    d = drive(State.RETURNED, Route(tiny, co=False))
    with delivered():
        services.demand_redispatch(demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.other_dept)
    got = inbox_of(d, "redispatch")
    assert set(got) == {"other", "other_head"}
    assert got["other"] == (K.DISPATCHED_TO_UNIT, got["other"][1])
    assert got["other"][1].startswith(f"改派：#{d.pk}")


def test_assign_reaches_only_the_named_handler(tiny, delivered):
    second = make_user("chengban2", tiny.dept, Role.HANDLER)
    d = drive(State.HANDLING, Route(tiny, co=False))
    with delivered():
        services.demand_assign(demand=d, by=tiny.users["head"], handler=second)
    assert inbox_of(d, "assign") == {
        "chengban2": (K.ASSIGNED_TO_ME, inbox_of(d, "assign")["chengban2"][1])
    }
    assert "已指定由你承办" in inbox_of(d, "assign")["chengban2"][1]


def test_return_reaches_the_dispatchers_of_the_dispatching_unit_only(tiny, delivered):
    d = drive(State.DISPATCHED, Route(tiny))
    with delivered():
        services.demand_return(
            demand=d, by=tiny.users["handler"], reason_code="not_our_duty", reason="不归我们管"
        )
    got = inbox_of(d, "return")
    assert set(got) == {"paidan"}  # not the street's dispatcher
    kind, message = got["paidan"]
    assert kind == K.RETURNED
    assert "被住建局退回（非本单位职责）" in message


def test_an_extension_request_reaches_the_dispatchers(tiny, delivered):
    d = drive(State.HANDLING, Route(tiny, co=False))
    with delivered():
        services.demand_request_extension(
            demand=d, by=tiny.users["handler"], working_days=3, reason="需协调"
        )
    got = inbox_of(d, "request_extension")
    assert set(got) == {"paidan"}
    assert got["paidan"][0] == K.EXTENSION_REQUESTED
    assert "申请延期3个工作日" in got["paidan"][1]


@pytest.mark.parametrize("approve", [True, False])
def test_an_extension_decision_reaches_the_requester_and_the_unit_head(tiny, delivered, approve):
    d = drive(State.HANDLING, Route(tiny, co=False), extension=True)
    with delivered():
        services.demand_decide_extension(
            demand=d, by=tiny.users["dispatcher"], approve=approve, note="" if approve else "不同意"
        )
    got = inbox_of(d, "approve_extension" if approve else "refuse_extension")
    assert set(got) == {"chengban", "fuzeren"}
    assert {kind for kind, _ in got.values()} == {K.EXTENSION_DECIDED}
    assert ("已批准" if approve else "被驳回") in got["chengban"][1]


def test_an_escalation_reaches_the_dispatchers_of_the_parent_unit(tiny, delivered):
    route = Route(tiny, street=True)
    d = drive(State.ESCALATING, route)
    with delivered():
        services.demand_decide_escalation(demand=d, by=tiny.users["street_head"], approve=True)
    got = inbox_of(d, "escalate_to_parent")
    assert set(got) == {"paidan"}
    assert got["paidan"][0] == K.ESCALATED
    assert "由测试街道上报至本级" in got["paidan"][1]


def test_an_approved_reply_reaches_the_handler_and_the_other_heads(tiny, delivered):
    make_user("fuzeren2", tiny.dept, Role.UNIT_HEAD)
    d = drive(State.REPLY_REVIEW, Route(tiny, co=False))
    with delivered():
        services.demand_approve_reply(demand=d, by=tiny.users["head"])
    got = inbox_of(d, "approve_reply")
    # the approving head fired it: only the others hear about it
    assert set(got) == {"chengban", "fuzeren2"}
    assert {kind for kind, _ in got.values()} == {K.REPLY_APPROVED}


def test_a_first_unsatisfied_rating_reaches_head_handler_and_dispatchers(tiny, delivered):
    route = Route(tiny, co=False)
    d = drive(State.REPLIED, route)
    with delivered():
        services.demand_rate(demand=d, by=route.user(Actor.SUBMITTER), value="unsatisfied")
    got = inbox_of(d, "rate_reopen")
    assert set(got) == {"chengban", "fuzeren", "paidan"}
    assert {kind for kind, _ in got.values()} == {K.UNSATISFIED}
    assert "已重办" in got["paidan"][1]


def test_a_second_unsatisfied_rating_also_reaches_the_supervisors(tiny, delivered):
    make_user("jd_ducha", tiny.street, Role.SUPERVISOR)  # another area: not told
    d = drive(State.REPLIED, Route(tiny, co=False), reopened=True)
    with delivered():
        services.demand_rate(demand=d, value="unsatisfied", token=d.rating_token)
    got = inbox_of(d, "rate_to_review")
    assert set(got) == {"chengban", "fuzeren", "paidan", "ducha"}
    assert "督查复核" in got["ducha"][1]


# ---------------------------------------------------------------------------------------------
# the deadline sweeper: yellow and red


def _between_warning_and_due(d):
    d.refresh_from_db()
    return d.warn_at + (d.due_at - d.warn_at) / 2


def test_turning_yellow_warns_the_handler_and_head_once_per_cycle(tiny, delivered):
    route = Route(tiny, co=False)
    d = drive(State.HANDLING, route)
    moment = _between_warning_and_due(d)
    with delivered():
        assert services.sweep_deadlines(now=moment).warned == 1
        assert services.sweep_deadlines(now=moment).warned == 0
    assert DemandEvent.objects.filter(demand=d, action="mark_warning").count() == 1
    got = inbox_of(d, "mark_warning")
    assert set(got) == {"chengban", "fuzeren"}
    assert {kind for kind, _ in got.values()} == {K.TURNED_YELLOW}
    assert "即将超期" in got["chengban"][1] and "到期" in got["chengban"][1]
    assert Notification.objects.filter(demand=d, kind=K.TURNED_YELLOW).count() == 2

    # 不满意 reopens it: a new clock cycle warns again
    services.demand_submit_reply(demand=d, by=tiny.users["handler"], text="已处理。")
    services.demand_approve_reply(demand=d, by=tiny.users["head"])
    services.demand_rate(demand=d, value="unsatisfied", token=d.rating_token)
    moment = _between_warning_and_due(d)
    with delivered():
        assert services.sweep_deadlines(now=moment).warned == 1
        assert services.sweep_deadlines(now=moment).warned == 0
    assert DemandEvent.objects.filter(demand=d, action="mark_warning").count() == 2
    assert Notification.objects.filter(demand=d, kind=K.TURNED_YELLOW).count() == 4


def test_no_yellow_warning_once_the_deadline_passed_only_red(tiny, delivered):
    d = drive(State.HANDLING, Route(tiny, co=False))
    later = clock.now() + timedelta(days=400)
    with delivered():
        services.sweep_deadlines(now=later)
    # about this demand only: the sweep's totals count every demand in the database, and
    # in two full SQLite runs (never alone) they were off, most likely by another test's row
    assert DemandEvent.objects.filter(demand=d, action="mark_overdue").count() == 1
    assert not DemandEvent.objects.filter(demand=d, action="mark_warning").exists()


def test_turning_red_reaches_dispatchers_supervisors_of_the_area_head_and_handler(tiny, delivered):
    make_user("jd_ducha", tiny.street, Role.SUPERVISOR)  # supervises the street, not 住建局
    d = drive(State.HANDLING, Route(tiny, co=False))
    later = clock.now() + timedelta(days=400)
    with delivered():
        services.sweep_deadlines(now=later)
        services.sweep_deadlines(now=later)
    got = inbox_of(d, "mark_overdue")
    assert set(got) == {"paidan", "ducha", "fuzeren", "chengban"}
    assert {kind for kind, _ in got.values()} == {K.TURNED_RED}
    assert "超期" in got["paidan"][1]
    assert Notification.objects.filter(demand=d, kind=K.TURNED_RED).count() == 4


def test_late_signing_reaches_dispatchers_supervisors_and_the_unit_head(tiny, delivered):
    d = drive(State.DISPATCHED, Route(tiny, co=False))
    moment = d.sign_due_at + timedelta(minutes=1)
    assert moment < d.warn_at  # only the signing deadline passed
    with delivered():
        assert services.sweep_deadlines(now=moment).sign_overdue == 1
    got = inbox_of(d, "mark_sign_overdue")
    assert set(got) == {"paidan", "ducha", "fuzeren"}
    assert {kind for kind, _ in got.values()} == {K.SIGN_OVERDUE}
    assert "住建局未按时签收" in got["paidan"][1]


# ---------------------------------------------------------------------------------------------
# idempotency, masking, notes


def test_a_second_delivery_writes_and_sends_nothing_twice(tiny, delivered, caplog):
    tiny.users["handler"].phone = "13900001111"
    tiny.users["handler"].save(update_fields=["phone"])
    d = drive(State.SUBMITTED, Route(tiny, co=False))
    with caplog.at_level(logging.INFO, logger="sanfuwu.notify"), delivered():
        services.demand_dispatch(
            demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept, category=tiny.category
        )
    event = DemandEvent.objects.get(demand=d, action="dispatch")
    assert Notification.objects.filter(event=event).count() == 2
    with caplog.at_level(logging.INFO, logger="sanfuwu.notify"):
        assert deliver_event_notifications.call(event.pk) == 0
        assert deliver_event_notifications.call(event.pk) == 0
    assert Notification.objects.filter(event=event).count() == 2
    sms = [r for r in caplog.records if r.name == "sanfuwu.notify.sms"]
    assert len(sms) == 1  # the handler has a phone; sent once, not on the retries


def test_notes_and_signing_notify_nobody(tiny, delivered):
    d = drive(State.DISPATCHED, Route(tiny, co=False))
    with delivered():
        services.demand_sign(demand=d, by=tiny.users["handler"])
        services.demand_note(demand=d, by=tiny.users["handler"], text="已联系")
    assert not Notification.objects.filter(demand=d).exists()


def test_messages_hide_numbers_and_a_confidential_complainants_name(tiny, delivered):
    d = hotline_demand(
        tiny,
        title="李四反映13812345678家门口积水，身份证330102199001011234",
        contact_name="李四",
        contact_phone="13812345678",
        confidential=True,
    )
    with delivered():
        services.demand_dispatch(
            demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept, category=tiny.category
        )
    messages = [n.message for n in Notification.objects.filter(demand=d)]
    assert len(messages) == 2
    for message in messages:
        assert "李四" not in message
        assert "13812345678" not in message
        assert "330102199001011234" not in message
        assert "李*" in message and "138****5678" in message


def test_a_not_confidential_title_keeps_the_name_but_not_the_number(tiny, delivered):
    d = hotline_demand(tiny, title="王五电话0571-87654321反映噪音", contact_name="王五")
    with delivered():
        services.demand_dispatch(
            demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept, category=tiny.category
        )
    message = Notification.objects.filter(demand=d).first().message
    assert "王五" in message
    assert "87654321" not in message and "0571-****4321" in message


def test_inactive_users_are_not_notified(tiny, delivered):
    tiny.users["head"].is_active = False
    tiny.users["head"].save(update_fields=["is_active"])
    d = drive(State.SUBMITTED, Route(tiny, co=False))
    with delivered():
        services.demand_dispatch(
            demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept, category=tiny.category
        )
    assert set(inbox_of(d, "dispatch")) == {"chengban"}
