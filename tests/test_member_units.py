"""Member-only units (capacity 0, as in the Guangdong scenario's groups) get no lead pair: the lead model keeps its
size and optimum; explain and the pre-solve checks name capacity for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import (Pin, PinAction, Relationship, RelationshipKind, Rule, Scenario, Tier, Unit, UnitKind,
                    load_scenario)
from optimizer import audit, solve
from optimizer.checks import presolve_checks
from optimizer.explain import explain
from optimizer.model import candidate_pairs

TINY = Path(__file__).resolve().parent.parent / "scenarios" / "tiny" / "scenario.yaml"
MEMBERS = 5


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return load_scenario(TINY)


def _with(scenario: Scenario, **tables: tuple[object, ...]) -> Scenario:
    fields = {name: getattr(scenario, name) for name in Scenario.model_fields}
    return Scenario(**fields | {name: fields[name] + rows for name, rows in tables.items()})


def _members(n: int) -> tuple[Unit, ...]:
    return tuple(Unit(unit_id=f"member-{k}", name=f"成员单位{k}", tier=Tier.PROVINCIAL, capacity=0, strength=3,
                      kind=UnitKind.ENTERPRISE, member_capacity=1, lon=113.3, lat=23.1) for k in range(n))


def test_member_units_add_no_lead_pair_and_leave_the_optimum(tiny: Scenario) -> None:
    more = _with(tiny, units=_members(MEMBERS))
    before, _ = candidate_pairs(tiny)
    after, pruned = candidate_pairs(more)
    assert len(after) == len(before)
    assert pruned[Rule.CAPACITY] == MEMBERS * len(tiny.key_towns)  # provincial, strength 3: eligible everywhere
    result = solve(more)
    assert result.status.value == "OPTIMAL" and result.objective == solve(tiny).objective
    assert result.plan is not None and audit(more, result.plan).passed
    assert not {a.unit_id for a in result.plan.assignments} & {u.unit_id for u in _members(MEMBERS)}


def test_explain_says_a_member_unit_cannot_keep_its_previous_lead(tiny: Scenario) -> None:
    previous = {r.town_id for r in tiny.relationships if r.kind is RelationshipKind.PREVIOUS_LEAD}
    town = next(t.town_id for t in tiny.key_towns if t.town_id not in previous)
    more = _with(tiny, units=_members(1), relationships=(
        Relationship(unit_id="member-0", kind=RelationshipKind.PREVIOUS_LEAD, town_id=town),))
    more = more.model_copy(update={"policy": more.policy.model_copy(update={"max_changes": None})})
    result = solve(more)
    assert result.plan is not None
    earlier = next(t for t in explain(more, result.plan).towns if t.town_id == town).previous
    assert earlier is not None and not earlier.kept
    assert (earlier.kind, earlier.rules) == ("capacity", (Rule.CAPACITY,)) and "capacity 0" in earlier.message


def test_a_pin_on_a_member_unit_is_a_capacity_conflict(tiny: Scenario) -> None:
    town = next(t.town_id for t in tiny.key_towns if t.town_id not in {p.town_id for p in tiny.pins})
    more = _with(tiny, units=_members(1), pins=(Pin(unit_id="member-0", town_id=town, action=PinAction.PIN),))
    conflicts = presolve_checks(more, candidate_pairs(more)[0])
    assert [(c.rules, c.entities) for c in conflicts] == [((Rule.PINS, Rule.CAPACITY), ("member-0", town))]
    assert "may lead no town (capacity 0)" in conflicts[0].message
    result = solve(more)
    assert result.status.value == "INFEASIBLE" and result.conflicts == tuple(conflicts)
