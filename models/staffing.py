"""Team staffing schema: the ``cadres`` table, the rank scale and the staffing policy (Shenzhen 2022 defaults).

Ages, Party years and work years in the ``cadres`` table are as of ``policy.staffing.start_year``; a cadre who
joins a team in a later year is judged with the years added (a 44-year-old in 2022 is 46 in 2024).
"""

from __future__ import annotations

import math
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .plan import Conflict, Status
from .tables import Id, Name, Row

Year = Annotated[int, Field(ge=1949, le=2200, description="A calendar year.")]


class Rank(StrEnum):
    """Civil-service ranks (职级) in ascending order; compared by that order, not alphabetically."""

    KEYUAN = "科员"     # clerk
    FUKE = "副科"       # deputy section
    ZHENGKE = "正科"    # section
    FUCHU = "副处"      # deputy division
    ZHENGCHU = "正处"   # division
    FUTING = "副厅"     # deputy department
    ZHENGTING = "正厅"  # department

    @property
    def level(self) -> int:
        """0 for 科员 up to 6 for 正厅."""
        return _LEVELS[self]

    def __lt__(self, other: object) -> bool:
        return self.level < other.level if isinstance(other, Rank) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.level <= other.level if isinstance(other, Rank) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.level > other.level if isinstance(other, Rank) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.level >= other.level if isinstance(other, Rank) else NotImplemented


_LEVELS = {rank: level for level, rank in enumerate(Rank)}

PARTY_MIN_AGE = 18
"""One joins the Communist Party at 18 at the earliest: Party years ≤ age − 18."""
WORK_MIN_AGE = 16
"""Legal working age in China: work years ≤ age − 16."""


class Cadre(Row):
    """A cadre (干部) a unit can send to a team. Years and ages are as of the staffing start year."""

    cadre_id: Id
    unit_id: Id = Field(description="The unit that employs the cadre (and would send them).")
    name: Name
    party_member: bool = Field(description="Full member of the Communist Party (正式党员).")
    party_years: int = Field(ge=0, le=80, description="Years of Party membership (0 for non-members).")
    work_years: int = Field(ge=0, le=70, description="Years of work experience.")
    age: int = Field(ge=16, le=90)
    rank: Rank = Field(description="科员, 副科, 正科, 副处, 正处, 副厅 or 正厅.")
    available_from: Year | None = Field(None, description="First year the cadre can serve; empty: any year.")
    available_until: Year | None = Field(None, description="Last year the cadre can serve; empty: any year.")
    previous_town: Id | None = Field(None, description="Town whose team the cadre served on before (continuity).")

    @model_validator(mode="after")
    def _consistent(self) -> Cadre:
        if self.party_years > 0 and not self.party_member:
            raise ValueError(f"party_years is {self.party_years} but party_member is false: only a Party member "
                             "has Party years")
        if self.party_years > self.age - PARTY_MIN_AGE:
            raise ValueError(f"party_years {self.party_years} is more than age {self.age} − {PARTY_MIN_AGE} "
                             f"(no one joins the Party before {PARTY_MIN_AGE})")
        if self.work_years > self.age - WORK_MIN_AGE:
            raise ValueError(f"work_years {self.work_years} is more than age {self.age} − {WORK_MIN_AGE} "
                             f"(no one works before {WORK_MIN_AGE})")
        if (self.available_from is not None and self.available_until is not None
                and self.available_from > self.available_until):
            raise ValueError(f"available_from {self.available_from} is after available_until {self.available_until}")
        return self


