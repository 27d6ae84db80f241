"""No code outside demands/services.py assigns a demand's state."""

from __future__ import annotations

import ast
from pathlib import Path

import sanfuwu

ROOT = Path(sanfuwu.__file__).resolve().parent
ALLOWED = ROOT / "demands" / "services.py"


def state_writes(path: Path) -> list[int]:
    """Line numbers of `x.state = …`, `x.state += …`, `setattr(x, "state", …)`,
    `.update(state=…)`, `.create(state=…)` and `Demand(state=…)` in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines: list[int] = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Attribute) and sub.attr == "state":
                    lines.append(node.lineno)
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if (
                name == "setattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value == "state"
            ):
                lines.append(node.lineno)
            if name in {
                "update",
                "create",
                "get_or_create",
                "update_or_create",
                "Demand",
                "bulk_update",
            }:
                if any(kw.arg == "state" for kw in node.keywords):
                    lines.append(node.lineno)
                if name == "bulk_update" and any(
                    isinstance(a, ast.List | ast.Tuple)
                    and any(isinstance(e, ast.Constant) and e.value == "state" for e in a.elts)
                    for a in node.args
                ):
                    lines.append(node.lineno)
    return lines


def source_files() -> list[Path]:
    return [
        p
        for p in ROOT.rglob("*.py")
        if "migrations" not in p.parts and "tests" not in p.parts and p.name != "conftest.py"
    ]


def test_the_scan_finds_the_state_assignment_in_services():
    assert state_writes(ALLOWED), "the scan must see services.py assigning the state"


def test_the_scan_sees_every_form_of_assignment(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "d.state = 'closed'\n"
        "setattr(d, 'state', 'closed')\n"
        "Demand.objects.filter(pk=1).update(state='closed')\n"
        "Demand.objects.create(state='closed')\n"
        "Demand(state='closed')\n"
        "x = d.state\n",
        encoding="utf-8",
    )
    assert state_writes(sample) == [1, 2, 3, 4, 5]


def test_no_code_outside_the_service_functions_assigns_a_demand_state():
    files = source_files()
    assert ALLOWED in files and len(files) > 20
    offenders = {
        str(p.relative_to(ROOT)): lines
        for p in files
        if p != ALLOWED and (lines := state_writes(p))
    }
    assert offenders == {}
