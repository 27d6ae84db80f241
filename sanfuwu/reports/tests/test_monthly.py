"""The monthly report (月报): the seeds' figures for a month and a scope, printable on A4."""

from __future__ import annotations

import re

from django.test import Client


def page(scenario, user, query="?month=2026-11"):
    c = Client()
    c.force_login(user)
    with scenario.now():
        return c.get("/reports/monthly/" + query)


def rows(html: str, table_id: str) -> dict[str, list[str]]:
    m = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert m
    out = {}
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(0), re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)
        ]
        out[cells[0]] = cells[1:]
    return out


def test_monthly_figures_for_the_district(scenario):
    r = page(scenario, scenario.tiny.users["leader"])
    assert r.status_code == 200
    html = r.content.decode()
    assert "测试区“三服务”工作月报" in html and "2026年11月" in html
    summary = re.sub(r"\s+", "", re.search(r'id="monthly-summary">(.*?)</p>', html, re.S).group(1))
    assert "问题7个，已解决2个，化解率28.6%" in summary
    levels = rows(html, "monthly-levels")
    # dispatching sets 本职 unless the dispatcher says otherwise; G is not dispatched yet
    assert levels["本职"] == ["6", "2"]
    assert levels["提交上级"] == ["0", "0"] and levels["疑难"] == ["0", "0"]
    assert rows(html, "monthly-rates")["化解率"] == ["28.6%", "2/7"]
    assert "红灯（已超期）1 件，黄灯（即将超期）1 件，绿灯 2 件" in html


def test_monthly_report_is_scoped(scenario):
    html = page(scenario, scenario.tiny.users["street_leader"]).content.decode()
    assert "测试街道“三服务”工作月报" in html
    assert rows(html, "monthly-rates")["化解率"] == ["33.3%", "1/3"]


def test_monthly_report_prints_on_a4(scenario):
    html = page(scenario, scenario.tiny.users["supervisor"]).content.decode()
    assert "reports/reports.css" in html
    from django.contrib.staticfiles import finders

    with open(finders.find("reports/reports.css"), encoding="utf-8") as f:
        css = f.read()
    assert re.search(r"@page\s*\{[^}]*size:\s*A4", css)
    assert "@media print" in css and ".no-print" in css
    # the form and hints are hidden on paper, the report is not
    assert 'class="filters report-scope no-print"' in html
    assert '<article class="monthly"' in html


def test_visits_figures_or_none(scenario):
    html = page(scenario, scenario.tiny.users["leader"]).content.decode()
    section = re.search(r'id="monthly-visits">(.*?)</(ul|p)>', html, re.S).group(1)
    # no visit was recorded in the scenario: the visits app reports zeros (or 暂无 without it)
    assert "暂无" in section or "<b>0</b>" in section


def test_bad_month_falls_back(scenario):
    html = page(scenario, scenario.tiny.users["leader"], "?month=2026-13").content.decode()
    assert "月份格式应为" in html
