"""The duplicate warning of intake: open, recent, visible demands that look the same."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sanfuwu.conftest import hotline_demand
from sanfuwu.core import clock
from sanfuwu.demands import services
from sanfuwu.demands.duplicates import bigrams, similar_open_demands, text_similarity
from sanfuwu.directory.models import Enterprise, Resident
from sanfuwu.directory.validators import make_uscc

pytestmark = pytest.mark.django_db


def found(tiny, user="dispatcher", **query):
    hits = similar_open_demands(user=tiny.users[user], **query)
    return {h.demand.pk: h.reasons for h in hits}


def test_same_phone_is_found_whatever_the_text(tiny):
    d = hotline_demand(tiny, contact_phone="13812341234")
    hits = found(tiny, title="路灯不亮", body="门口路灯坏了", phone="138 1234 1234")
    assert hits == {d.pk: ["同一电话"]}


def test_same_enterprise_and_same_resident_are_found(tiny):
    ent = Enterprise.objects.create(name="示范机械有限公司", uscc=make_uscc(7))
    res = Resident.objects.create(name="王五", phone="13900001111")
    a = hotline_demand(tiny, enterprise=ent, contact_phone="")
    b = hotline_demand(tiny, resident=res, contact_phone="")
    assert found(tiny, title="用工补贴咨询", enterprise=ent) == {a.pk: ["同一企业"]}
    assert found(tiny, title="用工补贴咨询", resident=res) == {b.pk: ["同一群众"]}


def test_same_address_is_found(tiny):
    d = hotline_demand(tiny, contact_phone="", address="幸福社区 5幢 2单元")
    assert found(tiny, title="路灯", address="幸福社区5幢2单元") == {d.pk: ["同一地址"]}


def test_similar_text_is_found_with_its_score(tiny):
    d = hotline_demand(tiny, title="电梯故障", body="3幢电梯坏了", contact_phone="")
    hits = found(tiny, title="电梯又坏了", body="3幢的电梯又坏了")
    assert list(hits) == [d.pk]
    (reason,) = hits[d.pk]
    assert reason.startswith("内容相似 ") and reason.endswith("%")
    assert 50 <= int(reason.removeprefix("内容相似 ").removesuffix("%")) <= 100


def test_unrelated_text_is_not_found(tiny):
    hotline_demand(tiny, title="电梯故障", body="3幢电梯坏了", contact_phone="")
    assert found(tiny, title="学校门口道路积水", body="下雨后学校门口积水严重，学生无法通行") == {}
    # too short to tell
    assert found(tiny, title="电梯", body="") == {}


def test_several_reasons_are_listed_together_and_rank_first(tiny):
    weak = hotline_demand(tiny, title="电梯故障", body="3幢电梯坏了", contact_phone="")
    strong = hotline_demand(tiny, title="电梯故障", body="3幢电梯坏了", contact_phone="13955556666")
    hits = similar_open_demands(
        user=tiny.users["dispatcher"],
        title="电梯又坏了",
        body="3幢的电梯又坏了",
        phone="13955556666",
    )
    assert [h.demand.pk for h in hits] == [strong.pk, weak.pk]
    assert hits[0].reasons[0] == "同一电话" and hits[0].reasons[1].startswith("内容相似")


def test_closed_demands_are_not_shown(tiny):
    d = hotline_demand(tiny, contact_phone="13812341234")
    services.demand_reject(demand=d, by=tiny.users["dispatcher"], reason="不属于受理范围")
    assert found(tiny, phone="13812341234") == {}


def test_demands_older_than_the_window_are_not_shown(tiny, settings):
    with clock.frozen_at(clock.now() - timedelta(days=40)):
        d = hotline_demand(tiny, contact_phone="13812341234")
    assert found(tiny, phone="13812341234") == {}
    assert found(tiny, phone="13812341234", days=60) == {d.pk: ["同一电话"]}
    settings.SANFUWU = {**settings.SANFUWU, "DUPLICATE_DAYS": 45}
    assert found(tiny, phone="13812341234") == {d.pk: ["同一电话"]}


def test_demands_the_user_may_not_see_are_not_shown(tiny):
    # recorded by the district dispatcher: a grid worker of a community does not see it
    hotline_demand(tiny, title="电梯故障", body="3幢电梯坏了", contact_phone="13812341234")
    hits = found(
        tiny, "grid_worker", title="电梯又坏了", body="3幢的电梯又坏了", phone="13812341234"
    )
    assert hits == {}
    # …but the grid worker's own earlier record is found
    own = services.demand_submit(
        by=tiny.users["grid_worker"],
        title="电梯故障",
        body="3幢电梯坏了",
        kind="complaint",
        channel="grid",
        contact_phone="13812341234",
    ).demand
    hits = found(tiny, "grid_worker", phone="13812341234")
    assert hits == {own.pk: ["同一电话"]}


def test_outside_staff_the_finder_says_nothing(tiny):
    hotline_demand(tiny, contact_phone="13812341234")
    assert found(tiny, "resident", phone="13812341234") == {}
    assert found(tiny, "stranger", phone="13812341234") == {}


def test_a_repeated_form_does_not_warn_of_its_own_demand(tiny):
    d = services.demand_submit(
        by=tiny.users["dispatcher"],
        title="电梯故障",
        body="3幢电梯坏了",
        kind="complaint",
        channel="hotline",
        contact_phone="13812341234",
        client_key="web:abc",
    ).demand
    assert found(tiny, phone="13812341234") == {d.pk: ["同一电话"]}
    assert found(tiny, phone="13812341234", exclude_client_key="web:abc") == {}


def test_the_bigram_similarity_ignores_punctuation_and_filler():
    assert bigrams("3幢，电梯!") == {"3幢", "幢电", "电梯"}
    assert "社区" not in bigrams("幸福社区")
    a, b = bigrams("3幢电梯坏了"), bigrams("3幢的电梯又坏了")
    assert text_similarity(a, b) == 0.6
    assert text_similarity(a, a) == 1.0
    # details added by the caller still match
    assert text_similarity(a, bigrams("3幢的电梯又坏了，老人下不了楼")) == 0.6
    # a short text whose words turn up in a long one about many things does not
    long = bigrams(
        "本人住在3幢，小区绿化带长期被占用停车，夜间广场舞噪音扰民，垃圾清运不及时，"
        "东门道路破损坏了好几处，电梯广告太多，物业收费标准不透明，业委会选举程序有争议，"
        "希望街道督促物业公司整改并公开账目，另外北侧围墙年久失修存在安全隐患。"
    )
    assert text_similarity(a, long) < 0.5


def test_the_candidate_set_is_bounded(tiny, django_assert_max_num_queries):
    for i in range(5):
        hotline_demand(tiny, title=f"电梯故障{i}", body="3幢电梯坏了", contact_phone="13812341234")
    with django_assert_max_num_queries(6):
        hits = similar_open_demands(
            user=tiny.users["dispatcher"],
            title="电梯又坏了",
            body="3幢的电梯又坏了",
            phone="13812341234",
            limit=3,
        )
    assert len(hits) == 3
