"""督办 / 催办: issuing, answering, closing or sending back, its own light and the sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command

from sanfuwu.conftest import hotline_demand, make_user
from sanfuwu.core import clock
from sanfuwu.core.errors import Conflict, Forbidden, InvalidInput
from sanfuwu.demands import services as demand_services
from sanfuwu.demands.models import DemandEvent
from sanfuwu.inbox.models import Notification, NotificationKind
from sanfuwu.orgs.roles import Role
from sanfuwu.supervision import selectors, services
from sanfuwu.supervision.models import OrderEvent, OrderStatus

pytestmark = pytest.mark.django_db


def _issue_on_demand(tiny, demand, *, by="supervisor", days=3):
    return services.order_issue(
        by=tiny.users[by],
        kind="duban",
        demand=demand.pk,
        requirement="请于三日内说明电梯维修进度。",
        working_days=days,
    )


def _inbox(username: str) -> list[str]:
    return list(
        Notification.objects.filter(
            recipient__username=username, kind=NotificationKind.SUPERVISION
        ).values_list("message", flat=True)
    )


def test_supervisor_issues_on_a_demand_the_lead_unit_answers_and_the_issuer_closes(
    tiny, django_capture_on_commit_callbacks
):
    d = hotline_demand(tiny, dispatch=True)
    with django_capture_on_commit_callbacks(execute=True):
        order = _issue_on_demand(tiny, d)
    assert order.unit == tiny.dept and order.title == d.title
    assert order.status == OrderStatus.OPEN
    assert selectors.order_light(order) == "green"
    # the lead unit's head and handlers are told, nobody else
    assert len(_inbox("fuzeren")) == 1 and len(_inbox("chengban")) == 1
    assert _inbox("other_head") == [] and _inbox("ducha") == []
    assert f"督办{order.pk}" in _inbox("fuzeren")[0]

    with django_capture_on_commit_callbacks(execute=True):
        services.order_answer(
            order=order, by=tiny.users["handler"], text="已联系维保单位，周五修复。"
        )
    order.refresh_from_db()
    assert order.status == OrderStatus.ANSWERED and order.answered_by == tiny.users["handler"]
    assert selectors.order_light(order) is None  # the clock stopped
    assert len(_inbox("ducha")) == 1 and "已答复" in _inbox("ducha")[0]

    with django_capture_on_commit_callbacks(execute=True):
        services.order_close(order=order, by=tiny.users["supervisor"], note="认可。")
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED and order.closed_by == tiny.users["supervisor"]
    assert list(OrderEvent.objects.filter(order=order).values_list("action", flat=True)) == [
        "issue",
        "answer",
        "close",
    ]
    # the steps are on the demand's timeline, and its state did not change
    actions = list(
        DemandEvent.objects.filter(demand=d, action__contains="supervis").values_list(
            "action", flat=True
        )
    )
    assert actions == ["supervise", "answer_supervision", "close_supervision"]
    d.refresh_from_db()
    assert d.state == "dispatched"


def test_sending_an_answer_back_starts_a_new_term_and_needs_a_reason(tiny):
    d = hotline_demand(tiny, dispatch=True)
    order = _issue_on_demand(tiny, d)
    services.order_answer(order=order, by=tiny.users["head"], text="在办。")
    with pytest.raises(InvalidInput) as exc:
        services.order_return(order=order, by=tiny.users["supervisor"], reason="  ")
    assert exc.value.field == "reason"
    first_due = order.due_at
    later = clock.now() + timedelta(days=2)
    with clock.frozen_at(later):
        services.order_return(order=order, by=tiny.users["supervisor"], reason="未说明时限。")
    order.refresh_from_db()
    assert order.status == OrderStatus.OPEN and order.cycle == 2 and order.answer == ""
    assert order.due_at > first_due
    # answering twice, or closing an open order, is refused
    services.order_answer(order=order, by=tiny.users["head"], text="周五前修复。")
    with pytest.raises(Conflict):
        services.order_answer(order=order, by=tiny.users["head"], text="again")
    services.order_close(order=order, by=tiny.users["supervisor"])
    with pytest.raises(Conflict):
        services.order_return(order=order, by=tiny.users["supervisor"], reason="x")


def test_light_turns_yellow_then_red_on_working_days(tiny):
    d = hotline_demand(tiny, dispatch=True)
    order = _issue_on_demand(tiny, d, days=5)
    assert selectors.order_light(order, now=order.warn_at) == "yellow"
    assert selectors.order_light(order, now=order.due_at) == "red"
    assert selectors.order_light(order, now=order.warn_at - timedelta(seconds=1)) == "green"
    # 5 working days are at least 5 calendar days (weekends and holidays do not count)
    assert order.due_at - order.created_at >= timedelta(days=5)


def test_sweep_marks_an_overdue_order_once_per_term_and_tells_both_sides(
    tiny, django_capture_on_commit_callbacks
):
    d = hotline_demand(tiny, dispatch=True)
    order = _issue_on_demand(tiny, d, days=1)
    later = order.due_at + timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_supervision_orders(now=later) == 1
        assert services.sweep_supervision_orders(now=later) == 0
    assert OrderEvent.objects.filter(order=order, action="overdue").count() == 1
    assert DemandEvent.objects.filter(demand=d, action="mark_supervision_overdue").count() == 1
    assert any("超期" in m for m in _inbox("ducha"))
    assert any("超期" in m for m in _inbox("fuzeren"))
    # a late answer is recorded as late; a new term after sending back can be overdue again
    with clock.frozen_at(later):
        services.order_answer(order=order, by=tiny.users["head"], text="晚了。")
        services.order_return(order=order, by=tiny.users["supervisor"], reason="再说明。")
    order.refresh_from_db()
    assert services.sweep_supervision_orders(now=later) == 0
    assert services.sweep_supervision_orders(now=order.due_at + timedelta(minutes=1)) == 1
    assert OrderEvent.objects.filter(order=order, action="overdue").count() == 2


def _yellow_moment(order):
    order.refresh_from_db()
    return order.warn_at + (order.due_at - order.warn_at) / 2


def test_sweep_warns_the_answering_unit_once_per_term_when_the_order_turns_yellow(
    tiny, django_capture_on_commit_callbacks
):
    d = hotline_demand(tiny, dispatch=True)
    with django_capture_on_commit_callbacks(execute=True):
        order = _issue_on_demand(tiny, d, days=5)
    moment = _yellow_moment(order)
    assert selectors.order_light(order, now=moment) == "yellow"
    assert services.sweep_supervision_warnings(now=order.warn_at - timedelta(seconds=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_supervision_warnings(now=moment) == 1
        assert services.sweep_supervision_warnings(now=moment) == 0
        # red later on: the overdue mark, never a second yellow notice
        assert services.sweep_supervision_warnings(now=order.due_at) == 0
    assert OrderEvent.objects.filter(order=order, action="warning").count() == 1

    def warnings(name):
        return [m for m in _inbox(name) if "即将超期" in m]

    # the unit that must answer: its head and the demand's handler, each once; not the issuer
    assert len(warnings("fuzeren")) == 1 and len(warnings("chengban")) == 1
    assert warnings("ducha") == [] and warnings("other_head") == []
    assert f"督办{order.pk}" in warnings("fuzeren")[0]
    # the demand's timeline and state are left alone
    assert not DemandEvent.objects.filter(demand=d, action__contains="warn").exists()

    # sent back: a new term warns once more
    with clock.frozen_at(moment):
        services.order_answer(order=order, by=tiny.users["head"], text="在办。")
        services.order_return(order=order, by=tiny.users["supervisor"], reason="请说明时限。")
    second = _yellow_moment(order)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_supervision_warnings(now=second) == 1
        assert services.sweep_supervision_warnings(now=second) == 0
    assert OrderEvent.objects.filter(order=order, action="warning").count() == 2
    assert len(warnings("fuzeren")) == 2


def test_no_yellow_notice_once_the_answer_is_late_or_given(tiny):
    d = hotline_demand(tiny, dispatch=True)
    late = _issue_on_demand(tiny, d, days=2)
    answered = services.order_issue(
        by=tiny.users["leader"],
        kind="cuiban",
        unit=tiny.other_dept,
        title="积压清理",
        requirement="请报送。",
        working_days=10,
    )
    services.order_answer(order=answered, by=tiny.users["other_head"], text="已报送。")
    # by then the first one is past its deadline, the second answered: nobody is warned
    assert services.sweep_supervision_warnings(now=_yellow_moment(answered)) == 0
    # a sweep that first runs after the deadline only marks it overdue
    after = late.due_at + timedelta(minutes=1)
    assert services.sweep_supervision_warnings(now=after) == 0
    assert services.sweep_supervision_orders(now=after) == 1
    assert not OrderEvent.objects.filter(action="warning").exists()


def test_a_unit_order_warns_the_units_head_only(tiny, django_capture_on_commit_callbacks):
    order = services.order_issue(
        by=tiny.users["leader"],
        kind="duban",
        unit=tiny.dept,
        title="积压清理",
        requirement="请说明超期原因。",
        working_days=3,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_supervision_warnings(now=_yellow_moment(order)) == 1
    rows = Notification.objects.filter(kind=NotificationKind.SUPERVISION, demand__isnull=True)
    assert list(rows.values_list("recipient__username", flat=True)) == ["fuzeren"]
    assert "即将超期" in rows.get().message and "住建局" in rows.get().message


def test_sweep_deadlines_command_sweeps_orders_too(tiny, capsys):
    d = hotline_demand(tiny, dispatch=True)
    order = _issue_on_demand(tiny, d, days=1)
    with clock.frozen_at(_yellow_moment(order)):
        call_command("sweep_deadlines")
    assert "督办即将超期 1，督办超期 0" in capsys.readouterr().out
    with clock.frozen_at(order.due_at + timedelta(hours=1)):
        call_command("sweep_deadlines")
        call_command("sweep_deadlines")
    out = capsys.readouterr().out
    assert "督办超期 1" in out and "督办超期 0" in out and "督办即将超期 1" not in out
    assert OrderEvent.objects.filter(order=order, action="overdue").count() == 1
    assert OrderEvent.objects.filter(order=order, action="warning").count() == 1


def test_only_supervisors_and_leaders_over_the_unit_issue(tiny):
    d = hotline_demand(tiny, dispatch=True)
    for name in ("handler", "head", "dispatcher", "grid_worker", "stranger"):
        with pytest.raises(Forbidden):
            _issue_on_demand(tiny, d, by=name)
    # a street's supervisor cannot issue on a district department
    street_sup = make_user("jd_ducha", tiny.street, Role.SUPERVISOR)
    with pytest.raises(Forbidden):
        services.order_issue(
            by=street_sup, kind="cuiban", unit=tiny.dept, requirement="请报送。", working_days=2
        )
    order = services.order_issue(
        by=street_sup,
        kind="cuiban",
        unit=tiny.community,
        title="垃圾分类整改",
        requirement="请报送。",
        working_days=2,
    )
    assert order.unit == tiny.community and order.demand is None
    # the leader too; on a demand not yet dispatched there is nobody to answer
    _issue_on_demand(tiny, d, by="leader")
    fresh = hotline_demand(tiny)
    with pytest.raises(InvalidInput) as exc:
        _issue_on_demand(tiny, fresh)
    assert exc.value.field == "demand"
    assert DemandEvent.objects.filter(demand=fresh, action="supervise").count() == 0


def test_only_the_target_unit_answers_and_only_the_issuer_side_decides(tiny):
    d = hotline_demand(tiny, dispatch=True)
    order = _issue_on_demand(tiny, d)
    for name in ("other_head", "other_handler", "dispatcher", "leader", "supervisor"):
        with pytest.raises(Forbidden):
            services.order_answer(order=order, by=tiny.users[name], text="x")
    services.order_answer(order=order, by=tiny.users["head"], text="已办。")
    for name in ("head", "handler", "dispatcher"):
        with pytest.raises(Forbidden):
            services.order_close(order=order, by=tiny.users[name])
    # a unit order is answered by the unit's head only
    unit_order = services.order_issue(
        by=tiny.users["leader"],
        kind="duban",
        unit=tiny.dept,
        title="t",
        requirement="r",
        working_days=3,
    )
    with pytest.raises(Forbidden):
        services.order_answer(order=unit_order, by=tiny.users["handler"], text="x")
    services.order_answer(order=unit_order, by=tiny.users["head"], text="好。")
    services.order_close(order=unit_order, by=tiny.users["supervisor"])  # a colleague over it


def test_orders_are_scoped_by_the_unit_tree(tiny):
    d = hotline_demand(tiny, dispatch=True)
    order = _issue_on_demand(tiny, d)
    street_sup = make_user("jd_ducha", tiny.street, Role.SUPERVISOR)
    street_order = services.order_issue(
        by=street_sup,
        kind="duban",
        unit=tiny.community,
        title="t",
        requirement="r",
        working_days=3,
    )

    def visible(name_or_user):
        user = tiny.users[name_or_user] if isinstance(name_or_user, str) else name_or_user
        return set(selectors.orders_visible_to(user).values_list("pk", flat=True))

    assert visible("supervisor") == {order.pk, street_order.pk}
    assert visible("leader") == {order.pk, street_order.pk}
    assert visible(street_sup) == {street_order.pk}
    assert visible("head") == {order.pk} and visible("handler") == {order.pk}
    assert visible("other_head") == set() and visible("stranger") == set()
    assert visible("admin") == {order.pk, street_order.pk}


def test_checks_at_the_edge(tiny):
    d = hotline_demand(tiny, dispatch=True)
    with pytest.raises(InvalidInput) as exc:
        _issue_on_demand(tiny, d, days=0)
    assert exc.value.field == "working_days"
    with pytest.raises(InvalidInput):
        services.order_issue(
            by=tiny.users["supervisor"],
            kind="duban",
            demand=d.pk,
            unit=tiny.dept,
            requirement="r",
            working_days=3,
        )
    with pytest.raises(InvalidInput) as exc:
        services.order_issue(
            by=tiny.users["supervisor"],
            kind="nope",
            demand=d.pk,
            requirement="r",
            working_days=3,
        )
    assert exc.value.field == "kind"
    closed = hotline_demand(tiny)
    demand_services.demand_reject(demand=closed, by=tiny.users["dispatcher"], reason="重复")
    with pytest.raises(InvalidInput):
        _issue_on_demand(tiny, closed)
