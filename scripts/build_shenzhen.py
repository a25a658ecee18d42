"""Build the ``scenarios/shenzhen-2022/`` scenario: Shenzhen's 2022 action plan for its 76 key towns.

Data-preparation step, committed for reproducibility; the product never reads the shared data at run time.

    PYTHONPATH=. python scripts/build_shenzhen.py [DATA_DIR] [--out DIR]

``DATA_DIR`` defaults to ``../shared/data``. Writes ``scenario.yaml``, ``towns.csv``, ``units.csv``,
``counterparts.csv``, ``relationships.csv`` and ``README.md``; two runs give byte-identical files (no
randomness). The published figures (76 towns = 13 + 44 + 19, the teams per leader, the county pairings, one
municipal SOE per 汕头 town) are constants checked against the shared data; the choice of the 76 towns, the
unit capacities and the departments' roles are documented rules and assumptions (see the generated README).
Shenzhen's published constants are shared with ``build_guangdong.py``, so both scenarios tell one story.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from build_guangdong import (
    DEFAULT_DATA,
    DEPT_SLUG,
    DISTRICT_SLUG,
    SHENZHEN_DISTRICT_COUNTIES,
    SHENZHEN_PLAN_URL,
    SHENZHEN_SHANTOU_DEPTS,
    SHENZHEN_TEAMS,
    Data,
    find_town,
    largest_remainder,
    markdown_table,
    read_data,
    town_flags,
    write_csv,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "scenarios" / "shenzhen-2022"
SCENARIO_NAME = "shenzhen-2022"
CITY = "深圳市"

# --- published (Shenzhen's action plan, 2022-02-18, seed 001) ----------------------------------------------
CITY_TOWNS = {"汕头市": 13, "河源市": 44, "汕尾市": 19}
PLAN_COUNTIES = {  # the county-level units the plan's towns lie in: 汕头 4, 河源 5 counties, 汕尾 4
    "汕头市": ("澄海区", "潮阳区", "潮南区", "南澳县"),
    "河源市": ("东源县", "和平县", "龙川县", "紫金县", "连平县"),
    "汕尾市": ("城区", "海丰县", "陆河县", "陆丰市"),
}
PAIRED_ONLY = ("源城区",)  # a paired county with no key town of the plan (河源's towns are in its 5 counties)
MUNICIPAL_TEAMS = 40       # 汕头's 13 and 27 in 河源/汕尾
MUNICIPAL_GROUP = "深圳市直单位"

# --- assumed: the other municipal departments (real names; which ones lead a town is not published) ---------
OTHER_DEPARTMENTS = (
    "市委办公厅", "市委组织部", "市妇联",  # named by 2021 town-level sources (town_pairing_examples.csv)
    "市委宣传部", "市委统战部", "市委政法委", "市发展改革委", "市财政局", "市工业和信息化局", "市科技创新委", "市住房建设局",
    "市水务局", "市商务局", "市卫生健康委", "市教育局", "市人力资源保障局", "市民政局", "市乡村振兴和协作交流局", "市总工会",
    "市生态环境局", "市文化广电旅游体育局", "市城市管理和综合执法局", "市应急管理局", "市司法局", "市审计局", "市统计局",
    "市政务服务数据管理局",
)
EXTRA_SLUG = {"市生态环境局": "sthj", "市文化广电旅游体育局": "wglt", "市城市管理和综合执法局": "cgzf",
              "市应急管理局": "yjgl", "市司法局": "sfj", "市审计局": "sjj", "市政务服务数据管理局": "zsj"}
SOES = (  # 深圳市属国有企业 (real names), member units of the 汕头 groups; 国信证券 (深投控) from a 2021 source
    ("sihc", "深圳市投资控股有限公司"), ("metro", "深圳市地铁集团有限公司"), ("sztq", "深圳市特区建设发展集团有限公司"),
    ("energy", "深圳市能源集团有限公司"), ("gas", "深圳市燃气集团股份有限公司"), ("water", "深圳市环境水务集团有限公司"),
    ("airport", "深圳市机场(集团)有限公司"), ("anju", "深圳市人才安居集团有限公司"),
    ("agri", "深圳市农产品集团股份有限公司"), ("ytport", "深圳市盐田港集团有限公司"), ("tagen", "深圳市天健(集团)股份有限公司"),
    ("bus", "深圳巴士集团股份有限公司"), ("capital", "深圳市资本运营集团有限公司"), ("shumyip", "深业集团有限公司"),
    ("sfb", "深圳市深福保(集团)有限公司"), ("sztj", "深圳市特区建工集团有限公司"), ("guosen", "国信证券股份有限公司"),
)
# 2021 teams named by town-level sources: town → (county, lead, members). 大湖镇's lead is not marked: the first
# unit named is taken as lead (as in guangdong-2021); 深圳海关 (a central agency, not a Shenzhen unit) is left out.
EXAMPLES = {
    "捷胜镇": ("城区", "prd-sz-guangming", ("prd-sz-swbgt", "prd-sz-zzb")),
    "大湖镇": ("海丰县", "prd-sz-fl", ("prd-sz-guosen",)),
    "高莞镇": ("连平县", "prd-sz-nanshan", ()),
}

CONTINUITY_WEIGHT = 100        # per kept 2021 lead
MEMBER_CONTINUITY_WEIGHT = 50  # per kept 2021 member unit
SOLVER = {"time_limit": 60, "workers": 1, "seed": 0}
STRENGTH = {"district": 5, "department": 4, "soe": 4}


def county_counts(towns: pd.DataFrame) -> dict[str, int]:
    """Key towns per county: each city's published total split over the plan's counties in proportion to their
    镇+乡 counts (largest remainder, ties in the plan's county order). Fails if a county cannot hold its paired
    district's teams or an 汕头 county gets no town (the 4 departments each lead a county)."""
    counts: dict[str, int] = {}
    for city, total in CITY_TOWNS.items():
        size = towns[towns.city_name == city].groupby("county_name").size()
        counts |= largest_remainder(total, {c: float(size[c]) for c in PLAN_COUNTIES[city]})
    for district, pairs in SHENZHEN_DISTRICT_COUNTIES.items():
        room = sum(counts.get(c, 0) for c, _ in pairs)
        if room < SHENZHEN_TEAMS[district]:
            raise SystemExit(f"{district}: {SHENZHEN_TEAMS[district]} teams but {room} key towns in its counties")
    if any(counts[c] == 0 for c in SHENZHEN_SHANTOU_DEPTS.values()):
        raise SystemExit("an 汕头 county of the plan gets no key town")
    return counts


def build_towns(data: Data) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every 镇/乡 of the paired counties; the 76 key towns chosen county by county (README rule)."""
    counties = [c for cs in PLAN_COUNTIES.values() for c in cs] + list(PAIRED_ONLY)
    t = town_flags(data)
    t = t[t.county_name.isin(counties) & t.city_name.isin(CITY_TOWNS)].copy()
    counts = county_counts(t)
    examples = {find_town(t, county, town) for town, (county, *_) in EXAMPLES.items()}
    t["example"] = t.town_code.isin(examples)
    t = t.sort_values(["example", "n_flags", "dist_city_km", "town_code"], ascending=[False, False, False, True])
    t["county_rank"] = t.groupby("county_name").cumcount() + 1
    t["key"] = t.county_rank <= t.county_name.map(counts).fillna(0)
    t = t.sort_values("town_code")
    out = pd.DataFrame({
        "town_id": t.town_code, "name": t.town_name, "city": t.city_name, "county": t.county_name,
        "category": t.key.map({True: "key", False: "consolidation"}),
        "border": t.border.map(_bool), "ethnic": t.ethnic.map(_bool), "old_base": t.old_base.map(_bool),
        "lon": t.lon_gcj02, "lat": t.lat_gcj02, "town_type": t.town_type, "county_code": t.county_code,
        "coord_source": t.coord_source, "dist_city_km": t.dist_city_km.map(lambda x: f"{x:.1f}"),
        "county_rank": t.county_rank.astype(str),
        "source": t.town_code.map(lambda c: "guangdong_towns.csv; example: town_pairing_examples.csv"
                                  if c in examples else "guangdong_towns.csv"),
    })
    return out, counts


def _bool(x: object) -> str:
    return "true" if bool(x) else "false"


def _unit(uid: str, name: str, cap: int, strength: int, lon: str, lat: str, kind: str, coord: str, *,
          group: str = "", member_capacity: int = 0, min_memberships: int = 0, source: str = "") -> dict[str, str]:
    return {"unit_id": uid, "name": name, "tier": "prd", "city": CITY, "capacity": str(cap), "strength": str(strength),
            "lon": lon, "lat": lat, "kind": kind, "quota_group": group, "member_capacity": str(member_capacity),
            "min_memberships": str(min_memberships), "coord_source": coord, "source": source}


def build_units(data: Data, counts: dict[str, int]) -> pd.DataFrame:
    """Districts (capacity = key towns of their counties), municipal departments (the 4 汕头 county leads: their
    county's key towns; the others one town each) and municipal SOEs (member units only)."""
    centre = data.cities.set_index("city_name").loc[CITY]
    clon, clat = f"{float(centre.lon_gcj02):.6f}", f"{float(centre.lat_gcj02):.6f}"
    seats = data.counties[data.counties.city_name == CITY].set_index("county_name")
    rows = []
    for district, pairs in SHENZHEN_DISTRICT_COUNTIES.items():
        has = district in seats.index and seats.lon_gcj02[district] != ""
        lon, lat = (f"{float(seats.lon_gcj02[district]):.6f}", f"{float(seats.lat_gcj02[district]):.6f}") if has \
            else (clon, clat)
        rows.append(_unit(f"prd-sz-{DISTRICT_SLUG[district]}", CITY + district, sum(counts.get(c, 0) for c, _ in pairs),
                          STRENGTH["district"], lon, lat, "agency", "county_centre" if has else "city_centre",
                          source=SHENZHEN_PLAN_URL))
    members = {m for _, _, ms in EXAMPLES.values() for m in ms}
    for dept, county in SHENZHEN_SHANTOU_DEPTS.items():
        rows.append(_unit(f"prd-sz-{DEPT_SLUG[dept]}", "深圳" + dept, counts[county], STRENGTH["department"], clon,
                          clat, "agency", "city_centre", group=MUNICIPAL_GROUP, source=SHENZHEN_PLAN_URL))
    for dept in OTHER_DEPARTMENTS:
        uid = f"prd-sz-{DEPT_SLUG.get(dept) or EXTRA_SLUG[dept]}"
        member = int(uid in members)
        rows.append(_unit(uid, "深圳" + dept, 1, STRENGTH["department"], clon, clat, "agency", "city_centre",
                          group=MUNICIPAL_GROUP, member_capacity=member,
                          source="town_pairing_examples.csv" if dept in ("市委办公厅", "市委组织部", "市妇联") else "assumed"))
    for slug, name in SOES:
        uid = f"prd-sz-{slug}"
        rows.append(_unit(uid, name, 0, STRENGTH["soe"], clon, clat, "enterprise", "city_centre", member_capacity=1,
                          source="town_pairing_examples.csv" if uid in members else "assumed"))
    units = pd.DataFrame(rows)
    if units.unit_id.duplicated().any():
        raise SystemExit(f"duplicate unit ids: {sorted(units.unit_id[units.unit_id.duplicated()])}")
    municipal = units[units.quota_group == MUNICIPAL_GROUP].capacity.astype(int).sum()
    if municipal != MUNICIPAL_TEAMS:
        raise SystemExit(f"municipal departments can lead {municipal} towns, the plan has {MUNICIPAL_TEAMS}")
    return units


def build_relationships(data: Data, towns: pd.DataFrame) -> pd.DataFrame:
    """County pairings (districts and the 4 汕头 departments) and the 2021 leads and members of the examples."""
    rows = []
    for district, pairs in SHENZHEN_DISTRICT_COUNTIES.items():
        for county, source in pairs:
            rows.append({"unit_id": f"prd-sz-{DISTRICT_SLUG[district]}", "town_id": "", "county": county,
                         "kind": "county_pairing", "source": source,
                         "note": "districts keep their pairings with the counties of 河源 and 汕尾"})
    for dept, county in SHENZHEN_SHANTOU_DEPTS.items():
        rows.append({"unit_id": f"prd-sz-{DEPT_SLUG[dept]}", "town_id": "", "county": county, "kind": "county_pairing",
                     "source": SHENZHEN_PLAN_URL, "note": "municipal department leads an 汕头 county"})
    key = towns.set_index(["county", "name"]).town_id
    urls = data.examples.set_index("target_town").source
    for town, (county, lead, members) in EXAMPLES.items():
        rows.append({"unit_id": lead, "town_id": key[(county, town)], "county": "", "kind": "previous_lead",
                     "source": urls[town], "note": "2021 team"})
        rows += [{"unit_id": m, "town_id": key[(county, town)], "county": "", "kind": "previous_member",
                  "source": urls[town], "note": "2021 group member"} for m in members]
    return pd.DataFrame(rows, columns=["unit_id", "town_id", "county", "kind", "source", "note"])


def scenario_yaml() -> str:
    """The scenario file (hand-formatted so that key order and comments are stable)."""
    lines = [
        f"name: {SCENARIO_NAME}",
        "description: >-",
        "  Shenzhen's 2022 action plan (驻镇帮镇扶村): 76 key towns in 汕头 (13), 河源 (44) and 汕尾 (19), led by",
        "  Shenzhen's 10 districts (each in its paired county) and municipal departments (40 towns, the 汕头",
        "  towns each with one municipal SOE as member unit). Published figures in the policy; which 76 towns,",
        "  capacities and the departments' roles are documented assumptions (README.md).",
        "tables:",
        "  towns: towns.csv",
        "  units: units.csv",
        "  counterparts: counterparts.csv",
        "  relationships: relationships.csv",
        "policy:",
        "  tier_ratio: {prd: 1, provincial: 0, local: 0}   # every key town is led by a Shenzhen unit",
        "  lead_counts:   # published teams per leader: 40 + 36 = 76",
        f"    {MUNICIPAL_GROUP}: {MUNICIPAL_TEAMS}",
    ]
    lines += [f"    prd-sz-{DISTRICT_SLUG[d]}: {n}   # {d}" for d, n in SHENZHEN_TEAMS.items()]
    lines += [
        f"  continuity_weight: {CONTINUITY_WEIGHT}",
        "  groups:",
        "    member_rules:   # each 汕头 town: exactly one municipal SOE as member unit",
        "      - {kinds: [enterprise], min: 1, max: 1, cities: [汕头市]}",
        f"    member_continuity_weight: {MEMBER_CONTINUITY_WEIGHT}",
        "solver: {" + ", ".join(f"{k}: {v}" for k, v in SOLVER.items()) + "}",
    ]
    return "\n".join(lines) + "\n"


def readme(towns: pd.DataFrame, units: pd.DataFrame, counts: dict[str, int]) -> str:
    key = towns[towns.category == "key"]
    rows = []
    for city, plan_counties in PLAN_COUNTIES.items():
        for county in (*plan_counties, *(p for p in PAIRED_ONLY if towns[towns.county == p].city.iloc[0] == city)):
            districts = [d for d, pairs in SHENZHEN_DISTRICT_COUNTIES.items() if county in dict(pairs)]
            rows.append({"city": city, "county": county, "镇+乡": int((towns.county == county).sum()),
                         "key towns": counts.get(county, 0), "paired district(s)": "、".join(districts),
                         "their teams (all counties)": "、".join(str(SHENZHEN_TEAMS[d]) for d in districts),
                         "department": next((d for d, c in SHENZHEN_SHANTOU_DEPTS.items() if c == county), "")})
    per_county = pd.DataFrame(rows)
    pairing_rows = "\n".join(
        f"| {d} | {', '.join(c for c, _ in ps)} | {SHENZHEN_TEAMS[d]} | "
        f"{'; '.join('**assumed**' if s == 'assumed' else s for _, s in ps)} |"
        for d, ps in SHENZHEN_DISTRICT_COUNTIES.items())
    return f"""# Scenario `shenzhen-2022`: Shenzhen's 76 key towns (深圳市对口帮扶汕头、河源和汕尾市驻镇帮镇扶村行动方案)

Shenzhen's action plan of 2022-02-18 (seed document 001, {SHENZHEN_PLAN_URL}) pairs Shenzhen's units with 76 key
towns of 汕头, 河源 and 汕尾. This scenario states every figure of the plan as a rule of the general engine
(`policy.lead_counts`, county pairings, a member rule) — there is no Shenzhen code in `optimizer/` — and
`tests/test_shenzhen_2022.py` asserts each figure from the solved plan.

Generated by `scripts/build_shenzhen.py` from `../shared/data`; do not edit the CSV files by hand (two runs give
byte-identical files).

## Published (source: the plan, seed 001, unless noted)

| fact | where in the scenario |
|---|---|
| 76 key towns: 汕头 13 in 澄海/潮阳/潮南/南澳, 河源 44 in its 5 counties, 汕尾 19 in its 4 county-level units | `towns.csv` (`category` = key), per county below |
| the 10 districts keep their pairings with the 10 county-level units of 河源 and 汕尾 | `relationships.csv`, `county_pairing` (which district has which county: see below) |
| 市规划和自然资源局→澄海区, 市交通运输局→潮阳区, 市市场监管局→潮南区, 市国资委→南澳县 | `county_pairing` rows of the 4 departments |
| teams: municipal units 40 (汕头's 13 and 27 in 河源/汕尾); 福田 5, 罗湖 4, 盐田 2, 南山 5, 宝安 5, 龙岗 5, 龙华 5, 坪山 2, 光明 1, 大鹏新区 2 | `policy.lead_counts` (quota group `{MUNICIPAL_GROUP}` and one count per district) |
| each 汕头 town: led by a municipal department, one municipal SOE as member unit | 汕头 towns can only be led by the departments (the districts are paired with 河源/汕尾 counties); `policy.groups.member_rules` |
| town and county names, codes, flags | `guangdong_towns.csv` / `guangdong_counties.csv` (shared data S1, S2; see `../shared/data/README.md`) |
| 2021 teams: 光明区 (lead) + 市委办公厅 + 市委组织部 at 捷胜镇; 南山区 at 高莞镇; 市妇联 + 国信证券 at 大湖镇 | `previous_lead` / `previous_member` rows, URLs in `source` (`town_pairing_examples.csv`) |
| 深圳 helps 汕头, 河源 and 汕尾 | `counterparts.csv` ← `prd_city_pairings_2021.csv` |

## Assumed (documented rules, not published)

- **Which 76 towns.** No list is published. Per city the published total is split over the plan's counties in
  proportion to their 镇+乡 counts (largest remainder); within a county the towns named by 2021 sources come
  first, then the towns with most priority flags (border, ethnic, old base), then the farthest from the city
  centre (remoter towns are weaker), then the town code (`county_rank` in `towns.csv`). Check: every district's
  counties hold at least its team count, every 汕头 county at least one town. Per county:

{markdown_table(per_county)}

- The other 镇/乡 of these counties are in `towns.csv` as `consolidation` (they are not Shenzhen's to lead; 源城区's
  2 towns are there so that 罗湖区's pairing names a county with towns).
- **Which district has which county.** 南山区→连平县 and 光明区→城区 are confirmed by town-level sources, 宝安区→龙川县
  by a 2018 report; the other 7 are **assumed** (the same as in `guangdong-2021`). 源城区 has none of the 44 towns
  (河源's are in its 5 counties), so 罗湖区 is also paired with 东源县 (**assumed**).

| district | counties | teams | source |
|---|---|---|---|
{pairing_rows}

- **Capacities.** A district may lead every key town of its counties (its count binds, not its capacity). The 4
  汕头 departments lead their county's key towns (capacity = that number: 13 in all); {len(OTHER_DEPARTMENTS)} further
  departments (real names; 市委办公厅, 市委组织部 and 市妇联 are named by 2021 sources, the others' roles are assumed)
  lead one town each in 河源/汕尾, so the municipal capacity is exactly the published 40.
- **SOEs.** {len(SOES)} municipal state-owned enterprises (real names), each joining at most one group; the plan says
  one per 汕头 town, not which. The plan also gives the 27 municipal-led towns of 河源/汕尾 "enterprise or
  institution" members without a number: not modelled.
- **Objective.** The plan fixes counts, not which towns: the objective only keeps the 2021 teams
  (`continuity_weight` {CONTINUITY_WEIGHT} per kept lead, `member_continuity_weight` {MEMBER_CONTINUITY_WEIGHT} per kept member); the rest
  is a deterministic tie.
- Coordinates: district centres from S2 (龙华, 坪山, 光明, 大鹏新区 have none: the city centre), departments and SOEs at
  the city centre. Strengths: districts 5, departments and SOEs 4 (no priority rule uses them here).

## Files

| file | rows | content |
|---|---|---|
| `scenario.yaml` | | tier ratio (all PRD), lead counts, member rule, continuity weights, solver |
| `towns.csv` | {len(towns)} | 镇/乡 of the 14 county-level units: {len(key)} key, {len(towns) - len(key)} consolidation |
| `units.csv` | {len(units)} | 10 districts, {len(SHENZHEN_SHANTOU_DEPTS) + len(OTHER_DEPARTMENTS)} municipal departments (quota group `{MUNICIPAL_GROUP}`), {len(SOES)} SOEs (members only) |
| `counterparts.csv` | 3 | 深圳市 → 汕头市, 河源市, 汕尾市 |
| `relationships.csv` | | county pairings, 2021 leads and members |
"""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA, help="shared data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="scenario folder to write")
    args = parser.parse_args(argv)
    data = read_data(args.data_dir)
    towns, counts = build_towns(data)
    units = build_units(data, counts)
    pairings = data.pairings[data.pairings.helper_city == CITY]
    counterparts = pd.DataFrame({"prd_city": pairings.helper_city, "target_city": pairings.target_city,
                                 "status": pairings.status, "source": pairings.source})
    rels = build_relationships(data, towns)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scenario.yaml").write_text(scenario_yaml(), encoding="utf-8")
    write_csv(towns, args.out / "towns.csv")
    write_csv(units, args.out / "units.csv")
    write_csv(counterparts, args.out / "counterparts.csv")
    write_csv(rels, args.out / "relationships.csv")
    (args.out / "README.md").write_text(readme(towns, units, counts), encoding="utf-8")
    print(f"towns {len(towns)} (key {(towns.category == 'key').sum()}), units {len(units)}, relationships {len(rels)}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
