"""A self-contained HTML report of a plan: headline figures, charts, map, audit and a sortable table.

One file that opens offline: the stylesheet and script are inlined from ``optimizer/assets``, the charts are
inline SVG (:mod:`optimizer.charts`), and a Content-Security-Policy forbids every fetch.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from html import escape
from importlib.resources import files

import pandas as pd

from models import AuditReport, Category, Plan, Rule, Scenario

from .audit import audit, plan_value
from .charts import Column, MapTown, Place, Series, capacity_columns, pairing_map, stacked_bars
from .report import continuity_counts, plan_frame

TIERS = (
    Series("prd", "PRD cities 珠三角", "#2166ac"),
    Series("provincial", "provincial 省直/中直", "#e08214"),
    Series("local", "local 本市", "#1a9850"),
)
CONTINUITY = (Series("kept", "kept 保持", "#1a9850"), Series("changed", "changed 调整", "#d6604d"))
UNKNOWN = "#888888"
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
HEADERS = {"town_id": "town id", "town_name": "town", "city": "city", "county": "county", "unit_id": "unit id",
           "unit_name": "lead unit", "tier": "tier", "continuity": "previous lead", "previous_unit_id": "previous unit"}


def render(scenario: Scenario, plan: Plan, report: AuditReport | None = None) -> str:
    """The report page as one HTML string; ``report`` defaults to a fresh :func:`audit` of ``plan``."""
    report = audit(scenario, plan) if report is None else report
    frame = plan_frame(scenario, plan)
    targets = scenario.policy.target_level.plural  # "towns", or "counties" for county targets
    cities = list(frame.groupby("city").size().sort_values(ascending=False, kind="stable").index)
    body = "".join([
        _headline(scenario, plan, frame, report),
        _section("tiers", "Tier mix per city", _tier_chart(frame, cities, targets)),
        _section("continuity", "Continuity per city", _continuity(scenario, plan, frame, cities)),
        _section("capacity", "Capacity use per helper unit", _capacity(scenario, plan)),
        _section("map", "Map", _map(scenario, frame)),
        _section("audit", "Audit", _audit(report)),
        _section("plan", "Plan", _table(frame, targets)),
    ])
    assets = files("optimizer") / "assets"
    title = f"bangfu plan report — {scenario.name}"
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><title>{escape(title)}</title>'
            f'<style>{(assets / "report.css").read_text(encoding="utf-8")}</style></head>\n<body><main>'
            f"<header><h1>{escape(title)}</h1><p>{escape(scenario.description)}</p>"
            f'<p class="meta">scenario fingerprint <code>{scenario.fingerprint()[:16]}</code> · '
            f"{len(plan)} pairings</p></header>\n{body}</main>\n"
            f'<script>{(assets / "report.js").read_text(encoding="utf-8")}</script></body></html>\n')


def _section(ident: str, heading: str, content: str) -> str:
    return f'<section id="{ident}"><h2>{escape(heading)}</h2>{content}</section>\n'


def _figure(key: str, value: object, label: str, css: str = "") -> str:
    return (f'<div class="figure {css}" data-figure="{key}"><b>{escape(str(value))}</b>'
            f"<span>{escape(label)}</span></div>")


def _headline(scenario: Scenario, plan: Plan, frame: pd.DataFrame, report: AuditReport) -> str:
    tiers = frame["tier"].value_counts()
    kept = continuity_counts(scenario, plan)
    verdict = "audit verdict" if report.passed else f"audit: {_violations(len(report.violations))}"
    figures = [_figure("key_towns", len(scenario.key_towns), f"key {scenario.policy.target_level.plural}")]
    figures += [_figure(s.key, int(tiers.get(s.key, 0)), f"led by {s.label}", f"tier-{s.key}") for s in TIERS]
    figures += [
        _figure("objective", plan_value(scenario, plan), "objective (README formula)"),
        _figure("kept", kept["kept"], f"previous leads kept (of {kept['with_previous']})"),
        _figure("changed", kept["changed"], "previous leads changed"),
        _figure("audit", "passed" if report.passed else "failed", verdict, "pass" if report.passed else "fail"),
    ]
    return f'<section id="headline" class="figures">{"".join(figures)}</section>\n'


def _tier_chart(frame: pd.DataFrame, cities: list[str], targets: str) -> str:
    counts = frame.groupby(["city", "tier"]).size()
    rows = [(city, [int(counts.get((city, s.key), 0)) for s in TIERS]) for city in cities]
    return stacked_bars(rows, TIERS, label=f"key {targets} per city by the lead's tier")


def _continuity(scenario: Scenario, plan: Plan, frame: pd.DataFrame, cities: list[str]) -> str:
    kept: Counter[str] = Counter()
    changed: Counter[str] = Counter()
    for city, previous, same in zip(frame["city"], frame["previous_unit_id"], frame["kept_previous"], strict=True):
        if previous:
            (kept if same else changed)[city] += 1
    rows = [(city, [kept[city], changed[city]]) for city in cities]
    counts = continuity_counts(scenario, plan)
    cap = scenario.policy.max_changes
    note = (f"<p>{counts['with_previous']} key {scenario.policy.target_level.plural} had a previous lead: {counts['kept']} kept it, "
            f"{counts['changed']} changed" + (f" (policy <code>max_changes: {cap}</code>)" if cap is not None else "")
            + ".</p>")
    return note + stacked_bars(rows, CONTINUITY, label="previous leads kept and changed per city")


def _capacity(scenario: Scenario, plan: Plan) -> str:
    led = Counter(a.unit_id for a in plan.assignments)
    groups, rows = [], []
    for s in TIERS:
        # units that may lead: member-only units (capacity 0) have nothing to show, unless one leads (drawn red)
        units = [u for u in scenario.units if u.tier.value == s.key and (u.capacity > 0 or led[u.unit_id])]
        columns = sorted((Column(f"{u.name} ({u.unit_id})", led[u.unit_id], u.capacity, s.color) for u in units),
                         key=lambda c: (-c.capacity, -c.used, c.label))
        groups.append((f"{s.label} ({len(units)})", columns))
        used = [c.used for c in columns]
        rows.append([s.label, len(units), sum(c.capacity for c in columns), sum(used),
                     sum(c.used == c.capacity > 0 for c in columns), sum(0 < c.used < c.capacity for c in columns),
                     used.count(0), sum(c.used > c.capacity for c in columns)])
    targets = scenario.policy.target_level.plural
    chart = capacity_columns(groups, label=f"{targets} led against capacity, one column per unit")
    head = "".join(f"<th>{h}</th>" for h in ("tier", "units", "capacity", f"{targets} led", "full", "partly used",
                                              "idle", "over capacity"))
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return (f"<p>One column per unit, sorted by capacity: pale = capacity, filled = {targets} led, red = above capacity "
            f'(hover a column for the unit).</p>{chart}<table class="compact"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _map(scenario: Scenario, frame: pd.DataFrame) -> str:
    units = {u.unit_id: u for u in scenario.units}
    lead = dict(zip(frame["town_id"], frame["unit_id"], strict=True))
    colors = {s.key: s.color for s in TIERS}
    towns, places = [], []
    for t in scenario.key_towns:
        if t.lon is None or t.lat is None:
            continue
        unit = units.get(lead.get(t.town_id, ""))
        hub = (unit.lon, unit.lat) if unit and unit.lon is not None and unit.lat is not None else None
        who = f"{unit.name} [{unit.tier.value}]" if unit else "no lead"
        towns.append(MapTown(t.lon, t.lat, colors[unit.tier.value] if unit else UNKNOWN,
                             f"{t.name} ({t.city} {t.county}) ← {who}", hub))
        places.append((t.city, t.lon, t.lat))
    hubs = [(u.city, u.lon, u.lat) for u in units.values()
            if u.tier.value == "prd" and u.city and u.lon is not None and u.lat is not None]
    background = [(t.lon, t.lat) for t in scenario.towns
                  if t.category is not Category.KEY and t.lon is not None and t.lat is not None]
    lines = sum(t.unit is not None for t in towns)
    targets = scenario.policy.target_level.plural
    note = (f"<p>{len(towns)} of {len(scenario.key_towns)} key {targets} placed by lon/lat, coloured by the lead's tier; "
            f"{lines} lines to the lead unit's coordinates (□). Grey dots: other {targets}. Hover a dot for its lead.</p>")
    return note + pairing_map(towns, background=background, labels=_centres(places), hub_labels=_centres(hubs),
                              series=TIERS, label=f"map of key {targets} and their lead units")


def _centres(places: Iterable[tuple[str, float, float]]) -> list[Place]:
    """One label per name, at the median lon/lat of its places."""
    groups: dict[str, list[tuple[float, float]]] = {}
    for name, lon, lat in places:
        groups.setdefault(name, []).append((lon, lat))
    return [(name, statistics.median(p[0] for p in group), statistics.median(p[1] for p in group))
            for name, group in sorted(groups.items())]


def _audit(report: AuditReport) -> str:
    if report.passed:
        return ('<p class="verdict pass" data-audit="passed">Passed: the independent networkx audit re-checked '
                f"every rule ({', '.join(r.value for r in Rule)}) and found no violation.</p>")
    by_rule = Counter(v.rule for v in report.violations)
    failed = f"Failed: {_violations(len(report.violations))} of {len(by_rule)} rule(s)."
    parts = [f'<p class="verdict fail" data-audit="failed">{failed}</p>']
    for rule in Rule:
        if by_rule[rule]:
            items = "".join(f"<li>{escape(v.message)}</li>" for v in report.violations if v.rule is rule)
            parts.append(f'<details open data-rule="{rule.value}"><summary><code>{rule.value}</code> — '
                         f"{_violations(by_rule[rule])}</summary><ul>{items}</ul></details>")
    return "".join(parts)


def _violations(count: int) -> str:
    return f"{count} violation{'' if count == 1 else 's'}"


def _table(frame: pd.DataFrame, targets: str) -> str:
    shown = frame.assign(continuity=[("kept" if kept else "changed") if prev else ""
                                     for kept, prev in zip(frame["kept_previous"], frame["previous_unit_id"],
                                                           strict=True)])
    columns = list(HEADERS)
    head = "".join(f'<th data-key="{c}"><button type="button">{HEADERS[c]}</button></th>' for c in columns)
    rows = "".join(f'<tr data-tier="{escape(str(r["tier"]))}">'
                   + "".join(f"<td>{escape(str(r[c]))}</td>" for c in columns) + "</tr>"
                   for r in shown.to_dict("records"))
    options = "".join(f'<option value="{s.key}">{escape(s.label)}</option>' for s in TIERS)
    return (f'<div class="controls"><input id="plan-filter" type="search" placeholder="filter: town, city, unit, '
            f'kept/changed…" aria-label="filter the plan"><select id="plan-tier" aria-label="tier">'
            f'<option value="">all tiers</option>{options}</select><span><b id="plan-count">{len(frame)}</b> of '
            f"{len(frame)} {targets} · click a column heading to sort</span></div>"
            f'<div class="scroll"><table id="plan-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")