class _Block(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CadreRule(_Block):
    """Who may take a post. Checked in the year the cadre takes it (ages and years grow with the calendar)."""

    party_member: bool = Field(False, description="Must be a full Party member.")
    min_party_years: int = Field(0, ge=0, le=80, description="Least years of Party membership.")
    min_work_years: int = Field(0, ge=0, le=70, description="Least years of work experience.")
    max_age: int | None = Field(None, ge=16, le=90, description="Oldest age allowed; empty: no limit.")
    min_rank: Rank | None = Field(None, description="Lowest rank allowed; empty: any rank.")


class StaffingPolicy(_Block):
    """Resident teams (驻镇帮扶工作队), county working groups and their rotation. Defaults: Shenzhen 2022 plan."""

    min_team_size: int = Field(5, ge=1, le=100, description="Cadres per town team, the leader included; teams "
                               "are staffed at exactly this size (the published minimum is 5).")
    leader: CadreRule = Field(CadreRule(party_member=True, max_age=50, min_rank=Rank.FUKE),
                              description="Team leader (队长), from the town's lead unit.")
    member: CadreRule = Field(CadreRule(party_member=True, min_party_years=1, min_work_years=2, max_age=45),
                              description="Team members (队员), from the units of the town's group (lead included).")
    county_head: CadreRule = Field(CadreRule(min_rank=Rank.FUCHU),
                                   description="Head of a county working group (县级工作组组长).")
    county_heads: bool = Field(True, description="Each lead unit with a county pairing that leads a town in that "
                               "county sends one cadre to head its county working group.")
    start_year: Year = Field(2022, description="First year of the teams; the cadres table's ages are as of it.")
    years: int = Field(6, ge=1, le=30, description="Years the rotation calendar covers, from start_year.")
    term_years: int = Field(3, ge=1, le=30, description="Longest stay of a cadre on a team or post.")
    max_replaced_share: float = Field(0.5, ge=0, le=1, description="Most of a team replaced in one year, as a "
                                      "share of its size, rounded down (0.5 of 5 = 2); the first staffing excluded.")
    time_limit: float = Field(60.0, gt=0, description="Seconds for the rotation calendar's CP-SAT search.")

    def max_replaced(self) -> int:
        """Most cadres of a team replaced in one year: ⌊min_team_size × max_replaced_share⌋, computed exactly."""
        return math.floor(self.min_team_size * Decimal(repr(self.max_replaced_share)))


# --- results -------------------------------------------------------------------------------------------------

class Role(StrEnum):
    """A post on a town team or a county working group."""

    LEADER = "leader"            # 队长: from the lead unit
    MEMBER = "member"            # 队员: from the units of the town's group
    COUNTY_HEAD = "county_head"  # 县级工作组组长: sent by a county-paired lead unit


class Event(StrEnum):
    """A rotation-calendar row's event in its year."""

    START = "start"        # the cadre takes the post this year
    CONTINUE = "continue"  # the cadre serves on
    LEAVE = "leave"        # the cadre left at the end of last year; a new one started this year


class Team(BaseModel):
    """A town's first-year team: its group's units and the cadres on it."""

    model_config = ConfigDict(frozen=True)

    town_id: str
    lead_unit_id: str
    member_unit_ids: tuple[str, ...] = ()
    leader: str = Field(description="cadre_id of the team leader.")
    members: tuple[str, ...] = Field(description="cadre_ids of the members, in cadres-table order.")


class CountyHead(BaseModel):
    """The head of a county working group, sent by a county-paired lead unit."""

    model_config = ConfigDict(frozen=True)

    unit_id: str
    county: str
    cadre_id: str


class Stint(BaseModel):
    """A cadre's service on one post: calendar years ``start`` … ``end`` (``end`` may lie past the horizon)."""

    model_config = ConfigDict(frozen=True)

    cadre_id: str
    role: Role
    town_id: str | None = None
    county: str | None = None
    unit_id: str = Field(description="The cadre's unit.")
    start: int
    end: int


class StaffingResult(BaseModel):
    """What :func:`optimizer.teams.staff` returns: first-year teams, county heads, the rotation calendar."""

    model_config = ConfigDict(frozen=True)

    status: Status
    teams: tuple[Team, ...] = ()
    county_heads: tuple[CountyHead, ...] = ()
    stints: tuple[Stint, ...] = Field((), description="The rotation calendar, one row per cadre and post.")
    start_year: int
    years: int
    kept: int = Field(0, description="First-year cadres on the team of their previous_town (continuity).")
    replacements: int = Field(0, description="Cadres who start after the first year (the rotation's objective).")
    replacements_bound: int = Field(0, description="Proven lower bound on replacements.")
    rotation_paths: dict[str, int] = Field(default_factory=dict, description="Components of the calendar solved "
                                           "by each path: pattern (flow), repair or cp-sat.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage.")
    message: str = ""
    conflicts: tuple[Conflict, ...] = ()

    @property
    def has_teams(self) -> bool:
        return self.status in (Status.OPTIMAL, Status.FEASIBLE)
