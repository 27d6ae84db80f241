"""The leader's dashboard: who may open it, what each role's scope shows, and that every
chart's table holds the scenario's numbers (worked out by hand in conftest.py)."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from sanfuwu.conftest import make_user
from sanfuwu.core import clock
from sanfuwu.demands.selectors import light_q
from sanfuwu.demands.sla import Light
from sanfuwu.orgs.roles import Role
from sanfuwu.reports.scope import report_unit, scoped_demands
from sanfuwu.reports.selectors import lights_grid, sum_lights

URL = "/reports/"
PERIOD = "?start=2026-11-01&end=2026-11-30&granularity=day"


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def table(html: str, table_id: str) -> dict[str, list[str]]:
    """The rows of a <table id=…> as {first cell: [other cells]} (tags stripped)."""
    m = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert m, f"no table {table_id}"
    rows = {}
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(0), re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)
        ]
        if cells and not tr.lstrip().startswith('<th scope="col"'):
            rows[cells[0]] = cells[1:]
    return rows


def get(scenario, user, query=PERIOD, url=URL):
    with scenario.now():
        return client_for(user).get(url + query)


@pytest.mark.parametrize("role", ["leader", "supervisor", "dispatcher", "admin"])
def test_report_roles_open_the_dashboard(scenario, role):
    r = get(scenario, scenario.tiny.users[role])
    assert r.status_code == 200
    assert "驾驶舱 · 测试区" in r.content.decode()


@pytest.mark.parametrize("role", ["handler", "head", "grid_worker", "visitor", "resident"])
def test_other_roles_are_refused(scenario, role):
    r = get(scenario, scenario.tiny.users[role])
    assert r.status_code == 403
    assert "无权查看报表" in r.content.decode()


def test_anonymous_goes_to_login(scenario):
    with scenario.now():
        r = Client().get(URL)
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_nav_link_only_for_report_roles(scenario):
    assert "驾驶舱" in get(scenario, scenario.tiny.users["leader"], "", "/").content.decode()
    assert "驾驶舱" not in get(scenario, scenario.tiny.users["handler"], "", "/").content.decode()


def test_district_tables_hold_the_scenario(scenario):
    html = get(scenario, scenario.tiny.users["leader"]).content.decode()
    lights = table(html, "table-lights")
    # 住建局: A red, B yellow, C green; 测试街道: D green; 教育局 only co-handles
    assert lights["测试街道"] == ["1", "0", "0", "1"]
    assert lights["住建局"] == ["1", "1", "1", "3"]
    assert lights["教育局"] == ["0", "0", "0", "0"]
    assert lights["合计"] == ["2", "1", "1", "4"]
    trend = table(html, "table-trend")
    assert len(trend) == 30  # one row per day of November
    assert trend["2026-11-02"] == ["1", "0", "1"]  # A came in, is overdue now
    assert trend["2026-11-05"] == ["1", "1", "0"]  # E came in and was answered
    assert trend["2026-11-25"] == ["2", "0", "0"]  # C and D
    assert sum(int(v[0]) for v in trend.values()) == 7
    assert sum(int(v[1]) for v in trend.values()) == 2
    rates = table(html, "table-rates")
    assert rates["化解率"] == ["28.6%", "2", "7"]  # E and F of the 7 valid demands
    assert rates["满意率"] == ["100.0%", "2", "2"]
    categories = table(html, "table-categories")
    assert categories["城乡建设"][0] == "6"  # every dispatched demand; G is not classified
    kpis = dict(re.findall(r'<b id="kpi-([a-z-]+)">(?:<a[^>]*>)?([^<]*)', html))
    assert kpis["received"] == "7" and kpis["resolved"] == "2" and kpis["red"] == "1"
    assert kpis["yellow"] == "1" and kpis["resolved-rate"] == "28.6%"


def test_chart_data_is_the_tables_numbers(scenario):
    html = get(scenario, scenario.tiny.users["leader"]).content.decode()
    data = json.loads(
        re.search(
            r'<script id="report-data" type="application/json">(.*?)</script>', html, re.S
        ).group(1)
    )
    lights = dict(zip(data["lights"]["units"], data["lights"]["values"], strict=True))
    assert lights["住建局"] == [1, 1, 1]
    assert lights["测试街道"] == [1, 0, 0]
    received = dict(zip(data["trend"]["labels"], data["trend"]["series"][0]["data"], strict=True))
    assert received["2026-11-25"] == 2
    assert data["rates"]["values"][2] == 28.6  # 化解率
    assert data["categories"]["labels"][0] == "城乡建设" and data["categories"]["values"][0] == 6


def test_ranking_best_and_worst(scenario, settings):
    settings.SANFUWU = {**settings.SANFUWU, "METRICS_MIN_CASES": 1}
    html = get(scenario, scenario.tiny.users["leader"], PERIOD + "&metric=resolved").content
    html = html.decode()
    # 化解率: 测试街道 1/3 (F of D, F, G), 住建局 1/4 (E of A, B, C, E)
    best, worst = table(html, "table-best"), table(html, "table-worst")
    assert list(best) == ["1"] and best["1"][:2] == ["测试街道", "33.3%"]
    assert list(worst) == ["2"] and worst["2"][:2] == ["住建局", "25.0%"]


def test_too_few_cases_do_not_rank(scenario):
    html = get(scenario, scenario.tiny.users["leader"]).content.decode()
    assert "参与排名的单位不足" in html
    assert "另有 2 个单位件数不足" in html


def test_street_leader_sees_only_the_street(scenario):
    leader = scenario.tiny.users["street_leader"]
    html = get(scenario, leader).content.decode()
    assert "驾驶舱 · 测试街道" in html
    lights = table(html, "table-lights")
    assert lights == {
        "测试街道（本级）": ["1", "0", "0", "1"],
        "幸福社区": ["0", "0", "0", "0"],
        "合计": ["1", "0", "0", "1"],
    }
    rates = table(html, "table-rates")
    assert rates["化解率"] == ["33.3%", "1", "3"]  # D, F, G; F solved
    assert "住建局" not in html
    # the picker offers the street and below, never the district or a department
    assert "测试区" not in re.search(r'<select id="f-unit".*?</select>', html, re.S).group(0)


def test_street_leader_cannot_pick_the_district(scenario):
    leader = scenario.tiny.users["street_leader"]
    html = get(scenario, leader, PERIOD + f"&unit={scenario.tiny.root.pk}").content.decode()
    assert "不在您的管辖范围内" in html
    assert "驾驶舱 · 测试街道" in html  # fell back to the own scope
    assert table(html, "table-rates")["化解率"] == ["33.3%", "1", "3"]


def test_district_leader_narrows_to_a_department(scenario):
    html = get(
        scenario, scenario.tiny.users["leader"], PERIOD + f"&unit={scenario.tiny.dept.pk}"
    ).content.decode()
    lights = table(html, "table-lights")
    assert lights["住建局（本级）"] == ["1", "1", "1", "3"]
    assert table(html, "table-rates")["化解率"] == ["25.0%", "1", "4"]


def test_bad_dates_fall_back_with_a_message(scenario):
    html = get(scenario, scenario.tiny.users["leader"], "?start=2026-13-01").content.decode()
    assert "日期格式应为" in html
    r = get(scenario, scenario.tiny.users["leader"], "?start=2026-11-30&end=2026-11-01")
    assert "起始日期不能晚于结束日期" in r.content.decode()


def test_table_view_works_without_script(scenario):
    html = get(scenario, scenario.tiny.users["supervisor"], PERIOD, "/reports/tables/")
    html = html.content.decode()
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]
    assert table(html, "table-lights")["住建局"] == ["1", "1", "1", "3"]
    assert table(html, "table-rates")["化解率"] == ["28.6%", "2", "7"]


def test_dashboard_serves_echarts_locally(scenario):
    html = get(scenario, scenario.tiny.users["leader"]).content.decode()
    assert "/static/reports/vendor/echarts-6.1.0.min.js" in html
    assert "cdn" not in html.lower()


def test_dashboard_query_count_is_bounded(scenario, django_assert_max_num_queries):
    user = make_user("lingdao2", scenario.tiny.root, Role.LEADER)
    c = client_for(user)
    with scenario.now(), django_assert_max_num_queries(30):
        assert c.get(URL + PERIOD).status_code == 200


@pytest.mark.parametrize("who", ["leader", "street_leader"])
def test_lights_grid_counts_as_light_q_does(scenario, who):
    """The heat grid counts by due_at / warn_at alone (so the partial index serves it): its
    totals must be what the demands app's own light conditions give for the same scope."""
    user = scenario.tiny.users[who]
    unit = report_unit(user, None)
    with scenario.now():
        total = sum_lights(lights_grid(user=user, unit=unit))
        now = clock.now()
        expected = {
            light: scoped_demands(user, unit).filter(light_q(light, now=now)).count()
            for light in (Light.GREEN, Light.YELLOW, Light.RED)
        }
    assert (total.green, total.yellow, total.red) == (
        expected[Light.GREEN],
        expected[Light.YELLOW],
        expected[Light.RED],
    )
    assert total.total > 0


def test_lights_grid_can_read_the_partial_index_on_sqlite(scenario):
    """SQLite takes a partial index only when the query repeats its condition with literals
    (a bound parameter never matches): at 1M demands 0.1 s against 1.5 s. The grouped query,
    as executed (SQL and parameters), must be answerable from that index alone."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's partial-index rule")
    executed: list[tuple[str, tuple]] = []

    def capture(execute, sql, params, many, context):
        executed.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    user = scenario.tiny.users["leader"]
    with scenario.now(), connection.execute_wrapper(capture):
        lights_grid(user=user, unit=report_unit(user, None))
    sql, params = next((q, p) for q, p in executed if "FILTER" in q and "GROUP BY" in q)
    forced = sql.replace(
        'FROM "demands_demand"', 'FROM "demands_demand" INDEXED BY demand_clock_lead_due_warn', 1
    )
    with connection.cursor() as cur:  # "no query solution" if the index cannot serve it
        cur.execute("EXPLAIN QUERY PLAN " + forced, params)
        plan = " ".join(str(row[-1]) for row in cur.fetchall())
    assert "COVERING INDEX demand_clock_lead_due_warn" in plan, plan
