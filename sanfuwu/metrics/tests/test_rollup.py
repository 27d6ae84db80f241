"""The rollup (models.Rollup) gives exactly the figures of the fact rows.

Random demands go through the real services over two and a half months (week and month
edges, the 劳动节 holiday, redispatches, reopenings, the deadline sweeper), then every
grouping the rollup answers, for several users, units and periods, is read from the rollup
and from the facts and compared; the incrementally kept rollup is compared with one
rebuilt from the facts. On PostgreSQL, concurrent transactions add to the same rollup rows.
"""

from __future__ import annotations

import heapq
import importlib
import random
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from sanfuwu.conftest import make_user
from sanfuwu.core import clock
from sanfuwu.core.errors import DomainError
from sanfuwu.demands import services
from sanfuwu.demands.models import Category, Demand
from sanfuwu.demands.workflow import TransitionError
from sanfuwu.metrics import selectors
from sanfuwu.metrics.facts import ROLLUP_COLUMNS, ROLLUP_KEY, rebuild_rollup
from sanfuwu.metrics.models import DemandFact, Rollup
from sanfuwu.metrics.selectors import ROLLUP_GROUPS
from sanfuwu.orgs.roles import Role

SH = ZoneInfo("Asia/Shanghai")
FIRST = datetime(2026, 3, 25, 8, 0, tzinfo=SH)
DAYS = 50  # receipts from 03-25 to 05-13; the last actions fall in late May


def rollup_rows() -> dict[tuple, tuple]:
    """The rollup's rows with anything in them, keyed (grain, day, unit_path, unit_id,
    category_id, dim, dim_value)."""
    out = {}
    for r in Rollup.objects.values(*ROLLUP_COLUMNS):
        measures = tuple(round(r[c], 6) for c in ROLLUP_COLUMNS if c not in ROLLUP_KEY)
        if any(measures):
            out[tuple(r[c] for c in ROLLUP_KEY)] = measures
    return out


def assert_same_rows(got: list[selectors.RateRow], want: list[selectors.RateRow]) -> None:
    assert [r.key for r in got] == [r.key for r in want]
    for g, w in zip(got, want, strict=True):
        # the average's float sum is added in another order: equal up to the last bits
        if w.avg_reply_workdays is None:
            assert g.avg_reply_workdays is None
        else:
            assert g.avg_reply_workdays == pytest.approx(w.avg_reply_workdays, rel=1e-9)
        assert replace(g, avg_reply_workdays=None) == replace(w, avg_reply_workdays=None)


