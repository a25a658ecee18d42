"""The validated scenario: tables, policy and solver settings, with every cross-reference checked."""

from __future__ import annotations

import hashlib
import operator
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import ScenarioError
from .plan import Plan
from .policy import Policy, SolverSettings
from .staffing import Cadre
from .tables import Category, Counterpart, Pin, PinAction, PlanRow, Relationship, RelationshipKind, Row, Score, Tier, Town, Unit


_UNFINGERPRINTED = frozenset({"sources", "name", "description"})
_TABLE_JSON: dict[tuple[str, int, int, int], tuple[tuple[object, ...], str]] = {}
"""(field, rows, id of the first and last row) → (the rows, their JSON), oldest first; the rows are kept alive, so
their ids stay theirs."""
_TABLE_JSON_SIZE = 64


class Scenario(BaseModel):
    """Everything one solve needs. Construction fails with a located :class:`ScenarioError`.

    ``sources`` maps a table name to the file (or sheet) it came from, so errors and reports can name it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "scenario"
    description: str = ""
    towns: tuple[Town, ...]
    units: tuple[Unit, ...]
    counterparts: tuple[Counterpart, ...] = ()
    relationships: tuple[Relationship, ...] = ()
    scores: tuple[Score, ...] = ()
    pins: tuple[Pin, ...] = ()
    baseline: tuple[PlanRow, ...] = Field((), description="The plan being revised (re-planning with minimal change).")
    cadres: tuple[Cadre, ...] = Field((), description="Cadres the units can send to town teams (staffing).")
    policy: Policy = Policy()
    solver: SolverSettings = SolverSettings()
    sources: dict[str, str] = Field(default_factory=dict)

    @cached_property
    def key_towns(self) -> tuple[Town, ...]:
        return tuple(t for t in self.towns if t.category is Category.KEY)

    def with_baseline(self, plan: Plan, source: str = "baseline") -> Scenario:
        """This scenario re-planning ``plan``: every change against it costs ``policy.baseline_weight``."""
        rows = tuple(PlanRow(town_id=a.town_id, unit_id=a.unit_id) for a in plan.assignments)
        return Scenario.model_validate(self.model_dump() | {"baseline": rows,
                                                             "sources": self.sources | {"baseline": source}})

    def fingerprint(self) -> str:
        """SHA-256 of the normalised inputs (tables, policy, solver), so a plan can be traced to its data: of the
        bytes ``model_dump_json(exclude={"sources", "name", "description"})`` gives, assembled field by field so
        that a table shared with another scenario (a sweep's variants share most of their base's: 17,877 cadres
        on Guangdong) is serialised once (:data:`_TABLE_JSON`)."""
        fields = [name for name in type(self).model_fields if name not in _UNFINGERPRINTED]
        payload = "{" + ",".join(self._field_json(name) for name in fields) + "}"
        return hashlib.sha256(payload.encode()).hexdigest()

    def _field_json(self, name: str) -> str:
        """``"name":value`` exactly as in the whole model's JSON; a table (a tuple of frozen rows) is cached under
        its rows' identities: validation copies the tuple, not the rows."""
        value = getattr(self, name)
        if not isinstance(value, tuple) or not value:
            return self.model_dump_json(include={name})[1:-1]
        key = (name, len(value), id(value[0]), id(value[-1]))
        cached = _TABLE_JSON.get(key)
        if cached is not None and all(map(operator.is_, cached[0], value)):
            return cached[1]
        text = self.model_dump_json(include={name})[1:-1]
        if len(_TABLE_JSON) >= _TABLE_JSON_SIZE:
            _TABLE_JSON.pop(next(iter(_TABLE_JSON)))
        _TABLE_JSON[key] = (value, text)
        return text

    def _error(self, table: str, index: int, field: str, message: str) -> ScenarioError:
        return ScenarioError(message, file=self.sources.get(table, table), row=index + 2, field=field)

    @model_validator(mode="after")
    def _check_references(self) -> Scenario:
        town_ids = self._unique("towns", self.towns, "town_id")
        unit_ids = self._unique("units", self.units, "unit_id")
        cities = {t.city for t in self.towns}
        counties = {t.county for t in self.towns}
        if not self.key_towns:
            raise ScenarioError("no town has category 'key': there is nothing to pair",
                                file=self.sources.get("towns", "towns"), field="category")
        for i, u in enumerate(self.units):
            if u.tier is Tier.LOCAL and u.city not in cities:
                raise self._error("units", i, "city", f"local unit {u.unit_id!r}: city {u.city!r} has no towns")
        self._check_counterparts(cities)
        self._check_relationships(town_ids, unit_ids, counties)
        self._check_pair_rows("scores", self.scores, town_ids, unit_ids, "town_id", "has two scores")
        self._check_pins(town_ids, unit_ids)
        self._check_baseline(town_ids)
        self._check_cadres(town_ids, unit_ids)
        for city in self.policy.city_quotas:
            if city not in cities:
                raise ScenarioError(f"city {city!r} does not exist in towns", file="policy", field="city_quotas")
        self._check_member_rules(cities)
        self._check_lead_counts(unit_ids)
        if self.policy.distance_weight > 0:
            self._require_coordinates("units", self.units)
            self._require_coordinates("towns", self.key_towns, row_of={t.town_id: i for i, t in enumerate(self.towns)})
        return self

    def _check_counterparts(self, cities: set[str]) -> None:
        """Counterpart rows join PRD units to target cities: a row or a PRD unit that joins nothing is a typo
        (e.g. 廣州市 for 广州市), which would otherwise silently take the unit out of the plan."""
        prd_cities = {u.city for u in self.units if u.tier is Tier.PRD}
        seen_pairs: set[tuple[str, str]] = set()
        for i, c in enumerate(self.counterparts):
            if c.target_city not in cities:
                raise self._error("counterparts", i, "target_city", f"city {c.target_city!r} does not exist in towns")
            if c.prd_city == c.target_city:
                raise self._error("counterparts", i, "target_city", f"city {c.prd_city!r} cannot be its own counterpart")
            if c.prd_city not in prd_cities:
                raise self._error("counterparts", i, "prd_city", f"no prd unit has city {c.prd_city!r}")
            if (c.prd_city, c.target_city) in seen_pairs:
                raise self._error("counterparts", i, "target_city", f"duplicate pair {c.prd_city} → {c.target_city}")
            seen_pairs.add((c.prd_city, c.target_city))
        helped = {c.prd_city for c in self.counterparts}
        for i, u in enumerate(self.units):
            if u.tier is Tier.PRD and u.city not in helped:
                raise self._error("units", i, "city", f"prd unit {u.unit_id!r}: city {u.city!r} has no counterpart "
                                  "city in counterparts, so the unit could lead no town")

    def _unique(self, table: str, rows: Sequence[Row], field: str) -> set[str]:
        ids: set[str] = set()
        for i, row in enumerate(rows):
            value = getattr(row, field)
            if value in ids:
                raise self._error(table, i, field, f"duplicate id {value!r}")
            ids.add(value)
        return ids

    def _check_relationships(self, town_ids: set[str], unit_ids: set[str], counties: set[str]) -> None:
        previous: Counter[str] = Counter()
        seen: set[tuple[str, str | None, str | None]] = set()
        for i, r in enumerate(self.relationships):
            if r.unit_id not in unit_ids:
                raise self._error("relationships", i, "unit_id", f"unknown unit {r.unit_id!r}")
            key = (r.unit_id, r.town_id, r.county)
            if key in seen:
                raise self._error("relationships", i, "kind", f"duplicate relationship {r.kind.value} of {r.unit_id}")
            seen.add(key)
            if r.kind is RelationshipKind.PREVIOUS_MEMBER:
                if r.town_id not in town_ids:
                    raise self._error("relationships", i, "town_id", f"unknown town {r.town_id!r}")
            elif r.kind is RelationshipKind.PREVIOUS_LEAD:
                if r.town_id not in town_ids:
                    raise self._error("relationships", i, "town_id", f"unknown town {r.town_id!r}")
                previous[r.town_id] += 1
                if previous[r.town_id] > 1:
                    raise self._error("relationships", i, "town_id",
                                      f"town {r.town_id!r} has more than one previous lead")
            elif r.county not in counties:
                raise self._error("relationships", i, "county", f"county {r.county!r} has no towns")

    def _check_lead_counts(self, unit_ids: set[str]) -> None:
        """Each ``lead_counts`` key names a unit or a quota group, never both (the count would be ambiguous)."""
        groups = {u.quota_group for u in self.units if u.quota_group}
        for key in self.policy.lead_counts:
            if key in unit_ids and key in groups:
                raise ScenarioError(f"{key!r} is both a unit_id and a quota_group: rename the quota group",
                                    file="policy", field=f"lead_counts.{key}")
            if key not in unit_ids and key not in groups:
                raise ScenarioError(f"{key!r} is neither a unit_id nor a quota_group of units", file="policy",
                                    field=f"lead_counts.{key}")

    def _check_member_rules(self, cities: set[str]) -> None:
        """A member rule selecting a city or need tag that no town has is a typo that would drop the rule."""
        needs = set().union(*(t.need_tags for t in self.towns))
        for i, rule in enumerate(self.policy.groups.member_rules):
            where = f"groups.member_rules[{i}]"
            for city in rule.cities:
                if city not in cities:
                    raise ScenarioError(f"city {city!r} does not exist in towns", file="policy",
                                        field=f"{where}.cities")
            for need in rule.needs:
                if need not in needs:
                    raise ScenarioError(f"no town has the need {need!r} (towns.needs)",
                                        file="policy", field=f"{where}.needs")

    def _check_pair_rows(self, table: str, rows: Sequence[Score | Pin], town_ids: set[str], unit_ids: set[str],
                         duplicate_field: str, duplicate: str) -> None:
        """Rows keyed by a (unit, town) pair name a known unit and town, each pair once."""
        seen: set[tuple[str, str]] = set()
        for i, row in enumerate(rows):
            if row.unit_id not in unit_ids:
                raise self._error(table, i, "unit_id", f"unknown unit {row.unit_id!r}")
            if row.town_id not in town_ids:
                raise self._error(table, i, "town_id", f"unknown town {row.town_id!r}")
            if (row.unit_id, row.town_id) in seen:
                raise self._error(table, i, duplicate_field, f"{row.unit_id} → {row.town_id} {duplicate}")
            seen.add((row.unit_id, row.town_id))

    def _check_pins(self, town_ids: set[str], unit_ids: set[str]) -> None:
        """Pins and bans name known units and key towns, and do not contradict each other."""
        self._check_pair_rows("pins", self.pins, town_ids, unit_ids, "action", "is pinned or banned twice")
        key = {t.town_id for t in self.key_towns}
        pinned: dict[str, str] = {}
        for i, p in enumerate(self.pins):
            if p.town_id not in key:
                raise self._error("pins", i, "town_id", f"town {p.town_id!r} is not a key town: it gets no lead")
            if p.action is PinAction.PIN:
                if p.town_id in pinned:
                    raise self._error("pins", i, "unit_id", f"town {p.town_id!r} is already pinned to "
                                      f"{pinned[p.town_id]!r}: a town has one lead")
                pinned[p.town_id] = p.unit_id

    def _check_cadres(self, town_ids: set[str], unit_ids: set[str]) -> None:
        """Each cadre once, employed by a known unit; a previous town is a known town."""
        self._unique("cadres", self.cadres, "cadre_id")
        for i, c in enumerate(self.cadres):
            if c.unit_id not in unit_ids:
                raise self._error("cadres", i, "unit_id", f"cadre {c.cadre_id!r}: unknown unit {c.unit_id!r}")
            if c.previous_town is not None and c.previous_town not in town_ids:
                raise self._error("cadres", i, "previous_town", f"cadre {c.cadre_id!r}: unknown town "
                                  f"{c.previous_town!r}")

    def _check_baseline(self, town_ids: set[str]) -> None:
        """The baseline names known towns, one lead each; its units may be gone (their towns must change)."""
        towns: set[str] = set()
        for i, b in enumerate(self.baseline):
            if b.town_id not in town_ids:
                raise self._error("baseline", i, "town_id", f"unknown town {b.town_id!r}")
            if b.town_id in towns:
                raise self._error("baseline", i, "town_id", f"town {b.town_id!r} has two leads in the baseline")
            towns.add(b.town_id)

    def _require_coordinates(self, table: str, rows: Iterable[Town | Unit],
                             row_of: dict[str, int] | None = None) -> None:
        for i, row in enumerate(rows):
            if row.lon is None or row.lat is None:
                ident = row.town_id if isinstance(row, Town) else row.unit_id
                index = row_of[ident] if row_of else i
                raise self._error(table, index, "lon", f"{ident!r} has no lon/lat but policy.distance_weight > 0")
