"""The pages: the visit form (plain POST, no JavaScript), drafts, coverage, statistics."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

from django.test import Client
from openpyxl import load_workbook

from sanfuwu.core import clock
from sanfuwu.demands.models import Channel, Demand
from sanfuwu.visits import services
from sanfuwu.visits.models import PairingLevel, Visit, VisitDraft
from sanfuwu.visits.services import TargetRef


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_visit_form_offers_paired_objects_and_records_two_difficulties(town):
    official = town.users["official"]
    services.pairing_create(
        by=town.users["dispatcher"],
        enterprise=town.ent,
        level=PairingLevel.DEPT_MIDDLE,
        official=official,
        start_date="2026-01-01",
    )
    c = client_for(official)
    page = c.get("/visits/new/")
    assert page.status_code == 200
    assert f'value="enterprise:{town.ent.pk}"'.encode() in page.content
    response = c.post(
        "/visits/new/",
        {
            "t": [f"enterprise:{town.ent.pk}"],
            "visited_on": clock.today().isoformat(),
            "diary_kind": "",
            "diary": "走访纤纳光电",
            "item_kind": ["difficulty", "difficulty", "suggestion"],
            "item_level": ["upper", "own", ""],
            "item_text": ["电力不稳", "招工难", ""],
            "item_target": ["", "", ""],
        },
    )
    visit = Visit.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/visits/{visit.pk}/"
    detail = c.get(response["Location"]).content.decode()
    demands = Demand.objects.filter(channel=Channel.VISIT).order_by("pk")
    assert [d.level for d in demands] == ["upper", "own"]
    for d in demands:
        assert f"/demands/{d.pk}/" in detail


def test_a_failed_post_keeps_everything_typed(town):
    c = client_for(town.users["official"])
    response = c.post(
        "/visits/new/",
        {
            "t": [f"enterprise:{town.ent2.pk}"],
            "diary": "写了很多",
            "item_text": ["缺电"],
            "item_kind": ["difficulty"],
            "item_level": [""],
            "item_target": [""],
        },
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert "写了很多" in body and "缺电" in body and "请选择本职、提交上级或疑难" in body
    assert f'value="enterprise:{town.ent2.pk}" data-label="炬华科技" checked' in body
    assert not Visit.objects.exists()


def test_draft_autosave_endpoint_keeps_the_form_on_the_server(town):
    c = client_for(town.users["official"])
    r = c.post("/visits/draft/", {"diary": "半截", "t": ["enterprise:1", "community:2"]})
    assert r.status_code == 200 and "saved_at" in r.json()
    assert VisitDraft.objects.get(user=town.users["official"]).data == {
        "diary": ["半截"],
        "t": ["enterprise:1", "community:2"],
    }
    page = c.get("/visits/new/").content.decode()
    found = re.search(r'<script id="server-draft" type="application/json">(.*?)</script>', page)
    assert json.loads(found.group(1))["data"]["diary"] == ["半截"]
    assert (
        client_for(town.users["resident"]).post("/visits/draft/", {"diary": "x"}).status_code == 403
    )


def test_private_visit_page_is_hidden_outside_the_grid_chain(town):
    visit = services.visit_record(
        by=town.users["grid_worker"],
        data=services.VisitInput(
            targets=[TargetRef("household", town.household.pk)], diary="王大爷家"
        ),
    )
    assert client_for(town.users["street_leader"]).get(f"/visits/{visit.pk}/").status_code == 200
    assert client_for(town.users["other_leader"]).get(f"/visits/{visit.pk}/").status_code == 404
    assert client_for(town.users["leader"]).get(f"/visits/{visit.pk}/").status_code == 404


def test_coverage_page_lists_the_unvisited_with_their_holders_and_exports_excel(town):
    services.pairing_create(
        by=town.users["dispatcher"],
        enterprise=town.ent2,
        level=PairingLevel.DISTRICT_LEADER,
        official=town.users["official"],
        start_date="2026-01-01",
    )
    c = client_for(town.users["leader"])
    page = c.get("/visits/coverage/", {"from": "2026-01", "to": "2026-12"}).content.decode()
    assert "炬华科技" in page and "区领导：qu_ganbu" in page and "无人结对" in page
    export = c.get("/visits/coverage/", {"from": "2026-01", "to": "2026-12", "format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert rows[1][:4] == ("编号", "名称", "地址/说明", "结对/包片")
    assert {r[1] for r in rows[2:]} == {"纤纳光电", "炬华科技", "小店"}
    assert [r[3] for r in rows[2:] if r[1] == "炬华科技"] == ["区领导：qu_ganbu"]
    bad = c.get("/visits/coverage/", {"from": "2026-13"})
    assert "月份无效" in bad.content.decode()
    assert client_for(town.users["handler"]).get("/visits/coverage/").status_code == 403


def test_statistics_page_speaks_the_seeds_form(town):
    services.visit_record(
        by=town.users["official"],
        data=services.VisitInput(
            targets=[TargetRef("enterprise", town.ent.pk)], diary="记", visited_on="2026-05-02"
        ),
    )
    page = client_for(town.users["leader"]).get(
        "/visits/stats/", {"from": "2026-05", "to": "2026-05"}
    )
    assert "走访企业 1 次、基层 0 次、群众 0 户" in page.content.decode()


def test_home_shows_overdue_plans(town):
    official = town.users["official"]
    services.plan_create(
        by=official,
        target=TargetRef("enterprise", town.ent.pk),
        planned_on=clock.today() - timedelta(days=2),
    )
    page = client_for(official).get("/").content.decode()
    assert "1 项走访计划已逾期" in page and "纤纳光电" in page
    mine = client_for(official).get("/visits/").content.decode()
    assert "逾期的走访计划" in mine


def test_photos_are_checked_by_content_stored_and_served_to_readers_only(town):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from sanfuwu.attachments.tests.files import pdf, png

    c = client_for(town.users["official"])
    form = {"t": [f"enterprise:{town.ent.pk}"], "diary": "拍了厂区照片"}
    refused = c.post("/visits/new/", {**form, "photos": [SimpleUploadedFile("假照片.jpg", pdf())]})
    assert refused.status_code == 422 and "不是照片" in refused.content.decode()
    ok = c.post("/visits/new/", {**form, "photos": [SimpleUploadedFile("厂区.png", png())]})
    visit = Visit.objects.get()
    photo = visit.photos.get()
    assert ok.status_code == 302 and photo.content_type == "image/png"
    url = f"/visits/{visit.pk}/photos/{photo.pk}/"
    served = c.get(url)
    assert served.status_code == 200 and b"".join(served.streaming_content) == png()
    assert client_for(town.users["other_handler"]).get(url).status_code == 404
