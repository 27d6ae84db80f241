"""After submitting: the bare status by code, the personal link, rating, withdrawal."""

from __future__ import annotations

import pytest

from sanfuwu.demands import services
from sanfuwu.demands.models import Rating
from sanfuwu.demands.workflow import State

from .helpers import RESIDENT_FORM, reply, submitted, to_handling

pytestmark = pytest.mark.django_db


# --- the tracking code ----------------------------------------------------------------------


def test_the_tracking_code_shows_only_the_bare_status(tiny, client):
    d = submitted(client)
    reply(tiny, to_handling(tiny, d), "路灯已经修好。")
    loose = d.tracking_code.lower().replace("-", " ")
    response = client.get("/portal/track/", {"code": loose})
    html = response.content.decode()
    assert response.status_code == 200
    assert d.tracking_code in html and "已答复" in html and "答复时间" in html
    for secret in (
        RESIDENT_FORM["title"],
        RESIDENT_FORM["body"],
        RESIDENT_FORM["contact_name"],
        RESIDENT_FORM["contact_phone"],
        RESIDENT_FORM["address"],
        "路灯已经修好",
        "住建局",
        tiny.users["handler"].username,
        d.rating_token,
    ):
        assert secret not in html


def test_the_dashes_are_optional_and_the_htmx_lookup_gets_only_the_result(tiny, client):
    d = submitted(client)
    response = client.get(
        "/portal/track/", {"code": d.tracking_code.replace("-", "")}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "已提交，等待分派" in html and "<html" not in html


@pytest.mark.parametrize("code", ["ZZZZZ-ZZZZZ", "1234", "' OR 1=1 --", "ABCDE-FGHJK-LMN"])
def test_an_unknown_or_malformed_code_gets_one_same_answer(tiny, client, code):
    submitted(client)
    html = client.get("/portal/track/", {"code": code}).content.decode()
    assert "未找到该查询码对应的诉求" in html
    assert "状态</dt>" not in html


def test_lookups_are_rate_limited_per_ip(tiny, client, settings):
    settings.SANFUWU_RATE_LIMITS = {"portal_lookup": (3, 600)}
    for _ in range(3):
        assert client.get("/portal/track/", {"code": "ZZZZZ-ZZZZZ"}).status_code == 200
    response = client.get("/portal/track/", {"code": "ZZZZZ-ZZZZY"})
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 600
    # an htmx lookup gets the notice alone, to show where the result would be
    notice = client.get("/portal/track/", {"code": "ZZZZZ-ZZZZX"}, HTTP_HX_REQUEST="true")
    assert notice.status_code == 429 and "<html" not in notice.content.decode()
    assert "操作过于频繁" in notice.content.decode()
    # the empty form does not count and still opens
    assert client.get("/portal/track/").status_code == 200


# --- the personal link ----------------------------------------------------------------------


def test_the_personal_page_shows_replies_and_public_notes_but_no_internal_work(tiny, client):
    d = to_handling(tiny, submitted(client))
    services.demand_note(
        demand=d, by=tiny.users["handler"], text="内部：先查业主欠费", public=False
    )
    services.demand_note(demand=d, by=tiny.users["handler"], text="已联系供电公司", public=True)
    services.demand_request_extension(
        demand=d, by=tiny.users["handler"], reason="等待配件到货", working_days=3
    )
    services.demand_submit_reply(demand=d, by=tiny.users["handler"], text="草稿：还没审")
    services.demand_reject_reply(demand=d, by=tiny.users["head"], reason="措辞不当，重写")
    reply(tiny, d, "路灯已更换，感谢监督。")
    html = client.get(f"/portal/d/{d.rating_token}/").content.decode()
    assert RESIDENT_FORM["title"] in html and RESIDENT_FORM["body"] in html
    assert "路灯已更换，感谢监督。" in html
    assert "已联系供电公司" in html
    assert "已转交承办单位" in html
    for internal in (
        "内部：先查业主欠费",
        "等待配件到货",
        "草稿：还没审",
        "措辞不当",
        tiny.users["handler"].username,
        tiny.users["head"].username,
        tiny.users["dispatcher"].username,
        "住建局",
        "13912345678",  # the person's own number is masked on a page that travels by link
    ):
        assert internal not in html
    assert "139****5678" in html


def test_a_wrong_token_is_404_everywhere(tiny, client):
    submitted(client)
    bad = "x" * 32
    assert client.get(f"/portal/d/{bad}/").status_code == 404
    assert client.post(f"/portal/d/{bad}/rate/", {"value": "satisfied"}).status_code == 404
    assert client.post(f"/portal/d/{bad}/withdraw/").status_code == 404
    assert client.get("/portal/d/short/").status_code == 404


def test_rating_once_a_first_unsatisfied_reopens_and_a_second_rating_is_refused(tiny, client):
    d = reply(tiny, to_handling(tiny, submitted(client)), "已修复。")
    page = client.get(f"/portal/d/{d.rating_token}/").content.decode()
    assert "评价本次答复" in page and "withdraw-h" not in page

    response = client.post(
        f"/portal/d/{d.rating_token}/rate/", {"value": "unsatisfied", "comment": "还是不亮"}
    )
    assert response.status_code == 302
    d.refresh_from_db()
    assert d.state == State.HANDLING and d.reopen_count == 1
    page = client.get(f"/portal/d/{d.rating_token}/").content.decode()
    assert "已重新交办" in page  # the flash message
    assert "评价：不满意，已重新办理" in page and "还是不亮" in page
    assert "评价本次答复" not in page

    d = reply(tiny, d, "已更换灯杆。")
    assert (
        client.post(f"/portal/d/{d.rating_token}/rate/", {"value": "satisfied"}).status_code == 302
    )
    d.refresh_from_db()
    assert d.state == State.RATED
    again = client.post(f"/portal/d/{d.rating_token}/rate/", {"value": "unsatisfied"})
    assert again.status_code == 422
    assert 'id="rate-error"' in again.content.decode()
    assert Rating.objects.filter(demand=d).count() == 2
    d.refresh_from_db()
    assert d.state == State.RATED


def test_rating_needs_a_value_and_keeps_the_comment(tiny, client):
    d = reply(tiny, to_handling(tiny, submitted(client)), "已修复。")
    response = client.post(f"/portal/d/{d.rating_token}/rate/", {"comment": "我的意见"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="value-error"' in html and "我的意见" in html
    assert not Rating.objects.exists()


def test_rating_with_htmx_returns_the_updated_case(tiny, client):
    d = reply(tiny, to_handling(tiny, submitted(client)), "已修复。")
    response = client.post(
        f"/portal/d/{d.rating_token}/rate/", {"value": "basic"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "感谢您的评价" in html and "评价：基本满意" in html


def test_a_withdrawal_asks_first_then_withdraws_before_the_reply(tiny, client):
    d = submitted(client)
    confirm = client.get(f"/portal/d/{d.rating_token}/withdraw/")
    assert confirm.status_code == 200 and "确认撤回" in confirm.content.decode()
    assert confirm["Referrer-Policy"] == "no-referrer"
    d.refresh_from_db()
    assert d.state == State.SUBMITTED
    response = client.post(f"/portal/d/{d.rating_token}/withdraw/", {"reason": "已自行解决"})
    assert response.status_code == 302
    d.refresh_from_db()
    assert d.state == State.WITHDRAWN
    page = client.get(f"/portal/d/{d.rating_token}/").content.decode()
    assert "您已撤回诉求" in page and "已自行解决" in page
    assert "withdraw-h" not in page


def test_a_withdrawal_after_the_reply_is_refused(tiny, client):
    d = reply(tiny, to_handling(tiny, submitted(client)), "已修复。")
    response = client.post(f"/portal/d/{d.rating_token}/withdraw/")
    assert response.status_code == 422
    assert 'id="withdraw-error"' in response.content.decode()
    d.refresh_from_db()
    assert d.state == State.REPLIED


def test_actions_by_link_are_rate_limited_per_token(tiny, client, settings):
    settings.SANFUWU_RATE_LIMITS = {"portal_token_action": (2, 3600)}
    d = submitted(client)
    # rating and withdrawing share the count of the link; opening the pages does not count
    for _ in range(2):
        assert client.post(f"/portal/d/{d.rating_token}/rate/").status_code == 422
    assert client.get(f"/portal/d/{d.rating_token}/withdraw/").status_code == 200
    response = client.post(f"/portal/d/{d.rating_token}/withdraw/")
    assert response.status_code == 429
    d.refresh_from_db()
    assert d.state == State.SUBMITTED
