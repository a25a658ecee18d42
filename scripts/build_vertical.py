"""Build the ``scenarios/vertical-2023/`` scenario: the 2023 provincial vertical support of 62 counties.

Data-preparation step, committed for reproducibility; the product never reads the shared data at run time.

    PYTHONPATH=. python scripts/build_vertical.py [DATA_DIR] [--out DIR]

``DATA_DIR`` defaults to ``../shared/data``. Writes ``scenario.yaml``, ``towns.csv`` (one row per target county:
``policy.target_level`` is ``county``), ``units.csv``, ``relationships.csv``, ``pins.csv`` and ``README.md``;
two runs give byte-identical files (no randomness). Published: 156 units, 57 counties + 5 old-base districts,
groups of one lead and member units, some units helping two counties, the 廉江 group. The 156 unit names are
real; which of them lead, which help two counties and every pairing but 廉江's are assumptions (README).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from build_guangdong import DEFAULT_DATA, PROVINCIAL_OFFSET_DEG, Data, markdown_table, read_data, write_csv

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "scenarios" / "vertical-2023"
SCENARIO_NAME = "vertical-2023"

# --- published (seed 004, 2023-11-17; programme_figures.csv, nfzz.net.cn 2024-05-29) ------------------------
UNITS = 156
TARGETS = {"county_or_county_city": 57, "old_area_district_inferred": 5}
LIANJIANG = ("廉江市", "prov-tjj", ("prov-grc", "prov-ghjt"))  # 省统计局 (lead) + 广铁集团 + 省港航集团

# --- assumed: the 156 units (real names) and their roles -----------------------------------------------------
# Lead units: provincial departments (省直单位). The economic departments help two counties each.
TWO_COUNTY_LEADS = (
    ("fgw", "广东省发展改革委"), ("gxt", "广东省工业和信息化厅"), ("czt", "广东省财政厅"), ("swt", "广东省商务厅"),
    ("zrt", "广东省自然资源厅"), ("zjt", "广东省住房城乡建设厅"), ("jtt", "广东省交通运输厅"), ("slt", "广东省水利厅"),
    ("nyt", "广东省农业农村厅"), ("gzw", "广东省国资委"),
)
ONE_COUNTY_LEADS = (
    ("swbgt", "广东省委办公厅"), ("zfbgt", "广东省人民政府办公厅"), ("zzb", "广东省委组织部"), ("xcb", "广东省委宣传部"),
    ("tzb", "广东省委统战部"), ("zfw", "广东省委政法委"), ("zys", "广东省委政策研究室"), ("wxb", "广东省委网信办"),
    ("bb", "广东省委编办"), ("jggw", "广东省直机关工委"), ("dx", "广东省委党校"), ("rd", "广东省人大常委会办公厅"),
    ("zx", "广东省政协办公厅"), ("jyt", "广东省教育厅"), ("kjt", "广东省科技厅"), ("mzzjw", "广东省民族宗教委"),
    ("gat", "广东省公安厅"), ("mzt", "广东省民政厅"), ("sft", "广东省司法厅"), ("rst", "广东省人力资源社会保障厅"),
    ("sthjt", "广东省生态环境厅"), ("wlt", "广东省文化和旅游厅"), ("wjw", "广东省卫生健康委"), ("tyjrt", "广东省退役军人事务厅"),
    ("yjt", "广东省应急管理厅"), ("sjt", "广东省审计厅"), ("scj", "广东省市场监管局"), ("gdj", "广东省广播电视局"),
    ("tyj", "广东省体育局"), ("tjj", "广东省统计局"), ("ybj", "广东省医疗保障局"), ("lyj", "广东省林业局"),
    ("zsj", "广东省政务服务数据管理局"), ("nyj", "广东省能源局"), ("yjj", "广东省药品监督管理局"),
    ("lsj", "广东省粮食和物资储备局"), ("gxs", "广东省供销合作联社"), ("zgh", "广东省总工会"), ("tsw", "共青团广东省委"),
    ("fl", "广东省妇联"), ("kx", "广东省科协"), ("xfj", "广东省信访局"),
)
# Member units. Stronger enterprises join two groups each, the others one.
TWO_COUNTY_MEMBERS = (
    ("grid", "广东电网有限责任公司"), ("cmcc", "中国移动广东有限公司"), ("ctgd", "中国电信广东分公司"),
    ("jtjt", "广东省交通集团"), ("nyjt", "广东省能源集团"), ("gskg", "广东省广晟控股集团"), ("yhkg", "广东粤海控股集团"),
    ("gxkg", "广东省广新控股集团"), ("jgjt", "广东省建筑工程集团"), ("icbc", "中国工商银行广东省分行"),
    ("abc", "中国农业银行广东省分行"), ("ccb", "中国建设银行广东省分行"), ("adbc", "中国农业发展银行广东省分行"),
    ("cdb", "国家开发银行广东省分行"),
)
ENTERPRISES = (
    ("grc", "中国铁路广州局集团(广铁集团)"), ("ghjt", "广东省港航集团"), ("cugd", "中国联通广东省分公司"),
    ("post", "中国邮政集团广东省分公司"), ("tobacco", "广东省烟草专卖局(公司)"), ("boc", "中国银行广东省分行"),
    ("picc", "中国人民财产保险广东省分公司"), ("sinopec", "中国石化广东石油分公司"), ("cgn", "中国广核集团"),
    ("csair", "中国南方航空集团"), ("hjtz", "广东恒健投资控股"), ("gwkg", "广东省广物控股集团"),
    ("tljt", "广东省铁路建设投资集团"), ("lkjt", "广东省旅游控股集团"), ("jcjt", "广东省机场管理集团"),
    ("hbjt", "广东省环保集团"), ("ykjr", "广东粤科金融集团"), ("szjt", "广东省丝绸纺织集团"), ("ycjt", "广东粤财投资控股"),
    ("ggw", "广东省天然气管网"), ("cbjt", "广东省出版集团"), ("nfbb", "南方报业传媒集团"), ("zyjt", "广东省种业集团"),
    ("clj", "广东省储备粮管理集团"), ("nkjt", "广东省农垦集团公司"), ("psbc", "中国邮政储蓄银行广东省分行"),
    ("clic", "中国人寿保险广东省分公司"), ("rcc", "广东省农村信用社联合社"), ("cscec4", "中国建筑第四工程局"),
    ("cccc", "中交广州航道局"), ("gedi", "中国能源建设集团广东省电力设计研究院"), ("gzpb", "广州供电局"),
    ("huaneng", "中国华能集团广东分公司"), ("spic", "国家电力投资集团广东分公司"), ("ehv", "中国南方电网超高压输电公司"),
    ("yyjt", "广东省盐业集团"),
)
RESEARCH = (  # universities and research institutes (科研力量)
    ("sysu", "中山大学"), ("scut", "华南理工大学"), ("jnu", "暨南大学"), ("scau", "华南农业大学"), ("scnu", "华南师范大学"),
    ("gdut", "广东工业大学"), ("gzucm", "广州中医药大学"), ("smu", "南方医科大学"), ("gdufs", "广东外语外贸大学"),
    ("gdufe", "广东财经大学"), ("gdou", "广东海洋大学"), ("gdpu", "广东药科大学"), ("gpnu", "广东技术师范大学"),
    ("zhku", "仲恺农业工程学院"), ("gduf", "广东金融学院"), ("gdupt", "广东石油化工学院"), ("stu", "汕头大学"),
    ("sgu", "韶关学院"), ("jyu", "嘉应学院"), ("lnnu", "岭南师范学院"), ("hstc", "韩山师范学院"), ("zqu", "肇庆学院"),
    ("hzu", "惠州学院"), ("gdei", "广东第二师范学院"), ("gdaas", "广东省农业科学院"), ("gdas", "广东省科学院"),
    ("gdass", "广东省社会科学院"), ("scbg", "中国科学院华南植物园"), ("gdaf", "广东省林业科学研究院"),
    ("gdwr", "广东省水利水电科学研究院"), ("gdup", "广东省城乡规划设计研究院"), ("gdadri", "广东省建筑设计研究院"),
    ("gdcri", "广东省交通规划设计研究院"), ("gdepi", "广东省环境科学研究院"),
)
INSTITUTIONS = (  # public institutions (事业单位)
    ("gdph", "广东省人民医院"), ("gdhcm", "广东省中医院"), ("fahsysu", "中山大学附属第一医院"),
    ("gdcdc", "广东省疾病预防控制中心"), ("gdfy", "广东省妇幼保健院"), ("gdlib", "广东省立中山图书馆"),
)
MEMBER_AGENCIES = (  # central units in Guangdong and provincial bodies joining as members
    ("gzhg", "广州海关"), ("tax", "国家税务总局广东省税务局"), ("pbc", "中国人民银行广东省分行"),
    ("nfra", "国家金融监督管理总局广东监管局"), ("txj", "广东省通信管理局"), ("dczd", "国家统计局广东调查总队"),
    ("qxj", "广东省气象局"), ("dzj", "广东省地质局"), ("hgydz", "广东省核工业地质局"), ("ysdz", "广东省有色金属地质局"),
    ("ql", "广东省侨联"), ("cl", "广东省残联"), ("wl", "广东省文联"), ("gsl", "广东省工商联"),
)
ECONOMIC_GROUP = "省直经济部门"
MAX_MEMBERS = 3
MEMBER_CONTINUITY_WEIGHT = 100
SOLVER = {"time_limit": 60, "workers": 1, "seed": 0}
PUBLISHED_URL = "https://www.nfzz.net.cn/node_1b5282124b/c1895d3fa6.shtml"
SEED004 = "南方日报, 2023-11-17"


def build_targets(data: Data) -> pd.DataFrame:
    """One row per target county (``vertical_assist_2023`` set), its ``county`` being itself."""
    c = data.counties[data.counties.vertical_assist_2023 != ""].copy()
    got = c.vertical_assist_2023.value_counts().to_dict()
    if got != TARGETS:
        raise SystemExit(f"guangdong_counties.csv vertical_assist_2023: {got}, the script assumes {TARGETS}")
    c["old"] = (c.central_soviet_county != "") | (c.hailufeng_difficult_county_2018 == "1") | (
        c.vertical_assist_2023 == "old_area_district_inferred")
    c = c.sort_values("county_code")
    return pd.DataFrame({
        "town_id": c.county_code, "name": c.county_name, "city": c.city_name, "county": c.county_name,
        "category": "key", "border": (c.border_provinces != "").map(_bool),
        "ethnic": (c.is_autonomous_county == "1").map(_bool), "old_base": c.old.map(_bool),
        "lon": c.lon_gcj02, "lat": c.lat_gcj02, "county_type": c.county_type, "target": c.vertical_assist_2023,
        "source": c.vertical_assist_2023.map({"county_or_county_city": "guangdong_counties.csv (57 县(市), published count)",
                                              "old_area_district_inferred": "guangdong_counties.csv (inferred)"}),
    })


def _bool(x: object) -> str:
    return "true" if bool(x) else "false"


def build_units(data: Data) -> pd.DataFrame:
    """156 provincial units: 52 lead departments (10 economic ones for two counties) and 104 member units (14
    stronger enterprises in two groups); coordinates at Guangzhou's centre plus a small grid offset."""
    roles = (
        [(s, n, "agency", 2, 0, 5, ECONOMIC_GROUP) for s, n in TWO_COUNTY_LEADS]
        + [(s, n, "agency", 1, 0, 4, "") for s, n in ONE_COUNTY_LEADS]
        + [(s, n, "enterprise", 0, 2, 5, "") for s, n in TWO_COUNTY_MEMBERS]
        + [(s, n, "enterprise", 0, 1, 4, "") for s, n in ENTERPRISES]
        + [(s, n, "research", 0, 1, 3, "") for s, n in RESEARCH]
        + [(s, n, "institution", 0, 1, 3, "") for s, n in INSTITUTIONS]
        + [(s, n, "agency", 0, 1, 4, "") for s, n in MEMBER_AGENCIES]
    )
    gz = data.cities.set_index("city_name").loc["广州市"]
    rows = []
    for i, (slug, name, kind, capacity, memberships, strength, group) in enumerate(roles):
        rows.append({
            "unit_id": f"prov-{slug}", "name": name, "tier": "provincial", "city": "", "capacity": str(capacity),
            "strength": str(strength),
            "lon": f"{float(gz.lon_gcj02) + PROVINCIAL_OFFSET_DEG * ((i % 13) - 6):.6f}",
            "lat": f"{float(gz.lat_gcj02) + PROVINCIAL_OFFSET_DEG * ((i // 13) - 6):.6f}",
            "kind": kind, "quota_group": group, "member_capacity": str(memberships),
            "min_memberships": str(memberships), "coord_source": "city_centre_offset(广州市)",
            "source": PUBLISHED_URL if f"prov-{slug}" in (LIANJIANG[1], *LIANJIANG[2]) else "assumed",
        })
    units = pd.DataFrame(rows)
    if len(units) != UNITS or units.unit_id.duplicated().any() or units.name.duplicated().any():
        raise SystemExit(f"{len(units)} units (published {UNITS}), or a duplicate id or name")
    return units


