"""Reply quality (答复质量): the scorer, the row written with each reply, the leaders' page."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from sanfuwu.core import clock
from sanfuwu.demands import services
from sanfuwu.demands.models import Demand, Reply
from sanfuwu.insights.models import ReplyQuality
from sanfuwu.insights.reply_quality import (
    ADDRESSES_THRESHOLD,
    score_reply,
    working_days_between,
)
from sanfuwu.metrics import selectors as metrics

SH = ZoneInfo("Asia/Shanghai")
TITLE = "幸福小区路灯坏了一个月"
BODY = "幸福小区3栋门口的路灯坏了一个多月，晚上出行很不方便，希望尽快维修。"
ANSWER = (
    "您好！您反映的问题已收悉。经核实，幸福小区3栋门口路灯因线路老化损坏，我局已安排维修"
    "人员于5月8日更换线路和灯具，路灯现已恢复照明。感谢您对我们工作的支持。"
)
BOILERPLATE = "网友您好！您的留言已收悉。现将有关情况回复如下：感谢您对我们工作的关心和支持。"
ECHO_ONLY = f"您好！您反映的“{TITLE}”已收悉，感谢您对我们工作的支持。"
UNRELATED = (
    "您好！关于您咨询的异地就医医保报销问题，按规定需先在医保局办理备案，再持发票到窗口报销。"
    "感谢您的支持。"
)


def at(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=SH)


# --- the scorer -----------------------------------------------------------------------------


def test_a_reply_that_answers_addresses_the_message():
    score = score_reply(title=TITLE, body=BODY, reply=ANSWER)
    assert score.addresses is True
    assert score.relevance >= ADDRESSES_THRESHOLD


@pytest.mark.parametrize("reply", [BOILERPLATE, ECHO_ONLY, UNRELATED])
def test_boilerplate_an_echo_of_the_title_or_another_matter_does_not(reply):
    score = score_reply(title=TITLE, body=BODY, reply=reply)
    assert score.addresses is False
    assert score.relevance < ADDRESSES_THRESHOLD
    assert score.relevance < score_reply(title=TITLE, body=BODY, reply=ANSWER).relevance


@pytest.mark.django_db  # the calendar's administrator entries come first
def test_working_days_skip_the_labour_day_holiday_and_count_the_adjusted_saturday():
    # 2026 劳动节: 05-01 … 05-05 off, Saturday 05-09 a 调休 working day.
    # Wed 04-29 09:00 → Sat 05-09 09:00: 15 h + 04-30 + 05-06/07/08 + 9 h = 5 days
    assert working_days_between(at(4, 29, 9), at(5, 9, 9)) == 5.0
    # the holiday itself counts nothing
    assert working_days_between(at(5, 1, 9), at(5, 5, 18)) == 0.0
    # Sunday 05-10 is a rest day again: Sat 09:00 → Mon 05-11 09:00 is 15 h + 9 h
    assert working_days_between(at(5, 9, 9), at(5, 11, 9)) == 1.0
    assert working_days_between(None, at(5, 11, 9)) is None
    assert working_days_between(at(5, 11, 9), at(5, 9, 9)) == 0.0


@pytest.mark.parametrize(
    ("title", "body", "reply", "addresses"),
    [
        (TITLE, BODY, "", False),  # an empty reply addresses nothing
        (TITLE, BODY, "😀😀😀🙏", False),
        (TITLE, BODY, "！？……", False),
        (TITLE, BODY, ANSWER * 2000, True),  # 200 KB: only the opening is read
        ("😀", "🙏🙏", ANSWER, None),  # nothing to judge the reply by
        ("", "", ANSWER, None),
        ("路灯坏了🚨", "幸福小区路灯坏了😡 please fix", "幸福小区路灯已修好👍 fixed", True),
    ],
)
def test_odd_text_gets_a_clear_answer(title, body, reply, addresses):
    score = score_reply(title=title, body=body, reply=reply)
    assert score.addresses is addresses
    assert 0.0 <= score.relevance <= 1.0


# --- the row of each reply ------------------------------------------------------------------


def _submit(tiny, title=TITLE, body=BODY, unit=None) -> Demand:
    return services.demand_submit(
        by=tiny.users["resident"],
        title=title,
        body=body,
        kind="help",
        channel="portal",
        dispatch_unit=unit or tiny.root,
    ).demand


def _reply(tiny, demand: Demand, text: str, *, street: bool = False) -> None:
    u = tiny.users
    handler, head = (u["street_handler"], u["street_head"]) if street else (u["handler"], u["head"])
    services.demand_sign(demand=demand, by=handler)
    services.demand_submit_reply(demand=demand, by=handler, text=text)
    services.demand_approve_reply(demand=demand, by=head)


def _dispatched(tiny, *, title=TITLE, body=BODY, street=False) -> Demand:
    if street:
        d = _submit(tiny, title, body, tiny.street)
        services.demand_dispatch(
            demand=d,
            by=tiny.users["street_dispatcher"],
            lead_unit=tiny.street,
            category=tiny.category,
        )
    else:
        d = _submit(tiny, title, body)
        services.demand_dispatch(
            demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept, category=tiny.category
        )
    return d


@pytest.mark.django_db
def test_approving_a_reply_stores_its_quality_in_the_same_transaction(tiny):
    with clock.frozen_at(at(4, 29, 9)):
        d = _dispatched(tiny)
    with clock.frozen_at(at(5, 9, 9)):
        # the submitted draft is not sent yet: no row
        services.demand_sign(demand=d, by=tiny.users["handler"])
        services.demand_submit_reply(demand=d, by=tiny.users["handler"], text=ANSWER)
        assert not ReplyQuality.objects.exists()
        # rolled back with the approval: the row never outlives its reply
        with pytest.raises(RuntimeError), transaction.atomic():
            services.demand_approve_reply(demand=d, by=tiny.users["head"])
            assert ReplyQuality.objects.filter(demand=d).count() == 1
            raise RuntimeError("the approval fails after the hook")
        assert not ReplyQuality.objects.exists()
        services.demand_approve_reply(demand=d, by=tiny.users["head"])
    row = ReplyQuality.objects.get(demand=d)
    assert row.reply == Reply.objects.get(demand=d)
    assert row.unit == tiny.dept
    assert row.addresses is True and row.relevance >= ADDRESSES_THRESHOLD
    assert row.working_days == 5.0


@pytest.mark.django_db
def test_a_direct_answer_is_scored_for_the_dispatching_unit(tiny):
    d = _submit(tiny)
    services.demand_answer_directly(demand=d, by=tiny.users["dispatcher"], text=BOILERPLATE)
    row = ReplyQuality.objects.get(demand=d)
    assert row.unit == tiny.root and row.addresses is False


@pytest.mark.django_db
def test_recompute_command_fills_missing_rows_and_rescore_all(tiny):
    a, b = _dispatched(tiny), _dispatched(tiny, title="路灯不亮", body="幸福小区路灯不亮")
    _reply(tiny, a, ANSWER)
    _reply(tiny, b, UNRELATED)
    before = {r.demand_id: (r.relevance, r.addresses) for r in ReplyQuality.objects.all()}
    ReplyQuality.objects.filter(demand=b).delete()
    ReplyQuality.objects.filter(demand=a).update(relevance=0.5, addresses=False)
    call_command("recompute_reply_quality", "--missing", verbosity=0)
    assert ReplyQuality.objects.get(demand=a).relevance == 0.5  # left alone
    assert ReplyQuality.objects.get(demand=b).addresses is False
    call_command("recompute_reply_quality", verbosity=0)
    after = {r.demand_id: (r.relevance, r.addresses) for r in ReplyQuality.objects.all()}
    assert after == before


# --- the leaders' page ----------------------------------------------------------------------

PERIOD = {"period": "custom", "start": "2026-04-01", "end": "2026-05-31"}


@pytest.fixture
def replied(tiny):
    """住建局: one reply that answers (rated 满意), one boilerplate (not rated);
    测试街道: one unrelated reply."""
    with clock.frozen_at(at(4, 29, 9)):
        good = _dispatched(tiny)
        poor = _dispatched(
            tiny, title="物业费收费不合理", body="幸福小区物业费每平米涨到三元，没有公示。"
        )
        street = _dispatched(
            tiny, title="幸福路积水严重", body="幸福路下雨就积水，车辆无法通行。", street=True
        )
    # 04-29 09:00 → 05-06 09:00: 15 h + 04-30 + 9 h = 2 working days
    with clock.frozen_at(at(5, 6, 9)):
        _reply(tiny, good, ANSWER)
        _reply(tiny, poor, BOILERPLATE)
    # 15 h + 04-30 + 05-06 + 05-07 + 9 h = 4 working days
    with clock.frozen_at(at(5, 8, 9)):
        _reply(tiny, street, UNRELATED, street=True)
    with clock.frozen_at(at(5, 8, 10)):
        good.refresh_from_db()
        services.demand_rate(demand=good, value="satisfied", token=good.rating_token)
    return good, poor, street


def _rows(html: str) -> dict[str, list[str]]:
    import re

    out = {}
    for unit, cells in re.findall(r'<tr data-unit="(\d+)">(.*?)</tr>', html, re.S):
        out[unit] = [c.strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", cells, re.S)]
    return out


@pytest.mark.django_db
def test_leader_sees_each_units_reply_quality_beside_its_satisfaction(tiny, replied):
    c = Client()
    c.force_login(tiny.users["leader"])
    r = c.get("/insights/replies/", PERIOD)
    assert r.status_code == 200
    rows = _rows(r.content.decode())
    dept, street = rows[str(tiny.dept.pk)], rows[str(tiny.street.pk)]
    # label, replies, addressed share, relevance, working days, 满意率
    assert dept[0] == "住建局" and dept[1] == "2" and dept[2] == "50.0%" and dept[4] == "2.0"
    assert street[1] == "1" and street[2] == "0.0%" and street[4] == "4.0"
    # the 满意率 is the one of the rates, not recomputed
    rates = {
        r.key: r
        for r in metrics.rates(
            user=tiny.users["leader"],
            start=datetime(2026, 4, 1).date(),
            end=datetime(2026, 5, 31).date(),
            group_by="unit",
        )
    }
    assert dept[5] == rates[str(tiny.dept.pk)].satisfied.percent == "100.0%"
    assert street[5] == rates[str(tiny.street.pk)].satisfied.percent == "—"
    assert rows[str(tiny.other_dept.pk)][1] == "0"


@pytest.mark.django_db
def test_page_is_scoped_like_the_rates(tiny, replied):
    head = Client()
    head.force_login(tiny.users["head"])  # 住建局 unit head: his unit only
    rows = _rows(head.get("/insights/replies/", PERIOD).content.decode())
    assert set(rows) == {str(tiny.dept.pk), str(tiny.section.pk)}
    assert rows[str(tiny.dept.pk)][0] == "住建局（本级）" and rows[str(tiny.dept.pk)][1] == "2"
    assert head.get("/insights/replies/", {**PERIOD, "unit": tiny.street.pk}).status_code == 403
    for name in ("handler", "resident"):
        c = Client()
        c.force_login(tiny.users[name])
        assert c.get("/insights/replies/").status_code == 403
    assert Client().get("/insights/replies/").status_code == 302


@pytest.mark.django_db
def test_page_rejects_bad_periods_and_units_with_a_message(tiny):
    c = Client()
    c.force_login(tiny.users["leader"])
    for bad in ({"period": "decade"}, {"period": "custom", "start": "2026-13-01"}, {"unit": "x"}):
        r = c.get("/insights/replies/", bad)
        assert r.status_code == 422
        assert 'role="alert"' in r.content.decode()


@pytest.mark.django_db
def test_nav_and_hot_topics_link_to_the_page_for_rate_readers_only(tiny):
    leader = Client()
    leader.force_login(tiny.users["leader"])
    assert 'href="/insights/replies/"' in leader.get("/").content.decode()
    assert leader.get("/insights/hot/").content.decode().count('href="/insights/replies/"') == 2
    handler = Client()
    handler.force_login(tiny.users["handler"])
    assert 'href="/insights/replies/"' not in handler.get("/").content.decode()


@pytest.mark.django_db
def test_demand_page_shows_the_reply_quality_to_staff_not_to_the_person(tiny, replied):
    good = replied[0]
    leader = Client()
    leader.force_login(tiny.users["leader"])
    html = leader.get(f"/demands/{good.pk}/").content.decode()
    assert 'id="rq-title"' in html and "切题" in html
    resident = Client()
    resident.force_login(tiny.users["resident"])
    r = resident.get(f"/demands/{good.pk}/")
    assert r.status_code == 200 and 'id="rq-title"' not in r.content.decode()
