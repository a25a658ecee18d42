"""Scenario tables as pandas frames: the builder works column-wise, never pair by pair in Python."""

from __future__ import annotations

import pandas as pd

from models import Category, RelationshipKind, Scenario


def key_towns(scenario: Scenario) -> pd.DataFrame:
    """Key towns in file order, with a ``t`` position column."""
    rows = [t.model_dump(include={"town_id", "city", "county", "border", "ethnic", "old_base", "lon", "lat"})
            for t in scenario.towns if t.category is Category.KEY]
    frame = pd.DataFrame(rows)
    frame["t"] = range(len(frame))
    return frame


def units(scenario: Scenario) -> pd.DataFrame:
    """Units in file order, with a ``u`` position column; tier as its string value."""
    rows = [u.model_dump(include={"unit_id", "tier", "city", "capacity", "strength", "lon", "lat"})
            for u in scenario.units]
    frame = pd.DataFrame(rows, columns=["unit_id", "tier", "city", "capacity", "strength", "lon", "lat"])
    frame["tier"] = frame["tier"].map(str)
    frame["u"] = range(len(frame))
    return frame


def counterparts(scenario: Scenario) -> pd.DataFrame:
    return pd.DataFrame([(c.prd_city, c.target_city) for c in scenario.counterparts],
                        columns=["prd_city", "target_city"])


def county_pairings(scenario: Scenario) -> pd.DataFrame:
    """``unit_id, county`` of every county pairing."""
    return pd.DataFrame([(r.unit_id, r.county) for r in scenario.relationships
                         if r.kind is RelationshipKind.COUNTY_PAIRING], columns=["unit_id", "county"])


def scores(scenario: Scenario) -> pd.DataFrame:
    return pd.DataFrame([(s.unit_id, s.town_id, s.score) for s in scenario.scores],
                        columns=["unit_id", "town_id", "score"])