class Driver:
    """Random demands driven through the services in time order."""

    def __init__(self, tiny, seed: int) -> None:
        self.t = tiny
        self.u = tiny.users
        self.rng = random.Random(seed)
        self.queue: list[tuple[datetime, int, str, int]] = []
        self.demands: dict[int, Demand] = {}
        self.seq = 0
        self.done: dict[str, int] = {}
        # lead unit → (handler, head)
        self.staff = {
            tiny.dept.pk: (self.u["handler"], self.u["head"]),
            tiny.other_dept.pk: (self.u["other_handler"], self.u["other_head"]),
            tiny.street.pk: (self.u["street_handler"], self.u["street_head"]),
        }

    def later(self, at: datetime, action: str, idx: int, hours: tuple[int, int]) -> None:
        self.seq += 1
        when = at + timedelta(hours=self.rng.randint(*hours), minutes=self.rng.randint(0, 59))
        heapq.heappush(self.queue, (when, self.seq, action, idx))

    def run(self, n: int) -> None:
        for i in range(n):
            at = FIRST + timedelta(days=self.rng.randrange(DAYS), hours=self.rng.randint(0, 14))
            self.later(at, "submit", i, (0, 0))
        for k in range(DAYS + 20):
            self.later(FIRST + timedelta(days=k), "sweep", -1, (10, 10))
        while self.queue:
            when, _seq, action, idx = heapq.heappop(self.queue)
            with clock.frozen_at(when):
                try:
                    getattr(self, action)(idx, when)
                except (DomainError, TransitionError):
                    continue
            self.done[action] = self.done.get(action, 0) + 1

    def demand(self, idx: int) -> Demand:
        d = self.demands[idx]
        d.refresh_from_db()
        return d

    def submit(self, idx: int, now: datetime) -> None:
        to_street = self.rng.random() < 0.3
        # residents write through the portal; a hotline call is recorded by the dispatcher
        hotline = self.rng.random() < 0.3
        d = services.demand_submit(
            by=self.u["dispatcher"] if hotline else self.u["resident"],
            title=f"诉求{idx}",
            body="路灯不亮，请尽快处理。",
            kind=self.rng.choice(["help", "consult", "complaint"]),
            channel="hotline" if hotline else "portal",
            dispatch_unit=self.t.street if to_street else self.t.root,
        ).demand
        self.demands[idx] = d
        roll = self.rng.random()
        if roll < 0.06:
            self.later(now, "reject", idx, (1, 30))
        elif roll < 0.10:
            self.later(now, "withdraw", idx, (1, 30))
        elif roll < 0.14 and len(self.demands) > 1:
            self.later(now, "merge", idx, (1, 30))
        elif roll < 0.22 and not to_street:
            self.later(now, "answer", idx, (1, 30))
        else:
            self.later(now, "dispatch", idx, (0, 20))

    def reject(self, idx: int, now: datetime) -> None:
        services.demand_reject(demand=self.demand(idx), by=self.u["dispatcher"], reason="不受理")

    def withdraw(self, idx: int, now: datetime) -> None:
        services.demand_withdraw(demand=self.demand(idx), by=self.u["resident"], reason="已解决")

    def merge(self, idx: int, now: datetime) -> None:
        into = self.demands[self.rng.choice(sorted(k for k in self.demands if k != idx))]
        services.demand_merge(demand=self.demand(idx), by=self.u["dispatcher"], into=into)

    def answer(self, idx: int, now: datetime) -> None:
        services.demand_answer_directly(
            demand=self.demand(idx), by=self.u["dispatcher"], text="已电话答复。"
        )
        self.after_reply(idx, now)

    def dispatch(self, idx: int, now: datetime) -> None:
        d = self.demand(idx)
        if d.dispatch_unit_id == self.t.street.pk:
            by, lead = self.u["street_dispatcher"], self.t.street
        else:
            by, lead = self.u["dispatcher"], self.rng.choice([self.t.dept, self.t.other_dept])
        services.demand_dispatch(demand=d, by=by, lead_unit=lead, category=self.t.category)
        roll = self.rng.random()
        if roll < 0.1 and lead != self.t.street:
            self.later(now, "redispatch", idx, (1, 20))
        elif roll < 0.9:
            self.later(now, "sign", idx, (0, 40))

    def redispatch(self, idx: int, now: datetime) -> None:
        d = self.demand(idx)
        lead = self.t.other_dept if d.lead_unit_id == self.t.dept.pk else self.t.dept
        services.demand_redispatch(demand=d, by=self.u["dispatcher"], lead_unit=lead)
        self.later(now, "sign", idx, (0, 30))

    def sign(self, idx: int, now: datetime) -> None:
        d = self.demand(idx)
        services.demand_sign(demand=d, by=self.staff[d.lead_unit_id][0])
        if self.rng.random() < 0.85:
            self.later(now, "reply", idx, (2, 200))

    def reply(self, idx: int, now: datetime) -> None:
        d = self.demand(idx)
        if d.lead_unit_id not in self.staff:
            return  # reopened after a direct answer: back with the dispatcher, left there
        handler, head = self.staff[d.lead_unit_id]
        services.demand_submit_reply(demand=d, by=handler, text="已处理完毕。")
        services.demand_approve_reply(demand=d, by=head)
        self.after_reply(idx, now)

    def after_reply(self, idx: int, now: datetime) -> None:
        roll = self.rng.random()
        if roll < 0.5:
            self.later(now, "rate", idx, (1, 72))
        elif roll < 0.75:
            self.later(now, "revisit", idx, (1, 72))

    def rate(self, idx: int, now: datetime) -> None:
        d = self.demand(idx)
        value = self.rng.choice(["satisfied", "basic", "unsatisfied", "unsatisfied"])
        services.demand_rate(demand=d, value=value, token=d.rating_token)
        if value == "unsatisfied":
            # reopened (first time) or under the supervisors' review (second)
            self.later(now, "reply" if self.rng.random() < 0.8 else "review", idx, (2, 60))

    def revisit(self, idx: int, now: datetime) -> None:
        services.demand_revisit(
            demand=self.demand(idx),
            by=self.u["dispatcher"],
            reached=self.rng.random() < 0.7,
            rating=self.rng.choice(["satisfied", "basic", None]),
        )

    def review(self, idx: int, now: datetime) -> None:
        services.demand_supervisor_decide(
            demand=self.demand(idx),
            by=self.u["supervisor"],
            reopen=self.rng.random() < 0.5,
            explanation="复核",
        )

    def sweep(self, idx: int, now: datetime) -> None:
        services.sweep_deadlines()


PERIODS = [
    (date(2026, 4, 1), date(2026, 4, 30)),  # one whole month
    (date(2026, 3, 1), date(2026, 5, 31)),  # whole months only
    (date(2026, 3, 20), date(2026, 5, 15)),  # partial months at both ends
    (date(2026, 3, 31), date(2026, 4, 1)),  # across a month edge
    (date(2026, 4, 10), date(2026, 4, 20)),  # inside one month
    (date(2026, 4, 29), date(2026, 4, 29)),  # one day
    (date(2026, 4, 1), date(2026, 5, 20)),  # whole month then part of one
    (date(2026, 4, 6), date(2026, 4, 26)),  # three whole ISO weeks, Monday to Sunday
]


