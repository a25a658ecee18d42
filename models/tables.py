"""Row models of the scenario tables. One pydantic model per CSV row; extra columns are kept."""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode categories refused in ids and names: control characters, invisible format characters (zero-width
space, a BOM inside a cell, bidi marks) and line separators. They make two names that look alike differ."""
FORMULA_START = ("=", "+", "-", "@")
"""First characters that make a spreadsheet read a cell as a formula; ids may not begin with them."""


def visible(text: str) -> str:
    """Refuse text with a character of the :data:`INVISIBLE` categories (other spaces, private-use and
    unassigned characters, e.g. rare place-name characters, are fine)."""
    if not text.isprintable():
        for ch in text:
            if unicodedata.category(ch) in INVISIBLE:
                raise ValueError(f"contains the invisible character U+{ord(ch):04X} "
                                 f"({unicodedata.name(ch, 'a control character')}): retype the cell")
    return text


def identifier(text: str) -> str:
    """An id is visible text that a spreadsheet cannot mistake for a formula (so exports never alter ids)."""
    visible(text)
    if text.startswith(FORMULA_START):
        raise ValueError(f"an id may not begin with {text[0]!r} (a spreadsheet would run it as a formula)")
    return text


Id = Annotated[str, Field(min_length=1, description="Identifier, unique within its table."), AfterValidator(identifier)]
Name = Annotated[str, Field(min_length=1), AfterValidator(visible)]
Text = Annotated[str, AfterValidator(visible)]
Lon = Annotated[float, Field(ge=-180, le=180, description="Longitude in degrees (GCJ-02 in the shipped data).")]
Lat = Annotated[float, Field(ge=-90, le=90, description="Latitude in degrees.")]


class Tier(StrEnum):
    """The three helper tiers of the 5:2:3 rule."""

    PRD = "prd"                # Pearl River Delta cities' districts and departments
    PROVINCIAL = "provincial"  # provincial units and central units stationed in Guangdong
    LOCAL = "local"            # municipal units of the town's own city


class Category(StrEnum):
    """Town categories of the 2021 programme; only key towns get a lead unit from this model."""

    KEY = "key"                      # 重点帮扶镇
    CONSOLIDATION = "consolidation"  # 巩固提升镇
    PILOT = "pilot"                  # 先行示范镇


class UnitKind(StrEnum):
    """What a unit is; a group (组团) joins a lead and member units of several kinds (党政机关 + 企事业单位 + 科研力量)."""

    AGENCY = "agency"            # Party and government organs (党政机关)
    ENTERPRISE = "enterprise"    # enterprises, e.g. state-owned (企业)
    INSTITUTION = "institution"  # public institutions: hospitals, schools (事业单位)
    RESEARCH = "research"        # universities and research institutes (科研力量)


class RelationshipKind(StrEnum):
    PREVIOUS_LEAD = "previous_lead"      # unit led the town before: keep it where possible
    COUNTY_PAIRING = "county_pairing"    # unit is paired with a county: it may lead only there
    PREVIOUS_MEMBER = "previous_member"  # unit was a member of the town's group: keep it where possible


class Row(BaseModel):
    """Common config: immutable, extra columns kept (they travel into reports)."""

    model_config = ConfigDict(frozen=True, extra="allow", str_strip_whitespace=True)


class Town(Row):
    town_id: Id
    name: Name
    city: Name
    county: Name
    category: Category
    border: bool = Field(False, description="On the provincial border (省际边界).")
    ethnic: bool = Field(False, description="Ethnic-minority area (少数民族地区).")
    old_base: bool = Field(False, description="Key old revolutionary base area (重点老区苏区).")
    lon: Lon | None = None
    lat: Lat | None = None
    needs: Text = Field("", description="`;`-separated need tags (e.g. `industry;tourism`) that member rules select.")

    @property
    def flags(self) -> frozenset[str]:
        return frozenset(f for f in ("border", "ethnic", "old_base") if getattr(self, f))

    @property
    def need_tags(self) -> frozenset[str]:
        return frozenset(tag.strip() for tag in self.needs.split(";") if tag.strip())


class Unit(Row):
    unit_id: Id
    name: Name
    tier: Tier
    city: Text | None = Field(None, description="PRD city for `prd`, own city for `local`, empty for `provincial`.")
    capacity: int = Field(ge=0, le=10_000, description="Most towns the unit may lead.")
    strength: int = Field(3, ge=1, le=5, description="Helping strength, 1 (weak) to 5 (strong).")
    lon: Lon | None = None
    lat: Lat | None = None
    kind: UnitKind = Field(UnitKind.AGENCY, description="agency, enterprise, institution or research (member rules).")
    member_capacity: int = Field(0, ge=0, le=10_000, description="Most groups the unit may join as a member unit.")
    min_memberships: int = Field(0, ge=0, le=10_000, description="Fewest groups the unit must join as a member unit.")
    quota_group: Text | None = Field(None, description="A named set of units that `policy.lead_counts` may key "
                                     "(e.g. 深圳市直单位: the municipal units lead 40 towns together).")

    @model_validator(mode="after")
    def _city_matches_tier(self) -> Unit:
        if self.tier is Tier.PROVINCIAL and self.city:
            raise ValueError("a provincial unit has no city; leave 'city' empty")
        if self.tier is not Tier.PROVINCIAL and not self.city:
            raise ValueError(f"a {self.tier.value} unit needs a 'city'")
        return self

    @field_validator("min_memberships")
    @classmethod
    def _within_member_capacity(cls, value: int, info: ValidationInfo) -> int:
        capacity = info.data.get("member_capacity")
        if capacity is not None and value > capacity:
            raise ValueError(f"min_memberships {value} exceeds member_capacity {capacity}")
        return value


class Counterpart(Row):
    prd_city: Name
    target_city: Name


class Relationship(Row):
    unit_id: Id
    kind: RelationshipKind
    town_id: Annotated[str, AfterValidator(identifier)] | None = None
    county: Text | None = None

    @model_validator(mode="after")
    def _target_matches_kind(self) -> Relationship:
        if self.kind in (RelationshipKind.PREVIOUS_LEAD, RelationshipKind.PREVIOUS_MEMBER) and not self.town_id:
            raise ValueError(f"a {self.kind.value} relationship needs a 'town_id'")
        if self.kind is RelationshipKind.COUNTY_PAIRING and not self.county:
            raise ValueError("a county_pairing relationship needs a 'county'")
        return self


class PinAction(StrEnum):
    PIN = "pin"  # the unit must lead the town
    BAN = "ban"  # the unit must not lead the town


class Pin(Row):
    unit_id: Id
    town_id: Id
    action: PinAction


class Score(Row):
    unit_id: Id
    town_id: Id
    score: int = Field(ge=-1_000_000, le=1_000_000, description="Affinity points of the pair (may be negative).")


class PlanRow(Row):
    """A row of ``plan.csv`` as read back for the audit; the other columns are for people."""

    town_id: Id
    unit_id: Id


from .staffing import Cadre  # noqa: E402  (built on this module's row types)

TABLE_ROWS: dict[str, type[Row]] = {
    "towns": Town,
    "units": Unit,
    "counterparts": Counterpart,
    "relationships": Relationship,
    "scores": Score,
    "pins": Pin,
    "baseline": PlanRow,
    "cadres": Cadre,
}
"""Table name → row model; the order is the order tables are read and checked."""
