"""Hot topics (本周热点) and common problems (由个案向共性解决)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from sanfuwu.conftest import hotline_demand
from sanfuwu.demands.models import Reply
from sanfuwu.demands.workflow import State
from sanfuwu.insights.hot import cluster_texts
from sanfuwu.insights.hot_services import (
    common_problem_from_topic,
    common_problem_reply,
    common_problem_update,
    compute_hot_topics,
)
from sanfuwu.insights.models import CommonProblemEvent, HotTopic

NOISE = [
    ("幸福路工地夜间施工噪音扰民", "幸福路工地每天夜里打桩，噪音扰民，无法休息。"),
    ("投诉幸福路工地夜间施工噪音", "幸福路工地夜间施工噪音太大，孩子睡不着。"),
    ("幸福路工地夜间施工噪音严重", "晚上十二点幸福路工地还在施工，噪音扰民。"),
]
PARKING = [
    ("阳光小区停车位被占", "阳光小区停车位长期被外来车辆占用。"),
    ("阳光小区停车位被外来车占用", "外来车辆占用阳光小区停车位，业主没地方停。"),
]
OTHER = [("医保报销咨询", "异地就医如何报销？")]


def test_clustering_groups_the_same_matter_and_names_it():
    texts = [t + " " + b for t, b in NOISE + PARKING + OTHER]
    clusters = cluster_texts(texts, titles=[t for t, _ in NOISE + PARKING + OTHER])
    assert [c.members for c in clusters] == [[0, 1, 2], [3, 4]]
    assert any("噪音" in k for k in clusters[0].keywords)
    assert any("停车" in k for k in clusters[1].keywords)


@pytest.mark.parametrize(
    "texts",
    [
        [],
        [""],
        ["", "", ""],
        ["停", "停"],
        ["！！！", "？？？", "……"],
        ["😀😀", "😀😀", "🚗"],
        ["噪音" * 50_000, "噪音" * 50_000],
        ["WiFi信号差 router broken", "WiFi信號差 router broken"],
    ],
)
def test_clustering_bad_input_never_raises(texts):
    clusters = cluster_texts(texts)
    assert all(len(c.members) >= 2 for c in clusters)


@pytest.fixture
def topics(tiny):
    made = {}
    for name, rows in (("noise", NOISE), ("parking", PARKING), ("other", OTHER)):
        made[name] = [hotline_demand(tiny, title=t, body=b, contact_phone="").pk for t, b in rows]
    compute_hot_topics(days=7)
    return made


@pytest.mark.django_db
def test_hot_topics_are_ranked_by_size_with_their_demands(topics):
    ranked = list(HotTopic.objects.order_by("rank"))
    assert [t.size for t in ranked] == [3, 2]
    assert sorted(ranked[0].demands.values_list("pk", flat=True)) == sorted(topics["noise"])
    # recomputing replaces nothing it should not: a second period is stored beside the first
    call_command("compute_hot_topics", "--days", "7", verbosity=0)
    assert HotTopic.objects.count() == 4


@pytest.mark.django_db
def test_hot_page_for_leaders_and_dispatchers_only_and_scoped(tiny, topics):
    c = Client()
    c.force_login(tiny.users["leader"])
    page = c.get("/insights/hot/").content.decode()
    assert "本周热点" in page and "3 件诉求" in page and "转为共性问题" in page
    assert 'href="/insights/hot/"' in page  # the 热点 link of the menu
    c.force_login(tiny.users["handler"])
    assert c.get("/insights/hot/").status_code == 404
    assert 'href="/insights/hot/"' not in c.get("/").content.decode()
    # a street dispatcher sees none of these district demands: no topic
    c.force_login(tiny.users["street_dispatcher"])
    page = c.get("/insights/hot/").content.decode()
    assert "件诉求" not in page


@pytest.mark.django_db
def test_topic_becomes_one_common_problem_whose_solution_is_the_reply(tiny, topics):
    topic = HotTopic.objects.get(rank=1)
    dispatcher = tiny.users["dispatcher"]
    c = Client()
    c.force_login(tiny.users["leader"])
    r = c.post(f"/insights/hot/{topic.pk}/problem/")
    assert r.status_code == 302
    problem = topic.problems.get()
    assert sorted(problem.links.values_list("demand_id", flat=True)) == sorted(topics["noise"])
    # the same topic again: still one problem
    assert common_problem_from_topic(topic=topic, by=dispatcher) == problem
    # every linked demand's page shows it
    c.force_login(dispatcher)
    assert problem.title in c.get(f"/demands/{topics['noise'][0]}/").content.decode()

    common_problem_update(
        problem=problem,
        by=tiny.users["leader"],
        title="幸福路工地夜间施工噪音",
        solution="已责令施工单位夜间22时后停止高噪音作业，城管将夜间巡查。",
        owner_unit=tiny.dept,
    )
    r = c.post(f"/insights/problems/{problem.pk}/reply/")
    assert r.status_code == 302
    for pk in topics["noise"]:
        reply = Reply.objects.get(demand_id=pk)
        assert reply.text.startswith("已责令施工单位") and reply.author == dispatcher
        assert reply.demand.state == State.REPLIED
    assert not Reply.objects.filter(demand_id__in=topics["parking"]).exists()
    problem.refresh_from_db()
    assert problem.status == "replied"
    actions = list(
        CommonProblemEvent.objects.filter(problem=problem).values_list("action", flat=True)
    )
    assert actions == ["create", "update", "reply"]
    # a second reply sends nothing again
    assert common_problem_reply(problem=problem, by=dispatcher).replied == []


@pytest.mark.django_db
def test_reply_skips_demands_the_user_may_not_answer(tiny, topics):
    problem = common_problem_from_topic(topic=HotTopic.objects.get(rank=1), by=tiny.users["leader"])
    common_problem_update(problem=problem, by=tiny.users["leader"], title="噪音", solution="已处理")
    # a leader may not answer demands: nothing is replied, each is said why
    outcome = common_problem_reply(problem=problem, by=tiny.users["leader"])
    assert outcome.replied == [] and len(outcome.skipped) == 3
    assert not Reply.objects.exists()


@pytest.mark.django_db
def test_only_leaders_and_dispatchers_manage_problems(tiny, topics):
    from sanfuwu.core.errors import Forbidden

    with pytest.raises(Forbidden):
        common_problem_from_topic(topic=HotTopic.objects.get(rank=1), by=tiny.users["handler"])