def check(targets: pd.DataFrame, units: pd.DataFrame) -> list[str]:
    """Counting checks of the configuration (necessary conditions; the solve is the real check)."""
    n = len(targets)
    cap = units.capacity.astype(int)
    members = units.min_memberships.astype(int)
    enterprise = members[units.kind == "enterprise"].sum()
    other = members[units.kind != "enterprise"].sum()
    lines = [
        f"lead capacity {cap.sum()} = {n} targets (every lead unit at capacity)",
        f"enterprise memberships {enterprise} ≥ {n} (one per group at least)",
        f"other memberships {other} ≤ {n} (at most one per group)",
        f"memberships {members.sum()} ≤ {MAX_MEMBERS} × {n} (max_members)",
    ]
    if cap.sum() != n or enterprise < n or other > n or members.sum() > MAX_MEMBERS * n:
        raise SystemExit("configuration cannot hold: " + "; ".join(lines))
    return lines


def scenario_yaml() -> str:
    economic = 2 * len(TWO_COUNTY_LEADS)
    return "\n".join([
        f"name: {SCENARIO_NAME}",
        "description: >-",
        "  Guangdong's provincial vertical support (纵向帮扶, 2023-2026): 156 provincial units in 62 groups,",
        "  one lead and member units per target county (57 counties and county-level cities, 5 old-base districts).",
        "  Counts and the 廉江 group are published; the units' roles and the other pairings are assumed (README.md).",
        "tables:",
        "  towns: towns.csv   # the 62 target counties (policy.target_level: county)",
        "  units: units.csv",
        "  relationships: relationships.csv",
        "  pins: pins.csv",
        "policy:",
        "  target_level: county",
        "  tier_ratio: {prd: 0, provincial: 1, local: 0}   # every lead is a provincial unit",
        "  lead_counts:   # the economic departments each help two counties",
        f"    {ECONOMIC_GROUP}: {economic}",
        "  groups:",
        "    member_rules:",
        "      - {kinds: [enterprise], min: 1}                          # every group brings in an enterprise",
        "      - {kinds: [agency, institution, research], min: 0, max: 1}  # and at most one other member unit",
        f"    max_members: {MAX_MEMBERS}",
        f"    member_continuity_weight: {MEMBER_CONTINUITY_WEIGHT}   # keeps the published 廉江 members",
        "solver: {" + ", ".join(f"{k}: {v}" for k, v in SOLVER.items()) + "}",
    ]) + "\n"


