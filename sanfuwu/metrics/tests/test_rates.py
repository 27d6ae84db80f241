"""Every rate from one hand-worked scenario (docs/metrics.md), driven through the real
services with a frozen clock, across the 2026 劳动节 holiday (5月1日–5日 off, 5月9日 Saturday
a 调休 working day) and with one approved extension.

All demands are 求助 (5 working days to reply, 1 to sign), dispatched Wed 2026-04-29 09:00
(Asia/Shanghai). Sign deadline: Thu 04-30 09:00. Reply deadline: 04-30 (1), 05-06 (2),
05-07 (3), 05-08 (4), Sat 05-09 (5) → 2026-05-09 09:00.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from sanfuwu.conftest import make_user
from sanfuwu.core import clock
from sanfuwu.core.errors import Forbidden
from sanfuwu.demands import services
from sanfuwu.demands.models import Demand
from sanfuwu.metrics import selectors
from sanfuwu.metrics.facts import rebuild
from sanfuwu.metrics.models import DemandFact
from sanfuwu.orgs.roles import Role

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 4, 29)


def at(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=SH)


def submit(tiny, title: str, dispatch_unit) -> Demand:
    return services.demand_submit(
        by=tiny.users["resident"],
        title=title,
        body="小区门口路灯坏了一个月。",
        kind="help",
        channel="portal",
        dispatch_unit=dispatch_unit,
    ).demand


def reply(d: Demand, handler, head) -> None:
    services.demand_submit_reply(demand=d, by=handler, text="已修复。")
    services.demand_approve_reply(demand=d, by=head)


def rate(d: Demand, value: str) -> None:
    d.refresh_from_db()
    services.demand_rate(demand=d, value=value, token=d.rating_token)


@pytest.fixture
def scenario(tiny):
    u = tiny.users
    disp, handler, head = u["dispatcher"], u["handler"], u["head"]
    with clock.frozen_at(at(4, 29, 9)):
        a, b, c, d_, e, f, h = (submit(tiny, t, tiny.root) for t in "ABCDEFH")
        g = submit(tiny, "G", tiny.street)
        for x in (a, b, c, d_):
            services.demand_dispatch(demand=x, by=disp, lead_unit=tiny.dept, category=tiny.category)
        services.demand_dispatch(
            demand=g, by=u["street_dispatcher"], lead_unit=tiny.street, category=tiny.category
        )
        services.demand_reject(demand=e, by=disp, reason="不属于受理范围")
        services.demand_merge(demand=f, by=disp, into=a)
        services.demand_withdraw(demand=h, by=u["resident"], reason="已自行解决")
    with clock.frozen_at(at(4, 29, 10)):
        for x in (a, c, d_):
            services.demand_sign(demand=x, by=handler)
        services.demand_sign(demand=g, by=u["street_handler"])
    with clock.frozen_at(at(4, 29, 15)):
        reply(g, u["street_handler"], u["street_head"])
    with clock.frozen_at(at(4, 30, 10)):
        services.sweep_deadlines()  # B has not signed: 签收超时
    with clock.frozen_at(at(4, 30, 11)):
        services.demand_sign(demand=b, by=handler)
    with clock.frozen_at(at(5, 6, 10)):
        services.demand_request_extension(demand=c, by=handler, working_days=3, reason="需协调")
    with clock.frozen_at(at(5, 6, 11)):
        # 05-09 09:00 + 3 working days: 05-11, 05-12, 05-13 → 05-13 09:00
        services.demand_decide_extension(demand=c, by=disp, approve=True)
    with clock.frozen_at(at(5, 8, 17)):
        reply(a, handler, head)
    with clock.frozen_at(at(5, 8, 18)):
        services.demand_revisit(demand=a, by=disp, reached=True, rating="satisfied")
    with clock.frozen_at(at(5, 8, 19)):
        services.demand_reconcile(demand=a, by=disp)
    with clock.frozen_at(at(5, 9, 10)):
        reply(b, handler, head)  # the 调休 Saturday, one hour after the deadline
    with clock.frozen_at(at(5, 9, 11)):
        rate(b, "basic")
    with clock.frozen_at(at(5, 11, 10)):
        services.sweep_deadlines()  # D is overdue since 05-09 09:00
    with clock.frozen_at(at(5, 12, 12)):
        reply(c, handler, head)  # within the extended deadline
    with clock.frozen_at(at(5, 12, 14)):
        rate(c, "unsatisfied")  # 重办: ceil(5/2) = 3 working days → 05-15 14:00
    with clock.frozen_at(at(5, 13, 10)):
        reply(c, handler, head)
    with clock.frozen_at(at(5, 13, 11)):
        rate(c, "satisfied")
    return {"A": a, "B": b, "C": c, "D": d_, "E": e, "F": f, "G": g, "H": h}


def total(user, **kw):
    (row,) = selectors.rates(user=user, start=DAY, end=DAY, **kw)
    return row


def test_every_rate_matches_the_hand_computation(tiny, scenario):
    row = total(tiny.users["leader"])
    # received: all but the merged F → A B C D E G H = 7; valid: minus rejected E, withdrawn H
    assert row.received == 7
    # 响应率: dispatched and signed or late: A B C D G = 5; on time: all but B → 4/5
    assert (row.signed_in_time.numerator, row.signed_in_time.denominator) == (4, 5)
    assert row.signed_in_time.value == pytest.approx(0.8)
    # 按期办结率: replied with a deadline A B C G + overdue unreplied D = 5;
    # on time A (05-08 17:00), C (extended to 05-13; final round 05-13 10:00 ≤ 05-15 14:00),
    # G (same day); B replied 05-09 10:00 > 09:00 → 3/5
    assert (row.replied_on_time.numerator, row.replied_on_time.denominator) == (3, 5)
    # 化解率: replied A B C G over valid A B C D G → 4/5
    assert (row.resolved.numerator, row.resolved.denominator) == (4, 5)
    # 回访率: A was revisited (reached) of the 4 resolved → 1/4
    assert (row.revisited.numerator, row.revisited.denominator) == (1, 4)
    # 满意率: ratings A 满意, B 基本满意, C 不满意 then 满意 → (1 + 1 + 1) / 4
    assert (row.satisfied.numerator, row.satisfied.denominator) == (3, 4)
    assert row.satisfied.value == pytest.approx(0.75)
    # 重办率: C reopened, of the 4 that ever had a reply → 1/4
    assert (row.reopened.numerator, row.reopened.denominator) == (1, 4)
    # working days from the start of the final round to the reply (whole 24 h per working day):
    # A 04-29 09:00→05-08 17:00: 15 + 24 (04-30) + 0 (05-01…05 holiday) + 24 + 24 + 17 = 104 h
    # B → 05-09 10:00 (调休 Saturday counts): 15 + 24 + 72 + 10 = 121 h
    # C reopened 05-12 14:00 → 05-13 10:00: 10 + 10 = 20 h;  G 09:00 → 15:00 = 6 h
    assert row.replied == 4
    assert row.avg_reply_workdays == pytest.approx((104 + 121 + 20 + 6) / 24 / 4)
    # still open: D (handling, overdue)
    assert (row.open, row.overdue) == (1, 1)


def test_rebuild_gives_the_same_facts_as_the_live_hook(tiny, scenario):
    live = {
        f.demand_id: {k: getattr(f, k) for k in ("resolved", "rated", "satisfied", "overdue")}
        | {"w": round(f.reply_workdays, 6)}
        for f in DemandFact.objects.all()
    }
    assert rebuild() == Demand.objects.count()
    again = {
        f.demand_id: {k: getattr(f, k) for k in ("resolved", "rated", "satisfied", "overdue")}
        | {"w": round(f.reply_workdays, 6)}
        for f in DemandFact.objects.all()
    }
    assert again == live


def test_groups_periods_dimensions_and_scope(tiny, scenario):
    unit_rows = selectors.rates(user=tiny.users["leader"], start=DAY, end=DAY, group_by="unit")
    rows = {r.label: r for r in unit_rows}
    # the children and the district's own row partition the district: their total is exact
    summed, whole = selectors.total_of(unit_rows), total(tiny.users["leader"])
    # the average is a float: summed in another order it may differ in the last bit
    assert summed.avg_reply_workdays == pytest.approx(whole.avg_reply_workdays)
    assert replace(summed, avg_reply_workdays=None) == replace(whole, avg_reply_workdays=None)
    own_only = selectors.rates(
        user=tiny.users["leader"], start=DAY, end=DAY, group_by="unit", include_subunits=False
    )
    assert {r.label: r.received for r in own_only}["住建局"] == 4  # nothing in 物业科
    # E and H never left triage: they count for the district itself (本级)
    assert rows["测试区（本级）"].received == 2
    assert rows["住建局"].received == 4
    assert rows["住建局"].replied_on_time.numerator == 2  # A and C
    assert rows["测试街道"].received == 1
    assert rows["教育局"].received == 0 and rows["教育局"].resolved.value is None

    # scoping: a street leader sees only their street
    street_leader = make_user("jd_lingdao", tiny.street, Role.LEADER)
    row = total(street_leader)
    assert row.received == 1  # G only
    assert (row.resolved.numerator, row.resolved.denominator) == (1, 1)
    with pytest.raises(Forbidden):
        selectors.rates(user=street_leader, start=DAY, end=DAY, unit=tiny.dept)
    with pytest.raises(Forbidden):
        selectors.rates(user=tiny.users["handler"], start=DAY, end=DAY)

    leader = tiny.users["leader"]
    months = selectors.rates(
        user=leader, start=date(2026, 4, 1), end=date(2026, 5, 31), group_by="month"
    )
    assert [(r.key, r.received) for r in months] == [("2026-04", 7), ("2026-05", 0)]
    points = dict(
        (k, (rec, rep, over))
        for k, rec, rep, over in selectors.trend(
            user=leader, start=DAY, end=date(2026, 5, 13), period="day"
        )
    )
    # replies by the day of the (final) reply: G 04-29, A 05-08, B 05-09, C 05-13
    assert points["2026-04-29"] == (7, 1, 1)
    assert points["2026-05-08"][1] == 1 and points["2026-05-09"][1] == 1
    assert points["2026-05-13"][1] == 1 and points["2026-05-12"][1] == 0

    kinds = selectors.rates(user=leader, start=DAY, end=DAY, group_by="kind")
    assert [(r.label, r.received) for r in kinds] == [("求助", 7)]
    objects = selectors.rates(user=leader, start=DAY, end=DAY, group_by="object_type")
    assert [(r.label, r.received) for r in objects] == [("群众", 7)]
    cats = selectors.rates(user=leader, start=DAY, end=DAY, group_by="category")
    assert {r.label: r.received for r in cats} == {"城乡建设": 5, "未分类": 2}
    streets = selectors.rates(user=leader, start=DAY, end=DAY, group_by="street")
    assert {r.label: r.received for r in streets} == {"测试街道": 1, "区级部门及其他": 6}
    only = total(leader, filters={"kind": "consult"})
    assert only.received == 0 and only.resolved.value is None
    handlers = selectors.rates(user=leader, start=DAY, end=DAY, group_by="handler")
    assert {r.label: r.resolved.numerator for r in handlers}["chengban"] == 3


def test_the_cached_working_time_equals_the_deadline_calendar(db):
    import random
    from datetime import timedelta

    from sanfuwu.demands import sla
    from sanfuwu.metrics.facts import _Workdays

    fast = _Workdays()
    rng = random.Random(4)
    base = at(4, 20, 0)
    for _ in range(300):
        start = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 40))
        end = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 25))
        assert fast(start, end) == pytest.approx(sla.working_seconds_between(start, end))
