"""Rankings fair to small units, scoped to the viewer's area; the rule table only for admins."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from sanfuwu.conftest import make_user
from sanfuwu.core import clock
from sanfuwu.core.errors import Forbidden
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.services import unit_create
from sanfuwu.points import selectors
from sanfuwu.points.models import PointRule
from sanfuwu.points.services import award, rule_save

from .conftest import replied, sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(tiny):
    """Three units scored through `award` (the path visits and 督办 use):
    a small 科室 with one +3 case, 住建局 with 8 × +3 and 2 × −2, 教育局 with 10 × −2."""
    admin = tiny.users["admin"]
    good = rule_save(
        by=admin,
        code="unit_good",
        name="服务加分",
        trigger="visit_recorded",
        points=3,
        earner="unit",
    )
    bad = rule_save(
        by=admin,
        code="unit_bad",
        name="服务扣分",
        trigger="visit_recorded",
        points=-2,
        earner="unit",
    )
    now = clock.now()
    source = iter(range(1, 1000))

    def give(rule, unit, times):
        for _ in range(times):
            award(
                rule_code=rule.code,
                source_type="visit",
                source_id=next(source),
                unit=unit,
                occurred_at=now,
            )

    give(good, tiny.section, 1)
    give(good, tiny.dept, 8)
    give(bad, tiny.dept, 2)
    give(bad, tiny.other_dept, 10)
    return tiny


def _ranking(user, **kwargs):
    period = selectors.period_bounds("month")
    return selectors.unit_ranking(user=user, start=period.start, end=period.end, **kwargs)


def test_a_unit_with_one_case_does_not_top_the_ranking(scored):
    ranking = _ranking(scored.users["leader"])
    by_pk = {r.pk: r for r in ranking.rows}
    small, dept = by_pk[scored.section.pk], by_pk[scored.dept.pk]
    # raw points per case put the small unit first …
    assert small.per_case == 3.0 > dept.per_case == 2.0
    # … but it has too few cases to rank, and its smoothed figure is pulled to the mean
    assert small.rank is None
    assert [r.pk for r in ranking.ranked] == [scored.dept.pk, scored.other_dept.pk]
    mean = (3 + 20 - 20) / 21
    assert ranking.mean_per_case == round(mean, 2)
    assert small.smoothed == round((10 * mean + 3) / 11, 2)
    assert dept.smoothed == round((10 * mean + 20) / 20, 2)
    assert dept.smoothed > small.smoothed


def test_even_without_a_minimum_the_smoothed_figure_keeps_the_small_unit_below(scored, settings):
    settings.SANFUWU_POINTS_MIN_CASES = 1
    ranking = _ranking(scored.users["leader"])
    assert [r.pk for r in ranking.ranked] == [
        scored.dept.pk,
        scored.section.pk,
        scored.other_dept.pk,
    ]


def test_points_per_capita_divide_by_the_units_staff(scored):
    make_user("chengban2", scored.dept, Role.HANDLER)
    ranking = _ranking(scored.users["leader"], order="per_capita")
    dept = next(r for r in ranking.rows if r.pk == scored.dept.pk)
    # chengban, fuzeren and chengban2
    assert (dept.members, dept.per_capita) == (3, round(20 / 3, 2))


def test_a_street_sees_only_its_own_subtree(scored):
    street_unit = unit_create(
        parent=scored.street, code="Q-J1-C2", name="和平社区", kind="community"
    )
    award(
        rule_code="unit_good",
        source_type="visit",
        source_id=5000,
        unit=street_unit,
        occurred_at=clock.now(),
    )
    ranking = _ranking(scored.users["street_head"])
    assert [r.pk for r in ranking.rows] == [street_unit.pk]
    # the district leader sees everyone
    assert street_unit.pk in {r.pk for r in _ranking(scored.users["leader"]).rows}


def test_officials_ranking_is_scoped_and_other_areas_people_are_404(tiny, staff_client):
    replied(tiny)
    sweep()
    period = selectors.period_bounds("month")
    handler = tiny.users["handler"]
    seen_by_leader = selectors.official_ranking(
        user=tiny.users["leader"], start=period.start, end=period.end
    )
    assert handler.pk in {r.pk for r in seen_by_leader.rows}
    seen_by_street = selectors.official_ranking(
        user=tiny.users["street_head"], start=period.start, end=period.end
    )
    assert seen_by_street.rows == []
    client = staff_client(tiny.users["street_head"])
    assert client.get(f"/points/people/{handler.pk}/").status_code == 404
    assert client.get(f"/points/units/{tiny.dept.pk}/").status_code == 404
    page = client.get("/points/rankings/?who=officials").content.decode()
    assert "chengban" not in page


def test_rankings_page_shows_the_raw_and_the_smoothed_figures(scored, staff_client):
    page = staff_client(scored.users["leader"]).get("/points/rankings/?who=units").content.decode()
    assert 'id="ranking"' in page and 'id="unranked"' in page
    assert f'data-pk="{scored.section.pk}"' in page.split('id="unranked"')[1]
    assert "修正分/件" in page


def test_people_without_a_staff_role_cannot_open_points(tiny, staff_client):
    assert staff_client(tiny.users["resident"]).get("/points/").status_code == 403


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
def test_periods_contain_today(period):
    p = selectors.period_bounds(period)
    assert p.start <= clock.now() < p.end


def test_a_custom_period_counts_whole_days():
    p = selectors.period_bounds("custom", start="2026-03-01", end="2026-03-31")
    assert (p.end - p.start).days == 31


# ---------------------------------------------------------------------------------------------
# the rule table


def test_only_administrators_edit_rules(tiny, staff_client):
    rule = PointRule.objects.get(code="overdue")
    with pytest.raises(Forbidden):
        rule_save(
            by=tiny.users["leader"],
            rule=rule,
            code=rule.code,
            name=rule.name,
            trigger=rule.trigger,
            points=-10,
            earner=rule.earner,
        )
    form = {
        "rule": rule.pk,
        "code": "overdue",
        "name": "办理超期",
        "trigger": "overdue",
        "points": "-4",
        "earner": "handler_and_unit",
        "active": "on",
    }
    assert staff_client(tiny.users["leader"]).get("/points/rules/").status_code == 403
    assert staff_client(tiny.users["leader"]).post("/points/rules/save/", form).status_code == 403
    rule.refresh_from_db()
    assert rule.points == -2

    response = staff_client(tiny.users["admin"]).post("/points/rules/save/", form)
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.points == -4
    assert LogEntry.objects.filter(object_id=str(rule.pk), change_message__contains="-4").exists()


def test_a_bad_rule_is_refused_with_the_message_next_to_the_field(tiny, staff_client):
    response = staff_client(tiny.users["admin"]).post(
        "/points/rules/save/",
        {
            "code": "x y",
            "name": "坏规则",
            "trigger": "overdue",
            "points": "-2",
            "earner": "lead_unit",
        },
    )
    assert response.status_code == 422
    assert "编码只能包含" in response.content.decode()
    assert not PointRule.objects.filter(name="坏规则").exists()


def test_the_django_admin_edits_rules_for_superusers_only(tiny, client):
    rule = PointRule.objects.get(code="overdue")
    client.force_login(tiny.users["handler"])
    assert client.get(f"/admin/points/pointrule/{rule.pk}/change/").status_code == 302
    superuser = make_user("root")
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    client.force_login(superuser)
    assert client.get(f"/admin/points/pointrule/{rule.pk}/change/").status_code == 200
    # the ledger itself is read-only in the admin
    assert client.get("/admin/points/pointentry/add/").status_code == 403


def test_the_rankings_page_makes_a_bounded_number_of_queries(
    scored, staff_client, django_assert_max_num_queries
):
    client = staff_client(scored.users["leader"])
    client.get("/points/rankings/?who=units")  # warm the session and the user's scope
    with django_assert_max_num_queries(12):
        assert client.get("/points/rankings/?who=units").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/points/rankings/?who=officials").status_code == 200
