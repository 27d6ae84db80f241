"""The demand selectors behind the lists and the home pages: sorts with keyset pages, the
filters added for the workbench, and each role's piles — all within demands_visible_to."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sanfuwu.conftest import Tiny, hotline_demand, make_user
from sanfuwu.core import clock
from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands import selectors, services
from sanfuwu.demands.models import Demand
from sanfuwu.demands.selectors import DemandFilters
from sanfuwu.demands.tests.recipes import Route, drive
from sanfuwu.demands.workflow import State
from sanfuwu.orgs.roles import Role

pytestmark = pytest.mark.django_db


def dispatched_with_due(tiny: Tiny, *, start, due, lead=None, title="路灯坏了") -> Demand:
    with clock.frozen_at(start):
        d = hotline_demand(tiny, title=title)
        services.demand_dispatch(
            demand=d,
            by=tiny.users["dispatcher"],
            lead_unit=lead or tiny.dept,
            category=tiny.category,
            due_at=due,
        )
    d.refresh_from_db()
    return d


def red(tiny: Tiny, **kw) -> Demand:
    now = clock.now()
    return dispatched_with_due(
        tiny, start=now - timedelta(days=30), due=now - timedelta(hours=1), **kw
    )


def yellow(tiny: Tiny, **kw) -> Demand:
    now = clock.now()
    return dispatched_with_due(
        tiny, start=now - timedelta(days=60), due=now + timedelta(hours=2), **kw
    )


def walk(user, sort: str, *, limit: int, filters: DemandFilters | None = None) -> list[int]:
    seen, cursor = [], None
    while True:
        page = selectors.demand_list(
            user=user, filters=filters or DemandFilters(), cursor=cursor, limit=limit, sort=sort
        )
        seen += [d.pk for d in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.fixture
def ties(tiny) -> list[Demand]:
    """13 demands recorded in threes at the same instant; the odd ones dispatched with
    deadlines that also tie; the rest without a deadline."""
    base = clock.now() - timedelta(days=3)
    made = []
    for i in range(13):
        with clock.frozen_at(base + timedelta(minutes=i // 3)):
            d = hotline_demand(tiny, title=f"第{i}件")
            if i % 2:
                services.demand_dispatch(
                    demand=d,
                    by=tiny.users["dispatcher"],
                    lead_unit=tiny.dept,
                    category=tiny.category,
                    due_at=base + timedelta(days=10 + i % 3),
                )
        made.append(d)
    for d in made:
        d.refresh_from_db()
    return made


@pytest.mark.parametrize("sort", ["id", "newest", "oldest", "due", "updated"])
def test_each_sort_pages_through_ties_and_nulls_without_repeats_or_gaps(tiny, ties, sort):
    far = clock.now() + timedelta(days=10_000)
    key = {
        "id": lambda d: -d.pk,
        "newest": lambda d: (-d.created_at.timestamp(), -d.pk),
        "oldest": lambda d: (d.created_at.timestamp(), d.pk),
        "due": lambda d: ((d.due_at or far).timestamp(), d.pk),
        "updated": lambda d: (-d.updated_at.timestamp(), -d.pk),
    }[sort]
    expected = [d.pk for d in sorted(ties, key=key)]
    for limit in (1, 4, 5, 13, 20):
        assert walk(tiny.users["dispatcher"], sort, limit=limit) == expected, limit


def test_the_default_order_and_cursor_of_the_api_are_unchanged(tiny, ties):
    page = selectors.demand_list(user=tiny.users["dispatcher"], filters=DemandFilters(), limit=5)
    assert [d.pk for d in page.items] == sorted((d.pk for d in ties), reverse=True)[:5]
    assert page.next_cursor == selectors.encode_cursor(page.items[-1].pk)


def test_a_cursor_only_works_with_its_own_sort_and_an_unknown_sort_is_refused(tiny, ties):
    user = tiny.users["dispatcher"]
    page = selectors.demand_list(user=user, filters=DemandFilters(), limit=3, sort="due")
    for other in ("oldest", "newest", "id"):
        with pytest.raises(InvalidInput) as e:
            selectors.demand_list(
                user=user, filters=DemandFilters(), cursor=page.next_cursor, sort=other
            )
        assert e.value.field == "cursor"
    for bad in ("azAz", "k:{}", "a" * 40):
        with pytest.raises(InvalidInput):
            selectors.demand_list(user=user, filters=DemandFilters(), cursor=bad, sort="due")
    with pytest.raises(InvalidInput) as e:
        selectors.demand_list(user=user, filters=DemandFilters(), sort="random")
    assert e.value.field == "sort"


def test_the_unit_filter_matches_co_units_for_the_api_and_only_the_lead_for_the_list(tiny):
    d = drive(State.HANDLING, Route(tiny))  # lead 住建局, co 教育局
    user = tiny.users["dispatcher"]

    def ids(**kw):
        return [x.pk for x in selectors.demand_list(user=user, filters=DemandFilters(**kw)).items]

    assert ids(unit=tiny.other_dept.pk) == [d.pk]
    assert ids(unit=tiny.other_dept.pk, lead_only=True) == []
    assert ids(unit=tiny.dept.pk, lead_only=True) == [d.pk]
    assert ids(unit=tiny.root.pk, lead_only=True) == [d.pk]  # the whole subtree


def test_reopened_and_pending_extension_filters(tiny):
    plain = drive(State.HANDLING, Route(tiny, co=False))
    reopened = drive(State.HANDLING, Route(tiny, co=False), reopened=True)
    waiting = drive(State.HANDLING, Route(tiny, co=False), extension=True)
    closed_after_reopen = drive(State.CLOSED, Route(tiny, co=False), reopened=True)
    user = tiny.users["dispatcher"]

    def ids(**kw):
        page = selectors.demand_list(user=user, filters=DemandFilters(**kw))
        return sorted(x.pk for x in page.items)

    assert ids(reopened=True) == [reopened.pk]
    assert closed_after_reopen.reopen_count == 1
    assert ids(extension_pending=True) == [waiting.pk]
    assert plain.pk in ids()


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        (DemandFilters(kind="poem"), "kind"),
        (DemandFilters(channel="fax"), "channel"),
        (DemandFilters(light="purple"), "light"),
        (DemandFilters(state=["nope"]), "state"),
        (DemandFilters(unit=999_999), "unit"),
        (DemandFilters(category=999_999), "category"),
    ],
)
def test_unknown_filter_values_name_their_field(tiny, filters, field):
    with pytest.raises(InvalidInput) as e:
        selectors.demand_list(user=tiny.users["dispatcher"], filters=filters)
    assert e.value.field == field


def test_a_date_range_backwards_is_refused(tiny):
    from datetime import date

    with pytest.raises(InvalidInput) as e:
        selectors.demand_list(
            user=tiny.users["dispatcher"],
            filters=DemandFilters(created_from=date(2025, 3, 2), created_to=date(2025, 3, 1)),
        )
    assert e.value.field == "created_to"


def test_state_counts_apply_the_other_filters_but_not_the_state_one(tiny):
    hotline_demand(tiny, kind="consult")
    hotline_demand(tiny, kind="complaint")
    drive(State.HANDLING, Route(tiny, co=False))
    user = tiny.users["dispatcher"]
    assert selectors.counts_by_state(user=user) == {"submitted": 2, "handling": 1}
    f = DemandFilters(kind="consult", state=["handling"])
    assert selectors.counts_by_state(user=user, filters=f) == {"submitted": 1}
    assert selectors.counts_by_state(user=tiny.users["other_handler"]) == {}


def test_unit_tabs_count_in_one_query_and_read_only_the_open_tab(tiny, django_assert_num_queries):
    r = red(tiny)
    y = yellow(tiny)
    h = drive(State.HANDLING, Route(tiny, co=False))
    user = tiny.users["handler"]
    selectors.demand_light(r)  # nothing lazy left
    from sanfuwu.orgs.selectors import user_scope

    user_scope(user)  # the scope is loaded once per request
    with django_assert_num_queries(2):  # the grouped counts, the open tab's rows
        tabs, current = selectors.unit_tabs(user=user)
    assert current == "red"
    counts = {t.key: t.count for t in tabs}
    assert counts == {"dispatched": 2, "handling": 1, "yellow": 1, "red": 1, "reopened": 0}
    assert [d.pk for d in next(t for t in tabs if t.key == "red").items] == [r.pk]
    assert all(not t.items for t in tabs if t.key != "red")
    tabs, _ = selectors.unit_tabs(user=user, tab="dispatched")
    assert sorted(d.pk for d in tabs[0].items) == sorted([r.pk, y.pk])
    assert h.pk not in [d.pk for d in tabs[0].items]
    with pytest.raises(InvalidInput):
        selectors.unit_tabs(user=user, tab="nonsense")
    # no handling role: no tabs; another unit's handler: zero everywhere
    assert selectors.unit_tabs(user=tiny.users["dispatcher"]) == ([], "")
    tabs, current = selectors.unit_tabs(user=tiny.users["other_handler"])
    assert current == "dispatched" and all(t.count == 0 for t in tabs)


def test_dispatcher_piles_are_those_of_the_units_they_dispatch_for(tiny):
    district = hotline_demand(tiny, title="区级")
    street = services.demand_submit(
        by=tiny.users["street_dispatcher"],
        title="街道级",
        body="内容",
        kind="help",
        channel="visit",
    ).demand
    returned = drive(State.RETURNED, Route(tiny, co=False))
    street_returned = drive(State.RETURNED, Route(tiny, street=True))
    waiting = drive(State.HANDLING, Route(tiny, co=False), extension=True)
    replied = drive(State.REPLIED, Route(tiny, co=False))
    rated = drive(State.RATED, Route(tiny, co=False))

    def piles(who):
        return {
            q.key: sorted(d.pk for d in q.items)
            for q in selectors.dispatcher_queues(user=tiny.users[who])
        }

    assert piles("dispatcher") == {
        "triage": sorted([district.pk, street.pk]),
        "returned": sorted([returned.pk, street_returned.pk]),
        "extension": [waiting.pk],
        "replied": [replied.pk],
        "rated": [rated.pk],
    }
    assert piles("street_dispatcher") == {
        "triage": [street.pk],
        "returned": [street_returned.pk],
        "extension": [],
        "replied": [],
        "rated": [],
    }
    assert selectors.dispatcher_queues(user=tiny.users["handler"]) == []


def test_lights_by_unit_worst_first_and_the_lists_of_a_light(tiny):
    red(tiny)
    red(tiny)
    yellow(tiny)
    red(tiny, lead=tiny.other_dept)
    yellow(tiny, lead=tiny.other_dept)
    yellow(tiny, lead=tiny.other_dept)
    rows = selectors.lights_by_unit(user=tiny.users["leader"])
    assert [(r.unit, r.red, r.yellow) for r in rows] == [("住建局", 2, 1), ("教育局", 1, 2)]
    assert selectors.lights_by_unit(user=tiny.users["other_handler"]) == [
        selectors.UnitLights(tiny.other_dept.pk, "教育局", 1, 2)
    ]
    reds = selectors.demands_by_light(user=tiny.users["supervisor"], light="red")
    assert len(reds) == 3
    assert [d.due_at for d in reds] == sorted(d.due_at for d in reds)
    assert len(selectors.demands_by_light(user=tiny.users["head"], light="yellow")) == 1


def test_latest_unsatisfied_ratings_are_those_the_user_may_see(tiny):
    dept = drive(State.HANDLING, Route(tiny, co=False), reopened=True)
    street = drive(State.HANDLING, Route(tiny, street=True), reopened=True)
    drive(State.RATED, Route(tiny, co=False))  # 满意: not listed
    ids = [r.demand_id for r in selectors.latest_unsatisfied(user=tiny.users["leader"])]
    assert ids == [street.pk, dept.pk]  # latest first
    street_leader = make_user("jd_lingdao", tiny.street, Role.LEADER)
    assert [r.demand_id for r in selectors.latest_unsatisfied(user=street_leader)] == [street.pk]
    assert selectors.latest_unsatisfied(user=tiny.users["other_handler"]) == []


def test_recorded_by_lists_what_the_user_recorded(tiny):
    mine = services.demand_submit(
        by=tiny.users["grid_worker"],
        title="井盖缺失",
        body="5幢门口",
        kind="complaint",
        channel="grid",
        community=tiny.community,
    ).demand
    hotline_demand(tiny)
    assert [d.pk for d in selectors.recorded_by(user=tiny.users["grid_worker"])] == [mine.pk]
    assert selectors.recorded_by(user=None) == []


def test_working_days_left_runs_down_and_turns_negative(tiny):
    d = drive(State.HANDLING, Route(tiny, co=False))
    left = selectors.working_days_left(d)
    assert left is not None and 0 < left <= d.sla_working_days
    assert selectors.working_days_left(d, now=d.due_at + timedelta(days=10)) < 0
    assert selectors.working_days_left(d, now=d.due_at - timedelta(minutes=1)) == 0.1
    assert selectors.working_days_left(d, now=d.due_at) == -0.1
    assert selectors.working_days_left(hotline_demand(tiny)) is None


def _scoping_data(tiny: Tiny) -> None:
    """Demands of every kind of relation: dispatched to a department, a community (under the
    street), a section, transferred (a former lead), undispatched, and one a resident wrote."""
    units = [tiny.dept, tiny.other_dept, tiny.community, tiny.section, None]
    for i in range(10):
        d = hotline_demand(tiny, title=f"诉求{i}", body="内容。")
        if units[i % 5] is not None:
            services.demand_dispatch(
                demand=d,
                by=tiny.users["dispatcher"],
                lead_unit=units[i % 5],
                category=tiny.category,
            )
    # two parts of the street's scope: the community leads, the street is a co-unit
    both = hotline_demand(tiny, title="路面塌陷", body="内容。")
    services.demand_dispatch(
        demand=both,
        by=tiny.users["dispatcher"],
        lead_unit=tiny.community,
        co_units=[tiny.street],
        category=tiny.category,
    )
    services.demand_submit(
        by=tiny.users["resident"],
        title="楼下噪音",
        body="每晚都有。",
        kind="complaint",
        channel="portal",
        contact_name="李四",
        contact_phone="13900000000",
    )


def _raw_ids(sql: str, params: list) -> list[int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql, params)
        return [row[0] for row in cur.fetchall()]


def test_the_scope_restricted_to_some_ids_is_the_scope_among_them(tiny):
    """access.scoped_ids_among_sql (search's rare terms): the user's demands among the ids
    given, for every role — the same as the list's scope."""
    from sanfuwu.demands.access import demands_visible_to, scoped_ids_among_sql

    _scoping_data(tiny)
    every = sorted(Demand.objects.values_list("pk", flat=True))
    some = [*every[::2], every[-1] + 1000]  # and an id that does not exist
    for name, user in tiny.users.items():
        visible = set(demands_visible_to(user).values_list("pk", flat=True))
        among = scoped_ids_among_sql(user, some)
        if among is None:  # reads every demand (or none): answered without SQL
            assert visible in (set(every), set()), name
            continue
        assert sorted(set(_raw_ids(*among))) == sorted(visible & set(some)), name


@pytest.mark.parametrize("window", [1, 2, 3, 100])
def test_the_scope_streamed_newest_first_is_the_scope(tiny, window):
    """access.scoped_ids_newest_first_sql (search's walk): read window by
    window below the last id of the previous one, with its repeats dropped, it gives exactly
    the user's demands, newest first, for every role — also where a demand holds several
    parts of the scope (the street's and its community's party)."""
    from sanfuwu.demands.access import demands_visible_to, scoped_ids_newest_first_sql

    _scoping_data(tiny)
    seen_repeats = False
    for name, user in tiny.users.items():
        visible = sorted(demands_visible_to(user).values_list("pk", flat=True), reverse=True)
        got: list[int] = []
        below = None
        while True:
            stream = scoped_ids_newest_first_sql(user, below=below, limit=window)
            if stream is None:
                break
            rows = _raw_ids(*stream)
            assert rows == sorted(rows, reverse=True), name
            seen_repeats = seen_repeats or len(set(rows)) < len(rows)
            fresh = list(dict.fromkeys(rows))
            assert not got or not fresh or fresh[0] < got[-1], (name, "windows overlap")
            got += fresh
            if len(rows) < window:
                break
            below = rows[-1]
        if stream is None and below is None:
            continue  # reads every demand (or none): answered without SQL
        assert got == visible, (name, window)
    if window == 100:
        assert seen_repeats, "no demand held two parts of a scope: the repeats went untested"