def readme(targets: pd.DataFrame, units: pd.DataFrame, checks: list[str]) -> str:
    per_city = targets.groupby("city").agg(targets=("town_id", "size"),
                                           old_base=("old_base", lambda s: int((s == "true").sum())),
                                           border=("border", lambda s: int((s == "true").sum()))).reset_index()
    districts = "、".join(targets[targets.target == "old_area_district_inferred"].name)
    roles = pd.DataFrame([
        {"role": "lead, two counties (quota group " + ECONOMIC_GROUP + ")", "kind": "agency", "units": len(TWO_COUNTY_LEADS),
         "capacity": 2, "member_capacity = min_memberships": 0},
        {"role": "lead, one county", "kind": "agency", "units": len(ONE_COUNTY_LEADS), "capacity": 1,
         "member_capacity = min_memberships": 0},
        {"role": "member, two groups", "kind": "enterprise", "units": len(TWO_COUNTY_MEMBERS), "capacity": 0,
         "member_capacity = min_memberships": 2},
        {"role": "member", "kind": "enterprise", "units": len(ENTERPRISES), "capacity": 0,
         "member_capacity = min_memberships": 1},
        {"role": "member", "kind": "research", "units": len(RESEARCH), "capacity": 0,
         "member_capacity = min_memberships": 1},
        {"role": "member", "kind": "institution", "units": len(INSTITUTIONS), "capacity": 0,
         "member_capacity = min_memberships": 1},
        {"role": "member", "kind": "agency", "units": len(MEMBER_AGENCIES), "capacity": 0,
         "member_capacity = min_memberships": 1},
    ])
    two = len(TWO_COUNTY_LEADS) + len(TWO_COUNTY_MEMBERS)
    return f"""# Scenario `vertical-2023`: the provincial vertical support of 62 counties (组团纵向帮扶, 2023–2026)

In November 2023 Guangdong started a new round of support: **156** provincial units (省直机关及有关单位) help the
**57 counties and county-level cities** and **5 key old-base districts** (5个重点老区苏区市辖区), 62 targets, in
3-year cycles; each group (组团) is **1 provincial lead unit plus member units**; the lead sends a division-level
cadre, each member 1–2 middle managers; **some economic departments and stronger units help two counties**.

The targets are counties, not towns: `policy.target_level: county`, and `towns.csv` lists the 62 counties (one row
each, its `county` being itself); the engine is the same (`bangfu solve` reports "key counties"). Groups are the
general group composition (`policy.groups`), lead counts the general `policy.lead_counts`: nothing in `optimizer/`
knows this scenario. `tests/test_vertical_2023.py` asserts every published figure from the solved plan.

Generated by `scripts/build_vertical.py` from `../shared/data`; do not edit the CSV files by hand (two runs give
byte-identical files).

## Published

| fact | source | where in the scenario |
|---|---|---|
| 156 units, 57 县(市) + 5 重点老区苏区市辖区, groups of 1 provincial lead + members, 2023–2026, some units help two counties | seed 004 ({SEED004}); `programme_figures.csv` ({PUBLISHED_URL}, 2024-05-29: 62 groups, 190+ cadres) | 156 rows of `units.csv`, 62 of `towns.csv` |
| 廉江市 ← 省统计局 (lead) + 广铁集团 + 省港航集团 (4 cadres) | `programme_figures.csv` ({PUBLISHED_URL}) | `pins.csv` (the lead), `previous_member` rows (the members, kept by `member_continuity_weight`) |
| the 57 counties and county-level cities (all 县, 自治县 and 县级市 of Guangdong) | `guangdong_counties.csv` (S1), column `vertical_assist_2023` | `towns.csv`, `target` = county_or_county_city |
| flags: border (provincial border), ethnic (autonomous county), old base (original Central Soviet county, 海陆丰 difficult county) | `guangdong_counties.csv` (see `../shared/data/README.md`) | `border`, `ethnic`, `old_base` |

## Inferred and assumed

- **The 5 districts are inferred** ({districts}): the source says only "5个重点老区苏区市辖区"; these are exactly the
  districts in the two old-area lists of the shared data (its README). They carry `old_base` = true.
- **The 156 units are real names, their roles assumed.** The list is not published (only 廉江's group). Assumed
  composition:

{markdown_table(roles)}

  Every unit is used (capacities and `min_memberships` are exact), so the plan uses 156 distinct units; the
  **{two} two-county units** are the {len(TWO_COUNTY_LEADS)} economic departments (leads, `lead_counts` {ECONOMIC_GROUP}:
  {2 * len(TWO_COUNTY_LEADS)}) and {len(TWO_COUNTY_MEMBERS)} large enterprises (members of two groups). 52 leads + 118 memberships: 62 groups
  of 2–4 units; with 1 lead cadre and 1–2 per member that is 180–298 cadres, against the published 190+.
- **Member rules (assumed):** every group has at least one enterprise (产业导入) and at most one other member
  (research, institution or agency); at most {MAX_MEMBERS} members per group.
- **Pairings:** only 廉江's is published. The lead plan has no objective beyond the rules (coverage, capacities,
  the lead count, the 廉江 pin): any plan meeting them is equally good, and the solver's deterministic choice is
  one of them. Coordinates (Guangzhou's centre plus a ~200 m grid offset per unit) only tell units apart on a map;
  `distance_weight` is 0.

Counting checks (necessary conditions, asserted by the script):

{chr(10).join('- ' + c for c in checks)}

## Targets per city

{markdown_table(per_city)}

## Files

| file | rows | content |
|---|---|---|
| `scenario.yaml` | | target level county, provincial tier only, lead count, member rules, solver |
| `towns.csv` | {len(targets)} | the target counties (`town_id` = 6-digit county code) |
| `units.csv` | {len(units)} | provincial units with kind, capacity, member capacity, quota group |
| `relationships.csv` | 2 | 廉江's published member units |
| `pins.csv` | 1 | 省统计局 leads 廉江市 |
"""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA, help="shared data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="scenario folder to write")
    args = parser.parse_args(argv)
    data = read_data(args.data_dir)
    targets = build_targets(data)
    units = build_units(data)
    checks = check(targets, units)
    county = targets.set_index("name").town_id[LIANJIANG[0]]
    rels = pd.DataFrame([{"unit_id": m, "town_id": county, "county": "", "kind": "previous_member",
                          "source": PUBLISHED_URL, "note": "published member of 廉江's group"} for m in LIANJIANG[2]])
    pins = pd.DataFrame([{"unit_id": LIANJIANG[1], "town_id": county, "action": "pin", "source": PUBLISHED_URL}])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scenario.yaml").write_text(scenario_yaml(), encoding="utf-8")
    write_csv(targets, args.out / "towns.csv")
    write_csv(units, args.out / "units.csv")
    write_csv(rels, args.out / "relationships.csv")
    write_csv(pins, args.out / "pins.csv")
    (args.out / "README.md").write_text(readme(targets, units, checks), encoding="utf-8")
    print("\n".join(checks))
    print(f"targets {len(targets)}, units {len(units)}; wrote {args.out}")


if __name__ == "__main__":
    main()
