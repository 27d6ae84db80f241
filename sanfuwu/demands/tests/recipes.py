"""Drive a demand into any state through the real services (for the state-machine tests)."""

from __future__ import annotations

from dataclasses import dataclass

from sanfuwu.conftest import Tiny
from sanfuwu.demands import services
from sanfuwu.demands.models import Demand
from sanfuwu.demands.workflow import Actor, State
from sanfuwu.orgs.models import User


@dataclass
class Route:
    """Who plays each actor: a district-dispatched demand (lead 住建局, co 教育局) or a
    street-dispatched one (lead: the street itself)."""

    tiny: Tiny
    street: bool = False
    co: bool = True

    def user(self, actor: str) -> User:
        u = self.tiny.users
        if self.street:
            table = {
                Actor.DISPATCHER: u["street_dispatcher"],
                Actor.LEAD_HANDLER: u["street_handler"],
                Actor.LEAD_HEAD: u["street_head"],
            }
            if actor in table:
                return table[actor]
        return {
            Actor.DISPATCHER: u["dispatcher"],
            Actor.LEAD_HANDLER: u["handler"],
            Actor.LEAD_HEAD: u["head"],
            Actor.CO_UNIT: u["other_handler"],
            Actor.SUPERVISOR: u["supervisor"],
            Actor.SUBMITTER: u["resident"],
        }[actor]

    @property
    def lead(self):
        return self.tiny.street if self.street else self.tiny.dept

    @property
    def co_units(self):
        return [] if self.street or not self.co else [self.tiny.other_dept]

    @property
    def dispatch_unit(self):
        return self.tiny.street if self.street else self.tiny.root


def new_demand(route: Route, title: str = "路灯不亮") -> Demand:
    return services.demand_submit(
        by=route.user(Actor.SUBMITTER),
        title=title,
        body="小区门口路灯坏了一个月。",
        kind="complaint",
        channel="portal",
        contact_name="王五",
        contact_phone="13812345678",
        dispatch_unit=route.dispatch_unit,
    ).demand


def _reply(d: Demand, r: Route) -> None:
    if r.co_units and not d.parties.filter(role="co", contributed_at__isnull=False).exists():
        services.demand_contribute(
            demand=d, by=r.user(Actor.CO_UNIT), text="协办意见：已配合核实。"
        )
    services.demand_submit_reply(demand=d, by=r.user(Actor.LEAD_HANDLER), text="已修复路灯。")
    services.demand_approve_reply(demand=d, by=r.user(Actor.LEAD_HEAD))


def drive(state: str, route: Route, *, reopened: bool = False, extension: bool = False) -> Demand:
    d = _drive(state, route, reopened=reopened, extension=extension)
    d.refresh_from_db()
    return d


def _drive(state: str, route: Route, *, reopened: bool = False, extension: bool = False) -> Demand:
    """A fresh demand in `state`. `reopened`: it went through one 不满意 round first (where
    the state comes after handling). `extension`: an extension request is pending from
    handling on."""
    r = route
    d = new_demand(r)
    if state == State.SUBMITTED:
        return d
    if state == State.REJECTED:
        services.demand_reject(demand=d, by=r.user(Actor.DISPATCHER), reason="不属于受理范围")
        return d
    if state == State.MERGED:
        other = new_demand(r, "路灯不亮（首件）")
        services.demand_merge(demand=d, by=r.user(Actor.DISPATCHER), into=other)
        return d
    if state == State.WITHDRAWN:
        services.demand_withdraw(demand=d, by=r.user(Actor.SUBMITTER), reason="已自行解决")
        return d
    services.demand_dispatch(
        demand=d,
        by=r.user(Actor.DISPATCHER),
        lead_unit=r.lead,
        co_units=r.co_units,
        category=r.tiny.category,
    )
    if state == State.DISPATCHED:
        return d
    if state == State.RETURNED:
        services.demand_return(
            demand=d,
            by=r.user(Actor.LEAD_HANDLER),
            reason_code="not_our_duty",
            reason="非本单位职责",
        )
        return d
    services.demand_sign(demand=d, by=r.user(Actor.LEAD_HANDLER))
    if reopened:
        _reply(d, r)
        services.demand_rate(demand=d, by=r.user(Actor.SUBMITTER), value="unsatisfied")
        d.refresh_from_db()
    if extension:
        services.demand_request_extension(
            demand=d, by=r.user(Actor.LEAD_HANDLER), working_days=3, reason="需协调"
        )
    if state == State.HANDLING:
        return d
    if state in (State.ESCALATING, State.TRANSFERRED):
        services.demand_request_escalation(
            demand=d, by=r.user(Actor.LEAD_HANDLER), reason="超出职权"
        )
        if state == State.TRANSFERRED:
            assert not r.street, "only a district-level demand goes to the city"
            services.demand_decide_escalation(
                demand=d, by=r.user(Actor.LEAD_HEAD), approve=True, upper_reference="SJ-001"
            )
        return d
    if state == State.REPLY_REVIEW:
        if r.co_units and not d.parties.filter(role="co", contributed_at__isnull=False).exists():
            services.demand_contribute(demand=d, by=r.user(Actor.CO_UNIT), text="协办意见")
        services.demand_submit_reply(demand=d, by=r.user(Actor.LEAD_HANDLER), text="已修复。")
        return d
    _reply(d, r)
    if state == State.REPLIED:
        return d
    if state == State.REVISITED:
        services.demand_revisit(demand=d, by=r.user(Actor.DISPATCHER), reached=True)
        return d
    if state == State.UNDER_REVIEW:
        if not reopened:
            services.demand_rate(demand=d, by=r.user(Actor.SUBMITTER), value="unsatisfied")
            _reply(d, r)
        services.demand_rate(demand=d, by=r.user(Actor.SUBMITTER), value="unsatisfied")
        return d
    services.demand_rate(demand=d, by=r.user(Actor.SUBMITTER), value="satisfied")
    if state == State.RATED:
        return d
    assert state == State.CLOSED, state
    services.demand_reconcile(demand=d, by=r.user(Actor.DISPATCHER))
    return d
