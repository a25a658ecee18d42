"""The funding of a scenario (``policy.funding``): each funded town's yearly amount split by payer, and totals per
city, per PRD helper city and per level over years 1 … N, counted from the scenario's own towns.

Which PRD city pays a town's PRD share, first rule that applies: the town's lead in the plan, when a plan is given
and the lead is a PRD unit (the city that actually helps the town); ``policy.funding.prd_city`` for the town's
city; the city's only counterpart. A city with several counterparts and neither rule is an error (the payer would
be a guess); a city with none pays the share itself (pilot towns, scenarios without a PRD tier).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from models import Category, Plan, Scenario, ScenarioError, TargetLevel, Tier, Town
from models.funding import FundingSplit, Payer
from models.loader import read_table
from models.tables import PlanRow

from .report import neutralise

BUDGET_FILES = ("budget.csv", "by_city.csv", "by_prd_city.csv", "by_level.csv")
"""The files ``bangfu budget --out`` writes (and the only ones it replaces)."""
HelperRule = Literal["plan", "policy", "counterpart", "own city", ""]
PAY_COLUMNS = ("pay_province", "pay_prd_city", "pay_city", "pay_county")


class FundedTown(BaseModel):
    """One funded town or sub-district: its yearly amount and who pays it (a row of ``budget.csv``)."""

    model_config = ConfigDict(frozen=True)

    town_id: str
    name: str
    city: str
    county: str
    category: Category
    kind: Literal["town", "subdistrict"]
    helper_city: str  # the PRD city paying the prd_city share; "" when none does
    helper_rule: HelperRule  # why that city (see the module docstring); "" without a PRD share
    amount: int  # yuan a year
    pay_province: int
    pay_prd_city: int
    pay_city: int
    pay_county: int


class BudgetRow(BaseModel):
    """Yuan a year by payer for a group of funded towns, and the total over years 1 … n for n = 1 … N."""

    model_config = ConfigDict(frozen=True)

    group: str
    towns: int
    subdistricts: int
    pay_province: int
    pay_prd_city: int
    pay_city: int
    pay_county: int
    per_year: int
    over_years: tuple[int, ...]  # over_years[n - 1]: yuan over years 1 … n


class Budget(BaseModel):
    """The budget tables: per funded town, per city, per PRD helper city (the towns it pays for) and per level."""

    model_config = ConfigDict(frozen=True)

    years: int
    towns: tuple[FundedTown, ...]
    by_city: tuple[BudgetRow, ...]
    by_prd_city: tuple[BudgetRow, ...]
    by_level: tuple[BudgetRow, ...]  # one row per payer, its share only
    total: BudgetRow


def split_amount(amount: int, split: FundingSplit) -> dict[Payer, int]:
    """Whole yuan per payer summing to ``amount`` exactly: floors of the exact shares, then one yuan each to the
    largest remainders (ties: province, prd_city, city, county order). 20,000,000 at 6:3:1 is 12/6/2 million."""
    shares = split.shares()
    whole = sum(shares.values())
    out = {payer: amount * share // whole for payer, share in shares.items()}
    ranked = sorted(Payer, key=lambda p: -(amount * shares[p] % whole))  # stable: Payer order breaks ties
    for payer in ranked[:amount - sum(out.values())]:
        out[payer] += 1
    return out


def budget(scenario: Scenario, plan: Plan | None = None, *, years: int | None = None) -> Budget:
    """The budget of ``scenario`` under its ``policy.funding`` (``years`` overrides ``funding.years``).

    Bad input raises :class:`ScenarioError`: a plan naming an unknown town or unit, a PRD lead outside its
    city's counterparts, ``funding.prd_city`` naming a city without towns or a non-counterpart (``file`` is
    ``policy``), a funded town whose city has several counterparts and no rule to choose, county targets without
    their own ``policy.funding`` (the defaults are the town programme's).

    >>> from optimizer import load_scenario
    >>> from optimizer.budget import budget
    >>> tiny = budget(load_scenario("scenarios/tiny/scenario.yaml"))
    >>> [(row.group, row.towns, row.per_year) for row in tiny.by_level]
    [('province', 11, 132000000), ('prd_city', 11, 66000000), ('city', 0, 0), ('county', 11, 22000000)]
    """
    funding = scenario.policy.funding
    if scenario.policy.target_level is TargetLevel.COUNTY and "funding" not in scenario.policy.model_fields_set:
        raise ScenarioError("the default funding is the town programme's (20 million yuan a year per town, "
                            "province : PRD city : county 6 : 3 : 1, seed 002), but this scenario's targets are "
                            "counties (policy.target_level: county): give their funding as policy.funding",
                            file="policy", field="funding")
    n_years = funding.years if years is None else years
    if not 1 <= n_years <= 100:
        raise ValueError(f"years must be 1 to 100, not {n_years}")
    counterparts: dict[str, list[str]] = {}
    for c in scenario.counterparts:
        counterparts.setdefault(c.target_city, []).append(c.prd_city)
    _check_policy_payers(funding.prd_city, {t.city for t in scenario.towns}, counterparts)
    leads = plan_prd_leads(scenario, [(a.town_id, a.unit_id) for a in plan.assignments]) if plan else {}
    funded: list[FundedTown] = []
    for town in scenario.towns:
        subdistrict = str((town.model_extra or {}).get("town_type", "")) in funding.subdistrict_types
        if subdistrict:
            amount, split = funding.subdistrict_amount, funding.subdistrict_split
        elif town.category in funding.categories:
            amount, split = funding.town_amount, funding.town_split
        else:
            continue
        if amount == 0:
            continue
        pay = split_amount(amount, split)
        helper: str = ""
        rule: HelperRule = ""
        if pay[Payer.PRD_CITY]:
            helper, rule = _helper_city(town, leads, funding.prd_city, counterparts)
            if not helper:  # no helper city: the town's own city pays the share
                pay[Payer.CITY], pay[Payer.PRD_CITY] = pay[Payer.CITY] + pay[Payer.PRD_CITY], 0
        funded.append(FundedTown(
            town_id=town.town_id, name=town.name, city=town.city, county=town.county, category=town.category,
            kind="subdistrict" if subdistrict else "town", helper_city=helper, helper_rule=rule, amount=amount,
            **{f"pay_{payer.value}": pay[payer] for payer in Payer}))
    return Budget(
        years=n_years, towns=tuple(funded),
        by_city=_grouped(funded, lambda f: f.city, n_years),
        by_prd_city=_grouped([f for f in funded if f.helper_city], lambda f: f.helper_city, n_years),
        by_level=tuple(_row(payer.value, [f for f in funded if _pay(f, payer)], n_years, payer) for payer in Payer),
        total=_row("total", funded, n_years))


def plan_prd_leads(scenario: Scenario, pairs: Sequence[tuple[str, str]], source: str = "plan",
                   first_row: int | None = None) -> dict[str, str]:
    """Town → city of its PRD lead in the plan's ``(town_id, unit_id)`` pairs, checked: known town and unit, each
    town once, a PRD lead only in its city's counterpart cities. ``first_row`` numbers the pairs as file rows."""
    towns = {t.town_id: t for t in scenario.towns}
    units = {u.unit_id: u for u in scenario.units}
    helpers: dict[str, set[str]] = {}
    for c in scenario.counterparts:
        helpers.setdefault(c.target_city, set()).add(c.prd_city)
    leads: dict[str, str] = {}
    seen: set[str] = set()
    for i, (town_id, unit_id) in enumerate(pairs):
        row = None if first_row is None else first_row + i
        if town_id not in towns:
            raise ScenarioError(f"unknown town {town_id!r}", file=source, row=row, field="town_id")
        if town_id in seen:
            raise ScenarioError(f"town {town_id!r} has two leads", file=source, row=row, field="town_id")
        seen.add(town_id)
        unit = units.get(unit_id)
        if unit is None:
            raise ScenarioError(f"unknown unit {unit_id!r}", file=source, row=row, field="unit_id")
        if unit.tier is Tier.PRD and unit.city:
            town = towns[town_id]
            if unit.city not in helpers.get(town.city, set()):
                raise ScenarioError(f"{unit_id} ({unit.city}) leads {town.name} of {town.city}, but {unit.city} is "
                                    f"not a counterpart of {town.city}: the plan breaks eligibility (bangfu audit)",
                                    file=source, row=row, field="unit_id")
            leads[town_id] = unit.city
    return leads


def load_budget_plan(path: Path, scenario: Scenario) -> Plan:
    """Read ``plan.csv`` for :func:`budget`; errors name the file, its row and the field."""
    rows = [r for r in read_table(path, PlanRow, label=str(path)) if isinstance(r, PlanRow)]
    pairs = [(r.town_id, r.unit_id) for r in rows]
    plan_prd_leads(scenario, pairs, source=str(path), first_row=2)
    return Plan.from_pairs(pairs)


def _check_policy_payers(payers: dict[str, str], cities: set[str], counterparts: dict[str, list[str]]) -> None:
    for city, prd_city in payers.items():
        if city not in cities:
            raise ScenarioError(f"city {city!r} does not exist in towns", file="policy", field="funding.prd_city")
        if prd_city not in counterparts.get(city, []):
            raise ScenarioError(f"{prd_city!r} is not a counterpart of {city} (counterparts: "
                                f"{', '.join(counterparts.get(city, [])) or 'none'})", file="policy",
                                field="funding.prd_city")


def _helper_city(town: Town, leads: dict[str, str], payers: dict[str, str],
                 counterparts: dict[str, list[str]]) -> tuple[str, HelperRule]:
    if town.town_id in leads:
        return leads[town.town_id], "plan"
    if town.city in payers:
        return payers[town.city], "policy"
    options = counterparts.get(town.city, [])
    if len(options) == 1:
        return options[0], "counterpart"
    if not options:
        return "", "own city"
    raise ScenarioError(f"{town.name} ({town.town_id}) is funded with a PRD-city share, but {town.city} has "
                        f"{len(options)} counterparts ({', '.join(options)}): name the one that pays in "
                        f"funding.prd_city (e.g. {{{town.city}: {options[0]}}}) or give a plan whose PRD lead "
                        "decides", file="policy", field="funding.prd_city")


def _pay(funded: FundedTown, payer: Payer) -> int:
    return int(getattr(funded, f"pay_{payer.value}"))


def _row(group: str, funded: Iterable[FundedTown], years: int, only: Payer | None = None) -> BudgetRow:
    """The row of ``group``; with ``only``, that payer's share alone (a level row)."""
    items = list(funded)
    pay = {payer: sum(_pay(f, payer) for f in items) if only in (None, payer) else 0 for payer in Payer}
    per_year = sum(pay.values())
    return BudgetRow(group=group, towns=sum(f.kind == "town" for f in items),
                     subdistricts=sum(f.kind == "subdistrict" for f in items),
                     **{f"pay_{payer.value}": pay[payer] for payer in Payer}, per_year=per_year,
                     over_years=tuple(per_year * n for n in range(1, years + 1)))


def _grouped(funded: Sequence[FundedTown], key: Callable[[FundedTown], str], years: int) -> tuple[BudgetRow, ...]:
    groups: dict[str, list[FundedTown]] = {}
    for f in funded:  # scenario file order: first appearance orders the groups
        groups.setdefault(key(f), []).append(f)
    return tuple(_row(group, items, years) for group, items in groups.items())


# --- output ---------------------------------------------------------------------------------------------------

def yi(yuan: int) -> str:
    """Yuan in 亿元 (10⁸ yuan), exact, at least two decimals: 10,812,000,000 → ``108.12``."""
    text = format(Decimal(yuan).scaleb(-8), "f")
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}.{frac.rstrip('0').ljust(2, '0')}"


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def budget_files(result: Budget) -> dict[str, str]:
    """The CSV files of ``bangfu budget --out``, amounts in yuan: ``budget.csv`` (a row per funded town) and
    ``by_city.csv``, ``by_prd_city.csv``, ``by_level.csv`` (``years_n`` = yuan over years 1 … n)."""
    towns = _csv(["town_id", "name", "city", "county", "category", "kind", "helper_city", "helper_rule", "amount",
                  *PAY_COLUMNS],
                 ([f.town_id, f.name, f.city, f.county, f.category.value, f.kind, f.helper_city, f.helper_rule,
                   f.amount, *(getattr(f, c) for c in PAY_COLUMNS)] for f in result.towns))
    files = {"budget.csv": towns}
    for name, label, rows in (("by_city.csv", "city", result.by_city), ("by_prd_city.csv", "prd_city",
                              result.by_prd_city), ("by_level.csv", "level", result.by_level)):
        files[name] = _csv([label, "towns", "subdistricts", *PAY_COLUMNS, "per_year",
                            *(f"years_{n}" for n in range(1, result.years + 1))],
                           ([r.group, r.towns, r.subdistricts, *(getattr(r, c) for c in PAY_COLUMNS), r.per_year,
                             *r.over_years] for r in rows))
    return files


