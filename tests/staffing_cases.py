"""Small staffing scenarios built in code, and hypothesis strategies for random ones.

Units are provincial (no city rules); the plan names each town's lead and member units directly, so the tests
exercise staffing alone. Cadres default to someone every rule accepts (a Party member of 35 with 5 Party years,
10 years of work, rank 正科) and each case changes what it needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn

from models import Cadre, Category, Plan, Policy, Relationship, RelationshipKind, Scenario, Tier, Town, Unit
from models.staffing import StaffingPolicy
from optimizer.teams.rotation import policy_clash

RANKS = ("科员", "副科", "正科", "副处", "正处")
ADULT = {"party_member": True, "party_years": 5, "work_years": 10, "age": 35, "rank": "正科"}


def cadre(cadre_id: str, unit_id: str, **fields: Any) -> Cadre:
    return Cadre.model_validate({"cadre_id": cadre_id, "unit_id": unit_id, "name": cadre_id} | ADULT | fields)


def build(cadres: Sequence[Cadre], *, leads: Mapping[str, str], members: Mapping[str, Sequence[str]] | None = None,
          counties: Mapping[str, str] | None = None, pairings: Sequence[tuple[str, str]] = (),
          units: Sequence[str] = (), **staffing: Any) -> tuple[Scenario, Plan]:
    """A scenario whose key towns are ``leads``' keys, and the plan (leads and groups) to staff."""
    members = members or {}
    counties = counties or {}
    names = sorted({*leads.values(), *(u for group in members.values() for u in group), *units,
                    *(c.unit_id for c in cadres)})
    towns = [Town(town_id=t, name=f"镇{t}", city="梅州市", county=counties.get(t, "梅县区"), category=Category.KEY)
             for t in sorted(leads)]
    policy = Policy(staffing=StaffingPolicy.model_validate(
        {"min_team_size": 2, "years": 1, "term_years": 3} | staffing))
    scenario = Scenario(
        name="staffing-case", towns=tuple(towns), policy=policy, cadres=tuple(cadres),
        units=tuple(Unit(unit_id=u, name=u, tier=Tier.PROVINCIAL, capacity=len(leads)) for u in names),
        relationships=tuple(Relationship(unit_id=u, kind=RelationshipKind.COUNTY_PAIRING, county=c)
                            for u, c in pairings))
    plan = Plan.from_pairs(dict(leads)).with_members({t: tuple(g) for t, g in members.items()})
    return scenario, plan


@st.composite
def cadres_of(draw: DrawFn, unit_ids: Sequence[str], n: int, *, start: int = 2022,
              windows: bool = True) -> list[Cadre]:
    """``n`` random cadres of the units: every eligibility field near the default thresholds."""
    out = []
    for k in range(n):
        age = draw(st.sampled_from([25, 30, 35, 38, 40, 44, 45, 46, 49, 50, 51]))
        party = draw(st.sampled_from([True, True, True, True, False]))
        until = draw(st.sampled_from([None, None, None, start, start + 1, start + 3])) if windows else None
        out.append(Cadre(
            cadre_id=f"c{k:02d}", unit_id=draw(st.sampled_from(list(unit_ids))), name=f"c{k}", party_member=party,
            party_years=draw(st.sampled_from([0, 1, 2, 5, 7])) if party else 0,
            work_years=min(age - 16, draw(st.sampled_from([1, 2, 3, 6, 10]))), age=age,
            rank=draw(st.sampled_from(RANKS)),
            available_until=until,
            available_from=draw(st.sampled_from([None, None, None, start + 1])) if windows and until != start
            else None))
    return out


@st.composite
def staffing_cases(draw: DrawFn, *, max_cadres: int = 14) -> tuple[Scenario, Plan]:
    """One to three towns, two lead units (one may lead two towns), member units shared between groups, an optional
    county pairing, and random cadres; the first year only (the rotation has its own cases)."""
    n_towns = draw(st.integers(1, 3))
    towns = [f"t{i}" for i in range(n_towns)]
    leads = {t: draw(st.sampled_from(["a", "b"])) for t in towns}
    members = {t: tuple(sorted(draw(st.sets(st.sampled_from(["m", "n"]), max_size=2)))) for t in towns}
    counties = {t: draw(st.sampled_from(["甲县", "乙县"])) for t in towns}
    pairings = [(leads[towns[0]], counties[towns[0]])] if draw(st.booleans()) else []
    units = ["a", "b", "m", "n"]
    cadres = draw(cadres_of(units, draw(st.integers(min(4, max_cadres), max_cadres)), windows=False))
    staffing = {"min_team_size": draw(st.integers(1, 3)), "years": 1}
    return build(cadres, leads=leads, members=members, counties=counties, pairings=pairings, units=units, **staffing)


@st.composite
def rotation_cases(draw: DrawFn) -> tuple[Scenario, Plan]:
    """One or two towns over 2–5 years, teams of 2–5, terms of 1–3 years (mostly 3), a replacement share of a
    third, a half or all (mostly a half; all when the term and the share alone would clash): mostly eligible
    cadres (a few too old or unavailable later), so that calendars often exist."""
    n_towns = draw(st.integers(1, 2))
    towns = [f"t{i}" for i in range(n_towns)]
    leads = {t: draw(st.sampled_from(["a", "b"])) for t in towns}
    members = {t: ("m",) if draw(st.booleans()) else () for t in towns}
    years = draw(st.integers(2, 5))
    cadres = []
    for k in range(draw(st.integers(8, 30))):
        age = draw(st.sampled_from([30, 35, 40, 43, 44, 45, 49]))  # 43–45 cross 45 within the horizon
        until = draw(st.sampled_from([None] * 6 + [2023, 2025]))
        cadres.append(Cadre(cadre_id=f"c{k:02d}", unit_id=draw(st.sampled_from(["a", "b", "m"])), name=f"c{k}",
                            party_member=True, party_years=draw(st.sampled_from([0, 1, 5])), work_years=5, age=age,
                            rank=draw(st.sampled_from(["副科", "正科", "副处"])), available_until=until,
                            available_from=draw(st.sampled_from([None] * 5 + [2024])) if until is None else None))
    staffing = {"min_team_size": draw(st.integers(2, 5)), "years": years,
                "term_years": draw(st.sampled_from([1, 2, 3, 3, 3])),
                "max_replaced_share": draw(st.sampled_from([0.34, 0.5, 0.5, 0.5, 1.0]))}
    scenario, plan = build(cadres, leads=leads, members=members, units=["a", "b", "m"],
                           pairings=[(leads["t0"], "梅县区")] if draw(st.booleans()) else [], **staffing)
    if policy_clash(scenario) is not None:  # the term and the share alone forbid every calendar: allow all
        policy = scenario.policy.model_copy(update={"staffing": scenario.policy.staffing.model_copy(
            update={"max_replaced_share": 1.0})})
        scenario = scenario.model_copy(update={"policy": policy})
    return scenario, plan
