"""Build the ``scenarios/guangdong-2021/`` scenario from the shared Guangdong data.

Data-preparation step, committed for reproducibility; the product never reads the shared data at run time.

    PYTHONPATH=. python scripts/build_guangdong.py [DATA_DIR] [--out DIR]

``DATA_DIR`` defaults to ``../shared/data`` relative to the repository root. The script reads the six CSV
files described in that folder's README and writes ``scenario.yaml``, ``towns.csv``, ``units.csv``,
``counterparts.csv``, ``relationships.csv`` and ``README.md``. It is deterministic: the only randomness is a
``numpy.random.Generator`` seeded with :data:`SEED`, used for the generated previous leads. Two runs give
byte-identical files.

Every rule below is also written out in the generated README. Numbers that are published (600 key towns,
5:2:3, 湛江's 56 = 24 + 15 + 17, the PRD cities' town counts, Shenzhen's team counts) are constants here;
everything else (the key-town list, capacities, strengths, generated previous leads) is **illustrative**.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from build_cadres import cadres, member_units, readme_section, town_needs

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / ".." / "shared" / "data"
DEFAULT_OUT = ROOT / "scenarios" / "guangdong-2021"
SCENARIO_NAME = "guangdong-2021"

SEED = 20210611  # date the programme was published (2021-06-11); seeds the generated previous leads only

# --- towns -------------------------------------------------------------------------------------------
TOWN_TYPES = ("镇", "乡", "民族乡")        # township-level units in the programme (not 街道, not 其他)
TARGET_GROUP = "帮扶对象市(12+肇庆)"        # the 13 cities whose towns are key or consolidation
PILOT_CITIES = ("广州市", "珠海市", "佛山市", "惠州市", "东莞市", "中山市", "江门市")
TOTAL_KEY = 600
FIXED_KEYS = {"湛江市": 56}                 # published: 56 of 湛江's 84 towns
KEY_LOWER_BOUNDS = {                        # published PRD-led towns per city (key towns needed at least)
    "梅州市": 30, "汕头市": 13, "河源市": 44, "汕尾市": 19, "肇庆市": 32,
}
COUNTY_FLOOR_SHARE = 0.3                    # each county with >= COUNTY_FLOOR_MIN_TOWNS towns keeps ceil(30 %) as key
COUNTY_FLOOR_MIN_TOWNS = 3
# Towns with a published round-1 (2021) team whose lead is named in a source outside town_pairing_examples.csv:
# a mid-2022 揭阳 progress report (shared seed document 003). (county, town, lead unit id).
SEED003_SOURCE = "揭阳 progress report, mid-2022 (bangfu shared seed document 003; no URL)"
SEED003_LEADS = (
    ("揭西县", "金和镇", "prov-zfbgt"),  # 省政府办公厅 + 广东粤海控股集团
    ("揭西县", "灰寨镇", "prov-djj"),    # 省代建局 + 省广物控股集团
    ("惠来县", "隆江镇", "prov-gxt"),    # 省工业和信息化厅 + 华南理工大学
    ("惠来县", "华湖镇", "loc-jy-swb"),  # 揭阳市委办公室 + 市农业农村局 + 市人民医院 + ...
    ("榕城区", "登岗镇", "prov-nea"),    # 国家能源局南方监管局 + 省机场管理集团
)
SEED003_MEMBERS = (  # the member units the same report names in those groups (those in units.csv)
    ("揭西县", "金和镇", "prov-yhkg"), ("揭西县", "灰寨镇", "prov-gwkg"), ("惠来县", "隆江镇", "prov-scut"),
    ("惠来县", "华湖镇", "loc-jy-m-hpeople"), ("榕城区", "登岗镇", "prov-jcjt"),
)

# --- tiers and quotas ---------------------------------------------------------------------------------
TIER_RATIO = {"prd": 5, "provincial": 2, "local": 3}
PUBLISHED_PRD = {"湛江市": 24, "梅州市": 30, "汕头市": 13, "河源市": 44, "汕尾市": 19, "肇庆市": 32}
ZHANJIANG_QUOTA = {"prd": 24, "provincial": 15, "local": 17}
PLANNED_LOCAL_SHARE = 0.3                   # local tier's share of each city's key towns (3 of 5+2+3)

# --- capacities and strengths -------------------------------------------------------------------------
PRD_CAPACITY_MARGIN = 0.04                  # PRD city capacity = towns it must lead + ceil(4 %)
LOCAL_CAPACITY_SHARE = 0.315                # local capacity per city = ceil(31.5 % of its key towns)
LOCAL_UNIT_MEAN_CAPACITY = 2                # local units per city = ceil(capacity / 2)
LOCAL_STRONG_FACTOR = 0.8                   # strong (4) local capacity ≈ 80 % of the city's flagged share
LOCAL_STRONG_FACTOR_TIGHT = 0.6             # documented: at this factor the scenario is infeasible (CP-SAT)
PRD_WEIGHTS = {"district": 3, "town": 2, "department": 1}  # capacity weights inside a PRD city
STRENGTH = {"district": 5, "town": 4, "department": 4}     # PRD unit strengths

CITY_SLUG = {
    "广州市": "gz", "深圳市": "sz", "珠海市": "zh", "佛山市": "fs", "东莞市": "dg", "中山市": "zs",
    "韶关市": "sg", "汕头市": "st", "湛江市": "zj", "茂名市": "mm", "肇庆市": "zq", "梅州市": "mz",
    "汕尾市": "sw", "河源市": "hy", "阳江市": "yj", "清远市": "qy", "潮州市": "cz", "揭阳市": "jy",
    "云浮市": "yf",
}
PRD_HELPERS = ("广州市", "深圳市", "珠海市", "佛山市", "东莞市", "中山市")

DISTRICT_SLUG = {
    "荔湾区": "liwan", "越秀区": "yuexiu", "海珠区": "haizhu", "天河区": "tianhe", "白云区": "baiyun",
    "黄埔区": "huangpu", "番禺区": "panyu", "花都区": "huadu", "南沙区": "nansha", "从化区": "conghua",
    "增城区": "zengcheng", "罗湖区": "luohu", "福田区": "futian", "南山区": "nanshan", "宝安区": "baoan",
    "龙岗区": "longgang", "盐田区": "yantian", "龙华区": "longhua", "坪山区": "pingshan", "光明区": "guangming",
    "大鹏新区": "dapeng", "香洲区": "xiangzhou", "斗门区": "doumen", "金湾区": "jinwan", "禅城区": "chancheng",
    "南海区": "nanhai", "顺德区": "shunde", "三水区": "sanshui", "高明区": "gaoming",
    # 东莞 and 中山 have no districts: some of their towns and streets act as helper units
    "清溪镇": "qingxi", "桥头镇": "qiaotou", "樟木头镇": "zhangmutou", "长安镇": "changan", "虎门镇": "humen",
    "厚街镇": "houjie", "常平镇": "changping", "塘厦镇": "tangxia", "凤岗镇": "fenggang", "大朗镇": "dalang",
    "寮步镇": "liaobu", "黄江镇": "huangjiang", "小榄镇": "xiaolan", "古镇镇": "guzhen", "三乡镇": "sanxiang",
    "坦洲镇": "tanzhou", "石岐街道": "shiqi", "东区街道": "dongqu",
}
DEPT_SLUG = {
    "市委办公厅": "swbgt", "市委办公室": "swb", "市政府办公厅": "zfbgt", "市政府办公室": "zfb",
    "市委组织部": "zzb", "市委宣传部": "xcb", "市委统战部": "tzb", "市委政法委": "zfw",
    "市发展改革委": "fgw", "市发展改革局": "fgj", "市发展和改革局": "fgj", "市财政局": "czj",
    "市工业和信息化局": "gxj", "市科学技术局": "kjj", "市科技创新委": "kcw", "市国资委": "gzw",
    "市农业农村局": "nyj", "市规划和自然资源局": "ghzy", "市自然资源局": "zrj", "市住房城乡建设局": "zjj",
    "市住房和城乡建设局": "zjj", "市住房建设局": "zjj", "市交通运输局": "jtj", "市水务局": "swj",
    "市市场监管局": "scj", "市商务局": "swuj", "市卫生健康委": "wjw", "市卫生健康局": "wjj",
    "市教育局": "jyj", "市退役军人事务局": "tyjr", "市人力资源保障局": "rsj", "市民政局": "mzj",
    "市乡村振兴和协作交流局": "xzj", "市妇联": "fl", "市总工会": "zgh", "市机关事务管理局": "jgsw",
    "市统计局": "tjj", "市烟草专卖局": "ycj",
}
PRD_DEPARTMENTS = {  # municipal departments of the PRD helper cities (helper units in the PRD tier)
    "广州市": ("市委办公厅", "市政府办公厅", "市委组织部", "市委宣传部", "市委统战部", "市委政法委", "市发展改革委",
             "市财政局", "市工业和信息化局", "市科学技术局", "市国资委", "市农业农村局", "市规划和自然资源局",
             "市住房城乡建设局", "市交通运输局", "市水务局", "市商务局", "市卫生健康委", "市教育局", "市退役军人事务局"),
    "深圳市": ("市规划和自然资源局", "市交通运输局", "市市场监管局", "市国资委", "市委办公厅", "市委组织部", "市委宣传部",
             "市委统战部", "市发展改革委", "市财政局", "市工业和信息化局", "市科技创新委", "市住房建设局", "市水务局",
             "市商务局", "市卫生健康委", "市教育局", "市人力资源保障局", "市民政局", "市乡村振兴和协作交流局", "市妇联",
             "市总工会"),
    "珠海市": ("市委办公室", "市委组织部", "市发展改革局", "市财政局", "市国资委", "市农业农村局", "市工业和信息化局",
             "市商务局", "市住房城乡建设局"),
    "佛山市": ("市委办公室", "市委组织部", "市发展改革局", "市财政局", "市国资委", "市农业农村局", "市工业和信息化局",
             "市自然资源局", "市住房城乡建设局", "市商务局"),
    "东莞市": ("市委办公室", "市委组织部", "市发展和改革局", "市财政局", "市国资委", "市机关事务管理局"),
    "中山市": ("市委办公室", "市发展和改革局", "市国资委"),
}
PRD_TOWN_UNITS = {  # 东莞 and 中山 have no districts; these real towns/streets act as helper units
    "东莞市": ("清溪镇", "桥头镇", "樟木头镇", "长安镇", "虎门镇", "厚街镇", "常平镇", "塘厦镇", "凤岗镇", "大朗镇",
             "寮步镇", "黄江镇"),
    "中山市": ("小榄镇", "古镇镇", "三乡镇", "坦洲镇", "石岐街道", "东区街道"),
}
EXTRA_DISTRICTS = {"深圳市": ("大鹏新区",)}  # functional area not in the NBS county list

# Shenzhen's 2022 plan: team counts per district (all in 河源/汕尾), and the 4 department → 汕头 county pairings.
SHENZHEN_TEAMS = {"福田区": 5, "罗湖区": 4, "盐田区": 2, "南山区": 5, "宝安区": 5, "龙岗区": 5, "龙华区": 5,
                  "坪山区": 2, "光明区": 1, "大鹏新区": 2}
SHENZHEN_PLAN_URL = "http://www.szgm.gov.cn/132100/152326/fpgzxxgk2/fpzcfg/content/post_9579837.html"
SHENZHEN_DISTRICT_COUNTIES: dict[str, tuple[tuple[str, str], ...]] = {  # district → ((county, source), ...)
    "南山区": (("连平县", "http://www.ecostnews.com/xianqu/lianping/content/2022-12/01/content_302591.html"),),
    "光明区": (("城区", "http://xczxhxzjlj.sz.gov.cn/gkmlpt/content/9/9441/post_9441083.html"),),
    "宝安区": (("龙川县", "https://gdxk.southcn.com/hy/lcxk/xwbd/content/post_620628.html"),),
    "龙华区": (("紫金县", "assumed"),),
    "福田区": (("和平县", "assumed"),),
    "盐田区": (("东源县", "assumed"),),
    "罗湖区": (("源城区", "assumed"), ("东源县", "assumed")),
    "龙岗区": (("陆丰市", "assumed"),),
    "坪山区": (("陆河县", "assumed"),),
    "大鹏新区": (("海丰县", "assumed"),),
}
SHENZHEN_SHANTOU_DEPTS = {"市规划和自然资源局": "澄海区", "市交通运输局": "潮阳区", "市市场监管局": "潮南区",
                          "市国资委": "南澳县"}

# Provincial tier: (id suffix, name, kind, capacity, strength). Real units; capacities/strengths illustrative.
PROVINCIAL_UNITS: tuple[tuple[str, str, str, int, int], ...] = (
    # provincial departments (省直单位)
    ("swbgt", "广东省委办公厅", "agency", 2, 4), ("zfbgt", "广东省人民政府办公厅", "agency", 2, 4),
    ("zzb", "广东省委组织部", "agency", 2, 4), ("xcb", "广东省委宣传部", "agency", 2, 4),
    ("tzb", "广东省委统战部", "agency", 2, 4), ("fgw", "广东省发展改革委", "agency", 3, 4),
    ("jyt", "广东省教育厅", "agency", 2, 4), ("kjt", "广东省科技厅", "agency", 2, 4),
    ("gxt", "广东省工业和信息化厅", "agency", 2, 4), ("mzzjw", "广东省民族宗教委", "agency", 1, 4),
    ("gat", "广东省公安厅", "agency", 2, 4), ("mzt", "广东省民政厅", "agency", 2, 4),
    ("czt", "广东省财政厅", "agency", 3, 4), ("rst", "广东省人力资源社会保障厅", "agency", 2, 4),
    ("zrt", "广东省自然资源厅", "agency", 2, 4), ("sthjt", "广东省生态环境厅", "agency", 2, 4),
    ("zjt", "广东省住房城乡建设厅", "agency", 2, 4), ("jtt", "广东省交通运输厅", "agency", 2, 4),
    ("slt", "广东省水利厅", "agency", 2, 4), ("nyt", "广东省农业农村厅", "agency", 3, 4),
    ("swt", "广东省商务厅", "agency", 2, 4), ("wlt", "广东省文化和旅游厅", "agency", 2, 4),
    ("wjw", "广东省卫生健康委", "agency", 2, 4), ("gzw", "广东省国资委", "agency", 2, 4),
    ("scj", "广东省市场监管局", "agency", 2, 4), ("tjj", "广东省统计局", "agency", 2, 4),
    ("lyj", "广东省林业局", "agency", 2, 4), ("xczxj", "广东省乡村振兴局", "agency", 2, 4),
    ("gxs", "广东省供销合作联社", "agency", 1, 4), ("djj", "广东省代建项目管理局", "agency", 1, 4),
    ("yjt", "广东省应急管理厅", "agency", 1, 4), ("tyjrt", "广东省退役军人事务厅", "agency", 1, 4),
    # central units stationed in Guangdong (中直驻粤单位)
    ("gzhg", "广州海关", "agency", 3, 4), ("szhg", "深圳海关", "agency", 1, 4),
    ("pbc", "中国人民银行广州分行", "agency", 2, 4), ("nea", "国家能源局南方监管局", "agency", 1, 4),
    ("tax", "国家税务总局广东省税务局", "agency", 2, 4), ("grid", "广东电网有限责任公司", "enterprise", 3, 4),
    ("csg", "中国南方电网有限责任公司", "enterprise", 3, 4), ("cmcc", "中国移动广东有限公司", "enterprise", 3, 4),
    ("ctgd", "中国电信广东分公司", "enterprise", 2, 4), ("cugd", "中国联通广东省分公司", "enterprise", 1, 4),
    ("grc", "中国铁路广州局集团(广铁集团)", "enterprise", 2, 4), ("icbc", "中国工商银行广东省分行", "enterprise", 2, 4),
    ("abc", "中国农业银行广东省分行", "enterprise", 2, 4), ("adbc", "中国农业发展银行广东省分行", "enterprise", 2, 4),
    ("post", "中国邮政集团广东省分公司", "enterprise", 2, 4), ("tobacco", "广东省烟草专卖局(公司)", "enterprise", 2, 4),
    # provincial state-owned enterprises (省属国企)
    ("gxkg", "广东省广新控股集团", "enterprise", 2, 4), ("ghjt", "广东省港航集团", "enterprise", 2, 4),
    ("yhkg", "广东粤海控股集团", "enterprise", 2, 4), ("gwkg", "广东省广物控股集团", "enterprise", 2, 4),
    ("jtjt", "广东省交通集团", "enterprise", 3, 4), ("jgjt", "广东省建筑工程集团", "enterprise", 2, 4),
    ("nyjt", "广东省能源集团", "enterprise", 3, 4), ("hjtz", "广东恒健投资控股", "enterprise", 2, 4),
    ("jcjt", "广东省机场管理集团", "enterprise", 2, 4), ("gskg", "广东省广晟控股集团", "enterprise", 2, 4),
    ("lkjt", "广东省旅游控股集团", "enterprise", 1, 4), ("tljt", "广东省铁路建设投资集团", "enterprise", 1, 4),
    # universities (高校) and research institutes (科研力量)
    ("sysu", "中山大学", "institution", 1, 3), ("scut", "华南理工大学", "institution", 1, 3),
    ("scau", "华南农业大学", "institution", 1, 3), ("jnu", "暨南大学", "institution", 1, 3),
    ("scnu", "华南师范大学", "institution", 1, 3), ("gdut", "广东工业大学", "institution", 1, 3),
    ("gzucm", "广州中医药大学", "institution", 1, 3), ("zhku", "仲恺农业工程学院", "institution", 1, 3),
    ("gdaas", "广东省农业科学院", "research", 1, 3), ("gdas", "广东省科学院", "research", 1, 3),
)
PROVINCIAL_OFFSET_DEG = 0.002  # provincial units: Guangzhou's centre plus a ~200 m grid offset per unit

LOCAL_DEPARTMENTS = (  # municipal units of each target city (local tier), in order of seniority
    "市委办公室", "市委组织部", "市委宣传部", "市政府办公室", "市发展和改革局", "市财政局", "市统计局", "市烟草专卖局",
    "市农业农村局", "市自然资源局", "市住房和城乡建设局", "市交通运输局", "市工业和信息化局", "市卫生健康局",
    "市教育局", "市水务局",
)

# Round-1 example pairings whose lead unit is named: (target county, town) → lead unit id.
EXAMPLE_LEADS = {
    ("五华县", "梅林镇"): "prd-gz-panyu",       # 番禺区组团 (钟村街道 lead)
    ("梅江区", "西阳镇"): "prd-gz-zfbgt",       # 广州市政府办公厅等组团
    ("阳山县", "太平镇"): "prd-gz-tzb",         # 市委统战部 (lead)
    ("吴川市", "覃巴镇"): "prd-gz-zfw",         # 市政法委 (first named)
    ("城区", "捷胜镇"): "prd-sz-guangming",     # 光明区 (lead)
    ("海丰县", "大湖镇"): "prd-sz-fl",          # 市妇联 (first named)
    ("连平县", "高莞镇"): "prd-sz-nanshan",     # 南山区组团
    ("四会市", "下茆镇"): "prd-fs-chancheng",   # 禅城区祖庙街道等
    ("揭西县", "坪上镇"): "prd-dg-qingxi",      # 清溪镇政府 (first named)
    ("揭西县", "龙潭镇"): "prd-dg-jgsw",        # 东莞市机关事务管理局 (first named)
    ("揭西县", "南山镇"): "prd-dg-zhangmutou",  # 樟木头镇
    ("遂溪县", "洋青镇"): "loc-zj-xcb",         # 湛江市委宣传部 (lead)
    ("电白区", "沙琅镇"): "loc-mm-swb",         # 茂名市委办公室 (lead)
}
PREVIOUS_LEAD_SHARE = 0.4  # previous leads (examples + generated) ≈ 40 % of each city's key towns

# --- policy -------------------------------------------------------------------------------------------
CONTINUITY_WEIGHT = 100
MAX_CHANGES = 0.2
DISTANCE_WEIGHT = 0.1
PRIORITY = ({"flags": ["ethnic"], "tiers": ["prd", "provincial"]},
            {"flags": ["border", "old_base"], "min_strength": 4})
MEMBER_RULES = ("{kinds: [enterprise, institution], min: 1}", "{kinds: [research], min: 1, needs: [industry]}")
MEMBER_CONTINUITY_WEIGHT = 20
MAX_MEMBERS = 4
STAFFING = {"start_year": 2021, "years": 6}  # ages in cadres.csv are as of 2021; two 3-year terms
SOLVER = {"time_limit": 300, "workers": 1, "seed": 0, "presolve": "false"}  # ~15 s on 2 cores; 300 s is a cap


@dataclass(frozen=True)
class Data:
    """The shared input tables (all columns read as strings)."""

    towns: pd.DataFrame
    counties: pd.DataFrame
    cities: pd.DataFrame
    pairings: pd.DataFrame
    figures: pd.DataFrame
    examples: pd.DataFrame


def read_data(folder: Path) -> Data:
    """Read the six shared CSV files as string tables."""
    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(folder / name, dtype=str, keep_default_na=False)
    return Data(read("guangdong_towns.csv"), read("guangdong_counties.csv"), read("guangdong_cities.csv"),
                read("prd_city_pairings_2021.csv"), read("programme_figures.csv"), read("town_pairing_examples.csv"))


def check_published(figures: pd.DataFrame) -> None:
    """Fail if a published number used as a constant here disagrees with ``programme_figures.csv``."""
    value = {(r.scope, r.metric): r.value for r in figures.itertuples()}
    expected = {
        ("全省", "key_towns_重点帮扶镇"): TOTAL_KEY,
        ("全省", "key_town_helper_ratio_PRD6:provincial_central:local_municipal"): "5:2:3",
        ("湛江市", "key_towns"): FIXED_KEYS["湛江市"],
        ("湛江市", "key_towns_by_PRD_city(广州)"): ZHANJIANG_QUOTA["prd"],
        ("湛江市", "key_towns_by_provincial_central_units"): ZHANJIANG_QUOTA["provincial"],
        ("湛江市", "key_towns_by_local_municipal_units"): ZHANJIANG_QUOTA["local"],
        ("深圳市(helper)", "key_towns_helped_in_汕头_河源_汕尾"): sum(PUBLISHED_PRD[c] for c in ("汕头市", "河源市", "汕尾市")),
        ("汕头市", "key_towns_helped_by_深圳"): PUBLISHED_PRD["汕头市"],
        ("肇庆市", "town_work_teams_from_佛山"): PUBLISHED_PRD["肇庆市"],
        ("梅州市", "towns_helped_by_广州"): PUBLISHED_PRD["梅州市"],
    }
    for key, want in expected.items():
        if value.get(key) != str(want):
            raise SystemExit(f"programme_figures.csv {key}: {value.get(key)!r}, the script assumes {want!r}")


def largest_remainder(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Split ``total`` in proportion to ``weights``: floors first, then one each by largest fraction (ties: order)."""
    names = list(weights)
    wsum = sum(weights.values())
    exact = {k: total * weights[k] / wsum for k in names}
    out = {k: math.floor(exact[k] + 1e-9) for k in names}
    rest = total - sum(out.values())
    ranked = sorted(range(len(names)), key=lambda i: (-round(exact[names[i]] - out[names[i]], 9), i))
    for i in ranked[:rest]:
        out[names[i]] += 1
    return out


