"""The posts to staff and who may take them: the staffing model's reading of ``policy.staffing``.

Shared by the first staffing (:mod:`.cadres`) and the rotation calendar (:mod:`.rotation`); the team audit reads
the rules on its own. Cadre attributes are numpy columns so that eligibility for 20,000 cadres is a few vector
operations; ages and years grow with the calendar (``offset`` = years after ``start_year``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from models import CadreRule, RelationshipKind, Scenario
from models.staffing import Role

NEVER = 10_000
"""Year offset standing for "no limit" in availability windows."""


@dataclass(frozen=True)
class TeamUnits:
    """A town's group: its lead unit and its member units (the team's cadres come from these units)."""

    lead: str
    members: tuple[str, ...] = ()

    @property
    def units(self) -> tuple[str, ...]:
        return (self.lead, *(u for u in self.members if u != self.lead))


@dataclass(frozen=True)
class Post:
    """Seats to fill: a town's leader (1) or members (team size − 1), or a county working group's head (1)."""

    role: Role
    units: tuple[str, ...]
    seats: int
    town_id: str | None = None
    county: str | None = None

    @property
    def label(self) -> str:
        where = self.town_id if self.town_id else f"{self.units[0]}@{self.county}"
        return f"{self.role.value}@{where}"


def posts_of(scenario: Scenario, teams: Mapping[str, TeamUnits]) -> list[Post]:
    """Every post of the teams, in town order, then the county heads: one per (lead unit, county) with a
    county_pairing relationship where the unit leads at least one of the teams' towns."""
    policy = scenario.policy.staffing
    county_of = {t.town_id: t.county for t in scenario.towns}
    posts: list[Post] = []
    for town, group in sorted(teams.items()):
        posts.append(Post(Role.LEADER, (group.lead,), 1, town_id=town))
        if policy.min_team_size > 1:
            posts.append(Post(Role.MEMBER, group.units, policy.min_team_size - 1, town_id=town))
    if policy.county_heads:
        led = {(group.lead, county_of[town]) for town, group in teams.items()}
        for r in scenario.relationships:
            if r.kind is RelationshipKind.COUNTY_PAIRING and (r.unit_id, r.county) in led:
                posts.append(Post(Role.COUNTY_HEAD, (r.unit_id,), 1, county=r.county))
    return posts


def rule_of(scenario: Scenario, role: Role) -> CadreRule:
    policy = scenario.policy.staffing
    return {Role.LEADER: policy.leader, Role.MEMBER: policy.member, Role.COUNTY_HEAD: policy.county_head}[role]


class Reason(IntEnum):
    """Why a cadre may not take a post, in the order they are checked (a cadre is counted by the first)."""

    ELIGIBLE = 0
    PARTY = 1
    PARTY_YEARS = 2
    WORK_YEARS = 3
    AGE = 4
    RANK = 5
    AVAILABILITY = 6


def reason_words(reason: Reason, rule: CadreRule, year: int, count: int) -> str:
    """``3 are over 45``: a count of cadres and the rule they fail, in policy words."""
    verb = "is" if count == 1 else "are"
    has = "has" if count == 1 else "have"
    return f"{count} " + {
        Reason.PARTY: f"{verb} not {'a Party member' if count == 1 else 'Party members'}",
        Reason.PARTY_YEARS: f"{has} under {rule.min_party_years} year(s) of Party membership",
        Reason.WORK_YEARS: f"{has} under {rule.min_work_years} year(s) of work",
        Reason.AGE: f"{verb} over {rule.max_age}",
        Reason.RANK: f"{verb} below {rule.min_rank.value if rule.min_rank else ''}",
        Reason.AVAILABILITY: f"{verb} not available in {year}",
        Reason.ELIGIBLE: f"{verb} eligible",
    }[reason]


ROLE_ZH = {Role.LEADER: "队长", Role.MEMBER: "队员", Role.COUNTY_HEAD: "驻县工作组组长"}
"""Each post in the words of the Shenzhen 2022 plan (驻镇帮扶工作队队长、队员，驻县工作组组长)."""


