"""The funding rule of the programme (``policy.funding``): a yearly amount per funded town and who pays it.

Published (seed 002): each of the 901 key and consolidation towns of the 12 cities and 肇庆 gets on average
20 million yuan a year, paid by province, city and county at 6 : 3 : 1, where the city's share comes from the
town's PRD helper city (珠三角帮扶市: 108.12亿元 in 2021–22 = 901 × 2000万 × 3/10 × 2). Sub-districts with
villages (涉农街道) that a city takes into its own scope get 2 million a year (湛江's plan), paid by that city.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .tables import Category

Yuan = Annotated[int, Field(ge=0, le=10**12, description="Yuan (元).")]
Share = Annotated[int, Field(ge=0, le=1_000_000)]


class Payer(StrEnum):
    """Who pays a share of a town's yearly amount (the levels of the budget tables)."""

    PROVINCE = "province"  # 省级财政
    PRD_CITY = "prd_city"  # the town's PRD helper city (珠三角帮扶市); its own city when it has none
    CITY = "city"          # the town's own city (属地市)
    COUNTY = "county"      # the town's county (县级财政)


class FundingSplit(BaseModel):
    """Shares of a yearly amount by payer, e.g. the programme's 6 : 3 : 1 = province : PRD city : county."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    province: Share = 0
    prd_city: Share = 0
    city: Share = 0
    county: Share = 0

    @model_validator(mode="after")
    def _not_all_zero(self) -> FundingSplit:
        if not any(self.shares().values()):
            raise ValueError("a funding split needs at least one positive share")
        return self

    def shares(self) -> dict[Payer, int]:
        return {payer: int(getattr(self, payer.value)) for payer in Payer}


class FundingPolicy(BaseModel):
    """Yearly funding per town and its split (read by ``bangfu budget``; the pairing ignores it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    town_amount: Yuan = Field(20_000_000, description="Yuan a year per funded town (programme: 2000万 on average).")
    categories: list[Category] = Field(default_factory=lambda: [Category.KEY, Category.CONSOLIDATION],
                                       description="Town categories funded; pilot towns only when listed.")
    town_split: FundingSplit = Field(FundingSplit(province=6, prd_city=3, county=1),
                                     description="Who pays a town's amount (programme: 6 : 3 : 1).")
    subdistrict_amount: Yuan = Field(2_000_000, description="Yuan a year per sub-district with villages (涉农街道).")
    subdistrict_types: list[str] = Field(default_factory=lambda: ["街道"],
                                         description="Values of the towns' `town_type` column that mark a "
                                         "sub-district; such rows are funded whatever their category.")
    subdistrict_split: FundingSplit = Field(FundingSplit(city=1),
                                            description="Who pays a sub-district's amount (its own city).")
    years: int = Field(3, ge=1, le=100, description="The budget covers years 1 to this (a team's term is 3 years).")
    prd_city: dict[str, str] = Field(default_factory=dict,
                                     description="Target city → the PRD city that pays its towns' PRD share, for a "
                                     "target city with several counterparts (a plan's PRD lead decides first).")