@pytest.mark.parametrize("seed", [6, 17])
def test_rates_from_the_rollup_equal_the_rates_from_the_facts(tiny, seed):
    driver = Driver(tiny, seed)
    driver.run(70)
    # the walk did reach the interesting places
    for action in ("dispatch", "redispatch", "sign", "reply", "rate", "merge", "reject"):
        assert driver.done.get(action, 0) > 0, action
    assert DemandFact.objects.count() == Demand.objects.count() == 70
    assert DemandFact.objects.filter(reopened=1).exists()
    assert (
        DemandFact.objects.filter(overdue=1).exists()
        or DemandFact.objects.filter(reply_due=1, replied_on_time=0).exists()
    )

    readers = [
        (tiny.users["leader"], None, True),
        (tiny.users["admin"], None, True),
        (tiny.users["leader"], tiny.root, False),
        (tiny.users["leader"], tiny.dept, True),
        (tiny.users["leader"], tiny.dept, False),
        (make_user("jd_lingdao", tiny.street, Role.LEADER), None, True),
        (tiny.users["head"], None, True),
    ]
    compared = 0
    for user, unit, subunits in readers:
        for start, end in PERIODS:
            for group_by in sorted(ROLLUP_GROUPS, key=str):
                kw = dict(
                    user=user,
                    start=start,
                    end=end,
                    group_by=group_by,
                    unit=unit,
                    include_subunits=subunits,
                )
                assert_same_rows(selectors.rates(**kw), selectors.rates(**kw, use_rollup=False))
                compared += 1
            for period in selectors.PERIODS:
                kw = dict(user=user, start=start, end=end, period=period, unit=unit)
                assert selectors.trend(**kw) == selectors.trend(**kw, use_rollup=False), kw
    assert compared == len(readers) * len(PERIODS) * len(ROLLUP_GROUPS)
    # something was counted: the comparison is not between empty tables
    (whole,) = selectors.rates(
        user=tiny.users["leader"], start=date(2026, 3, 1), end=date(2026, 5, 31)
    )
    assert whole.received > 50 and whole.resolved.numerator > 10 and whole.satisfied.denominator

    # the rows kept by the deltas are those a rebuild computes from the facts
    live = rollup_rows()
    rebuild_rollup()
    assert rollup_rows() == live


def test_filters_and_other_groupings_read_the_facts(tiny):
    leader = tiny.users["leader"]
    with clock.frozen_at(datetime(2026, 4, 29, 9, 0, tzinfo=SH)):
        d = services.demand_submit(
            by=tiny.users["resident"],
            title="咨询",
            body="请问办事时间。",
            kind="consult",
            channel="portal",
            dispatch_unit=tiny.root,
        ).demand
        services.demand_dispatch(
            demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept, category=tiny.category
        )
    day = date(2026, 4, 29)
    # the rollup has the demand: emptying it changes the rollup's answers, not the facts'
    assert Rollup.objects.filter(facts__gt=0).exists()
    Rollup.objects.all().delete()
    (total,) = selectors.rates(user=leader, start=day, end=day)
    assert total.received == 0  # from the (now empty) rollup
    (kind,) = selectors.rates(user=leader, start=day, end=day, filters={"kind": "consult"})
    assert kind.received == 1  # a filter: from the facts
    handlers = selectors.rates(user=leader, start=day, end=day, group_by="handler")
    assert [r.received for r in handlers] == [1]  # a grouping the rollup has not: the facts
    # by category: the whole weeks and months from the rollup, the days around from the facts
    april = (date(2026, 4, 1), date(2026, 4, 30))
    assert selectors.rates(user=leader, start=april[0], end=april[1], group_by="category") == []
    edge = selectors.rates(user=leader, start=day, end=date(2026, 5, 3), group_by="category")
    assert [r.received for r in edge] == [1]  # 04-29…05-03: no whole week, only facts
    # so by kind and level (and channel, object type)
    for group_by in ("kind", "level"):
        assert selectors.rates(user=leader, start=april[0], end=april[1], group_by=group_by) == []
        edge = selectors.rates(user=leader, start=day, end=date(2026, 5, 3), group_by=group_by)
        assert [r.received for r in edge] == [1]
    rebuild_rollup()
    (total,) = selectors.rates(user=leader, start=day, end=day)
    assert total.received == 1
    (cat,) = selectors.rates(user=leader, start=april[0], end=april[1], group_by="category")
    top = Category.objects.get(path=tiny.category.path.split("/")[0])  # first level
    assert (cat.key, cat.label, cat.received) == (str(top.pk), top.name, 1)
    (kind,) = selectors.rates(user=leader, start=april[0], end=april[1], group_by="kind")
    assert (kind.key, kind.received) == ("consult", 1)  # the whole month's dim row