def reason_words_zh(reason: Reason, rule: CadreRule, year: int, count: int) -> str:
    """``3 人超过 45 周岁``: :func:`reason_words` in Chinese."""
    return f"{count} 人" + {
        Reason.PARTY: "不是正式党员",
        Reason.PARTY_YEARS: f"党龄不足 {rule.min_party_years} 年",
        Reason.WORK_YEARS: f"工作年限不足 {rule.min_work_years} 年",
        Reason.AGE: f"超过 {rule.max_age} 周岁",
        Reason.RANK: f"职级低于{rule.min_rank.value if rule.min_rank else ''}",
        Reason.AVAILABILITY: f"在 {year} 年不可派",
        Reason.ELIGIBLE: "符合条件",
    }[reason]


@dataclass(frozen=True)
class CadreTable:
    """The cadres table as numpy columns, with row indices per unit."""

    ids: tuple[str, ...]
    unit: tuple[str, ...]
    party: npt.NDArray[np.bool_]
    party_years: npt.NDArray[np.int64]
    work_years: npt.NDArray[np.int64]
    age: npt.NDArray[np.int64]
    rank: npt.NDArray[np.int64]
    available_from: npt.NDArray[np.int64]   # year offsets from start_year; −NEVER when open
    available_until: npt.NDArray[np.int64]  # NEVER when open
    previous_town: tuple[str | None, ...]
    by_unit: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)

    @classmethod
    def of(cls, scenario: Scenario) -> CadreTable:
        rows = scenario.cadres
        start = scenario.policy.staffing.start_year
        by_unit: dict[str, list[int]] = {}
        for i, c in enumerate(rows):
            by_unit.setdefault(c.unit_id, []).append(i)
        return cls(
            ids=tuple(c.cadre_id for c in rows), unit=tuple(c.unit_id for c in rows),
            party=np.array([c.party_member for c in rows], dtype=bool),
            party_years=np.array([c.party_years for c in rows], dtype=np.int64),
            work_years=np.array([c.work_years for c in rows], dtype=np.int64),
            age=np.array([c.age for c in rows], dtype=np.int64),
            rank=np.array([c.rank.level for c in rows], dtype=np.int64),
            available_from=np.array([-NEVER if c.available_from is None else c.available_from - start
                                     for c in rows], dtype=np.int64),
            available_until=np.array([NEVER if c.available_until is None else c.available_until - start
                                      for c in rows], dtype=np.int64),
            previous_town=tuple(c.previous_town for c in rows),
            by_unit={u: np.array(ix, dtype=np.int64) for u, ix in by_unit.items()},
        )

    def __len__(self) -> int:
        return len(self.ids)

    def of_units(self, units: Sequence[str]) -> npt.NDArray[np.int64]:
        """Row indices of the units' cadres, in file order."""
        parts = [self.by_unit[u] for u in units if u in self.by_unit]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def reasons(self, rule: CadreRule, offset: int, rows: npt.NDArray[np.int64] | None = None) -> npt.NDArray[np.int8]:
        """Per cadre (of ``rows``, default all), the first :class:`Reason` it fails taking a post in year
        ``offset``; ``ELIGIBLE`` when it may."""
        ix = np.arange(len(self)) if rows is None else rows
        out = np.zeros(len(ix), dtype=np.int8)
        checks: list[tuple[Reason, npt.NDArray[np.bool_]]] = [
            (Reason.AVAILABILITY, (self.available_from[ix] > offset) | (self.available_until[ix] < offset)),
        ]
        if rule.min_rank is not None:
            checks.append((Reason.RANK, self.rank[ix] < rule.min_rank.level))
        if rule.max_age is not None:
            checks.append((Reason.AGE, self.age[ix] + offset > rule.max_age))
        growth = np.where(self.party[ix], offset, 0)
        checks += [(Reason.WORK_YEARS, self.work_years[ix] + offset < rule.min_work_years),
                   (Reason.PARTY_YEARS, self.party_years[ix] + growth < rule.min_party_years)]
        if rule.party_member:
            checks.append((Reason.PARTY, ~self.party[ix]))
        for reason, failed in checks:  # the last assignment wins: checks run from the last reason to the first
            out[failed] = reason
        return out
