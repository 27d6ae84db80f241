"""Visits (sanfuwu.visits) and 督办 (sanfuwu.supervision) earn through the same sweep, read
from their own tables: recorded with their real services, then swept."""

from __future__ import annotations

import pytest

from sanfuwu.conftest import hotline_demand
from sanfuwu.directory.models import Enterprise
from sanfuwu.points.models import PointEntry, SourceType
from sanfuwu.points.services import process_points

from .conftest import points_of

pytestmark = pytest.mark.django_db


def test_a_recorded_visit_earns_the_visitor_one_point(tiny, staff_client):
    from sanfuwu.visits.services import TargetRef, VisitInput, visit_record

    visitor = tiny.users["visitor"]
    ent = Enterprise.objects.create(name="纤纳光电", community=tiny.community)
    visit = visit_record(
        by=visitor, data=VisitInput(targets=[TargetRef("enterprise", ent.pk)], diary="走访了解情况")
    )
    process_points(settled=True)
    row = PointEntry.objects.get(rule__code="visit_recorded")
    assert (row.user, row.points, row.source_type, row.source_id) == (
        visitor,
        1,
        SourceType.VISIT,
        visit.pk,
    )
    assert row.unit_id == visit.unit_id
    # swept again: nothing new
    assert sum(r.entries for r in process_points(settled=True).values()) == 0
    # 我的积分 links the row to the visit
    page = staff_client(visitor).get("/points/").content.decode()
    assert f'href="/visits/{visit.pk}/"' in page


def test_a_duban_costs_the_unit_and_the_handler_five_points_and_a_cuiban_one(tiny, staff_client):
    from sanfuwu.demands import services as demand_services
    from sanfuwu.supervision.services import order_issue

    d = hotline_demand(tiny, dispatch=True)
    demand_services.demand_sign(demand=d, by=tiny.users["handler"])
    order_issue(
        by=tiny.users["supervisor"],
        kind="duban",
        requirement="三日内书面答复",
        working_days=3,
        demand=d,
    )
    order_issue(
        by=tiny.users["supervisor"],
        kind="cuiban",
        requirement="请加快办理",
        working_days=2,
        unit=tiny.other_dept,
        title="积压诉求催办",
    )
    process_points(settled=True)
    assert points_of(unit=tiny.dept, code="supervision_issued") == [-5]
    assert points_of(user=tiny.users["handler"], code="supervision_issued") == [-5]
    assert points_of(unit=tiny.other_dept, code="reminder_issued") == [-1]
    row = PointEntry.objects.get(unit=tiny.dept, user__isnull=True, rule__code="supervision_issued")
    assert row.demand_id == d.pk
    page = staff_client(tiny.users["handler"]).get("/points/").content.decode()
    assert f'href="/supervision/{row.source_id}/"' in page
