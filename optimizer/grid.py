"""Sweep grids: a YAML file of policy variants, and the variant scenarios built from it.

A grid names *settings* (``policy.max_changes``, ``capacity.sz-futian``, ``capacity_add.prd``,
``remove_units``) and gives each a list of values (``axes``, combined as a product) or lists whole variants
(``variants``). Every variant gets a stable id, is built from the base scenario by :func:`apply` and validated
like any scenario; bad input raises a :class:`ScenarioError` naming the grid file and the key.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from models import Policy, Scenario, ScenarioError, Tier, Unit
from models.loader import Limits, _input_path, read_yaml_mapping  # the scenario loader's: error paths, YAML
from models.tables import Id

MAX_VARIANTS = 100_000
"""More variants than this is a typo in the grid (a product of long axes), not a sweep."""
MAX_GRID_BYTES = 10 * 1024 * 1024
KEEPS_REMOVED_UNITS = ("baseline",)
"""A removed unit takes with it every table row naming it (``unit_id``), except in these: a baseline plan keeps
its leads, so their towns must move."""

Capacity = Annotated[int, Field(ge=0, le=10_000, strict=True)]
CapacityAdd = Annotated[int, Field(ge=-10_000, le=10_000, strict=True)]
_ID: TypeAdapter[str | None] = TypeAdapter(Id | None)
_VALUES: dict[str, TypeAdapter[Any]] = {
    "capacity": TypeAdapter(Capacity),
    "capacity_add": TypeAdapter(CapacityAdd),
    "remove_units": TypeAdapter(list[Id]),
}


class GridFile(BaseModel):
    """The grid file: ``axes`` (setting → values, every combination) and ``variants`` (explicit settings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = ""
    axes: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(default_factory=dict)
    variants: list[dict[str, Any]] = Field(default_factory=list)


@dataclass(frozen=True)
class Variant:
    """One variant: its id, its settings as the grid gives them, and every grid key's effective value."""

    id: str
    settings: Mapping[str, Any]
    values: Mapping[str, Any]


class SettingError(Exception):
    """A setting that cannot be applied; the grid loader adds the file and the key's place in it."""

    def __init__(self, key: str | None, message: str) -> None:
        self.key, self.message = key, message  # key None: the settings together (the scenario's own checks)
        super().__init__(f"{key or 'settings'}: {message}")


def variant_id(settings: Mapping[str, Any]) -> str:
    """``v`` and 8 hex digits of the settings' SHA-256: the same settings have the same id in any grid, in
    any order, and an id does not move when axes or values are added."""
    text = json.dumps(dict(settings), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return "v" + hashlib.sha256(text.encode()).hexdigest()[:8]


def _parse_key(key: str, scenario: Scenario) -> tuple[str, tuple[str, ...]]:
    """``(kind, path)`` of a setting key; unknown kinds, policy fields, units and tiers are errors."""
    kind, _, rest = key.partition(".")
    if kind == "policy" and rest:
        path = tuple(rest.split("."))
        if path[0] not in Policy.model_fields:
            raise SettingError(key, f"unknown policy field {path[0]!r} (known: {', '.join(Policy.model_fields)})")
        if "" in path:
            raise SettingError(key, "empty part in the policy path")
        return kind, path
    if kind == "capacity" and rest:
        if rest not in {u.unit_id for u in scenario.units}:
            raise SettingError(key, f"unknown unit {rest!r}")
        return kind, (rest,)
    if kind == "capacity_add" and rest:
        if rest not in {t.value for t in Tier}:
            raise SettingError(key, f"unknown tier {rest!r} (known: {', '.join(t.value for t in Tier)})")
        return kind, (rest,)
    if key == "remove_units":
        return kind, ()
    raise SettingError(key, "unknown setting: use policy.<field>[.<key>...], capacity.<unit_id>, "
                            "capacity_add.<tier> or remove_units")


def _check_overlaps(keys: Sequence[str], scenario: Scenario) -> None:
    """Two policy paths where one contains the other (``policy.tier_ratio`` and ``policy.tier_ratio.prd``)
    would depend on the order they are applied in."""
    paths = {key: path for key in keys for kind, path in [_parse_key(key, scenario)] if kind == "policy"}
    for a, b in itertools.permutations(paths, 2):
        if paths[b][: len(paths[a])] == paths[a]:
            raise SettingError(b, f"overlaps {a!r}: set one or the other")


def _typed(key: str, kind: str, value: Any) -> Any:
    try:
        return _VALUES[kind].validate_python(value)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise SettingError(key, f"{where + ': ' if where else ''}{err['msg']} (got {value!r})") from None


def apply(base: Scenario, settings: Mapping[str, Any]) -> Scenario:
    """The base scenario with the settings applied, validated like any scenario.

    Order: ``remove_units`` drops the units and every table row naming them (relationships, scores, pins,
    cadres, ...; not the baseline) and the counterpart rows of a PRD city left without units; ``capacity.<unit>`` sets a unit's capacity; ``capacity_add.<tier>`` adds to every unit of the
    tier that may lead (never below 0; a member-only unit, capacity 0, stays one); ``policy.<path>`` sets a policy value (a path walks mappings, e.g.
    ``policy.tier_ratio.prd`` or ``policy.city_quotas.湛江市.prd``). Raises :class:`SettingError` naming the key.
    """
    _check_overlaps(list(settings), base)
    parsed = {key: _parse_key(key, base) for key in settings}
    fields = {name: getattr(base, name) for name in Scenario.model_fields}
    removed = set(_typed("remove_units", "remove_units", settings["remove_units"])) if "remove_units" in settings \
        else set()
    if unknown := removed - {u.unit_id for u in base.units}:
        raise SettingError("remove_units", f"unknown unit(s) {', '.join(sorted(unknown))}")
    if removed:
        fields |= {table: tuple(r for r in rows if r.unit_id not in removed) for table, rows in fields.items()
                   if table not in KEEPS_REMOVED_UNITS and isinstance(rows, tuple) and rows
                   and hasattr(rows[0], "unit_id")}
        prd_cities = {u.city for u in fields["units"] if u.tier is Tier.PRD}
        fields["counterparts"] = tuple(c for c in fields["counterparts"] if c.prd_city in prd_cities)
    capacity = {path[0]: _typed(key, kind, settings[key]) for key, (kind, path) in parsed.items()
                if kind == "capacity"}
    add = {path[0]: _typed(key, kind, settings[key]) for key, (kind, path) in parsed.items() if kind == "capacity_add"}
    if capacity or add:
        fields["units"] = tuple(_with_capacity(u, capacity, add) for u in fields["units"])
    policy_keys = [(key, path) for key, (kind, path) in parsed.items() if kind == "policy"]
    if policy_keys:
        fields["policy"] = _policy(base.policy, {key: (path, settings[key]) for key, path in policy_keys})
    try:
        return Scenario(**fields)
    except ScenarioError as exc:
        raise SettingError(next(iter(settings)) if len(settings) == 1 else None, str(exc)) from None


def _with_capacity(unit: Unit, capacity: Mapping[str, int], add: Mapping[str, int]) -> Unit:
    value = capacity.get(unit.unit_id, unit.capacity)
    if value > 0:  # a member-only unit (capacity 0) stays one: capacity_add widens the leads, it makes none
        value = max(0, value + add.get(unit.tier.value, 0))
    return unit if value == unit.capacity else unit.model_copy(update={"capacity": value})


def _policy(policy: Policy, changes: Mapping[str, tuple[tuple[str, ...], Any]]) -> Policy:
    data = policy.model_dump(mode="json")
    for key, (path, value) in changes.items():
        node = data
        for depth, part in enumerate(path[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise SettingError(key, f"policy.{'.'.join(path[:depth + 1])} is not a mapping: set it whole")
            node = child
        node[path[-1]] = value
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in _input_path(err["loc"], data)]  # without pydantic's union tags
        key = next((k for k, (path, _) in changes.items() if list(path) == loc[: len(path)]), ", ".join(changes))
        got = f" (got {err['input']!r})" if not isinstance(err.get("input"), dict) else ""
        raise SettingError(key, f"policy.{'.'.join(loc)}: {err['msg']}{got}") from None


def effective(scenario: Scenario, key: str, settings: Mapping[str, Any]) -> Any:
    """The value a key has in a variant scenario (the base value where the variant does not set it)."""
    kind, path = _parse_key(key, scenario)
    if kind == "policy":
        node: Any = scenario.policy.model_dump(mode="json")
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        return node
    if kind == "capacity":
        return next((u.capacity for u in scenario.units if u.unit_id == path[0]), None)
    if kind == "capacity_add":
        return settings.get(key, 0)
    return list(settings.get(key, []))


def read_grid(path: str | Path) -> GridFile:
    """Read and validate a grid file (YAML), or raise a :class:`ScenarioError` naming it."""
    path = Path(path)
    raw = read_yaml_mapping(path, Limits(max_file_bytes=MAX_GRID_BYTES),
                            expected="a grid file must be a YAML mapping (axes, variants)")
    try:
        grid = GridFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ScenarioError(err["msg"], file=path.name, field=".".join(str(p) for p in err["loc"])) from None
    if not grid.axes and not grid.variants:
        raise ScenarioError("no variants: give 'axes', 'variants' or both", file=path.name)
    return grid


def variants(grid: GridFile, base: Scenario, file: str = "grid") -> list[Variant]:
    """Every variant of the grid, in order (the product of the axes, first axis slowest, then the explicit
    variants), each built and validated against ``base``."""
    size = math.prod(len(values) for values in grid.axes.values()) if grid.axes else 0
    if size > MAX_VARIANTS:
        raise ScenarioError(f"the axes make {size:,} variants; at most {MAX_VARIANTS:,}", file=file, field="axes")
    keys = list(dict.fromkeys([*grid.axes, *(k for v in grid.variants for k in v if k != "id")]))
    for key, values in grid.axes.items():
        for i, value in enumerate(values):
            if value in values[:i]:
                raise ScenarioError(f"value {value!r} is listed twice", file=file, field=f"axes.{key}")
            with _located(file, "axes", f"value {value!r}: "):
                apply(base, {key: value})
    listed: list[tuple[str | None, dict[str, Any], str]] = [
        (None, dict(zip(grid.axes, combo, strict=True)), "axes")
        for combo in (itertools.product(*grid.axes.values()) if grid.axes else ())]
    for i, entry in enumerate(grid.variants):
        with _located(file, f"variants.{i}.id"):
            given = _ID.validate_python(entry.get("id"))
        listed.append((given, {k: v for k, v in entry.items() if k != "id"}, f"variants.{i}"))
    out: list[Variant] = []
    places: dict[str, str] = {}
    for given, settings, where in listed:
        ident = given or variant_id(settings)
        if ident in places:
            raise ScenarioError(f"variant id {ident!r} is already {places[ident]}'s (the same settings or the "
                                "same given id)", file=file, field=where)
        places[ident] = where if where != "axes" else f"the axes' combination {settings}"
        with _located(file, where, "" if where != "axes" else f"the combination {settings}: "):
            scenario = apply(base, settings)
        out.append(Variant(id=ident, settings=settings,
                           values={key: effective(scenario, key, settings) for key in keys}))
    return out


@contextmanager
def _located(file: str, field: str, context: str = "") -> Iterator[None]:
    """A :class:`SettingError` inside becomes a :class:`ScenarioError` naming the file and the key under
    ``field`` (``axes.policy.max_changes``, ``variants.2.remove_units``)."""
    try:
        yield
    except SettingError as exc:
        raise ScenarioError(f"{context}{exc.message}", file=file,
                            field=field if exc.key is None else f"{field}.{exc.key}") from None
    except ValidationError as exc:
        raise ScenarioError(exc.errors()[0]["msg"], file=file, field=field) from None


def load_variants(path: str | Path, base: Scenario) -> list[Variant]:
    """The variants of the grid file at ``path`` for ``base`` (see :func:`variants`)."""
    return variants(read_grid(path), base, file=Path(path).name)
