"""What the demand page adds from the text intelligence: likely duplicates (in triage) and
the common problems the demand belongs to."""

from __future__ import annotations

from typing import Any

from sanfuwu.demands.duplicates import similar_to_demand
from sanfuwu.demands.models import Demand
from sanfuwu.demands.workflow import TERMINAL_STATES
from sanfuwu.orgs.models import User


def demand_panels(*, user: User, demand: Demand, allowed: set[str], person: bool) -> dict[str, Any]:
    """`similar`: only while the user may merge this demand (the dispatcher in triage);
    `common_problems`: for staff, never for the person served."""
    from sanfuwu.api.serialize import demand_dict
    from sanfuwu.insights.hot_selectors import problems_of_demand

    out: dict[str, Any] = {"similar": [], "common_problems": []}
    if person:
        return out
    if "merge" in allowed:
        out["similar"] = [
            {
                "d": demand_dict(h.demand, user=user),
                "reasons": h.reasons,
                "mergeable": h.demand.state not in TERMINAL_STATES,
            }
            for h in similar_to_demand(user=user, demand=demand)
        ]
    out["common_problems"] = problems_of_demand(demand)
    return out
