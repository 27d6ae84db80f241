"""The list and detail endpoints run a fixed number of SQL queries, however many demands,
events, parties and replies there are (no N+1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sanfuwu.conftest import Tiny
from sanfuwu.demands import services
from sanfuwu.demands.models import Demand
from sanfuwu.demands.tests.recipes import Route, drive
from sanfuwu.demands.workflow import State

pytestmark = pytest.mark.django_db

# Measured, the same on SQLite and PostgreSQL; the budget is the largest measured + 2.
# list:   token, user scope, [the subtree's units], one page of demands      → 3, 4
# detail: token, scope, [subtree], demand, [parties for co-unit/supervisor
#         actors], parties, events, replies                                   → 6, 7
# events: token, scope, [subtree], demand, events                             → 4, 5
LIST_MAX = 4 + 2
DETAIL_MAX = 7 + 2
EVENTS_MAX = 5 + 2

LIST_USERS = ["dispatcher", "handler", "head", "other_handler", "street_dispatcher", "resident"]
DETAIL_USERS = ["dispatcher", "handler", "head", "other_handler", "supervisor", "resident"]


def add_demands(tiny: Tiny, n: int) -> list[Demand]:
    """`n` demands with several events each: two thirds at the district (lead 住建局, co
    教育局, replied once, reopened, replied again), one third handled by the street."""
    made = []
    for i in range(n):
        if i % 3 == 2:
            d = drive(State.HANDLING, Route(tiny, street=True))
            services.demand_note(demand=d, by=tiny.users["street_handler"], text=f"进展{i}")
        else:
            d = drive(State.REPLIED, Route(tiny), reopened=True)
        made.append(d)
    assert Demand.objects.count() >= n
    return made


def more_events(tiny: Tiny, d: Demand, n: int) -> None:
    """`n` more events on a replied demand: 回访 attempts that did not reach the person."""
    for i in range(n):
        services.demand_revisit(
            demand=d, by=tiny.users["dispatcher"], reached=False, note=f"未接通{i}"
        )


def count(client, path: str, **params) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(path, **params)
    assert r.status_code == 200, r.content
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def warm(client) -> None:
    """Authenticate once: the token's last-used stamp is written at most once a minute and is
    not part of what a read costs."""
    assert client.get("/me").status_code == 200


def test_the_list_costs_the_same_for_3_and_30_demands(tiny, api, django_assert_max_num_queries):
    add_demands(tiny, 3)
    clients = {who: api(who) for who in LIST_USERS}
    for client in clients.values():
        warm(client)
    small = {who: count(c, "/demands", limit=100) for who, c in clients.items()}
    shown_small = {
        who: len(c.get("/demands", limit=100).json()["items"]) for who, c in clients.items()
    }
    add_demands(tiny, 27)
    large = {who: count(c, "/demands", limit=100) for who, c in clients.items()}
    for who, client in clients.items():
        items = client.get("/demands", limit=100).json()["items"]
        assert len(items) > shown_small[who] > 0, who
        assert large[who][0] == small[who][0], f"N+1 in the list for {who}:\n" + "\n".join(
            large[who][1]
        )
        with django_assert_max_num_queries(LIST_MAX):
            client.get("/demands", limit=100)


def test_the_filtered_list_costs_the_same_for_3_and_30_demands(
    tiny, api, django_assert_max_num_queries
):
    add_demands(tiny, 3)
    client = api("dispatcher")
    warm(client)
    filters = {
        "state": ["replied", "handling"],
        "unit": tiny.root.pk,
        "category": tiny.category.pk,
        "kind": "complaint",
        "text": "路灯",
        "limit": 100,
    }
    small, _ = count(client, "/demands", **filters)
    add_demands(tiny, 27)
    large, sql = count(client, "/demands", **filters)
    assert large == small, "N+1 in the filtered list:\n" + "\n".join(sql)
    with django_assert_max_num_queries(LIST_MAX + 2):  # + the unit and the category lookups
        r = client.get("/demands", **filters)
    assert len(r.json()["items"]) == 30


def test_paging_through_the_list_costs_the_same_per_page(tiny, api, django_assert_max_num_queries):
    add_demands(tiny, 30)
    client = api("handler")
    warm(client)
    cursor, costs, seen = None, [], 0
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        n, _ = count(client, "/demands", **params)
        page = client.get("/demands", **params).json()
        costs.append(n)
        seen += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == 20 and len(costs) == 4
    assert len(set(costs)) == 1 and costs[0] <= LIST_MAX


def test_the_detail_costs_the_same_for_3_and_30_demands_and_more_events(
    tiny, api, django_assert_max_num_queries
):
    target = add_demands(tiny, 3)[0]
    clients = {who: api(who) for who in DETAIL_USERS}
    for client in clients.values():
        warm(client)
    path = f"/demands/{target.pk}"
    small = {who: count(c, path) for who, c in clients.items()}
    body = clients["dispatcher"].get(path).json()
    assert len(body["replies"]) == 2 and len(body["parties"]) == 3
    events_small = len(body["events"])
    add_demands(tiny, 27)
    more_events(tiny, target, 15)
    assert len(clients["dispatcher"].get(path).json()["events"]) == events_small + 15
    for who, client in clients.items():
        n, sql = count(client, path)
        assert n == small[who][0], f"N+1 in the detail for {who}:\n" + "\n".join(sql)
        with django_assert_max_num_queries(DETAIL_MAX):
            client.get(path)


def test_the_detail_costs_the_same_with_more_parties_and_replies(
    tiny, api, django_assert_max_num_queries
):
    add_demands(tiny, 3)
    d = drive(State.HANDLING, Route(tiny, co=False))
    client = api("dispatcher")
    warm(client)
    small, _ = count(client, f"/demands/{d.pk}")
    # more parties: 改派 twice with co-units; more replies: two more rounds
    services.demand_redispatch(
        demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.other_dept, co_units=[tiny.section]
    )
    services.demand_redispatch(
        demand=d, by=tiny.users["dispatcher"], lead_unit=tiny.dept, co_units=[tiny.street]
    )
    services.demand_sign(demand=d, by=tiny.users["handler"])
    services.demand_contribute(demand=d, by=tiny.users["street_handler"], text="协办意见")
    for round_ in (1, 2):
        services.demand_submit_reply(demand=d, by=tiny.users["handler"], text=f"第{round_}次答复")
        services.demand_approve_reply(demand=d, by=tiny.users["head"])
        services.demand_rate(demand=d, by=tiny.users["resident"], value="unsatisfied")
    services.demand_supervisor_decide(
        demand=d, by=tiny.users["supervisor"], reopen=True, explanation="再办"
    )
    large, sql = count(client, f"/demands/{d.pk}")
    body = client.get(f"/demands/{d.pk}").json()
    assert (len(body["parties"]), len(body["replies"])) == (5, 2)
    assert large == small, "N+1 in the detail:\n" + "\n".join(sql)
    with django_assert_max_num_queries(DETAIL_MAX):
        client.get(f"/demands/{d.pk}")


def test_the_timeline_costs_the_same_for_few_and_many_events(
    tiny, api, django_assert_max_num_queries
):
    target = add_demands(tiny, 3)[0]
    clients = {who: api(who) for who in DETAIL_USERS}
    for client in clients.values():
        warm(client)
    path = f"/demands/{target.pk}/events"
    small = {who: count(client, path)[0] for who, client in clients.items()}
    # each viewer sees its own timeline (the person served: only the steps of their case)
    events_small = {who: len(client.get(path).json()) for who, client in clients.items()}
    add_demands(tiny, 27)
    more_events(tiny, target, 15)
    for who, client in clients.items():
        n, sql = count(client, path)
        assert n == small[who], f"N+1 in the timeline for {who}:\n" + "\n".join(sql)
        with django_assert_max_num_queries(EVENTS_MAX):
            r = client.get(path)
        assert len(r.json()) == events_small[who] + 15, who
