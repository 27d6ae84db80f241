"""录入诉求: staff record a demand for someone through the real page (Django test client)."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from sanfuwu.attachments.models import Attachment
from sanfuwu.attachments.tests.files import png, upload
from sanfuwu.conftest import hotline_demand
from sanfuwu.demands.models import Demand, Reply
from sanfuwu.directory.models import Enterprise, Resident
from sanfuwu.directory.validators import make_id_number, make_uscc

pytestmark = pytest.mark.django_db

URL = "/demands/new/"


@pytest.fixture
def as_user(tiny):
    def client(name: str) -> Client:
        c = Client()
        c.force_login(tiny.users[name])
        return c

    return client


def form(**fields) -> dict:
    return {
        "nonce": fields.pop("nonce", "n-" + str(len(fields)) + fields.get("title", "")),
        "channel": "hotline",
        "kind": "complaint",
        "title": "电梯故障",
        "body": "3幢电梯坏了，老人上下楼困难。",
        "contact_name": "张三",
        "contact_phone": "13812341234",
        "action": "submit",
        **fields,
    }


def html(response) -> str:
    return response.content.decode()


# ---------------------------------------------------------------------------------------------
# who may record


def test_a_hotline_operator_records_a_demand_and_goes_to_it_to_dispatch(tiny, as_user):
    c = as_user("dispatcher")
    page = c.get(URL)
    assert page.status_code == 200
    assert 'name="nonce"' in html(page) and "提交派单" in html(page)
    r = c.post(URL, form(nonce="a1", address="幸福社区3幢", community=str(tiny.community.pk)))
    d = Demand.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/demands/{d.pk}/"
    assert d.recorded_by == tiny.users["dispatcher"] and d.submitter is None
    assert (d.channel, d.state, d.community, d.contact_phone) == (
        "hotline",
        "submitted",
        tiny.community,
        "13812341234",
    )


def test_a_grid_worker_records_a_demand_and_starts_the_next_one(tiny, as_user):
    c = as_user("grid_worker")
    page = html(c.get(URL))
    # the grid channel and the worker's own 村社 are preselected
    assert 'value="grid" checked' in page
    assert f'<option value="{tiny.community.pk}" selected>' in page
    r = c.post(URL, form(nonce="g1", channel="grid", community=str(tiny.community.pk)))
    d = Demand.objects.get()
    assert r.status_code == 302 and r["Location"] == f"{URL}?recorded={d.pk}"
    assert d.recorded_by == tiny.users["grid_worker"] and d.channel == "grid"
    assert d.dispatch_unit == tiny.street  # the street of the community triages it
    done = html(c.get(r["Location"]))
    assert f"#{d.pk}" in done and d.tracking_code in done


@pytest.mark.parametrize("name", ["leader", "supervisor", "resident", "stranger"])
def test_users_without_an_intake_role_get_a_clear_403(tiny, as_user, name):
    c = as_user(name)
    for r in (c.get(URL), c.post(URL, form()), c.get("/directory/search/?q=张&type=resident")):
        assert r.status_code == 403
        assert "无权录入诉求" in html(r)
    assert Demand.objects.count() == 0


def test_anonymous_users_are_sent_to_the_login(tiny):
    r = Client().get(URL)
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_portal_channels_are_not_offered_and_refused(tiny, as_user):
    c = as_user("grid_worker")
    page = html(c.get(URL))
    assert 'value="portal"' not in page and 'value="api"' not in page
    r = c.post(URL, form(channel="bogus"))
    assert r.status_code == 422 and "渠道" in html(r)
    assert Demand.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# nothing lost, nothing twice


def test_an_invalid_phone_keeps_every_typed_value_and_says_why_next_to_the_field(tiny, as_user):
    c = as_user("grid_worker")
    r = c.post(
        URL,
        form(
            contact_phone="1381234",
            body="楼道灯坏了一个月",
            address="幸福路8号",
            files=[upload("现场.png", png())],
        ),
    )
    assert r.status_code == 422
    page = html(r)
    assert "请重新选择附件" in page
    assert 'id="e-contact_phone"' in page and "格式不正确" in page
    assert 'value="1381234"' in page and "楼道灯坏了一个月</textarea>" in page
    assert 'value="幸福路8号"' in page and 'value="电梯故障"' in page
    assert Demand.objects.count() == 0


def test_a_double_post_of_the_same_form_records_one_demand(tiny, as_user):
    c = as_user("dispatcher")
    first = c.post(URL, form(nonce="same"))
    second = c.post(URL, form(nonce="same"))
    assert Demand.objects.count() == 1
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]


# ---------------------------------------------------------------------------------------------
# 直接答复 / 不予受理 in one step


def test_a_dispatcher_answers_on_the_spot_in_one_step(tiny, as_user):
    c = as_user("dispatcher")
    assert "提交并直接答复" in html(c.get(URL))
    r = c.post(URL, form(kind="consult", action="answer", answer_text="可到社区服务中心办理。"))
    d = Demand.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/demands/{d.pk}/"
    assert d.state == "replied" and d.recorded_by == tiny.users["dispatcher"]
    assert Reply.objects.get(demand=d).text == "可到社区服务中心办理。"
    assert list(d.events.values_list("action", flat=True)) == ["submit", "answer_directly"]


def test_a_dispatcher_rejects_on_the_spot_in_one_step(tiny, as_user):
    c = as_user("dispatcher")
    r = c.post(URL, form(action="reject", reject_reason="属于司法程序，不予受理"))
    d = Demand.objects.get()
    assert r.status_code == 302 and d.state == "rejected" and d.closed_at is not None


def test_a_failing_second_step_leaves_no_demand_and_keeps_the_text(tiny, as_user):
    c = as_user("dispatcher")
    r = c.post(URL, form(action="answer", answer_text="   ", body="能否办理居住证？"))
    assert r.status_code == 422
    page = html(r)
    assert 'id="e-answer_text"' in page and "能否办理居住证？</textarea>" in page
    assert Demand.objects.count() == 0
    # the same nonce can still be used once the text is there
    r = c.post(URL, form(action="answer", answer_text="可以办理。", body="能否办理居住证？"))
    assert r.status_code == 302 and Demand.objects.get().state == "replied"


def test_a_grid_worker_is_not_offered_answer_or_reject_and_cannot_force_it(tiny, as_user):
    c = as_user("grid_worker")
    page = html(c.get(URL))
    assert "提交并直接答复" not in page and "提交并不予受理" not in page
    r = c.post(URL, form(channel="grid", action="answer", answer_text="已答复"))
    assert r.status_code == 422 and "无权执行" in html(r)
    assert Demand.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# attachments in the same transaction


@pytest.fixture
def store(settings, tmp_path):
    root = tmp_path / "attachments"
    settings.SANFUWU_ATTACHMENT_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": None},
        },
    }
    return root


def test_files_are_attached_on_submit(tiny, as_user, store):
    c = as_user("grid_worker")
    r = c.post(URL, form(channel="grid", files=[upload("现场.png", png())]))
    assert r.status_code == 302
    att = Attachment.objects.get()
    assert att.demand == Demand.objects.get() and att.purpose == "submit"


def test_a_bad_file_records_nothing_and_says_so_next_to_the_files(tiny, as_user, store):
    c = as_user("grid_worker")
    r = c.post(URL, form(channel="grid", files=[upload("photo.png", b"not an image at all")]))
    assert r.status_code == 422
    assert "f-files_error" in html(r) and 'value="电梯故障"' in html(r)
    assert Demand.objects.count() == 0 and Attachment.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# the person served: search, pick, create on the spot

USCC = make_uscc(4242)
ID_NUMBER = make_id_number(birth=date(1975, 3, 8), seq=42)


def test_search_finds_and_masks_for_roles_that_may_not_see_numbers(tiny, as_user):
    Resident.objects.create(name="欧阳修文", phone="13900001111", id_number=ID_NUMBER)
    Enterprise.objects.create(name="杭州示范机械有限公司", uscc=USCC, contact_phone="13700001234")
    grid = html(as_user("grid_worker").get("/directory/search/", {"q": "阳修", "type": "resident"}))
    assert "欧阳修文" in grid and "139****1111" in grid and "13900001111" not in grid
    assert ID_NUMBER not in grid
    full = html(as_user("dispatcher").get("/directory/search/", {"q": "阳修", "type": "resident"}))
    assert "13900001111" in full
    ent = html(as_user("grid_worker").get("/directory/search/", {"q": USCC, "type": "enterprise"}))
    assert "杭州示范机械有限公司" in ent and 'value="enterprise:' in ent
    none = html(
        as_user("grid_worker").get("/directory/search/", {"q": "无此人", "type": "resident"})
    )
    assert "没有找到" in none


def test_a_picked_resident_fills_the_contact_but_a_masked_viewer_never_sees_the_number(
    tiny, as_user
):
    res = Resident.objects.create(name="欧阳修文", phone="13900001111", address="幸福路1号")
    c = as_user("grid_worker")
    fields = form(channel="grid", contact_name="", contact_phone="", nonce="p1")
    picked = c.post(URL, {**fields, "pick": f"resident:{res.pk}", "action": "pick"})
    page = html(picked)
    assert 'value="欧阳修文"' in page and 'value="幸福路1号"' in page
    assert "13900001111" not in page and "139****1111" in page
    r = c.post(URL, {**fields, "person": f"resident:{res.pk}"})
    assert r.status_code == 302
    d = Demand.objects.get()
    assert (d.resident, d.contact_name, d.contact_phone) == (res, "欧阳修文", "13900001111")


def test_the_htmx_pick_returns_the_person_and_the_contact_fields(tiny, as_user):
    res = Resident.objects.create(name="欧阳修文", phone="13900001111")
    c = as_user("dispatcher")
    r = c.post(
        "/demands/new/person/",
        {"pick": f"resident:{res.pk}", "contact_name": "", "contact_phone": ""},
        HTTP_HX_REQUEST="true",
    )
    page = html(r)
    assert r.status_code == 200 and r["HX-Trigger"] == "intake-person"
    assert f'name="person" value="resident:{res.pk}"' in page
    assert 'id="contact-fields"' in page and 'hx-swap-oob="true"' in page
    assert 'value="13900001111"' in page  # a dispatcher sees and gets the number


def test_creating_a_resident_on_the_spot_is_idempotent_and_picks_it(tiny, as_user):
    c = as_user("grid_worker")
    new = {"new_res_name": "赵六", "new_res_phone": "13911112222", "new_res_id_number": ID_NUMBER}
    first = c.post(URL, form(contact_name="", **new, action="create_resident"))
    second = c.post(URL, form(contact_name="", **new, action="create_resident"))
    res = Resident.objects.get()
    for r in (first, second):
        assert r.status_code == 200
        assert f'name="person" value="resident:{res.pk}"' in html(r)
        assert 'value="赵六"' in html(r)  # the contact name is filled


def test_creating_an_enterprise_validates_the_credit_code_and_keeps_the_form(tiny, as_user):
    c = as_user("grid_worker")
    bad = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")
    r = c.post(
        URL,
        form(new_ent_name="示范机械", new_ent_uscc=bad, action="create_enterprise", body="用工难"),
    )
    assert r.status_code == 422
    page = html(r)
    assert 'id="e-new_ent_uscc"' in page and "校验位" in page
    assert 'value="示范机械"' in page and "用工难</textarea>" in page
    assert Enterprise.objects.count() == 0
    # htmx: the same through /directory/new/
    ok = c.post(
        "/directory/new/",
        {"kind": "enterprise", "new_ent_name": "示范机械", "new_ent_uscc": USCC.lower()},
        HTTP_HX_REQUEST="true",
    )
    ent = Enterprise.objects.get()
    assert ok.status_code == 200 and f'value="enterprise:{ent.pk}"' in html(ok)
    assert ent.uscc == USCC


# ---------------------------------------------------------------------------------------------
# the duplicate warning


def test_a_similar_open_demand_is_shown_on_submit_and_the_operator_may_go_on(tiny, as_user):
    c = as_user("grid_worker")
    c.post(URL, form(nonce="first", channel="grid", title="电梯故障", body="3幢电梯坏了"))
    earlier = Demand.objects.get()
    fields = form(
        nonce="second",
        channel="grid",
        title="电梯又坏了",
        body="3幢的电梯又坏了",
        contact_phone="13899998888",
    )
    warned = c.post(URL, fields)
    page = html(warned)
    assert warned.status_code == 200 and "可能重复" in page
    assert f"/demands/{earlier.pk}/" in page and "内容相似" in page
    assert f'name="dup_seen" value="{earlier.pk}"' in page
    assert Demand.objects.count() == 1
    # submit anyway: the warning was seen
    r = c.post(URL, {**fields, "dup_seen": [str(earlier.pk)]})
    assert r.status_code == 302 and Demand.objects.count() == 2


def test_the_live_duplicate_check_lists_same_phone_and_hides_what_the_user_cannot_see(
    tiny, as_user
):
    hotline_demand(tiny, title="噪音扰民", contact_phone="13812341234")  # the district's
    c = as_user("grid_worker")
    c.post(URL, form(nonce="own", channel="grid", title="路灯不亮", body="门口路灯坏了"))
    own = Demand.objects.get(recorded_by=tiny.users["grid_worker"])
    r = c.post(
        "/demands/new/duplicates/",
        {"title": "垃圾清运", "contact_phone": "138 1234 1234"},
        HTTP_HX_REQUEST="true",
    )
    page = html(r)
    assert r.status_code == 200 and "同一电话" in page
    assert f"/demands/{own.pk}/" in page and "噪音扰民" not in page
    # the dispatcher sees both
    page = html(
        as_user("dispatcher").post("/demands/new/duplicates/", {"contact_phone": "13812341234"})
    )
    assert "噪音扰民" in page and "路灯不亮" in page


# ---------------------------------------------------------------------------------------------
# 建议分类 from the router


def test_the_category_hint_suggests_and_applies_the_routers_category(tiny, as_user):
    from sanfuwu.demands.models import Category
    from sanfuwu.insights.selectors import route_suggestion

    text = {
        "title": "小区电梯经常故障",
        "body": "3幢电梯一个月坏了三次，物业迟迟不修，老人出行困难。",
    }
    label = route_suggestion(**text)["label"]
    assert label, "the shipped router suggests a category for this text"
    top = Category.objects.filter(level=1, name=label).first() or Category.objects.create(
        name=label, level=1, path=label
    )
    c = as_user("grid_worker")
    hint = html(c.post("/demands/new/hint/", text, HTTP_HX_REQUEST="true"))
    assert "建议分类" in hint and label in hint and "采用" in hint
    applied = html(c.post("/demands/new/hint/", {**text, "apply": "1"}, HTTP_HX_REQUEST="true"))
    assert 'id="category-field"' in applied and 'hx-swap-oob="true"' in applied
    assert f'<option value="{top.pk}" selected>' in applied
    # too short to say anything
    assert "建议分类" not in html(c.post("/demands/new/hint/", {"title": "灯"}))


# ---------------------------------------------------------------------------------------------
# in a real browser, on a phone


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_grid_worker_on_a_phone_sees_the_duplicate_warning_and_submits_anyway(
    tiny, live_server, page
):
    import shutil

    if not shutil.which("/usr/bin/chromium"):
        pytest.skip("Debian chromium is not installed")
    from sanfuwu.conftest import browser_login
    from sanfuwu.demands import services

    earlier = services.demand_submit(
        by=tiny.users["grid_worker"],
        title="电梯故障",
        body="3幢电梯坏了",
        kind="complaint",
        channel="grid",
        community=tiny.community,
    ).demand
    page.set_viewport_size({"width": 375, "height": 800})
    browser_login(page, live_server, "wgy")
    page.goto(live_server.url + URL)
    page.wait_for_selector("#intake-form")
    # one column: nothing wider than the phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    submit = page.get_by_role("button", name="提交派单")
    assert submit.bounding_box()["height"] >= 40
    page.get_by_label("投诉").check()
    page.get_by_label("标题").fill("电梯又坏了")
    page.get_by_label("诉求内容").fill("3幢的电梯又坏了，老人下不了楼")
    warning = page.locator("#dup-warning .intake-dups")
    warning.wait_for()
    assert "内容相似" in warning.inner_text()
    assert warning.locator(f'a[href="/demands/{earlier.pk}/"]').count() == 1
    submit.click()
    page.wait_for_url("**/demands/new/?recorded=*")
    assert "已提交诉求" in page.locator(".msg.success").inner_text()
    newest = Demand.objects.exclude(pk=earlier.pk).get()
    assert (newest.title, newest.channel, newest.recorded_by) == (
        "电梯又坏了",
        "grid",
        tiny.users["grid_worker"],
    )
