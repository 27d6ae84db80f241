"""External notifiers: logged SMS and e-mail, configuration, and a gateway that fails."""

from __future__ import annotations

import logging

import pytest

from sanfuwu.core import notify
from sanfuwu.demands import services
from sanfuwu.demands.tests.recipes import Route, drive
from sanfuwu.demands.workflow import State
from sanfuwu.inbox.models import Notification

pytestmark = pytest.mark.django_db


class ExplodingGateway:
    """A deployment's gateway that is down."""

    def send(self, *, user, message, event_id=None):
        raise ConnectionError("短信平台不可用")


EXPLODING = f"{__name__}.ExplodingGateway"


def _dispatch(tiny, delivered, title="路灯不亮"):
    d = drive(State.SUBMITTED, Route(tiny, co=False))
    d.title = title
    d.save(update_fields=["title"])
    with delivered():
        services.demand_dispatch(
            demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept, category=tiny.category
        )
    return d


def _give_contacts(tiny):
    handler, head = tiny.users["handler"], tiny.users["head"]
    handler.phone, handler.email = "13900001111", ""
    head.phone, head.email = "", "head@example.gov.cn"
    handler.save()
    head.save()


def test_sms_logs_the_masked_phone_and_one_sms_of_text_email_logs_subject_and_body(
    tiny, delivered, caplog
):
    _give_contacts(tiny)
    with caplog.at_level(logging.INFO, logger="sanfuwu.notify"):
        d = _dispatch(tiny, delivered, title="小区" * 14 + "电梯故障")
    sms = [r.getMessage() for r in caplog.records if r.name == "sanfuwu.notify.sms"]
    email = [r.getMessage() for r in caplog.records if r.name == "sanfuwu.notify.email"]
    assert len(sms) == 1 and len(email) == 1  # each to the user who has that contact
    assert "139****1111" in sms[0] and "13900001111" not in sms[0]
    text = sms[0].split(" ", 4)[-1]
    assert len(text) == notify.SMS_MAX_CHARS and text.endswith("…")
    assert f"#{d.pk}" in text
    assert "subject=【三服务】派单" in email[0]
    assert Notification.objects.get(recipient=tiny.users["head"]).message in email[0]


def test_a_failing_gateway_loses_no_inbox_row_and_stops_no_other_notifier(
    tiny, delivered, caplog, settings
):
    _give_contacts(tiny)
    settings.SANFUWU_NOTIFIERS = [EXPLODING, "sanfuwu.core.notify.LogSmsNotifier"]
    with caplog.at_level(logging.INFO, logger="sanfuwu.notify"):
        d = _dispatch(tiny, delivered)
    assert Notification.objects.filter(demand=d).count() == 2
    failures = [r for r in caplog.records if r.name == "sanfuwu.notify" and r.exc_info]
    assert len(failures) == 2  # one per recipient, each logged with its traceback
    assert "ExplodingGateway" in failures[0].getMessage()
    assert [r for r in caplog.records if r.name == "sanfuwu.notify.sms"]


def test_notifiers_come_from_settings_and_the_old_single_setting_still_counts(settings):
    settings.SANFUWU_NOTIFIERS = ["sanfuwu.core.notify.LogSmsNotifier"]
    assert [type(n).__name__ for n in notify.get_notifiers()] == ["LogSmsNotifier"]
    settings.SANFUWU_NOTIFIER = "sanfuwu.core.notify.LogNotifier"
    assert [type(n).__name__ for n in notify.get_notifiers()] == ["LogSmsNotifier", "LogNotifier"]
    settings.SANFUWU_NOTIFIERS = []
    assert [type(n).__name__ for n in notify.get_notifiers()] == ["LogNotifier"]


def test_the_legacy_log_notifier_still_writes_its_line(tiny, delivered, caplog, settings):
    settings.SANFUWU_NOTIFIERS = []
    settings.SANFUWU_NOTIFIER = "sanfuwu.core.notify.LogNotifier"
    with caplog.at_level(logging.INFO, logger="sanfuwu.notify"):
        _dispatch(tiny, delivered)
    lines = [r.getMessage() for r in caplog.records if r.name == "sanfuwu.notify"]
    assert len(lines) == 2 and all("派单：#" in line for line in lines)


def test_sms_text_is_cut_to_one_message():
    assert notify.sms_text("短" * 70) == "短" * 70
    assert notify.sms_text("短" * 71) == "短" * 69 + "…"
    assert notify.sms_text("多  个\n空白") == "多 个 空白"
