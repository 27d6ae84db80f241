"""Suggestions for a page of demands cost one category query, and say the same as one by one."""

from __future__ import annotations

from sanfuwu.insights.selectors import route_suggestion, route_suggestions

TEXTS = [
    ("小区电梯经常故障", "3幢电梯一周坏了三次，物业不修，老人上下楼困难。"),
    ("学校周边交通拥堵", "放学时校门口车辆乱停，孩子过马路很危险。"),
    ("噪音", ""),
    ("", ""),
]


def test_a_page_of_suggestions_takes_one_query_and_matches_the_single_calls(
    tiny, django_assert_max_num_queries
):
    with django_assert_max_num_queries(1):
        batch = route_suggestions(TEXTS)
    assert len(batch) == len(TEXTS)
    for (title, body), hint in zip(TEXTS, batch, strict=True):
        assert hint == route_suggestion(title=title, body=body)
    assert batch[3]["label"] is None and batch[3]["category_id"] is None
