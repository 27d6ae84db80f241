"""The scenario itself, checked before any report reads it (the lights are the premise)."""

from __future__ import annotations

from sanfuwu.demands.selectors import demand_light

from .conftest import NOW


def test_scenario_lights_at_now(scenario):
    lights = {k: demand_light(d, now=NOW) for k, d in scenario.demands.items()}
    assert lights == {
        "A": "red",
        "B": "yellow",
        "C": "green",
        "D": "green",
        "E": None,
        "F": None,
        "G": None,
    }
    assert scenario.demands["A"].overdue_cycle == scenario.demands["A"].sla_cycle