def test_a_fact_deleted_with_its_demand_leaves_the_rollup(tiny):
    with clock.frozen_at(datetime(2026, 4, 29, 9, 0, tzinfo=SH)):
        d = services.demand_submit(
            by=tiny.users["resident"],
            title="求助",
            body="井盖缺失。",
            kind="help",
            channel="portal",
            dispatch_unit=tiny.root,
        ).demand
    assert rollup_rows()
    DemandFact.objects.filter(pk=d.pk).delete()
    assert rollup_rows() == {}


def test_migration_0003_splits_the_week_and_month_rows_by_category(tiny):
    """The data step of migration 0003 turns unsplit week and month rows (as 0002 kept them)
    into the rows the deltas keep now."""
    from django.apps import apps

    split = importlib.import_module("sanfuwu.metrics.migrations.0003_rollup_category")
    driver = Driver(tiny, 6)
    driver.run(30)
    live = rollup_rows()
    assert any(key[0] != "day" and key[4] != 0 for key in live)  # categorised rows exist
    # the week and month rows as migration 0002 kept them: one per unit, no category or dim
    Rollup.objects.exclude(dim="").delete()
    without_dims = rollup_rows()
    old = Rollup.objects.filter(grain__in=["week", "month"])
    merged: dict[tuple, dict[str, float]] = {}
    for r in old.values(*ROLLUP_COLUMNS):
        slot = merged.setdefault((r["grain"], r["day"], r["unit_path"], r["unit_id"]), {})
        for c in ROLLUP_COLUMNS[len(ROLLUP_KEY) :]:
            slot[c] = slot.get(c, 0) + r[c]
    old.delete()
    Rollup.objects.bulk_create(
        Rollup(grain=g, day=d, unit_path=p, unit_id=u, category_id=0, **v)
        for (g, d, p, u), v in merged.items()
    )
    assert rollup_rows() != without_dims
    split.split_by_category(apps, None)
    assert rollup_rows() == without_dims


def test_migration_0004_adds_the_rows_per_kind_channel_level_and_object_type(tiny):
    """The data step of migration 0004 adds to the rows of 0003 the week and month rows per
    dim that the deltas keep now."""
    from django.apps import apps

    dims = importlib.import_module("sanfuwu.metrics.migrations.0004_rollup_dims")
    driver = Driver(tiny, 17)
    driver.run(30)
    live = rollup_rows()
    assert {key[5] for key in live} == {"", "kind", "channel", "level", "object_type"}
    Rollup.objects.exclude(dim="").delete()
    assert rollup_rows() != live
    dims.add_dim_rows(apps, None)
    assert rollup_rows() == live


POSTGRES_ONLY = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks are a PostgreSQL matter"
    ),
]


def on_postgres(fn):
    for mark in POSTGRES_ONLY:
        fn = mark(fn)
    return fn


@on_postgres
def test_concurrent_transactions_add_to_the_same_rollup_row(tiny):
    """Eight demands of one unit and day signed and replied by eight threads at once: every
    transaction upserts the same (day, unit) and (month, unit) rows."""
    handler, head = tiny.users["handler"], tiny.users["head"]
    start = datetime(2026, 4, 28, 9, 0, tzinfo=SH)
    with clock.frozen_at(start):
        demands = []
        for i in range(8):
            d = services.demand_submit(
                by=tiny.users["resident"],
                title=f"并发{i}",
                body="排水不畅。",
                kind="help",
                channel="portal",
                dispatch_unit=tiny.root,
            ).demand
            services.demand_dispatch(
                demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept, category=tiny.category
            )
            demands.append(d)
    barrier = threading.Barrier(len(demands))
    errors: list[BaseException] = []

    def work(d: Demand) -> None:
        try:
            barrier.wait(timeout=10)
            with clock.frozen_at(start + timedelta(hours=2)):
                services.demand_sign(demand=d.pk, by=handler)
                services.demand_submit_reply(demand=d.pk, by=handler, text="已疏通。")
                services.demand_approve_reply(demand=d.pk, by=head)
        except BaseException as exc:  # the assertion below shows it
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(d,)) for d in demands]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    live = rollup_rows()
    (day_row,) = Rollup.objects.filter(grain="day", day=date(2026, 4, 28), unit_id=tiny.dept.pk)
    assert (day_row.facts, day_row.resolved, day_row.signed_on_time, day_row.replies) == (
        8,
        8,
        8,
        8,
    )
    rebuild_rollup()
    assert rollup_rows() == live
