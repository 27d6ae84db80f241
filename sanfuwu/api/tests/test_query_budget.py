"""List and detail endpoints use a fixed number of queries, whatever the number of rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sanfuwu.demands import services
from sanfuwu.demands.tests.recipes import Route, drive
from sanfuwu.demands.workflow import State

pytestmark = pytest.mark.django_db

LIST_BUDGET = 4
DETAIL_BUDGET = 7


def queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(path)
    assert r.status_code == 200, r.content
    return len(ctx.captured_queries)


def add_demands(tiny, n: int) -> None:
    for _ in range(n):
        d = drive(State.HANDLING, Route(tiny))
        services.demand_note(demand=d, by=tiny.users["handler"], text="进展一")
        services.demand_note(demand=d, by=tiny.users["handler"], text="进展二")


@pytest.mark.parametrize("who", ["dispatcher", "handler", "other_handler", "supervisor"])
def test_list_queries_do_not_grow_with_rows(tiny, api, who, django_assert_max_num_queries):
    add_demands(tiny, 3)
    client = api(who)
    client.get("/me")  # authenticate once so token bookkeeping is out of the count
    small = queries(client, "/demands?limit=50")
    add_demands(tiny, 27)
    large = queries(client, "/demands?limit=50")
    assert large == small
    with django_assert_max_num_queries(LIST_BUDGET):
        client.get("/demands?limit=50&state=handling&light=green&text=路灯")


def test_detail_queries_do_not_grow_with_events(tiny, api, django_assert_max_num_queries):
    d = drive(State.HANDLING, Route(tiny))
    client = api("dispatcher")
    client.get("/me")
    small = queries(client, f"/demands/{d.pk}")
    for i in range(25):
        services.demand_note(demand=d, by=tiny.users["handler"], text=f"进展{i}")
    services.demand_request_extension(
        demand=d, by=tiny.users["handler"], working_days=2, reason="x"
    )
    large = queries(client, f"/demands/{d.pk}")
    assert large == small
    with django_assert_max_num_queries(DETAIL_BUDGET):
        client.get(f"/demands/{d.pk}")
    with django_assert_max_num_queries(DETAIL_BUDGET):
        client.get(f"/demands/{d.pk}/events")
