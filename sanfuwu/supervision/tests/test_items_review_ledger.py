"""监督问效 items, the review list and the 督办 ledger."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import load_workbook

from sanfuwu.conftest import hotline_demand, make_user
from sanfuwu.core.errors import Conflict, Forbidden, InvalidInput
from sanfuwu.demands import services as demand_services
from sanfuwu.demands.models import DemandEvent
from sanfuwu.orgs.roles import Role
from sanfuwu.supervision import selectors, services
from sanfuwu.supervision.models import ItemEvent, ItemStatus, ReviewMark

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def _item(tiny, **kw):
    values = {
        "by": tiny.users["supervisor"],
        "title": "老旧小区加装电梯",
        "target": "全年完成加装电梯40台。",
        "owner_unit": tiny.dept,
        "period": "2026年",
        **kw,
    }
    return services.item_create(**values)


def test_an_item_with_milestones_reports_evidence_and_linked_demands(tiny):
    item = _item(tiny)
    assert item.status == ItemStatus.NOT_STARTED
    m1 = services.milestone_add(
        item=item, by=tiny.users["supervisor"], due_date="2026-03-31", description="方案"
    )
    services.milestone_add(
        item=item, by=tiny.users["head"], due_date=date(2099, 6, 30), description="过半"
    )
    services.milestone_done(milestone=m1, by=tiny.users["handler"])
    m1.refresh_from_db()
    assert m1.done and m1.done_by == tiny.users["handler"]
    with pytest.raises(Conflict):
        services.milestone_done(milestone=m1, by=tiny.users["handler"])
    report = services.report_add(item=item, by=tiny.users["head"], text="完成12台。")
    assert report.unit == tiny.dept
    # only the owner unit reports
    with pytest.raises(Forbidden):
        services.report_add(item=item, by=tiny.users["supervisor"], text="x")
    with pytest.raises(Forbidden):
        services.report_add(item=item, by=tiny.users["other_head"], text="x")
    d = hotline_demand(tiny, dispatch=True)
    services.item_link_demand(item=item, by=tiny.users["head"], demand=d.pk)
    assert list(item.demands.all()) == [d]
    rows = services.evidence_add(
        item=item,
        by=tiny.users["handler"],
        files=[SimpleUploadedFile("验收.png", PNG, content_type="image/png")],
    )
    assert rows[0].content_type == "image/png" and rows[0].size == len(PNG)
    with pytest.raises(InvalidInput) as exc:
        services.evidence_add(
            item=item,
            by=tiny.users["handler"],
            files=[
                SimpleUploadedFile("x.png", b"MZ\x90\x00 not an image", content_type="image/png")
            ],
        )
    assert exc.value.field == "files"
    services.item_set_status(item=item, by=tiny.users["head"], status=ItemStatus.IN_PROGRESS)
    with pytest.raises(Forbidden):
        services.item_set_status(item=item, by=tiny.users["handler"], status=ItemStatus.DONE)
    item.refresh_from_db()
    assert item.status == ItemStatus.IN_PROGRESS
    assert list(ItemEvent.objects.filter(item=item).values_list("action", flat=True)) == [
        "create",
        "milestone_add",
        "milestone_add",
        "milestone_done",
        "report",
        "link_demand",
        "evidence",
        "status",
    ]


def test_items_are_scoped_and_filtered(tiny):
    mine = _item(tiny)
    other = _item(tiny, title="学校食堂提升", owner_unit=tiny.other_dept)
    street_sup = make_user("jd_ducha", tiny.street, Role.SUPERVISOR)
    with pytest.raises(Forbidden):
        _item(tiny, by=street_sup, title="x")
    with pytest.raises(Forbidden):
        _item(tiny, by=tiny.users["head"], title="y")

    def ids(user, **f):
        return set(
            selectors.item_list(user=user, filters=selectors.ItemFilters(**f)).values_list(
                "pk", flat=True
            )
        )

    assert ids(tiny.users["supervisor"]) == {mine.pk, other.pk}
    assert ids(tiny.users["head"]) == {mine.pk}
    assert ids(tiny.users["other_handler"]) == {other.pk}
    assert ids(street_sup) == set() and ids(tiny.users["stranger"]) == set()
    assert ids(tiny.users["supervisor"], unit=tiny.dept.pk) == {mine.pk}
    assert ids(tiny.users["supervisor"], text="食堂") == {other.pk}
    services.milestone_add(
        item=other, by=tiny.users["supervisor"], due_date="2020-01-01", description="旧节点"
    )
    assert ids(tiny.users["supervisor"], behind=True) == {other.pk}
    with pytest.raises(InvalidInput):
        ids(tiny.users["supervisor"], status="bogus")


def _unsatisfied(tiny):
    d = hotline_demand(tiny, dispatch=True)
    demand_services.demand_sign(demand=d, by=tiny.users["handler"])
    demand_services.demand_submit_reply(demand=d, by=tiny.users["handler"], text="已修。")
    demand_services.demand_approve_reply(demand=d, by=tiny.users["head"])
    demand_services.demand_rate(demand=d, value="unsatisfied", token=d.rating_token)
    d.refresh_from_db()
    return d


def test_review_list_holds_unsatisfied_and_reopened_demands_until_reviewed(tiny):
    d = _unsatisfied(tiny)
    calm = hotline_demand(tiny, dispatch=True)
    sup = tiny.users["supervisor"]
    assert [x.pk for x in selectors.review_list(user=sup)] == [d.pk]
    assert calm.pk not in [x.pk for x in selectors.review_list(user=sup)]
    # scoped: only supervisors (and admins), within their area
    assert list(selectors.review_list(user=tiny.users["head"])) == []
    with pytest.raises(Forbidden):
        services.review_mark(demand=d, by=tiny.users["leader"])
    street_sup = make_user("jd_ducha", tiny.street, Role.SUPERVISOR)
    assert list(selectors.review_list(user=street_sup)) == []

    services.review_mark(demand=d, by=sup, note="已约谈承办单位。")
    assert list(selectors.review_list(user=sup)) == []
    assert [x.pk for x in selectors.review_list(user=sup, reviewed=True)] == [d.pk]
    assert DemandEvent.objects.filter(demand=d, action="supervision_review").count() == 1
    with pytest.raises(Conflict):
        services.review_mark(demand=d, by=sup)
    with pytest.raises(InvalidInput):
        services.review_mark(demand=calm, by=sup)
    # a second 不满意 puts it back on the list
    demand_services.demand_submit_reply(demand=d, by=tiny.users["handler"], text="再修。")
    demand_services.demand_approve_reply(demand=d, by=tiny.users["head"])
    demand_services.demand_rate(demand=d, value="unsatisfied", token=d.rating_token)
    assert [x.pk for x in selectors.review_list(user=sup)] == [d.pk]
    assert ReviewMark.objects.filter(demand=d).count() == 1


def test_ledger_rows_are_scoped_and_filtered_by_date(tiny):
    d = hotline_demand(tiny, dispatch=True)
    order = services.order_issue(
        by=tiny.users["supervisor"],
        kind="duban",
        demand=d,
        requirement="=cmd|' /C calc'!A0",
        working_days=3,
    )
    rows = list(selectors.supervision_ledger_rows(tiny.users["supervisor"], None, None))
    assert len(rows) == 1 and len(rows[0]) == len(selectors.LEDGER_HEADER)
    assert rows[0][0] == order.pk and rows[0][2] == d.pk and rows[0][9] == "待答复"
    assert rows[0][10] == "绿灯"
    assert list(selectors.supervision_ledger_rows(tiny.users["other_head"], None, None)) == []
    today = timezone.localdate(order.created_at)  # the ledger's dates are Beijing days
    assert list(selectors.supervision_ledger_rows(tiny.users["supervisor"], today, today))
    future = today + timedelta(days=5)
    assert list(selectors.supervision_ledger_rows(tiny.users["supervisor"], future, None)) == []
    with pytest.raises(InvalidInput):
        list(selectors.supervision_ledger_rows(tiny.users["supervisor"], future, today))


def test_the_ledger_xlsx_opens_with_openpyxl(tiny, client):
    d = hotline_demand(tiny, dispatch=True)
    services.order_issue(
        by=tiny.users["supervisor"],
        kind="duban",
        demand=d,
        requirement='=HYPERLINK("x")',
        working_days=3,
    )
    client.force_login(tiny.users["supervisor"])
    response = client.get("/supervision/ledger.xlsx")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0] == selectors.LEDGER_HEADER
    assert rows[1][4] == d.title
    assert rows[1][5].startswith("'=")  # never a formula
    assert client.get("/supervision/ledger.xlsx?from=bad").status_code == 422
