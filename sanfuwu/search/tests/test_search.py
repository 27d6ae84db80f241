"""Chinese full-text search: two-character words, replies and addresses, scoping, newest
first, keyset pages, bad input — on whichever database the suite runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from sanfuwu.conftest import hotline_demand
from sanfuwu.core import clock
from sanfuwu.demands import services
from sanfuwu.demands.models import Demand
from sanfuwu.search.models import SearchDocument
from sanfuwu.search.selectors import search_demands
from sanfuwu.search.tokens import query_tokens, tokens

pytestmark = pytest.mark.django_db


def ids(result) -> list[int]:
    return [d.pk for d in result.items]


def test_tokens_are_bigrams_and_latin_words():
    assert tokens("小区停车难！WiFi 12号楼") == [
        "小区",
        "区停",
        "停车",
        "车难",
        "wifi",
        "12",
        "号楼",
    ]
    assert query_tokens("停车") == ["停车"]
    # full-width letters and digits are folded
    assert query_tokens("ＷｉＦｉ１２") == ["wifi12"]


def test_two_character_words_in_title_body_address_and_reply(tiny):
    parking = hotline_demand(tiny, title="小区停车位不够", body="晚上车子没地方放。")
    noise = hotline_demand(tiny, title="深夜施工", body="工地噪音扰民，影响休息。")
    addr = hotline_demand(tiny, title="路灯不亮", body="好几天了。", address="幸福路停车场东门")
    other = hotline_demand(tiny, title="电梯故障", body="3幢电梯坏了。")
    by = tiny.users["dispatcher"]
    assert set(ids(search_demands(user=by, query="停车"))) == {parking.pk, addr.pk}
    assert ids(search_demands(user=by, query="噪音")) == [noise.pk]
    # several words: all must be there
    assert ids(search_demands(user=by, query="噪音 施工")) == [noise.pk]
    assert ids(search_demands(user=by, query="噪音 电梯")) == []
    # a reply is searchable as soon as it is written
    services.demand_answer_directly(
        demand=other, by=by, text="已联系维保单位更换曳引机。", category=tiny.category
    )
    assert ids(search_demands(user=by, query="曳引机")) == [other.pk]


def test_newest_first_and_keyset_pages(tiny):
    made = []
    for i in range(5):
        d = hotline_demand(tiny, title=f"停车难第{i}件", body="车位紧张。")
        Demand.objects.filter(pk=d.pk).update(created_at=clock.now() - timedelta(days=10 - i))
        made.append(d.pk)
    by = tiny.users["dispatcher"]
    first = search_demands(user=by, query="车位", limit=2)
    assert ids(first) == [made[4], made[3]]
    second = search_demands(user=by, query="车位", limit=2, cursor=first.next_cursor)
    assert ids(second) == [made[2], made[1]]
    third = search_demands(user=by, query="车位", limit=2, cursor=second.next_cursor)
    assert ids(third) == [made[0]] and third.next_cursor is None


def test_search_respects_data_scoping(tiny):
    mine = hotline_demand(tiny, title="楼道噪音", body="邻居装修。", dispatch=True)  # 住建局
    theirs = hotline_demand(tiny, title="学校噪音", body="广播太响。")  # not dispatched
    services.demand_dispatch(
        demand=theirs,
        by=tiny.users["dispatcher"],
        lead_unit=tiny.other_dept,
        category=tiny.category,
    )
    assert ids(search_demands(user=tiny.users["handler"], query="噪音")) == [mine.pk]
    assert ids(search_demands(user=tiny.users["other_handler"], query="噪音")) == [theirs.pk]
    assert set(ids(search_demands(user=tiny.users["leader"], query="噪音"))) == {mine.pk, theirs.pk}
    assert ids(search_demands(user=tiny.users["stranger"], query="噪音")) == []
    assert ids(search_demands(user=None, query="噪音")) == []


@pytest.mark.parametrize(
    "query, searched",
    [
        ("", False),
        ("   ", False),
        ("停", False),  # one character
        ("！？。，…", False),
        ("😀😀", False),
        ("x" * 100_000, True),
        ("停车 parking", True),
        ("停車", True),  # traditional: searched, finds what is written that way
        ("停车😀", True),
        ("'\"&|!():*<->\\", False),  # tsquery / FTS5 syntax is never passed through
    ],
)
def test_bad_input_gets_a_clear_answer(tiny, query, searched):
    hotline_demand(tiny, title="停车 parking 停車", body="内容")
    result = search_demands(user=tiny.users["dispatcher"], query=query)
    if searched:
        assert result.message == ""
    else:
        assert result.items == [] and result.message


def test_rebuild_command_recreates_the_index(tiny):
    d = hotline_demand(tiny, title="垃圾清运不及时", body="臭味。")
    SearchDocument.objects.all().delete()
    assert ids(search_demands(user=tiny.users["dispatcher"], query="垃圾")) == []
    call_command("rebuild_search_index", verbosity=0)
    assert ids(search_demands(user=tiny.users["dispatcher"], query="垃圾")) == [d.pk]
    # and the index keeps following the services after a rebuild
    d2 = hotline_demand(tiny, title="垃圾桶满了", body="没人收。")
    assert ids(search_demands(user=tiny.users["dispatcher"], query="垃圾")) == [d2.pk, d.pk]


def test_list_page_and_api_text_filter_use_the_index(tiny, api):
    d = hotline_demand(tiny, title="小区噪音", body="夜里施工。", dispatch=True)
    hotline_demand(tiny, title="电梯故障", body="坏了。", dispatch=True)
    r = api("handler").get("/demands", text="噪音")
    assert r.status_code == 200
    assert [row["id"] for row in r.json()["items"]] == [d.pk]
    c = Client()
    c.force_login(tiny.users["handler"])
    html = c.get("/demands/", {"q": "噪音"}).content.decode()
    assert "小区噪音" in html and "电梯故障" not in html
    # one character still works on the list, as a plain substring match
    html = c.get("/demands/", {"q": "梯"}).content.decode()
    assert "电梯故障" in html and "小区噪音" not in html


# (PROBE, WALK_HEAD, postings estimate): the rare path (the scope checked id by id); every
# term common: the first window of 1,000 ids (the page for who sees all: the index walk),
# with the planner's own estimate; a walk in windows of 1, 2, 4, … ids to the end of the
# scope (the term "as common as 10**9"); one window of 1 id, then the term's postings drive
# (a term estimated rarer than the scope). Both engines walk the scope the same way.
PLANS = [(200, 1000, None), (1, 1000, None), (1, 1, 10**9), (1, 1, 1)]


def _plan(monkeypatch, probe: int, walk_head: int, estimate: int | None) -> None:
    from sanfuwu.search import selectors

    monkeypatch.setattr(selectors, "PROBE", probe)
    monkeypatch.setattr(selectors, "WALK_HEAD", walk_head)
    monkeypatch.setattr(selectors, "WALK_GROWTH", 2)
    if estimate is not None:
        monkeypatch.setattr(selectors, "estimated_postings", lambda tokens: estimate)


def _all_pages(fetch) -> list[int]:
    got, cursor = [], None
    while True:
        page = fetch(cursor)
        got += [d.pk for d in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return got


@pytest.mark.parametrize("probe, walk_head, estimate", PLANS)
def test_common_and_rare_terms_give_the_same_pages_within_scope(
    tiny, monkeypatch, probe, walk_head, estimate
):
    """Whatever side drives, the pages are those of the rare path."""
    _plan(monkeypatch, probe, walk_head, estimate)
    mine, theirs = [], []
    for i in range(12):
        d = hotline_demand(tiny, title=f"停车难{i}", body="车位紧张。")
        services.demand_dispatch(
            demand=d,
            by=tiny.users["dispatcher"],
            lead_unit=tiny.dept if i % 3 == 0 else tiny.other_dept,
            category=tiny.category,
        )
        (mine if i % 3 == 0 else theirs).append(d.pk)
    handler = tiny.users["handler"]
    got = _all_pages(
        lambda cursor: search_demands(user=handler, query="车位", limit=1, cursor=cursor)
    )
    assert got == sorted(mine, reverse=True)
    everyone = sorted(mine + theirs, reverse=True)
    leader_first = search_demands(user=tiny.users["leader"], query="停车", limit=5)
    assert ids(leader_first) == everyone[:5]
    leader_next = search_demands(
        user=tiny.users["leader"], query="停车", limit=5, cursor=leader_first.next_cursor
    )
    assert ids(leader_next) == everyone[5:10]


@pytest.mark.parametrize("probe, walk_head, estimate", PLANS)
def test_search_finds_what_the_list_filter_finds_for_every_user(
    tiny, monkeypatch, probe, walk_head, estimate
):
    """Scoping exactly like the lists: for every role, every page of a search holds the
    demands the list shows with the same text filter, newest first."""
    from sanfuwu.demands.selectors import DemandFilters, demand_list

    _plan(monkeypatch, probe, walk_head, estimate)
    units = [tiny.dept, tiny.other_dept, tiny.community, tiny.section, None]
    for i in range(15):
        title = "小区噪音扰民" if i % 2 else "电梯故障"
        d = hotline_demand(tiny, title=f"{title}{i}", body="请尽快处理。")
        if units[i % 5] is not None:
            services.demand_dispatch(
                demand=d,
                by=tiny.users["dispatcher"],
                lead_unit=units[i % 5],
                category=tiny.category,
            )
    # the person served finds their own demand (as submitter), and nobody else's
    services.demand_submit(
        by=tiny.users["resident"],
        title="楼下噪音",
        body="每晚都有。",
        kind="complaint",
        channel="portal",
        contact_name="李四",
        contact_phone="13900000000",
    )
    for name, user in tiny.users.items():
        for term in ["噪音", "电梯", "噪音 扰民", "施工"]:
            listed = _all_pages(
                lambda cursor, u=user, t=term: demand_list(
                    user=u, filters=DemandFilters(text=t), limit=2, cursor=cursor
                )
            )
            searched = _all_pages(
                lambda cursor, u=user, t=term: search_demands(
                    user=u, query=t, limit=2, cursor=cursor
                )
            )
            assert searched == listed, (name, term)
    assert _all_pages(
        lambda c: search_demands(user=tiny.users["handler"], query="噪音", cursor=c)
    ), "the handler's scope holds matches: the comparison above is not of empty pages"


def test_a_typed_id_outside_the_scope_is_not_found(tiny):
    theirs = hotline_demand(tiny, title="学校停车", body="门口乱停。")
    services.demand_dispatch(
        demand=theirs,
        by=tiny.users["dispatcher"],
        lead_unit=tiny.other_dept,
        category=tiny.category,
    )
    hotline_demand(tiny, title="停车难", body="车位少。", dispatch=True)
    assert ids(search_demands(user=tiny.users["handler"], query=str(theirs.pk))) == []
    assert ids(search_demands(user=tiny.users["other_handler"], query=str(theirs.pk))) == [
        theirs.pk
    ]
