"""四级联系: pairings of an enterprise per level, without overlap, history kept."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.db import IntegrityError, connection, transaction

from sanfuwu.core.errors import Conflict, Forbidden, InvalidInput
from sanfuwu.visits import selectors, services
from sanfuwu.visits.models import Pairing, PairingLevel

from .conftest import day


def pair(
    town, level=PairingLevel.DISTRICT_LEADER, who="official", start="2026-01-01", end=None, ent=None
):
    kwargs = (
        {"unit": town.tiny.street}
        if level == PairingLevel.STREET
        else {"official": town.users[who]}
    )
    return services.pairing_create(
        by=town.users["dispatcher"],
        enterprise=ent or town.ent,
        level=level,
        start_date=start,
        end_date=end,
        **kwargs,
    )


def test_enterprise_is_paired_at_four_levels_and_one_official_holds_many(town):
    for level in (
        PairingLevel.DISTRICT_LEADER,
        PairingLevel.DISTRICT_CADRE,
        PairingLevel.DEPT_MIDDLE,
    ):
        pair(town, level)
    pair(town, PairingLevel.STREET)
    pair(town, PairingLevel.DISTRICT_LEADER, ent=town.ent2)
    assert Pairing.objects.filter(enterprise=town.ent).count() == 4
    assert Pairing.objects.filter(official=town.users["official"]).count() == 4
    assert LogEntry.objects.filter(change_message__startswith="结对").count() == 5


def test_overlapping_pairing_of_the_same_level_is_refused(town):
    pair(town, start="2026-01-01", end="2026-07-01")
    with pytest.raises(Conflict) as err:
        pair(town, who="leader", start="2026-06-01")
    assert err.value.code == "pairing_overlap"
    # an open pairing blocks everything after its start
    pair(town, PairingLevel.DEPT_MIDDLE, start="2026-03-01")
    with pytest.raises(Conflict):
        pair(town, PairingLevel.DEPT_MIDDLE, who="leader", start="2027-01-01")
    # another level, or the day the first one ends, is fine
    pair(town, PairingLevel.DISTRICT_CADRE, who="leader", start="2026-06-01")
    pair(town, who="leader", start="2026-07-01")
    assert Pairing.objects.filter(enterprise=town.ent).count() == 4


def test_ended_pairing_is_kept_as_history_and_a_successor_can_start(town):
    first = pair(town, start="2026-01-01")
    services.pairing_end(by=town.users["dispatcher"], pairing=first, end_date="2026-05-01")
    second = pair(town, who="leader", start="2026-05-01")
    assert list(Pairing.objects.filter(enterprise=town.ent).order_by("start_date")) == [
        first,
        second,
    ]
    assert [p.pk for p in selectors.active_pairings(day("2026-04-30"))] == [first.pk]
    assert [p.pk for p in selectors.active_pairings(day("2026-05-01"))] == [second.pk]


def test_pairing_rules_at_the_edge(town):
    with pytest.raises(InvalidInput) as err:
        pair(town, start="2026-05-01", end="2026-04-01")
    assert err.value.field == "end_date"
    with pytest.raises(InvalidInput):
        services.pairing_create(
            by=town.users["dispatcher"],
            enterprise=town.ent,
            level="street",
            start_date="2026-01-01",
            unit=town.tiny.community,
        )
    with pytest.raises(Forbidden):
        services.pairing_create(
            by=town.users["handler"],
            enterprise=town.ent,
            level="district_leader",
            start_date="2026-01-01",
            official=town.users["official"],
        )
    # a street leader manages pairings of its own street's enterprises only
    services.pairing_create(
        by=town.users["street_leader"],
        enterprise=town.ent,
        level="street",
        start_date="2026-01-01",
        unit=town.tiny.street,
    )
    with pytest.raises(Forbidden):
        services.pairing_create(
            by=town.users["street_leader"],
            enterprise=town.ent2,
            level="street",
            start_date="2026-01-01",
            unit=town.tiny.street,
        )


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite path")
def test_sqlite_has_no_exclusion_constraint_so_the_locked_check_is_the_guard(town):
    pair(town, start="2026-01-01")
    # a raw insert past the service is not stopped by SQLite ...
    Pairing.objects.create(
        enterprise=town.ent,
        level=PairingLevel.DISTRICT_LEADER,
        official=town.users["leader"],
        start_date=day("2026-02-01"),
    )
    # ... the service refuses it, also against that row
    with pytest.raises(Conflict):
        pair(town, who="leader", start="2026-03-01")


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the exclusion constraint is PostgreSQL's"
)
def test_postgres_exclusion_constraint_refuses_overlap_even_past_the_service(town):
    pair(town, start="2026-01-01", end="2026-07-01")
    with pytest.raises(IntegrityError), transaction.atomic():
        Pairing.objects.create(
            enterprise=town.ent,
            level=PairingLevel.DISTRICT_LEADER,
            official=town.users["leader"],
            start_date=day("2026-06-30"),
        )
    # adjacent ranges do not overlap ([start, end))
    Pairing.objects.create(
        enterprise=town.ent,
        level=PairingLevel.DISTRICT_LEADER,
        official=town.users["leader"],
        start_date=day("2026-07-01"),
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are a PostgreSQL matter")
def test_two_concurrent_pairings_of_one_level_leave_one(town):
    """Both requests check for overlap at once; the enterprise row lock makes the second
    wait, see the first pairing and refuse with the same clear error."""
    import threading

    from django.db import connections

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(who: str) -> None:
        try:
            barrier.wait(timeout=10)
            pair(town, who=who, start="2026-01-01")
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(w,)) for w in ("official", "leader")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "ok"]
    assert (
        Pairing.objects.filter(enterprise=town.ent, level=PairingLevel.DISTRICT_LEADER).count() == 1
    )
