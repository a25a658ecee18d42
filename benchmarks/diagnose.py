"""Benchmark the diagnosis of infeasible Guangdong variants: seconds, feasibility questions, conflict size.

    python benchmarks/diagnose.py [--repeat 3] [--methods flow,cp-sat] [--time-limit 120] [--variants ...]

Variants of ``scenarios/guangdong-2021`` (the three of issue 3's Done-when, plus one whose conflict needs side
rows):

- ``prd-short-16``: 东莞's units lose capacity until the prd units can lead 284 towns, 16 below the prd quota;
- ``pin-ineligible``: 广州市荔湾区 pinned to a key town of 汕头市 (a counterpart city of 深圳, not of 广州);
- ``quota-vs-pairings``: four Shenzhen districts of capacity 5 paired with 源城区, which has no key town;
- ``city-quotas-vs-gz``: 广州's units keep capacity 50 (the rest moves to 东莞's), but 湛江 and 梅州 must get 24 + 30
  prd-led towns and only 广州's units may lead there — a conflict of side rows (city quotas), decided by LPs.

``flow`` is :func:`optimizer.diagnose.find_conflict` as shipped; ``cp-sat`` the same QuickXplain with every
question answered by CP-SAT alone (:class:`optimizer.feasibility.CpSatOracle`, the reference). Each row is the
median of ``--repeat`` runs in this process (the scenario is loaded once); "questions" counts max-flows (flow),
LPs, CP-SAT solves and questions answered from earlier answers (inferred). A run that hits the time limit shows
``—`` for the conflict.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console
from rich.table import Table

from models import Pin, PinAction, Relationship, RelationshipKind, Scenario, Tier, load_scenario
from optimizer.diagnose import Diagnosis, Method, find_conflict

GUANGDONG = ROOT / "scenarios" / "guangdong-2021" / "scenario.yaml"


def _rebuilt(scenario: Scenario, **tables: object) -> Scenario:
    fields = {name: getattr(scenario, name) for name in Scenario.model_fields}
    return Scenario(**fields | tables)


def _moved_capacity(scenario: Scenario, city: str, keep: int, to: str | None) -> Scenario:
    """The prd units of ``city`` keep ``keep`` capacity in all (the last units in file order give theirs up
    first); what they lose goes, 2 per unit, to the leading prd units of ``to`` (or nowhere)."""
    units = list(scenario.units)
    cut = sum(u.capacity for u in units if u.tier is Tier.PRD and u.city == city) - keep
    lost = cut
    for i in reversed(range(len(units))):
        u = units[i]
        if u.tier is Tier.PRD and u.city == city and cut > 0:
            take = min(cut, u.capacity)
            units[i], cut = u.model_copy(update={"capacity": u.capacity - take}), cut - take
    for i, u in enumerate(units):
        if to is not None and u.tier is Tier.PRD and u.city == to and u.capacity > 0 and lost > 0:
            units[i], lost = u.model_copy(update={"capacity": u.capacity + min(2, lost)}), lost - min(2, lost)
    return _rebuilt(scenario, units=tuple(units))


def prd_short(scenario: Scenario) -> Scenario:
    prd = sum(u.capacity for u in scenario.units if u.tier is Tier.PRD)
    dongguan = sum(u.capacity for u in scenario.units if u.tier is Tier.PRD and u.city == "东莞市")
    return _moved_capacity(scenario, "东莞市", dongguan - (prd - 284), None)


def pin_ineligible(scenario: Scenario) -> Scenario:
    town = next(t for t in scenario.key_towns if t.city == "汕头市" and not (t.border or t.ethnic or t.old_base))
    return _rebuilt(scenario, pins=(Pin(unit_id="prd-gz-liwan", town_id=town.town_id, action=PinAction.PIN),))


def quota_vs_pairings(scenario: Scenario) -> Scenario:
    moved = ("prd-sz-baoan", "prd-sz-futian", "prd-sz-longhua", "prd-sz-nanshan")
    kept = tuple(r for r in scenario.relationships
                 if not (r.kind is RelationshipKind.COUNTY_PAIRING and r.unit_id in moved))
    return _rebuilt(scenario, relationships=kept + tuple(
        Relationship(unit_id=u, kind=RelationshipKind.COUNTY_PAIRING, county="源城区") for u in moved))


def city_quotas_vs_gz(scenario: Scenario) -> Scenario:
    return _moved_capacity(scenario, "广州市", 50, "东莞市")


VARIANTS: dict[str, Callable[[Scenario], Scenario]] = {
    "prd-short-16": prd_short, "pin-ineligible": pin_ineligible, "quota-vs-pairings": quota_vs_pairings,
    "city-quotas-vs-gz": city_quotas_vs_gz,
}


def _row(runs: list[Diagnosis]) -> dict[str, str]:
    median = statistics.median_low(r.seconds for r in runs)
    run = next(r for r in runs if r.seconds == median)
    asked = ", ".join(f"{run.checks[k]} {k}" for k in ("flow", "lp", "cp-sat", "inferred") if run.checks[k])
    return {"seconds": f"{median:.2f}", "questions": asked or "—",
            "size": "—" if run.conflicts is None else str(len(run.conflicts)),
            "conflict": "—" if run.conflicts is None else " + ".join(run.keys)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--methods", default="flow", help="comma-separated: flow, cp-sat")
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    base = load_scenario(GUANGDONG)
    table = Table(title=f"diagnosis of Guangdong variants: median of {args.repeat}, time limit {args.time_limit:g} s, "
                        f"{os.cpu_count()} CPUs, load before {os.getloadavg()[0]:.1f}")
    for name in ("scenario", "method", "seconds", "questions", "size", "conflict"):
        table.add_column(name, justify="right" if name in ("seconds", "size") else "left")
    for variant in args.variants.split(","):
        scenario = VARIANTS[variant](base)
        for method in args.methods.split(","):
            m: Method = "cp-sat" if method == "cp-sat" else "flow"
            runs = [find_conflict(scenario, args.time_limit, method=m) for _ in range(args.repeat)]
            row = _row(runs)
            print(f"{variant} {method}: {row['seconds']} s", file=sys.stderr, flush=True)
            table.add_row(variant, method, *row.values())
    console = Console(width=200)
    console.print(table)
    console.print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