def print_budget(console: Console, result: Budget) -> None:
    """Rich tables of the budget in 亿元, and each level's total over years 1 … N."""
    spans = [f"{n} yr" if n == 1 else f"{n} yrs" for n in range(1, result.years + 1)]
    levels = Table("level", "towns", "sub-districts", "per year", *spans, title="Funding by level (亿元)")
    for r in (*result.by_level, result.total):
        bold = "[bold]" if r is result.total else ""
        levels.add_row(f"{bold}{r.group}", str(r.towns), str(r.subdistricts), yi(r.per_year),
                       *(yi(v) for v in r.over_years))
    console.print(levels)
    helpers = Table("PRD city", "towns", "its share per year", *spans, title="PRD helper cities' share (亿元)")
    for r in result.by_prd_city:
        helpers.add_row(escape(r.group), str(r.towns), yi(r.pay_prd_city),
                        *(yi(r.pay_prd_city * n) for n in range(1, result.years + 1)))
    console.print(helpers)
    cities = Table("city", "towns", "sub-districts", "province", "PRD city", "own city", "county", "per year",
                   spans[-1], title="Funding by city (亿元 a year)")
    for r in (*result.by_city, result.total):
        cities.add_row(escape(r.group), str(r.towns), str(r.subdistricts),
                       *(yi(getattr(r, c)) for c in PAY_COLUMNS), yi(r.per_year), yi(r.over_years[-1]))
    console.print(cities)
    prd = next(r for r in result.by_level if r.group == Payer.PRD_CITY.value)
    for n, value in enumerate(prd.over_years, start=1):
        console.print(f"  PRD helper cities over {n} year{'s' if n > 1 else ''}: {value:,} yuan ({yi(value)}亿元)",
                      highlight=False)
