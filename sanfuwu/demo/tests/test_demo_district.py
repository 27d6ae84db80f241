"""The demo district loads through the real services and a second run adds nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from sanfuwu.demands.models import Demand, DemandEvent
from sanfuwu.directory.models import Enterprise, Resident
from sanfuwu.directory.validators import validate_id_number, validate_uscc
from sanfuwu.orgs.models import Grid, Membership, Unit, UnitKind, User
from sanfuwu.orgs.roles import Role

pytestmark = pytest.mark.django_db


def counts():
    return (
        Unit.objects.count(),
        Grid.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
        Enterprise.objects.count(),
        Resident.objects.count(),
        Demand.objects.count(),
        DemandEvent.objects.count(),
    )


def test_demo_district_loads_and_is_idempotent():
    out = io.StringIO()
    call_command("load_demo", demands=60, stdout=out)
    first = counts()
    call_command("load_demo", demands=60, stdout=out)
    assert counts() == first
    assert Unit.objects.filter(kind=UnitKind.STREET).count() == 8
    assert Unit.objects.filter(kind__in=[UnitKind.VILLAGE, UnitKind.COMMUNITY]).count() == 60
    assert Unit.objects.filter(kind=UnitKind.DEPARTMENT).count() == 25
    assert Unit.objects.filter(kind=UnitKind.SECTION).count() >= 25
    assert Grid.objects.count() == 400
    assert (Enterprise.objects.count(), Resident.objects.count()) == (500, 3000)
    # the demo's own demands; visits (走访) bring back a few more through the loop
    assert Demand.objects.filter(source="示范数据").count() == 60
    assert Demand.objects.filter(channel="visit", visit_link__isnull=False).exists()
    for role in Role:
        if role != Role.SERVICE_OBJECT:
            assert Membership.objects.filter(role=role).exists(), role
    assert User.objects.filter(username="qiye1", enterprises__isnull=False).exists()
    assert len(set(Demand.objects.values_list("state", flat=True))) >= 8
    # identifiers of the demo people are valid
    validate_uscc(Enterprise.objects.first().uscc)
    validate_id_number(Resident.objects.first().id_number)
    # every demand has a timeline that starts with its submission
    for d in Demand.objects.all()[:20]:
        assert d.events.order_by("id").first().action == "submit"


def test_a_rerun_finishes_what_a_stopped_run_left_undone():
    from sanfuwu.points.models import PointCursor, PointEntry
    from sanfuwu.supervision.models import SupervisionOrder

    out = io.StringIO()
    call_command("load_demo", demands=60, stdout=out)
    orders, entries = SupervisionOrder.objects.count(), PointEntry.objects.count()
    assert orders and entries
    # as if the first run had stopped after the demands: points never swept
    PointEntry.objects.all().delete()
    PointCursor.objects.all().delete()
    call_command("load_demo", demands=60, stdout=out)
    assert SupervisionOrder.objects.count() == orders  # not issued twice
    assert PointEntry.objects.count() == entries


def test_demo_logins_work(client):
    call_command("load_demo", demands=5, stdout=io.StringIO())
    assert client.login(username="qu_paidan", password="demo12345")
    assert client.get("/").status_code == 200
