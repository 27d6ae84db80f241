"""Managing pairings and teams: the services and the pages, with their permission refusals."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client

from sanfuwu.core.errors import Conflict, Forbidden, InvalidInput
from sanfuwu.visits import selectors, services
from sanfuwu.visits.models import Pairing, PairingLevel, Team, TeamKind, TeamMember

from .conftest import day


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def pair(town, who="official", level=PairingLevel.DISTRICT_LEADER, start="2026-01-01", ent=None):
    return services.pairing_create(
        by=town.users["dispatcher"],
        enterprise=ent or town.ent,
        level=level,
        official=town.users[who],
        start_date=start,
    )


# ---------------------------------------------------------------------------------------------
# services


def test_replacing_a_pairing_ends_the_old_and_starts_the_new_on_the_same_day(town):
    old = pair(town)
    new = services.pairing_replace(
        by=town.users["dispatcher"], pairing=old, on="2026-06-01", official=town.users["leader"]
    )
    old.refresh_from_db()
    assert old.end_date == day("2026-06-01")
    assert (new.level, new.official, new.start_date, new.end_date) == (
        PairingLevel.DISTRICT_LEADER,
        town.users["leader"],
        day("2026-06-01"),
        None,
    )
    assert [p.pk for p in selectors.active_pairings(day("2026-05-31"))] == [old.pk]
    assert [p.pk for p in selectors.active_pairings(day("2026-06-01"))] == [new.pk]
    assert LogEntry.objects.filter(change_message__startswith="结束结对").count() == 1


def test_a_failed_replacement_leaves_the_old_pairing_open(town):
    old = pair(town)
    # someone is already due to take the level over later on: the new open pairing would
    # overlap that one, so nothing changes
    services.pairing_end(by=town.users["dispatcher"], pairing=old, end_date="2026-09-01")
    later = pair(town, who="leader", start="2026-09-01")
    with pytest.raises(Conflict):
        services.pairing_replace(
            by=town.users["dispatcher"], pairing=old, on="2026-06-01", official=town.users["head"]
        )
    old.refresh_from_db()
    assert old.end_date == day("2026-09-01")
    assert Pairing.objects.filter(enterprise=town.ent).count() == 2
    assert later.end_date is None
    # an unknown successor is refused the same way
    with pytest.raises(InvalidInput) as err:
        services.pairing_replace(by=town.users["dispatcher"], pairing=later, on="2026-10-01")
    assert err.value.field == "official"
    later.refresh_from_db()
    assert later.end_date is None


def test_team_is_created_edited_and_its_members_change_with_history(town):
    head = town.users["head"]  # 部门负责人 of 住建局 runs its teams
    team = services.team_create(
        by=head, name="建筑服务小分队", kind=TeamKind.SERVICE_SQUAD, unit=town.tiny.dept
    )
    services.team_set_member(by=head, team=team, user=town.users["official"], role="队长")
    services.team_set_member(by=head, team=team, user=town.users["handler"])
    services.team_set_member(by=head, team=team, user=town.users["handler"], remove=True)
    services.team_update(
        by=head,
        team=team,
        name="建筑业服务小分队",
        kind=TeamKind.TASK_FORCE,
        unit=town.tiny.section,
        is_active=False,
    )
    team.refresh_from_db()
    assert (team.name, team.kind, team.unit, team.is_active) == (
        "建筑业服务小分队",
        TeamKind.TASK_FORCE,
        town.tiny.section,
        False,
    )
    assert list(team.memberships.values_list("user__username", "role")) == [("qu_ganbu", "队长")]
    history = [e.change_message for e in selectors.team_history(team)]
    assert history[0].startswith("修改队伍：名称 建筑服务小分队 → 建筑业服务小分队")
    assert "移出队员：chengban" in history and "队员：qu_ganbu（队长）" in history
    assert history[-1].startswith("组建服务小分队")


def test_team_rules_at_the_edge(town):
    head = town.users["head"]
    team = services.team_create(
        by=head, name="红色帮办", kind=TeamKind.RED_HELPER, unit=town.tiny.dept
    )
    # another department's head, a handler and a plain resident cannot touch it
    for who in ("other_head", "handler", "resident"):
        with pytest.raises(Forbidden):
            services.team_set_member(by=town.users[who], team=team, user=town.users["official"])
    # nor can the head move it out of their department
    with pytest.raises(Forbidden):
        services.team_update(
            by=head, team=team, name="红色帮办", kind=TeamKind.RED_HELPER, unit=town.tiny.other_dept
        )
    # a service object is no team member; the name must stay unique in the unit
    with pytest.raises(InvalidInput) as err:
        services.team_set_member(by=head, team=team, user=town.users["resident"])
    assert err.value.field == "user"
    services.team_create(
        by=head, name="工地书记组", kind=TeamKind.SITE_SECRETARY, unit=town.tiny.dept
    )
    with pytest.raises(InvalidInput) as err:
        services.team_update(
            by=head, team=team, name="工地书记组", kind=TeamKind.RED_HELPER, unit=town.tiny.dept
        )
    assert err.value.field == "name"
    with pytest.raises(InvalidInput):
        services.team_set_member(by=head, team=team, user=town.users["official"], remove=True)


def test_visit_participants_must_be_officials(town):
    from sanfuwu.visits.services import TargetRef, VisitInput

    def record(participants):
        return services.visit_record(
            by=town.users["official"],
            data=VisitInput(
                targets=[TargetRef("enterprise", town.ent.pk)],
                diary="走访",
                participants=participants,
            ),
        )

    with pytest.raises(InvalidInput) as err:
        record([town.users["resident"]])
    assert err.value.field == "participants"
    visit = record([town.users["handler"], town.users["official"], town.users["handler"]])
    # the visitor is not their own participant, and a name counts once
    assert list(visit.participants.values_list("username", flat=True)) == ["chengban"]


# ---------------------------------------------------------------------------------------------
# pages


def test_pairing_page_creates_ends_and_replaces(town):
    c = client_for(town.users["dispatcher"])
    url = f"/visits/pairings/enterprise/{town.ent.pk}/"
    assert c.get(url).status_code == 200
    r = c.post(
        url + "new/",
        {"level": "district_cadre", "official": "qu_ganbu", "start_date": "2026-01-01"},
    )
    assert r.status_code == 302 and r["Location"] == url
    p = Pairing.objects.get()
    page = c.get(url).content.decode()
    assert "区管干部" in page and "qu_ganbu" in page and "2026-01-01" in page
    # the 镇街 level takes a street
    r = c.post(
        url + "new/", {"level": "street", "unit": town.tiny.street.pk, "start_date": "2026-02-01"}
    )
    assert r.status_code == 302
    r = c.post(url + f"{p.pk}/replace/", {"official": "lingdao", "on": "2026-03-01"}, follow=True)
    assert r.status_code == 200 and "已更换结对" in r.content.decode()
    p.refresh_from_db()
    assert p.end_date == day("2026-03-01")
    new = Pairing.objects.get(level="district_cadre", end_date__isnull=True)
    assert new.official == town.users["leader"]
    r = c.post(url + f"{new.pk}/end/", {"end_date": "2026-04-01"})
    assert r.status_code == 302
    new.refresh_from_db()
    assert new.end_date == day("2026-04-01")
    # history keeps all three
    history = c.get(url).content.decode()
    assert history.count("<td>区管干部</td>") == 2 and "<td>镇街</td>" in history


def test_overlap_shows_as_a_form_error_not_a_server_error(town):
    pair(town, level=PairingLevel.DISTRICT_CADRE, start="2026-01-01")
    c = client_for(town.users["dispatcher"])
    url = f"/visits/pairings/enterprise/{town.ent.pk}/new/"
    r = c.post(
        url,
        {
            "level": "district_cadre",
            "official": "lingdao",
            "start_date": "2026-05-01",
            "note": "换",
        },
    )
    body = r.content.decode()
    assert r.status_code == 422
    assert "时间不能重叠" in body and 'id="pairing-new-error"' in body
    # what was typed stays in the form
    assert 'value="lingdao"' in body and 'value="2026-05-01"' in body
    assert Pairing.objects.count() == 1
    # an unknown official and a bad date name their fields
    r = c.post(url, {"level": "district_leader", "official": "nobody", "start_date": "2026-05-01"})
    assert r.status_code == 422 and "找不到干部“nobody”" in r.content.decode()
    r = c.post(url, {"level": "district_leader", "official": "lingdao", "start_date": "5/1"})
    assert r.status_code == 422 and "日期无效" in r.content.decode()
    r = c.post(
        url,
        {
            "level": "district_leader",
            "official": "lingdao",
            "start_date": "2026-05-01",
            "end_date": "2026-04-01",
        },
    )
    assert r.status_code == 422 and "结束日期不能早于开始日期" in r.content.decode()


def test_pairing_pages_refuse_those_who_do_not_manage_the_enterprise(town):
    url = f"/visits/pairings/enterprise/{town.ent2.pk}/"  # in the other street
    for who in ("handler", "head", "grid_worker", "street_leader", "resident"):
        c = client_for(town.users[who])
        assert c.get(url).status_code == 403, who
        r = c.post(
            url + "new/",
            {"level": "street", "unit": town.tiny.street.pk, "start_date": "2026-01-01"},
        )
        assert r.status_code == 403, who
    assert not Pairing.objects.exists()
    # the street's leader manages its own street's enterprises
    assert (
        client_for(town.users["street_leader"])
        .get(f"/visits/pairings/enterprise/{town.ent.pk}/")
        .status_code
        == 200
    )
    # ending someone else's pairing through another enterprise's address is not found
    p = pair(town, ent=town.ent2)
    c = client_for(town.users["dispatcher"])
    r = c.post(f"/visits/pairings/enterprise/{town.ent.pk}/{p.pk}/end/", {"end_date": "2026-02-01"})
    assert r.status_code == 404
    assert client_for(town.users["handler"]).get("/visits/pairings/").status_code == 403
    assert client_for(town.users["stranger"]).get("/visits/pairings/").status_code == 403


def test_pairing_index_finds_enterprises_in_scope_and_officials(town):
    c = client_for(town.users["street_leader"])
    body = c.get("/visits/pairings/", {"q": "科技"}).content.decode()
    assert "炬华科技" not in body  # another street's
    body = c.get("/visits/pairings/", {"q": "纤纳"}).content.decode()
    assert "纤纳光电" in body
    r = c.get("/visits/pairings/", {"who": "qu_ganbu"})
    assert r.status_code == 302
    assert r["Location"] == f"/visits/pairings/official/{town.users['official'].pk}/"
    assert "找不到干部" in c.get("/visits/pairings/", {"who": "nobody"}).content.decode()


def test_an_official_sees_the_enterprises_paired_with_them(town):
    pair(town, level=PairingLevel.DISTRICT_LEADER)
    pair(town, level=PairingLevel.DEPT_MIDDLE, ent=town.ent2)
    ended = pair(town, level=PairingLevel.DISTRICT_CADRE, ent=town.small_ent, start="2025-01-01")
    services.pairing_end(by=town.users["dispatcher"], pairing=ended, end_date="2025-06-01")
    official = town.users["official"]
    url = f"/visits/pairings/official/{official.pk}/"
    own = client_for(official).get(url).content.decode()
    assert "纤纳光电" in own and "炬华科技" in own and "小店" not in own
    assert "小店" in client_for(official).get(url, {"all": "1"}).content.decode()
    # a street leader sees only the pairings within the street
    street = client_for(town.users["street_leader"]).get(url).content.decode()
    assert "纤纳光电" in street and "炬华科技" not in street
    # a colleague without a manager's role may not look
    assert client_for(town.users["handler"]).get(url).status_code == 403


def test_team_pages_create_edit_and_change_members(town):
    head = town.users["head"]
    c = client_for(head)
    r = c.post(
        "/visits/teams/",
        {
            "name": "市政公用服务小分队",
            "kind": "service_squad",
            "unit": town.tiny.dept.pk,
            "is_active": "1",
        },
    )
    team = Team.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/visits/teams/{team.pk}/"
    # a duplicate name is a form error
    r = c.post(
        "/visits/teams/",
        {"name": "市政公用服务小分队", "kind": "service_squad", "unit": town.tiny.dept.pk},
    )
    assert r.status_code == 422 and "已有队伍" in r.content.decode()
    url = f"/visits/teams/{team.pk}/"
    r = c.post(url + "members/", {"official": "qu_ganbu", "role": "队长"})
    assert r.status_code == 302
    r = c.post(url + "members/", {"official": "qunzhong"})
    assert r.status_code == 422 and "找不到干部“qunzhong”" in r.content.decode()
    r = c.post(
        url,
        {
            "name": "市政服务小分队",
            "kind": "task_force",
            "unit": town.tiny.dept.pk,
            "is_active": "1",
        },
    )
    assert r.status_code == 302
    team.refresh_from_db()
    assert (team.name, team.kind) == ("市政服务小分队", "task_force")
    page = c.get(url).content.decode()
    assert "qu_ganbu" in page and "队长" in page and "修改队伍：名称" in page
    r = c.post(url + "members/", {"user": town.users["official"].pk, "remove": "1"})
    assert r.status_code == 302 and not TeamMember.objects.exists()
    assert "移出队员：qu_ganbu" in c.get(url).content.decode()
    listing = c.get("/visits/teams/").content.decode()
    assert "市政服务小分队" in listing


def test_team_pages_refuse_those_who_do_not_run_the_team(town):
    team = services.team_create(
        by=town.users["head"], name="住房保障小分队", kind="service_squad", unit=town.tiny.dept
    )
    services.team_set_member(by=town.users["head"], team=team, user=town.users["official"])
    url = f"/visits/teams/{team.pk}/"
    member = client_for(town.users["official"])
    # a member reads the team but changes nothing
    page = member.get(url)
    assert page.status_code == 200 and "修改队伍" not in page.content.decode()
    assert member.post(url + "members/", {"official": "chengban"}).status_code == 403
    assert (
        member.post(url, {"name": "x", "kind": "other", "unit": town.tiny.dept.pk}).status_code
        == 403
    )
    for who in ("other_head", "handler", "street_leader"):
        c = client_for(town.users[who])
        assert c.get(url).status_code == 403, who
        assert c.post(url + "members/", {"official": "chengban"}).status_code == 403, who
    # creating under a unit outside one's subtree
    r = client_for(town.users["other_head"]).post(
        "/visits/teams/", {"name": "越权", "kind": "other", "unit": town.tiny.dept.pk}
    )
    assert r.status_code == 403
    assert client_for(town.users["resident"]).get("/visits/teams/").status_code == 403
    assert list(team.memberships.values_list("user__username", flat=True)) == ["qu_ganbu"]
    assert Team.objects.count() == 1


def test_visit_form_records_fellow_participants_and_stats_count_them(town):
    from sanfuwu.core import clock
    from sanfuwu.visits.models import Visit
    from sanfuwu.visits.selectors import period_of

    team = services.team_create(
        by=town.users["head"], name="建筑服务小分队", kind="service_squad", unit=town.tiny.dept
    )
    for who in ("official", "handler"):
        services.team_set_member(by=town.users["head"], team=team, user=town.users[who])
    c = client_for(town.users["official"])
    form = c.get("/visits/new/").content.decode()
    assert f'name="with_user" value="{town.users["handler"].pk}"' in form
    today = clock.today().isoformat()
    base = {
        "t": [f"enterprise:{town.ent.pk}"],
        "visited_on": today,
        "diary": "同去走访",
        "team": str(team.pk),
    }
    r = c.post("/visits/new/", {**base, "with": "不存在的人"})
    assert r.status_code == 422 and "找不到干部“不存在的人”" in r.content.decode()
    assert "同去走访" in r.content.decode() and not Visit.objects.exists()
    r = c.post("/visits/new/", {**base, "with_user": [town.users["handler"].pk], "with": "lingdao"})
    visit = Visit.objects.get()
    assert r.status_code == 302
    assert set(visit.participants.values_list("username", flat=True)) == {"chengban", "lingdao"}
    detail = c.get(f"/visits/{visit.pk}/").content.decode()
    assert "同行人员" in detail and "chengban" in detail and "lingdao" in detail
    # the visit counts once, for its official and team; the participants as 同行
    now = clock.today()
    period = period_of(f"{now:%Y-%m}", f"{now:%Y-%m}")
    total, rows = selectors.statistics(user=town.users["leader"], period=period, group="official")
    assert total.visits == 1 and total.enterprise_visits == 1
    by_name = {r.name: (r.visits, r.joined) for r in rows}
    assert by_name == {"qu_ganbu": (1, 0), "chengban": (0, 1), "lingdao": (0, 1)}
    stats = client_for(town.users["leader"]).get("/visits/stats/", {"group": "official"})
    assert "同行（次）" in stats.content.decode()