def seat_km(data: Data, towns: pd.DataFrame) -> pd.Series:
    """Each town's distance to its county's centre (the county seat), in km."""
    seat = data.counties.set_index("county_code")
    return pd.Series(haversine_km(towns.lon, towns.lat, towns.county_code.map(seat.lon_gcj02),
                                  towns.county_code.map(seat.lat_gcj02)), index=towns.index)


def haversine_km(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km (mean Earth radius), rounded to 0.1 km for stable ranking."""
    lo1, la1, lo2, la2 = (np.radians(np.asarray(x, dtype=float)) for x in (lon1, lat1, lon2, lat2))
    a = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return np.round(6371.0088 * 2 * np.arcsin(np.sqrt(a)), 1)


# --- towns --------------------------------------------------------------------------------------------

def town_flags(data: Data) -> pd.DataFrame:
    """Township-level units of type 镇/乡/民族乡 with their priority flags and distance to the city centre."""
    t = data.towns[data.towns.town_type.isin(TOWN_TYPES)].copy()
    c = data.counties.set_index("county_code")
    t["border"] = t.county_code.map(c.border_provinces != "")
    t["ethnic"] = t.county_code.map(c.is_autonomous_county == "1") | (t.minzu_xiang_official_name != "")
    t["old_base"] = t.county_code.map((c.central_soviet_county != "") | (c.hailufeng_difficult_county_2018 == "1"))
    t["n_flags"] = t[["border", "ethnic", "old_base"]].sum(axis=1)
    centre = data.cities.set_index("city_name")
    t["dist_city_km"] = haversine_km(t.lon_gcj02, t.lat_gcj02, t.city_name.map(centre.lon_gcj02),
                                     t.city_name.map(centre.lat_gcj02))
    return t


def find_town(towns: pd.DataFrame, county: str, name: str) -> str:
    """The town_code of the one town called ``name`` in ``county`` (fails loudly otherwise)."""
    hit = towns[(towns.county_name == county) & (towns.town_name == name)]
    if len(hit) != 1:
        raise SystemExit(f"town {county} {name}: {len(hit)} matches in guangdong_towns.csv")
    return str(hit.town_code.iloc[0])


def round1_example_towns(data: Data, towns: pd.DataFrame) -> set[str]:
    """Towns with a published round-1 (2021) team: example rows dated 2021, plus the seed-003 towns."""
    codes = {find_town(towns, r.target_county, r.target_town)
             for r in data.examples.itertuples() if r.start_or_report.startswith("2021")}
    codes |= {find_town(towns, county, town) for county, town, _ in SEED003_LEADS}
    return codes


def key_counts(towns: pd.DataFrame, cities: Sequence[str]) -> dict[str, int]:
    """600 key towns over the 13 cities: 湛江 fixed at 56, the rest by largest remainder on 镇+乡 counts.

    A city falling below its published lower bound is fixed at the bound and the split is redone.
    """
    size = towns.groupby("city_name").size()
    fixed = dict(FIXED_KEYS)
    while True:
        free = [c for c in cities if c not in fixed]
        alloc = largest_remainder(TOTAL_KEY - sum(fixed.values()), {c: float(size[c]) for c in free})
        low = [c for c in free if alloc[c] < KEY_LOWER_BOUNDS.get(c, 0)]
        if not low:
            return {c: fixed.get(c, alloc.get(c, 0)) for c in cities}
        fixed.update({c: KEY_LOWER_BOUNDS[c] for c in low})


def select_key_towns(towns: pd.DataFrame, counts: Mapping[str, int], forced: set[str]) -> pd.DataFrame:
    """Mark key towns city by city and add the within-city rank (1 = first chosen).

    Order: round-1 example towns; then each county's floor (ceil(30 %) of its towns when it has at least 3);
    then more flags, then farther from the city centre, then lower code. The first ``counts[city]`` are key.
    """
    t = towns.copy()
    t["forced"] = t.town_code.isin(forced)
    order = ["forced", "n_flags", "dist_city_km", "town_code"]
    asc = [False, False, False, True]
    t = t.sort_values(order, ascending=asc, kind="mergesort")
    t["county_rank"] = t.groupby("county_code").cumcount()
    n_county = t.groupby("county_code").town_code.transform("size")
    floor = np.where(n_county >= COUNTY_FLOOR_MIN_TOWNS, np.ceil(COUNTY_FLOOR_SHARE * n_county), 0)
    t["reserved"] = t.county_rank < floor
    t = t.sort_values(["forced", "reserved", *order], ascending=[False, False, *asc], kind="mergesort")
    t["key_rank"] = t.groupby("city_name").cumcount() + 1
    t["key"] = t.key_rank <= t.city_name.map(counts)
    over = t[(t.forced | t.reserved) & ~t.key]
    if not over.empty:
        raise SystemExit(f"county floors exceed the key count in {sorted(set(over.city_name))}")
    return t.sort_values("town_code", kind="mergesort")


def build_towns(data: Data) -> tuple[pd.DataFrame, dict[str, int], list[str]]:
    """towns.csv (all 镇/乡/民族乡 of the 21 cities), the key count per target city and the target city order."""
    flagged = town_flags(data)
    targets = [c for c in data.cities.city_name if
               data.cities.set_index("city_name").city_group[c] == TARGET_GROUP]
    in_target = flagged[flagged.city_name.isin(targets)]
    counts = key_counts(in_target, targets)
    ranked = select_key_towns(in_target, counts, round1_example_towns(data, flagged))
    out = flagged.copy()
    out["category"] = "pilot"
    out.loc[ranked.index, "category"] = np.where(ranked.key, "key", "consolidation")
    out["key_rank"] = ""
    out.loc[ranked.index, "key_rank"] = ranked.key_rank.astype(int).astype(str)
    missing = set(out.city_name) - set(targets) - set(PILOT_CITIES)
    if missing:
        raise SystemExit(f"cities neither target nor pilot: {sorted(missing)}")
    table = pd.DataFrame({
        "town_id": out.town_code,
        "name": np.where(out.minzu_xiang_official_name != "", out.minzu_xiang_official_name, out.town_name),
        "city": out.city_name, "county": out.county_name, "category": out.category,
        "border": out.border.map(_bool), "ethnic": out.ethnic.map(_bool), "old_base": out.old_base.map(_bool),
        "lon": out.lon_gcj02.map(_coord), "lat": out.lat_gcj02.map(_coord),
        "town_type": out.town_type, "nbs_name": out.town_name, "county_code": out.county_code,
        "code_2021": out.code_2021, "region": out.region, "coord_source": out.coord_source,
        "dist_city_km": out.dist_city_km.map(lambda d: f"{d:.1f}"), "key_rank": out.key_rank,
    })
    return table.sort_values("town_id", kind="mergesort").reset_index(drop=True), counts, targets


# --- tier plan ----------------------------------------------------------------------------------------

def tier_plan(counts: Mapping[str, int], targets: Sequence[str], pairings: pd.DataFrame) -> pd.DataFrame:
    """Planned towns per tier and target city (sizing basis for capacities and previous leads).

    PRD: published counts, the remaining 300 − 162 spread over the other cities by largest remainder on key
    towns. Local: 30 % of key towns by largest remainder (湛江 fixed at 17). Provincial: the rest.
    """
    total = {t: TOTAL_KEY * r // sum(TIER_RATIO.values()) for t, r in TIER_RATIO.items()}
    others = [c for c in targets if c not in PUBLISHED_PRD]
    prd = dict(PUBLISHED_PRD)
    prd.update(largest_remainder(total["prd"] - sum(PUBLISHED_PRD.values()), {c: counts[c] for c in others}))
    free = [c for c in targets if c != "湛江市"]
    local = {"湛江市": ZHANJIANG_QUOTA["local"]}
    local.update(largest_remainder(total["local"] - local["湛江市"], {c: counts[c] for c in free}))
    helper = dict(zip(pairings.target_city, pairings.helper_city, strict=True))
    plan = pd.DataFrame({"city": list(targets)})
    plan["helper"] = plan.city.map(helper)
    plan["keys"] = plan.city.map(counts)
    plan["prd"] = plan.city.map(prd)
    plan["local"] = plan.city.map(local)
    plan["provincial"] = plan["keys"] - plan.prd - plan.local
    if (plan.provincial < 0).any() or plan.provincial.sum() != total["provincial"]:
        raise SystemExit("tier plan does not add up")
    if int(plan.set_index("city").provincial["湛江市"]) != ZHANJIANG_QUOTA["provincial"]:
        raise SystemExit("湛江's provincial count must be 15")
    return plan


# --- units --------------------------------------------------------------------------------------------

def _bool(x: object) -> str:
    return "true" if bool(x) else "false"


def _coord(x: object) -> str:
    return f"{float(x):.6f}"


def _unit(uid: str, name: str, tier: str, city: str, cap: int, strength: int, lon: object, lat: object,
          kind: str, coord_source: str, note: str = "") -> dict[str, str]:
    return {"unit_id": uid, "name": name, "tier": tier, "city": city, "capacity": str(cap),
            "strength": str(strength), "lon": _coord(lon), "lat": _coord(lat), "kind": kind,
            "coord_source": coord_source, "note": note}


def prd_units(data: Data, plan: pd.DataFrame, key_by_county: Counter[str]) -> list[dict[str, str]]:
    """Districts (or towns) and municipal departments of the 6 PRD helper cities, with capacities.

    Capacity per helper city = planned PRD towns + ceil(4 %). Shenzhen: districts get their published team
    counts (capped at the key towns of their paired counties), the 4 汕头 county departments share 汕头's 13
    towns by their counties' key towns, the other departments share the rest. Elsewhere: largest remainder
    with weights district 3, town 2, department 1.
    """
    need = plan.groupby("helper").prd.sum()
    cities = data.cities.set_index("city_name")
    counties = data.counties[data.counties.county_type == "市辖区"].copy()
    towns = data.towns.set_index(["city_name", "town_name"])
    rows: list[dict[str, str]] = []
    for city in PRD_HELPERS:
        slug = CITY_SLUG[city]
        target = int(need[city]) + math.ceil(PRD_CAPACITY_MARGIN * int(need[city]))
        clon, clat = cities.lon_gcj02[city], cities.lat_gcj02[city]
        members: list[tuple[str, str, str, object, object, str]] = []  # (short, kind, id, lon, lat, coord)
        for r in counties[counties.city_name == city].itertuples():
            has = r.lon_gcj02 != ""
            members.append((r.county_name, "district", f"prd-{slug}-{DISTRICT_SLUG[r.county_name]}",
                            r.lon_gcj02 if has else clon, r.lat_gcj02 if has else clat,
                            "county_centre" if has else "city_centre"))
        for name in EXTRA_DISTRICTS.get(city, ()):
            members.append((name, "district", f"prd-{slug}-{DISTRICT_SLUG[name]}", clon, clat, "city_centre"))
        for name in PRD_TOWN_UNITS.get(city, ()):
            tr = towns.loc[(city, name)]
            members.append((name, "town", f"prd-{slug}-{DISTRICT_SLUG[name]}", tr.lon_gcj02, tr.lat_gcj02,
                            "town_point(" + tr.coord_source + ")"))
        for name in PRD_DEPARTMENTS[city]:
            members.append((name, "department", f"prd-{slug}-{DEPT_SLUG[name]}", clon, clat, "city_centre"))
        caps = _prd_capacities(city, members, target, key_by_county, plan)
        for short, kind, uid, lon, lat, coord in members:
            full = city + short if kind != "department" else city[:-1] + short
            note = ""
            if city == "深圳市" and kind == "district":
                note = f"Shenzhen plan 2022: {SHENZHEN_TEAMS[short]} team(s)"
            rows.append(_unit(uid, full, "prd", city, caps[uid], STRENGTH[kind], lon, lat,
                              "agency", coord, note))
    return rows


def prd_localities(data: Data) -> dict[str, list[tuple[str, str]]]:
    """Each PRD helper city's districts (东莞, 中山: its helper towns) as (full name, id slug)."""
    districts = data.counties[data.counties.county_type == "市辖区"]
    out = {}
    for city in PRD_HELPERS:
        names = [*districts[districts.city_name == city].county_name, *EXTRA_DISTRICTS.get(city, ()),
                 *PRD_TOWN_UNITS.get(city, ())]
        out[city] = [(city + n, DISTRICT_SLUG[n]) for n in names]
    return out


def _prd_capacities(city: str, members: Sequence[tuple[str, str, str, object, object, str]], target: int,
                    key_by_county: Counter[str], plan: pd.DataFrame) -> dict[str, int]:
    """Capacities of one PRD city's units summing to ``target`` (see :func:`prd_units`)."""
    if city != "深圳市":
        return largest_remainder(target, {m[2]: PRD_WEIGHTS[m[1]] for m in members})
    caps: dict[str, int] = {}
    for short, kind, uid, *_ in members:
        if kind == "district":
            fit = sum(key_by_county[c] for c, _ in SHENZHEN_DISTRICT_COUNTIES[short])
            caps[uid] = min(SHENZHEN_TEAMS[short], fit)
    shantou = [m for m in members if m[0] in SHENZHEN_SHANTOU_DEPTS]
    st_prd = int(plan.set_index("city").prd["汕头市"])
    share = largest_remainder(st_prd, {m[2]: key_by_county[SHENZHEN_SHANTOU_DEPTS[m[0]]] for m in shantou})
    for short, _, uid, *_ in shantou:
        caps[uid] = min(share[uid], key_by_county[SHENZHEN_SHANTOU_DEPTS[short]])
    rest = [m for m in members if m[2] not in caps]
    caps.update(largest_remainder(target - sum(caps.values()), {m[2]: 1 for m in rest}))
    return caps


def provincial_units(data: Data) -> list[dict[str, str]]:
    """Provincial departments, central units in Guangdong, provincial SOEs and universities (own list)."""
    gz = data.cities.set_index("city_name").loc["广州市"]
    rows = []
    for i, (suffix, name, kind, cap, strength) in enumerate(PROVINCIAL_UNITS):
        dx = PROVINCIAL_OFFSET_DEG * ((i % 9) - 4)
        dy = PROVINCIAL_OFFSET_DEG * ((i // 9) - 4)
        rows.append(_unit(f"prov-{suffix}", name, "provincial", "", cap, strength,
                          float(gz.lon_gcj02) + dx, float(gz.lat_gcj02) + dy, kind, "city_centre_offset(广州市)"))
    return rows


def local_units(data: Data, plan: pd.DataFrame, flagged_share: Mapping[str, float]) -> list[dict[str, str]]:
    """Municipal units of each target city: capacity ceil(31.5 % of key towns), ~2 towns per unit.

    Strength 4 for the most senior units until their capacity covers LOCAL_STRONG_FACTOR (80 %) of the city's
    share of key towns with a border/old-base flag (at least one such unit per city), strength 3 for the others.
    """
    cities = data.cities.set_index("city_name")
    rows = []
    for r in plan.itertuples():
        total = math.ceil(LOCAL_CAPACITY_SHARE * r.keys)
        n = min(len(LOCAL_DEPARTMENTS), math.ceil(total / LOCAL_UNIT_MEAN_CAPACITY))
        names = LOCAL_DEPARTMENTS[:n]
        caps = largest_remainder(total, {d: 1.0 for d in names})
        strong_need = max(1, math.ceil(LOCAL_STRONG_FACTOR * flagged_share[r.city] * total))
        covered = 0
        for d in names:
            strength = 4 if covered < strong_need else 3
            covered += caps[d] if strength == 4 else 0
            rows.append(_unit(f"loc-{CITY_SLUG[r.city]}-{DEPT_SLUG[d]}", r.city[:-1] + d, "local", r.city,
                              caps[d], strength, cities.lon_gcj02[r.city], cities.lat_gcj02[r.city], "agency",
                              "city_centre"))
    return rows


# --- relationships ------------------------------------------------------------------------------------

def county_pairings() -> list[dict[str, str]]:
    """Shenzhen's district → county pairings (河源/汕尾) and 4 department → 汕头 county pairings."""
    rows = []
    for district, pairs in SHENZHEN_DISTRICT_COUNTIES.items():
        for county, source in pairs:
            note = "Shenzhen plan 2022: districts keep their pre-2021 county pairings"
            if source == "assumed":
                note += "; which county is assumed"
            if county == "东源县" and district == "罗湖区":
                note = "源城区 has no key town here; assumed to lead in 东源县, which surrounds 源城区"
            rows.append({"unit_id": f"prd-sz-{DISTRICT_SLUG[district]}", "town_id": "", "county": county,
                         "kind": "county_pairing", "source": source, "note": note})
    for dept, county in SHENZHEN_SHANTOU_DEPTS.items():
        rows.append({"unit_id": f"prd-sz-{DEPT_SLUG[dept]}", "town_id": "", "county": county,
                     "kind": "county_pairing", "source": SHENZHEN_PLAN_URL,
                     "note": "department leads this 汕头 county (Shenzhen plan 2022)"})
    return rows


def previous_leads(data: Data, towns: pd.DataFrame, units: pd.DataFrame, plan: pd.DataFrame,
                   pairs: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """Previous leads: published round-1 examples, then a seeded, generated remainder.

    Generated rule (numpy Generator, seed SEED): per target city, ``round(40 % × key towns)`` previous leads
    in all, split over the tiers in proportion to the city's planned tier counts (largest remainder, minus the
    published ones). Towns without one are visited in random order; each takes the next tier from a shuffled
    list of those tier slots (towns with a published but unnamed PRD team take a PRD slot first) and a uniformly
    drawn unit that is eligible (PRD units only in their counterpart cities and paired counties, local units in
    their own city), meets the priority rules (ethnic → PRD or provincial; border/old base → strength ≥ 4)
    and still has capacity left. A town for which no such unit exists is skipped.
    """
    key = towns[towns.category == "key"].set_index("town_id")
    unit = units.set_index("unit_id")
    used: Counter[str] = Counter()
    rows: list[dict[str, str]] = []
    led: set[str] = set()
    unnamed_prd: dict[str, str] = {}  # town → helper city, for example rows with no named lead
    for r in data.examples.itertuples():
        if not r.start_or_report.startswith("2021"):
            continue
        town = find_town(data.towns, r.target_county, r.target_town)
        if town not in key.index:
            continue
        uid = EXAMPLE_LEADS.get((r.target_county, r.target_town))
        if uid is None:
            if r.helper_level == "PRD":
                unnamed_prd[town] = r.helper_city
            continue
        rows.append({"unit_id": uid, "town_id": town, "county": "", "kind": "previous_lead",
                     "source": r.source, "note": f"{r.start_or_report}: {r.helper_units}"})
    for county, name, uid in SEED003_LEADS:
        town = find_town(data.towns, county, name)
        rows.append({"unit_id": uid, "town_id": town, "county": "", "kind": "previous_lead",
                     "source": SEED003_SOURCE, "note": "round-1 team named in the report"})
    for row in rows:
        used[row["unit_id"]] += 1
        led.add(row["town_id"])
        if used[row["unit_id"]] > int(unit.capacity[row["unit_id"]]):
            raise SystemExit(f"{row['unit_id']}: more published previous leads than capacity")
    paired: dict[str, set[str]] = {}
    for p in pairs:
        paired.setdefault(p["unit_id"], set()).add(p["county"])
    keyed = set(key.county)
    paired_in: dict[str, list[str]] = {}  # county → units paired with it (counties with key towns only)
    for uid, counties in sorted(paired.items()):
        for county in sorted(counties & keyed):
            paired_in.setdefault(county, []).append(uid)

    def room(county: str) -> int:
        """Key towns of ``county`` still free beyond what its paired units' remaining capacity needs."""
        free_towns = int((key.county == county).sum()) - sum(1 for t in led if key.county.get(t) == county)
        need = sum(int(unit.capacity[u]) - used[u] for u in paired_in.get(county, []))
        return free_towns - need

    helper = dict(zip(plan.city, plan.helper, strict=True))
    rng = np.random.default_rng(SEED)
    for p in plan.itertuples():
        city_towns = key[key.city == p.city]
        want = round(PREVIOUS_LEAD_SHARE * p.keys)
        have = Counter(unit.tier[r["unit_id"]] for r in rows if r["town_id"] in city_towns.index)
        split = largest_remainder(want, {"prd": p.prd, "provincial": p.provincial, "local": p.local})
        slots = [t for t in ("prd", "provincial", "local") for _ in range(max(0, split[t] - have[t]))]
        slots = [slots[i] for i in rng.permutation(len(slots))]
        free = [t for t in city_towns.index if t not in led]
        free = [free[i] for i in rng.permutation(len(free))]
        free.sort(key=lambda t: t not in unnamed_prd)  # stable: unnamed-PRD towns first, rest stay shuffled
        for town in free:
            if not slots:
                break
            tier = "prd" if town in unnamed_prd else slots[0]
            if tier not in slots:  # a town with a published PRD team gets a PRD lead or none
                continue
            tr = city_towns.loc[town]
            cand = [u for u in unit.index if unit.tier[u] == tier and used[u] < int(unit.capacity[u])
                    and _eligible(unit.loc[u], tr, helper, paired.get(u)) and _priority_ok(unit.loc[u], tr)]
            own = [u for u in cand if u in paired_in.get(tr.county, [])]
            if own:  # a county with paired units: they lead its towns first
                cand = own
            elif room(tr.county) < 1:  # keep the towns the paired units' capacity needs
                cand = []
            if not cand:
                continue
            slots.remove(tier)
            uid = cand[int(rng.integers(len(cand)))]
            used[uid] += 1
            led.add(town)
            rows.append({"unit_id": uid, "town_id": town, "county": "", "kind": "previous_lead",
                         "source": "generated", "note": f"seed {SEED}"})
    return rows


def previous_members(data: Data) -> list[dict[str, str]]:
    """The round-1 member units named in seed 003 (kind ``previous_member``)."""
    return [{"unit_id": uid, "town_id": find_town(data.towns, county, name), "county": "", "kind": "previous_member",
             "source": SEED003_SOURCE, "note": "round-1 member unit named in the report"}
            for county, name, uid in SEED003_MEMBERS]


def _eligible(u: pd.Series, town: pd.Series, helper: Mapping[str, str], counties: set[str] | None) -> bool:
    if u.tier == "local":
        return bool(u.city == town.city)
    if u.tier == "prd":
        return helper[town.city] == u.city and (counties is None or town.county in counties)
    return True


def _priority_ok(u: pd.Series, town: pd.Series) -> bool:
    if town.ethnic == "true" and u.tier == "local":
        return False
    return not ((town.border == "true" or town.old_base == "true") and int(u.strength) < 4)


# --- output -------------------------------------------------------------------------------------------

def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 CSV, header row, LF line ends, everything already formatted as text."""
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def scenario_yaml() -> str:
    """The scenario file (hand-formatted so the key order and comments are stable)."""
    quotas = {"湛江市": ZHANJIANG_QUOTA, **{c: {"prd": n} for c, n in PUBLISHED_PRD.items() if c != "湛江市"}}
    lines = [
        f"name: {SCENARIO_NAME}",
        "description: >-",
        "  Guangdong 驻镇帮镇扶村, first round (2021): 600 key towns of the 12 east/west/north cities and",
        "  肇庆, led by PRD-city, provincial and local units at 5:2:3. Towns, counties, flags, coordinates,",
        "  counterpart cities and Shenzhen's county pairings come from public data; the key-town list, unit",
        "  capacities and strengths, the generated previous leads, the member units' capacities, the towns' needs",
        "  and the generated cadres are illustrative (see README.md).",
        "tables:",
        "  towns: towns.csv",
        "  units: units.csv",
        "  counterparts: counterparts.csv",
        "  relationships: relationships.csv",
        "  cadres: cadres.csv",
        "policy:",
        "  tier_ratio: {" + ", ".join(f"{k}: {v}" for k, v in TIER_RATIO.items()) + "}",
        "  city_quotas:   # published towns per tier (湛江 in full; PRD-led towns elsewhere)",
    ]
    for city, q in quotas.items():
        lines.append(f"    {city}: {{" + ", ".join(f"{k}: {v}" for k, v in q.items()) + "}")
    lines += [
        f"  continuity_weight: {CONTINUITY_WEIGHT}",
        f"  max_changes: {MAX_CHANGES}",
        f"  distance_weight: {DISTANCE_WEIGHT}",
        "  priority:",
    ]
    for rule in PRIORITY:
        parts = [f"flags: [{', '.join(rule['flags'])}]"]
        if "tiers" in rule:
            parts.append(f"tiers: [{', '.join(rule['tiers'])}]")
        if "min_strength" in rule:
            parts.append(f"min_strength: {rule['min_strength']}")
        lines.append("    - {" + ", ".join(parts) + "}")
    lines += [
        "  groups:   # 组团: at least one enterprise or institution per group; a research unit where industry is a need",
        "    member_rules:",
        *(f"      - {rule}" for rule in MEMBER_RULES),
        f"    member_continuity_weight: {MEMBER_CONTINUITY_WEIGHT}",
        f"    max_members: {MAX_MEMBERS}",
        "  staffing: {" + ", ".join(f"{k}: {v}" for k, v in STAFFING.items()) + "}   # Shenzhen 2022 rules (defaults)",
    ]
    lines.append("solver: {" + ", ".join(f"{k}: {v}" for k, v in SOLVER.items()) + "}")
    return "\n".join(lines) + "\n"


def markdown_table(frame: pd.DataFrame) -> str:
    """A plain GitHub-flavoured Markdown table."""
    cols = [str(c) for c in frame.columns]
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    out += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(out)


def summary(towns: pd.DataFrame, units: pd.DataFrame, plan: pd.DataFrame, rels: pd.DataFrame,
            counterparts: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per-city table (towns, keys, flags, tiers, capacities) and the eligible-pair count."""
    key = towns[towns.category == "key"]
    caps = units.assign(capacity=units.capacity.astype(int), strength=units.strength.astype(int))
    helper = dict(zip(counterparts.target_city, counterparts.prd_city, strict=True))
    loc = caps[caps.tier == "local"]
    rows = []
    for p in plan.itertuples():
        k = key[key.city == p.city]
        lc = loc[loc.city == p.city]
        rows.append({
            "city": p.city, "towns": int((towns.city == p.city).sum()), "key": len(k),
            "border/old_base": int(((k.border == "true") | (k.old_base == "true")).sum()),
            "ethnic": int((k.ethnic == "true").sum()), "helper": helper[p.city], "prd": p.prd,
            "provincial": p.provincial, "local": p.local, "local_cap": int(lc.capacity.sum()),
            "local_cap_s4": int(lc[lc.strength >= 4].capacity.sum()), "local_units": len(lc),
        })
    per_city = pd.DataFrame(rows)
    paired = rels[rels.kind == "county_pairing"].groupby("unit_id").county.agg(set).to_dict()
    n_pairs = {"prd": 0, "provincial": 0, "local": 0}
    for u in caps.itertuples():
        if u.tier == "provincial":
            n_pairs["provincial"] += len(key)
        elif u.tier == "local":
            n_pairs["local"] += int((key.city == u.city).sum())
        else:
            mine = key[key.city.map(helper) == u.city]
            if u.unit_id in paired:
                mine = mine[mine.county.isin(paired[u.unit_id])]
            n_pairs["prd"] += len(mine)
    return per_city, n_pairs


def check(towns: pd.DataFrame, units: pd.DataFrame, plan: pd.DataFrame, rels: pd.DataFrame) -> list[str]:
    """Arithmetic checks of feasibility (necessary conditions); returns printable lines, fails on errors."""
    caps = units.assign(capacity=units.capacity.astype(int), strength=units.strength.astype(int))
    key = towns[towns.category == "key"]
    lines = []
    errors = []
    prd_need = plan.groupby("helper").prd.sum()
    for city in PRD_HELPERS:
        cap = int(caps[(caps.tier == "prd") & (caps.city == city)].capacity.sum())
        lines.append(f"PRD {city}: must lead {int(prd_need[city])}, capacity {cap}")
        if cap < prd_need[city]:
            errors.append(f"{city}: PRD capacity {cap} < {int(prd_need[city])}")
    prov = int(caps[caps.tier == "provincial"].capacity.sum())
    lines.append(f"provincial: must lead {int(plan.provincial.sum())}, capacity {prov} "
                 f"({int(caps[(caps.tier == 'provincial') & (caps.strength >= 4)].capacity.sum())} with strength ≥ 4)")
    if prov < plan.provincial.sum():
        errors.append(f"provincial capacity {prov} < {int(plan.provincial.sum())}")
    loc = int(caps[caps.tier == "local"].capacity.sum())
    lines.append(f"local: must lead {int(plan.local.sum())}, capacity {loc}")
    for p in plan.itertuples():
        lc = int(caps[(caps.tier == "local") & (caps.city == p.city)].capacity.sum())
        if lc < p.local:
            errors.append(f"{p.city}: local capacity {lc} < planned {p.local}")
    # county pairings: each paired unit's capacity fits the key towns of its counties
    paired = rels[rels.kind == "county_pairing"].groupby("unit_id").county.agg(list)
    for uid, counties in paired.items():
        fit = int(key.county.isin(counties).sum())
        cap = int(caps.set_index("unit_id").capacity[uid])
        if cap > fit:
            errors.append(f"{uid}: capacity {cap} > {fit} key towns in {counties}")
    prev = rels[rels.kind == "previous_lead"]
    over = prev.groupby("unit_id").size().sub(caps.set_index("unit_id").capacity, fill_value=0)
    if (over > 0).any():
        errors.append(f"previous leads over capacity: {over[over > 0].to_dict()}")
    if prev.town_id.duplicated().any():
        errors.append("a town has two previous leads")
    if errors:
        raise SystemExit("checks failed:\n  " + "\n  ".join(errors))
    return lines


def readme(per_city: pd.DataFrame, n_pairs: Mapping[str, int], towns: pd.DataFrame, units: pd.DataFrame,
           rels: pd.DataFrame, checks: Sequence[str], members: pd.DataFrame, staff: pd.DataFrame, teams: str) -> str:
    """The scenario's README: provenance, licences and every rule, with the numbers of this build (``units``:
    the lead units; ``members``: the member units; ``teams``: the groups-and-cadres part)."""
    cat = towns.category.value_counts()
    tiers = units.tier.value_counts()
    caps = units.assign(capacity=units.capacity.astype(int)).groupby("tier").capacity.sum()
    prev = rels[rels.kind == "previous_lead"]
    gen = int((prev.source == "generated").sum())
    n_pair_rows = int((rels.kind == "county_pairing").sum())
    prov_by_kind = units[units.tier == "provincial"].kind.value_counts()
    n_agency, n_soe, n_uni, n_res = (int(prov_by_kind.get(k, 0))
                                     for k in ("agency", "enterprise", "institution", "research"))
    key = towns[towns.category == "key"]
    n_flag = int(((key.border == "true") | (key.old_base == "true")).sum())
    n_eth = int((key.ethnic == "true").sum())
    pairing = rels[rels.kind == "county_pairing"]
    fit_rows = []
    for uid, group in pairing.groupby("unit_id", sort=False):
        counties = list(group.county)
        fit_rows.append({"unit": units.set_index("unit_id").name[uid], "counties": "、".join(counties),
                         "capacity": units.set_index("unit_id").capacity[uid],
                         "key towns there": int(key.county.isin(counties).sum())})
    paired_fit = pd.DataFrame(fit_rows)
    text = f"""# Scenario `guangdong-2021`: 驻镇帮镇扶村, first round

Guangdong's town-pairing programme (《广东省乡村振兴驻镇帮镇扶村工作方案》, June 2021): 600 key towns
(重点帮扶镇) of the 12 cities of east, west and north Guangdong plus 肇庆 are led by helper units of three tiers
at **5 : 2 : 3** (300 PRD-city, 120 provincial/central, 180 local municipal).

Generated by `scripts/build_guangdong.py` from the project's shared data folder (`../shared/data`); do not
edit the CSV files by hand, change the script and rerun it (the output is byte-identical between runs).

**What is real and what is illustrative.** Towns, counties, cities, codes, coordinates, priority flags, the
counterpart cities, Shenzhen's county pairings and team counts, the published per-city figures and the unit
*names* come from public sources. **The list of the 600 key towns is illustrative** (no town-by-town list is
published; a documented rule picks them so that every published figure holds). **Unit capacities and
strengths are illustrative.** **The generated previous leads are illustrative** (seeded random draws, marked
`generated`). **The member units' capacities, the towns' needs and the cadres are illustrative** (generated by
`scripts/build_cadres.py`; the cadres are made-up people with a documented age, rank and Party-membership mix). Seven of Shenzhen's ten district → county pairings, and 罗湖区's second county, are assumptions
(marked `assumed`).

## Files

| file | rows | content |
|---|---|---|
| `scenario.yaml` | | name, tables, policy (5:2:3, published city quotas, continuity, distance, priority, groups, staffing), solver |
| `towns.csv` | {len(towns)} | every 镇/乡/民族乡 of the 21 cities: {cat.get('key', 0)} key, {cat.get('consolidation', 0)} consolidation, {cat.get('pilot', 0)} pilot |
| `units.csv` | {len(units) + len(members)} | {len(units)} lead units: {tiers.get('prd', 0)} PRD (capacity {caps.get('prd', 0)}), {tiers.get('provincial', 0)} provincial (capacity {caps.get('provincial', 0)}), {tiers.get('local', 0)} local (capacity {caps.get('local', 0)}); {len(members)} member units (capacity 0, member capacity {members.member_capacity.astype(int).sum()}) |
| `counterparts.csv` | 13 | PRD helper city → target city (2021 round) |
| `relationships.csv` | {len(rels)} | {n_pair_rows} county pairings, {len(prev)} previous leads ({len(prev) - gen} published, {gen} generated), {int((rels.kind == "previous_member").sum())} previous members (published) |
| `cadres.csv` | {len(staff)} | cadres the lead and member units can send to town teams (generated) |

## Sources and licences

| id | source | used for | licence |
|---|---|---|---|
| S1 | GitHub `modood/Administrative-divisions-of-China`, `dist/streets.csv`, `areas.csv`, `cities.csv`, commit `57a0aa9cef47169a2eb74cf057b0245052a34e8c` (NBS code set, 2022/2023 vintage) | town and county codes, names, types (`towns.csv`: `town_id`, `nbs_name`, `town_type`, `county`, `county_code`, `city`) | WTFPL v2 |
| S1b | same repository, commit `0b7fd75e6bd8fef6c63d7f02cfaf0a39b33fc199` (NBS, as of 2021-10-31) | `code_2021` | WTFPL v2 |
| S2 | GitHub `Vonng/adcode`, `data/adcode/44*.csv` and `data/fences/*.json`, commit `b755d6e4abca8e0d309728abc9ad4b100dacc685` (AMap geometry, GCJ-02) | town, county and city centre points (`lon`, `lat` of towns and units), provincial-border lengths behind `border` | **CC BY 4.0 — credit "Vonng/adcode"** |
| S3 | public web pages (government sites, newspapers, mirrors), cited row by row | the 7 民族乡 official names, autonomous/old-base county lists, counterpart cities, published figures, example pairings (`source` columns) | facts only; no prose copied |
| seed 003 | 揭阳 progress report, mid-2022 (project seed document 003, no URL) | 5 round-1 leads in 揭阳 and the names of the units involved | facts only |

Coordinates are GCJ-02 (AMap datum), a few hundred metres off WGS-84 in Guangdong; treat them as approximate.
The shared data folder's files and the rows each output column comes from:

- `towns.csv` ← `guangdong_towns.csv` (1757 rows, filtered to {len(towns)}) + `guangdong_counties.csv` (flags) +
  `guangdong_cities.csv` (city centres, for `dist_city_km`) + `town_pairing_examples.csv` (round-1 towns).
- `units.csv` ← `guangdong_counties.csv` (PRD districts and their centres), `guangdong_towns.csv` (东莞/中山 towns),
  `guangdong_cities.csv` (city centres); unit names from the script's lists (real names; see below).
- `counterparts.csv` ← `prd_city_pairings_2021.csv` (all 13 rows; `status`, `source` kept).
- `relationships.csv` ← `town_pairing_examples.csv` (published previous leads; the URLs behind 南山区→连平县 and
  光明区→城区), Shenzhen's 2022 plan ({SHENZHEN_PLAN_URL}; the 汕头 pairings), a 2018
  report on 宝安区's assistance to 龙川县 (URL in `source`), seed 003, and the seeded generator (`source` =
  `generated`). Every row's `source` is a URL, the seed-003 reference, `assumed` or `generated`.

## Rules used

### Towns (`towns.csv`)
- Only township-level units of type 镇, 乡 and 民族乡 (not 街道, not 其他) of all 21 cities: {len(towns)} rows.
  `town_id` is the 12-digit NBS code; `name` is the NBS name, or the official name of the 7 民族乡 where the NBS
  uses a short form (the NBS name stays in `nbs_name`).
- `category`: in the 13 target cities (city group `{TARGET_GROUP}`) **key** or **consolidation**; in the 7 PRD
  pilot cities 广州 珠海 佛山 惠州 东莞 中山 江门 **pilot** (深圳 has no 镇/乡). This gives {cat.get('consolidation', 0)}
  consolidation towns (programme: 301) and {cat.get('pilot', 0)} pilot towns (programme: 226/227); the NBS codes are a
  2022/23 vintage, so a few towns were merged or renamed since 2021.
- Flags: `border` = the county shares a boundary with 福建, 江西, 湖南 or 广西 (`border_provinces` non-empty; Hong
  Kong/Macau do not count); `ethnic` = the county is autonomous (乳源, 连山, 连南) or the town is a 民族乡;
  `old_base` = the county is an original Central Soviet county (`central_soviet_county`, confirmed 2013 or
  inferred 2024) or one of the 11 海陆丰 difficult counties (2018).
- **Key towns per city (illustrative)**: 湛江 fixed at its published 56; the other {TOTAL_KEY - FIXED_KEYS['湛江市']}
  split over the 12 other cities in proportion to their 镇+乡 counts by largest remainder (ties: city-code order);
  a city below its published lower bound (梅州 ≥ 30, 汕头 ≥ 13, 河源 ≥ 44, 汕尾 ≥ 19, 肇庆 ≥ 32) would be fixed at the
  bound and the split redone (none is).
- **Which towns are key (illustrative)**, within each city, in this order: (1) the towns with a published
  round-1 (2021) team (example rows dated 2021 and seed 003); (2) each county's floor: counties with at
  least {COUNTY_FLOOR_MIN_TOWNS} towns keep their best-ranked ceil({COUNTY_FLOOR_SHARE:.0%}) of towns, so that every
  rural county has key towns (Shenzhen's plan names towns in all 4 counties of 汕头, 5 of 河源 and 4 of 汕尾);
  (3) the rest by number of flags (descending), then distance from the city centre (`dist_city_km`, great-circle, descending:
  remoter towns are weaker), then town code. `key_rank` is this order (1 = first chosen).

### Tier plan (sizing basis; only the published numbers are in the policy)
- 300 / 120 / 180 = 600 × 5/10, 2/10, 3/10.
- PRD towns per target city: published for 湛江 24, 梅州 30, 汕头 13, 河源 44, 汕尾 19, 肇庆 32 (these are the
  `city_quotas` in `scenario.yaml`, with 湛江's full 24/15/17); the other 300 − 162 = 138 spread over the other 7
  cities by largest remainder on key towns (**planned, not a quota**).
- Local towns per city: 30 % of key towns by largest remainder (湛江 17); provincial: the rest (湛江 15).

### Units (`units.csv`)
- **PRD tier** (`city` = the PRD helper city): the districts of 广州, 深圳, 珠海 and 佛山 (NBS list, plus 深圳's
  大鹏新区); for 东莞 and 中山, which have no districts, some of their real towns and streets (清溪镇, 桥头镇 and
  樟木头镇 appear in the examples); plus municipal departments of each city. Strength: districts 5, towns 4,
  departments 4. Coordinates: a district's county centre (深圳's 龙华, 坪山, 光明 and 大鹏 have no point in S2:
  city centre), a town's point, a department's city centre.
- PRD capacity per helper city = the towns it must lead under the tier plan + ceil(4 %); inside the city split
  by largest remainder with weights district 3, town 2, department 1. 深圳: each district's capacity is its
  published team count (福田 5, 罗湖 4, 盐田 2, 南山 5, 宝安 5, 龙岗 5, 龙华 5, 坪山 2, 光明 1, 大鹏新区 2), capped at
  the key towns of its paired counties; the 4 汕头 county departments share 汕头's 13 towns by their counties' key
  towns; the other departments share the rest equally.
- **Provincial tier** (`city` empty): {n_agency} provincial departments and central agencies, {n_soe} central
  and provincial state-owned enterprises, {n_uni} universities and {n_res} research institutes, all real.
  Capacity 1–3 (economic departments and large enterprises 2–3; 2023's vertical assistance also gives
  stronger units two counties), strength 4, except universities and research institutes 3. Coordinates: Guangzhou's city centre plus a deterministic grid offset
  of {PROVINCIAL_OFFSET_DEG}° (about 200 m) per unit, only to tell units apart.
- **Local tier** (`city` = own city): for each target city the first ceil(capacity / 2) of a fixed list of
  municipal units (市委办公室, 市委组织部, 市委宣传部, 市政府办公室, 市发展和改革局, 市财政局, 市统计局, 市烟草专卖局, …;
  the examples name 市委宣传部, 市统计局, 市烟草专卖局 and 市委办公室). City capacity = ceil(31.5 % of key towns),
  split equally by largest remainder. Strength 4 for the first units until their capacity covers
  {LOCAL_STRONG_FACTOR:.0%} of the city's share of key towns with a border/old-base flag (at least one unit), 3 for the
  rest. Coordinates: city centre.
- **Why so many strong units**: {n_flag} of the 600 key towns carry a border or old-base flag (min strength 4)
  and {n_eth} the ethnic flag (PRD or provincial only), so the local tier can reach its 180 towns only if most
  municipal capacity is strong. The priority rules bind: with {LOCAL_STRONG_FACTOR_TIGHT:.0%} instead of
  {LOCAL_STRONG_FACTOR:.0%} CP-SAT proves that no plan exists (checked while building this scenario).

### Relationships (`relationships.csv`)
- `county_pairing`: Shenzhen's districts keep their pairings with the counties of 河源 and 汕尾 — 南山区→连平县 and
  光明区→城区 are confirmed by town-level sources, 宝安区→龙川县 by a 2018 report of 宝安's assistance to 龙川; the
  other 7 (龙华区→紫金县, 福田区→和平县, 盐田区→东源县, 罗湖区→源城区, 龙岗区→陆丰市, 坪山区→陆河县, 大鹏新区→海丰县)
  are **assumed**. 源城区 has no key town under our rule (it is the city seat, and the plan puts 河源's 44 towns
  in 5 counties), so 罗湖区 is also paired with 东源县, which surrounds 源城区 (**assumed**). The four 汕头 county
  pairings (市规划和自然资源局→澄海区, 市交通运输局→潮阳区, 市市场监管局→潮南区, 市国资委→南澳县) are published.
  A unit with county pairings may lead only towns in those counties. Capacities against key towns:

{markdown_table(paired_fit)}

- `previous_lead`, published: example rows dated 2021 whose town is key and whose lead is named (the first
  unit listed is taken as the lead when none is marked), plus 5 leads from seed 003. Rows dated 2024/2025
  (second round) and rows whose lead is not named are not used as leads (their towns still get a generated
  lead of the named PRD city when the town is key).
- `previous_lead`, **generated** (numpy `default_rng({SEED})`): per target city round(40 % × key towns) previous
  leads in all, split over the tiers in proportion to the city's tier plan (minus the published ones). Towns
  are visited in random order (towns with a published but unnamed PRD team first, with a PRD slot); each takes
  a tier slot from a shuffled list and a uniformly drawn unit that is eligible (PRD units only in their
  counterpart cities and paired counties, local units only in their own city, provincial units anywhere),
  meets the priority rules and has capacity left; in a county with county-paired units those units take the
  PRD slots, and other units take a town there only while enough towns remain for the paired units' capacity.
  No unit has more previous leads than its capacity; a plan keeping all of them exists (checked with CP-SAT).

### Policy and solver (`scenario.yaml`)
- `city_quotas`: only published numbers (湛江 24/15/17; PRD-led towns in 梅州, 汕头, 河源, 汕尾, 肇庆).
- `continuity_weight` {CONTINUITY_WEIGHT} per kept previous lead, `max_changes` {MAX_CHANGES} (of the towns with a
  previous lead), `distance_weight` {DISTANCE_WEIGHT} per km, priority: ethnic → PRD or provincial; border or
  old base → strength ≥ 4.
- `solver`: one worker without CP-SAT presolve proves the optimum in about 15 s on a 2-core machine (presolve's
  probing alone costs about 10 s here, and more workers were slower); `time_limit` {SOLVER['time_limit']} s is only a cap.
- `groups`: the member rules below. `staffing`: the Shenzhen 2022 rules (the defaults) from {STAFFING['start_year']}
  (`start_year`: the ages in `cadres.csv` are as of that year) over {STAFFING['years']} years (two 3-year terms), so
  `bangfu staff` gives every key town's group, its first team, the county working-group heads and the rotation.

{teams}
## Numbers of this build

{markdown_table(per_city)}

`prd`, `provincial`, `local` are the tier plan; `local_cap_s4` is local capacity with strength ≥ 4.

Capacity checks (necessary conditions; the CP-SAT solve is the real check):

{chr(10).join('- ' + c for c in checks)}

Eligible unit → key-town pairs: {sum(n_pairs.values())} (PRD {n_pairs['prd']}, provincial {n_pairs['provincial']},
local {n_pairs['local']}).
"""
    return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA, help="shared data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="scenario folder to write")
    args = parser.parse_args(argv)
    data = read_data(args.data_dir)
    check_published(data.figures)

    towns, counts, targets = build_towns(data)
    towns["needs"] = town_needs(towns, seat_km(data, towns))
    plan = tier_plan(counts, targets, data.pairings)
    key = towns[towns.category == "key"]
    key_by_county: Counter[str] = Counter(key.county)
    flagged_share = {c: float(((g.border == "true") | (g.old_base == "true")).mean()) for c, g in key.groupby("city")}
    units = pd.DataFrame(prd_units(data, plan, key_by_county) + provincial_units(data)
                         + local_units(data, plan, flagged_share))
    units["member_capacity"] = "0"
    members = pd.DataFrame(member_units(plan, towns, data.cities, CITY_SLUG, prd_localities(data),
                                        len(PROVINCIAL_UNITS), PROVINCIAL_OFFSET_DEG))
    every_unit = pd.concat([units, members], ignore_index=True)
    joined = {uid for _, _, uid in SEED003_MEMBERS}
    every_unit.loc[every_unit.unit_id.isin(joined) & (every_unit.member_capacity == "0"), "member_capacity"] = "1"
    if every_unit.unit_id.duplicated().any():
        raise SystemExit(f"duplicate unit ids: {sorted(every_unit.unit_id[every_unit.unit_id.duplicated()])}")
    counterparts = pd.DataFrame({"prd_city": data.pairings.helper_city, "target_city": data.pairings.target_city,
                                 "status": data.pairings.status, "source": data.pairings.source})
    pairs = county_pairings()
    rels = pd.DataFrame(pairs + previous_leads(data, towns, units, plan, pairs) + previous_members(data),
                        columns=["unit_id", "town_id", "county", "kind", "source", "note"])
    checks = check(towns, units, plan, rels)
    per_city, n_pairs = summary(towns, units, plan, rels, counterparts)
    prev = rels[rels.kind == "previous_lead"]
    staff, added = cadres(every_unit, heads=Counter(p["unit_id"] for p in pairs),
                          previous={u: list(g.town_id) for u, g in prev.groupby("unit_id", sort=False)})

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scenario.yaml").write_text(scenario_yaml(), encoding="utf-8")
    write_csv(towns, args.out / "towns.csv")
    write_csv(every_unit, args.out / "units.csv")
    write_csv(counterparts, args.out / "counterparts.csv")
    write_csv(rels, args.out / "relationships.csv")
    write_csv(staff, args.out / "cadres.csv")
    text = readme(per_city, n_pairs, towns, units, rels, checks, members, staff,
                  readme_section(towns, every_unit, staff, added))
    (args.out / "README.md").write_text(text, encoding="utf-8")

    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(per_city.to_string(index=False))
    print("\n".join(checks))
    prev = rels[rels.kind == "previous_lead"]
    print(f"towns {len(towns)} ({ {k: int(v) for k, v in towns.category.value_counts().items()} }), units {len(units)}, "
          f"previous leads {len(prev)} ({int((prev.source != 'generated').sum())} published), "
          f"eligible pairs {sum(n_pairs.values())} {n_pairs}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
