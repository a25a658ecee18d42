"""Member units, town needs and the cadres table of the Guangdong scenario (called by ``build_guangdong.py``).

Data-preparation step, committed for reproducibility. Everything here is **illustrative**: no list of the
programme's member units or of its 8,099 cadres is published, only the rules they follow (Shenzhen's 2022 plan:
teams of at least 5; a Party-member leader aged at most 50 of rank 副科 or above from the lead unit; members who
are full Party members with at least 1 year of membership and 2 years of work, aged at most 45, from the group's
units; one 副处 cadre per county-level lead unit heading the county working group) and the scale (7,174 units
sent 8,099 cadres in the first year; 揭阳: 389 units, 487 cadres, 91 teams). The names of PRD-city and
provincial member units are real organisations; the target cities' member units follow the usual set of
municipal units and branches (市人民医院, 市城市建设投资集团, 中国移动X分公司, ...). Cadres are generated people.

Deterministic: one ``numpy.random.Generator`` seeded with :data:`CADRE_SEED`, drawn in a fixed order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

CADRE_SEED = 20220218  # date of Shenzhen's published plan (2022-02-18), whose eligibility rules we follow
YEAR = 2021            # the year the ages, work years and Party years refer to (round 1 starts)

RANKS = ("科员", "副科", "正科", "副处", "正处", "副厅", "正厅")
LEADER_MAX_AGE, LEADER_MIN_RANK = 50, "副科"
MEMBER_MAX_AGE, MEMBER_MIN_PARTY_YEARS, MEMBER_MIN_WORK_YEARS = 45, 1, 2
HEAD_MIN_RANK = "副处"

# --- member units -------------------------------------------------------------------------------------
# (id suffix, name, kind), in the order a pool takes them: a pool uses the first units of its list that its
# member capacity needs (like the local lead units), so most member units join one group or two.
PRD_MEMBERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "广州市": (
        ("metro", "广州地铁集团", "enterprise"), ("gzcti", "广州市城市建设投资集团", "enterprise"),
        ("gjt", "广州交通投资集团", "enterprise"), ("yuexiu", "越秀集团", "enterprise"),
        ("gac", "广州汽车工业集团", "enterprise"), ("gpharm", "广州医药集团", "enterprise"),
        ("port", "广州港集团", "enterprise"), ("gdh", "广州发展集团", "enterprise"),
        ("water", "广州市水务投资集团", "enterprise"), ("gig", "广州工业投资控股集团", "enterprise"),
        ("pearl", "广州珠江实业集团", "enterprise"), ("light", "广州轻工工贸集团", "enterprise"),
        ("radio", "广州无线电集团", "enterprise"), ("lingnan", "岭南商旅投资集团", "enterprise"),
        ("env", "广州环保投资集团", "enterprise"), ("rcb", "广州农村商业银行", "enterprise"),
        ("bank", "广州银行", "enterprise"), ("build", "广州市建筑集团", "enterprise"),
        ("gzu", "广州大学", "institution"), ("gmu", "广州医科大学", "institution"),
        ("h1", "广州市第一人民医院", "institution"), ("h12", "广州市第十二人民医院", "institution"),
        ("wch", "广州市妇女儿童医疗中心", "institution"), ("tv", "广州广播电视台", "institution"),
        ("agri", "广州市农业科学研究院", "research"), ("forest", "广州市林业和园林科学研究院", "research"),
        ("envsci", "广州市环境保护科学研究院", "research"), ("std", "广州市标准化研究院", "research"),
        ("resp", "广州呼吸健康研究院", "research"), ("bioisland", "广州生物岛实验室", "research"),
    ),
    "深圳市": (
        ("metro", "深圳市地铁集团", "enterprise"), ("sihc", "深圳市投资控股", "enterprise"),
        ("sezc", "深圳市特区建设发展集团", "enterprise"), ("energy", "深圳能源集团", "enterprise"),
        ("water", "深圳市水务集团", "enterprise"), ("gas", "深圳市燃气集团", "enterprise"),
        ("airport", "深圳市机场集团", "enterprise"), ("bus", "深圳巴士集团", "enterprise"),
        ("anju", "深圳市人才安居集团", "enterprise"), ("envw", "深圳市环境水务集团", "enterprise"),
        ("tagen", "深圳市天健集团", "enterprise"), ("agri", "深圳市农产品集团", "enterprise"),
        ("grain", "深圳市深粮控股", "enterprise"), ("capital", "深圳市资本运营集团", "enterprise"),
        ("yantian", "深圳市盐田港集团", "enterprise"), ("shenye", "深业集团", "enterprise"),
        ("szu", "深圳大学", "institution"), ("sustech", "南方科技大学", "institution"),
        ("sztu", "深圳技术大学", "institution"), ("szpu", "深圳职业技术大学", "institution"),
        ("hpeople", "深圳市人民医院", "institution"), ("h2", "深圳市第二人民医院", "institution"),
        ("htcm", "深圳市中医院", "institution"), ("sztv", "深圳广播电影电视集团", "institution"),
        ("envsci", "深圳市环境科学研究院", "research"), ("std", "深圳市标准技术研究院", "research"),
        ("tsinghua", "深圳清华大学研究院", "research"), ("siat", "中国科学院深圳先进技术研究院", "research"),
        ("pcl", "鹏城实验室", "research"), ("szbl", "深圳湾实验室", "research"),
        ("pku", "北京大学深圳研究生院", "research"), ("nim", "深圳市计量质量检测研究院", "research"),
    ),
    "珠海市": (
        ("gree", "珠海格力集团", "enterprise"), ("huafa", "华发集团", "enterprise"),
        ("port", "珠海港控股集团", "enterprise"), ("jiuzhou", "珠海九洲控股集团", "enterprise"),
        ("traffic", "珠海交通控股集团", "enterprise"), ("water", "珠海水务环境控股集团", "enterprise"),
        ("ucid", "珠海城市建设集团", "enterprise"), ("nongkong", "珠海农业投资控股集团", "enterprise"),
        ("hpeople", "珠海市人民医院", "institution"), ("zcp", "珠海城市职业技术学院", "institution"),
        ("hzx", "珠海市中西医结合医院", "institution"),
        ("agri", "珠海市现代农业发展中心", "research"), ("marine", "南方海洋科学与工程广东省实验室(珠海)", "research"),
        ("fudan", "珠海复旦创新研究院", "research"),
    ),
    "佛山市": (
        ("fcdg", "佛山市建设发展集团", "enterprise"), ("finvest", "佛山市投资控股集团", "enterprise"),
        ("public", "佛山市公用事业控股", "enterprise"), ("traffic", "佛山市交通投资集团", "enterprise"),
        ("rcb", "佛山农村商业银行", "enterprise"), ("sasac", "佛山市国有资产投资控股", "enterprise"),
        ("fosu", "佛山科学技术学院", "institution"), ("h1", "佛山市第一人民医院", "institution"),
        ("htcm", "佛山市中医院", "institution"), ("fspt", "佛山职业技术学院", "institution"),
        ("agri", "佛山市农业科学研究所", "research"), ("nh", "佛山市南海区农业科学研究所", "research"),
        ("jihua", "季华实验室", "research"), ("xianhu", "佛山仙湖实验室", "research"),
    ),
    "东莞市": (
        ("traffic", "东莞市交通投资集团", "enterprise"), ("water", "东莞市水务集团", "enterprise"),
        ("finance", "东莞金融控股集团", "enterprise"), ("invest", "东莞实业投资控股集团", "enterprise"),
        ("rcb", "东莞农村商业银行", "enterprise"), ("bank", "东莞银行", "enterprise"),
        ("dgut", "东莞理工学院", "institution"), ("hpeople", "东莞市人民医院", "institution"),
        ("dgpt", "东莞职业技术学院", "institution"),
        ("agri", "东莞市农业科学研究中心", "research"), ("sslab", "松山湖材料实验室", "research"),
        ("hust", "广东华中科技大学工业技术研究院", "research"),
    ),
    "中山市": (
        ("invest", "中山投资控股集团", "enterprise"), ("public", "中山公用事业集团", "enterprise"),
        ("ucid", "中山城市建设集团", "enterprise"), ("traffic", "中山交通发展集团", "enterprise"),
        ("rcb", "中山农村商业银行", "enterprise"),
        ("hpeople", "中山市人民医院", "institution"), ("torch", "中山火炬职业技术学院", "institution"),
        ("htcm", "中山市中医院", "institution"),
        ("agri", "中山市农业科技推广中心", "research"),
    ),
}
PRD_LOCALITY_MEMBERS: tuple[tuple[str, str, str], ...] = (
    ("h", "{p}人民医院", "institution"), ("inv", "{p}投资控股公司", "enterprise"),
    ("tcm", "{p}中医院", "institution"), ("mch", "{p}妇幼保健院", "institution"),
    ("cdc", "{p}疾病预防控制中心", "institution"), ("vs", "{p}职业技术学校", "institution"),
)
"""After a PRD city's own list: the hospitals and a state-owned company of each of its districts (东莞 and 中山:
of its helper towns); ``{p}`` = the district's or town's full name. Illustrative names of real kinds of units."""
# Provincial member units: (id suffix, name, kind, host city for coordinates or "" for Guangzhou).
PROVINCIAL_MEMBERS: tuple[tuple[str, str, str, str], ...] = (
    # provincial and central state-owned enterprises and their branches (not already lead units)
    ("guangye", "广东省广业集团", "enterprise", ""), ("yuekefin", "广东省粤科金融集团", "enterprise", ""),
    ("envgroup", "广东省环保集团", "enterprise", ""), ("salt", "广东省盐业集团", "enterprise", ""),
    ("silk", "广东省丝绸纺织集团", "enterprise", ""), ("nongken", "广东省农垦集团", "enterprise", ""),
    ("yuecai", "广东粤财投资控股", "enterprise", ""), ("trade", "广东省交易控股集团", "enterprise", ""),
    ("nanfang", "南方报业传媒集团", "enterprise", ""), ("ccb", "中国建设银行广东省分行", "enterprise", ""),
    ("boc", "中国银行广东省分行", "enterprise", ""), ("lifeins", "中国人寿广东省分公司", "enterprise", ""),
    ("sinopec", "中国石化广东石油分公司", "enterprise", ""), ("csair", "中国南方航空集团", "enterprise", ""),
    ("cccc4", "中交第四航务工程局", "enterprise", ""), ("ceec", "中国能源建设集团广东省电力设计研究院", "enterprise", ""),
    ("nanyue", "广东省南粤交通投资建设有限公司", "enterprise", ""), ("luqiao", "广东省路桥建设发展有限公司", "enterprise", ""),
    ("zjln", "深圳市中金岭南有色金属股份有限公司", "enterprise", "深圳市"),
    ("gdhdi", "广东省水利电力勘测设计研究院有限公司", "enterprise", ""),
    ("gdadri", "广东省建筑设计研究院有限公司", "enterprise", ""),
    ("gdupdi", "广东省城乡规划设计研究院有限责任公司", "enterprise", ""),
    ("gdcd", "广东省交通规划设计研究院集团", "enterprise", ""), ("bocom", "交通银行广东省分行", "enterprise", ""),
    ("psbc", "中国邮政储蓄银行广东省分行", "enterprise", ""), ("gdrcu", "广东省农村信用社联合社", "enterprise", ""),
    ("cgb", "广发银行", "enterprise", ""), ("picc", "中国人民财产保险广东省分公司", "enterprise", ""),
    ("tower", "中国铁塔广东省分公司", "enterprise", ""), ("petrochina", "中国石油广东销售分公司", "enterprise", ""),
    ("huaneng", "中国华能广东分公司", "enterprise", ""), ("spic", "国家电投广东公司", "enterprise", ""),
    ("datang", "中国大唐广东分公司", "enterprise", ""), ("huadian", "中国华电广东分公司", "enterprise", ""),
    ("cscec4", "中国建筑第四工程局", "enterprise", ""), ("sinograin", "中国储备粮管理集团广东分公司", "enterprise", ""),
    # universities, colleges, hospitals and other institutions (some in the target cities)
    ("gdufs", "广东外语外贸大学", "institution", ""), ("gdufe", "广东财经大学", "institution", ""),
    ("gdpu", "广东药科大学", "institution", ""), ("smu", "南方医科大学", "institution", ""),
    ("gpnu", "广东技术师范大学", "institution", ""), ("stu", "汕头大学", "institution", "汕头市"),
    ("gdou", "广东海洋大学", "institution", "湛江市"), ("gdmu", "广东医科大学", "institution", "湛江市"),
    ("sgu", "韶关学院", "institution", "韶关市"), ("jyu", "嘉应学院", "institution", "梅州市"),
    ("lnnu", "岭南师范学院", "institution", "湛江市"), ("gdupt", "广东石油化工学院", "institution", "茂名市"),
    ("zqu", "肇庆学院", "institution", "肇庆市"), ("hstc", "韩山师范学院", "institution", "潮州市"),
    ("gdph", "广东省人民医院", "institution", ""), ("gdhtcm", "广东省中医院", "institution", ""),
    ("gd2h", "广东省第二人民医院", "institution", ""), ("gdmch", "广东省妇幼保健院", "institution", ""),
    ("gdtv", "广东广播电视台", "institution", ""), ("agtech", "广东省农业技术推广中心", "institution", ""),
    ("sysu1", "中山大学附属第一医院", "institution", ""), ("sysu2", "中山大学孙逸仙纪念医院", "institution", ""),
    ("sysu3", "中山大学附属第三医院", "institution", ""), ("sysucc", "中山大学肿瘤防治中心", "institution", ""),
    ("nfh", "南方医科大学南方医院", "institution", ""), ("jnu1", "暨南大学附属第一医院", "institution", ""),
    ("gzucm1", "广州中医药大学第一附属医院", "institution", ""), ("gdocc", "广东省职业病防治院", "institution", ""),
    ("gd2tcm", "广东省第二中医院", "institution", ""), ("gdskin", "广东省皮肤病医院", "institution", ""),
    ("gdcdc", "广东省疾病预防控制中心", "institution", ""), ("gduf", "广东金融学院", "institution", ""),
    ("gdaib", "广东农工商职业技术学院", "institution", ""), ("gdit", "广东科学技术职业学院", "institution", ""),
    ("gdqy", "广东轻工职业技术学院", "institution", ""), ("gdsdxy", "广东水利电力职业技术学院", "institution", ""),
    ("gdcp", "广东交通职业技术学院", "institution", ""), ("gdeep", "广东生态工程职业学院", "institution", ""),
    ("gdcvi", "广东建设职业技术学院", "institution", ""), ("gdmec", "广东机电职业技术学院", "institution", ""),
    ("gdgm", "广东工贸职业技术学院", "institution", ""), ("gdyzy", "广东食品药品职业学院", "institution", ""),
    ("gdpt", "广东邮电职业技术学院", "institution", ""), ("gdwy", "广东省外语艺术职业学院", "institution", ""),
    ("gdouc", "广东开放大学", "institution", ""), ("gdepi", "广东环境保护工程职业学院", "institution", ""),
    ("gzsport", "广州体育学院", "institution", ""), ("xhcom", "星海音乐学院", "institution", ""),
    ("gzarts", "广州美术学院", "institution", ""), ("gdei", "广东第二师范学院", "institution", ""),
    ("gdppla", "广东警官学院", "institution", ""), ("gdgeo", "广东省地质局", "institution", ""),
    ("gdnuc", "广东省核工业地质局", "institution", ""), ("gdnfm", "广东省有色金属地质局", "institution", ""),
    ("gdhec", "广东省高速公路有限公司", "enterprise", ""), ("gdroad", "广东省公路建设有限公司", "enterprise", ""),
    ("yhwater", "广东粤海水务股份有限公司", "enterprise", ""), ("ygwater", "广东粤港供水有限公司", "enterprise", ""),
    ("gdep", "广东电力发展股份有限公司", "enterprise", ""), ("gdgas", "广东省天然气管网有限公司", "enterprise", ""),
    ("gdad", "广东省广告集团", "enterprise", ""), ("byairport", "广州白云国际机场股份有限公司", "enterprise", ""),
    ("gdpub", "南方出版传媒", "enterprise", ""), ("gdcatv", "广东省广播电视网络股份有限公司", "enterprise", ""),
    ("wr3", "广东省水利水电第三工程局", "enterprise", ""), ("gdgec", "广东省地质建设工程集团", "enterprise", ""),
    ("gduaee", "广东联合产权交易中心", "enterprise", ""), ("gdrg", "广东省融资再担保有限公司", "enterprise", ""),
    ("gdacg", "广东省农业融资担保有限责任公司", "enterprise", ""), ("nybank", "广东南粤银行", "enterprise", ""),
    ("cbn", "中国广电广东公司", "enterprise", ""), ("cdb", "国家开发银行广东省分行", "enterprise", ""),
    ("eximbank", "中国进出口银行广东省分行", "enterprise", ""), ("sinosure", "中国出口信用保险公司广东分公司",
                                                               "enterprise", ""),
    ("gzdb", "中交广州航道局", "enterprise", ""), ("cgn", "中国广核集团", "enterprise", "深圳市"),
    ("gdtb", "广东省结核病控制中心", "institution", ""), ("gdtc", "广东省技师学院", "institution", ""),
    ("gdctc", "广东省城市技师学院", "institution", ""), ("gdmtc", "广东省机械技师学院", "institution", ""),
    ("gdjttc", "广东省交通运输技师学院", "institution", ""), ("gdqgtc", "广东省轻工业技师学院", "institution", ""),
    ("lngs", "广东省岭南工商第一技师学院", "institution", ""), ("sspt", "广东松山职业技术学院", "institution", "韶关市"),
    ("gdlrsm", "广东省国土资源测绘院", "institution", ""), ("gdhydro", "广东省水文局", "institution", ""),
    ("gdadc", "广东省动物疫病预防控制中心", "institution", ""), ("gdfip", "广东省林业调查规划院", "institution", ""),
    ("gdmuseum", "广东省博物馆", "institution", ""), ("gdculture", "广东省文化馆", "institution", ""),
    ("zslib", "广东省立中山图书馆", "institution", ""), ("gdrehab", "广东省残疾人康复中心", "institution", ""),
    # research institutes (科研力量): the institutes of 广东省农业科学院 and 广东省科学院, CAS and others
    ("gdaas-rice", "广东省农业科学院水稻研究所", "research", ""),
    ("gdaas-fruit", "广东省农业科学院果树研究所", "research", ""),
    ("gdaas-veg", "广东省农业科学院蔬菜研究所", "research", ""),
    ("gdaas-crop", "广东省农业科学院作物研究所", "research", ""),
    ("gdaas-plant", "广东省农业科学院植物保护研究所", "research", ""),
    ("gdaas-soil", "广东省农业科学院农业资源与环境研究所", "research", ""),
    ("gdaas-animal", "广东省农业科学院动物科学研究所", "research", ""),
    ("gdaas-vet", "广东省农业科学院动物卫生研究所", "research", ""),
    ("gdaas-silk", "广东省农业科学院蚕业与农产品加工研究所", "research", ""),
    ("gdaas-tea", "广东省农业科学院茶叶研究所", "research", ""),
    ("gdaas-hort", "广东省农业科学院环境园艺研究所", "research", ""),
    ("gdaas-econ", "广东省农业科学院农业经济与信息研究所", "research", ""),
    ("gdaas-qs", "广东省农业科学院农产品公共监测中心", "research", ""),
    ("gdas-micro", "广东省科学院微生物研究所", "research", ""),
    ("gdas-test", "广东省科学院测试分析研究所", "research", ""),
    ("gdas-bme", "广东省科学院生物与医学工程研究所", "research", ""),
    ("gdas-im", "广东省科学院智能制造研究所", "research", ""),
    ("gdas-mat", "广东省科学院新材料研究所", "research", ""),
    ("gdas-geo", "广东省科学院广州地理研究所", "research", ""),
    ("gdas-zoo", "广东省科学院动物研究所", "research", ""),
    ("gdas-eco", "广东省科学院生态环境与土壤研究所", "research", ""),
    ("gdas-chem", "广东省科学院化工研究所", "research", ""),
    ("gdas-res", "广东省科学院资源利用与稀土开发研究所", "research", ""),
    ("forestry", "广东省林业科学研究院", "research", ""), ("hydro", "广东省水利水电科学研究院", "research", ""),
    ("envsci", "广东省环境科学研究院", "research", ""), ("scbg", "中国科学院华南植物园", "research", ""),
    ("gig", "中国科学院广州地球化学研究所", "research", ""), ("scsio", "中国科学院南海海洋研究所", "research", ""),
    ("giec", "中国科学院广州能源研究所", "research", ""), ("agrieq", "广东省现代农业装备研究所", "research", ""),
    ("sugar", "广东省生物工程研究所(广州甘蔗糖业研究所)", "research", ""),
    ("catas", "中国热带农业科学院南亚热带作物研究所", "research", "湛江市"),
    ("catas-ap", "中国热带农业科学院农产品加工研究所", "research", "湛江市"),
    ("ritf", "中国林业科学研究院热带林业研究所", "research", ""),
    ("scsfri", "中国水产科学研究院南海水产研究所", "research", ""),
    ("csgdg", "南方电网数字电网研究院", "research", ""), ("csgri", "南方电网科学研究院", "research", ""),
    ("cetc7", "中国电子科技集团公司第七研究所", "research", ""), ("gdistc", "广东省科学技术情报研究所", "research", ""),
    ("gdass", "广东省社会科学院", "research", ""),
    ("prfri", "中国水产科学研究院珠江水产研究所", "research", ""),
)
# Target cities' own member units: (id suffix, name template with {c} = the city's short name, kind), in the
# order a city takes them (a city with few local towns takes the first ones).
LOCAL_MEMBERS: tuple[tuple[str, str, str], ...] = (
    ("hpeople", "{c}市人民医院", "institution"), ("ucid", "{c}市城市建设投资集团", "enterprise"),
    ("grid", "广东电网有限责任公司{c}供电局", "enterprise"), ("rcb", "{c}农村商业银行", "enterprise"),
    ("htcm", "{c}市中医院", "institution"), ("traffic", "{c}市交通投资集团", "enterprise"),
    ("cmcc", "中国移动{c}分公司", "enterprise"), ("agtech", "{c}市农业技术推广中心", "institution"),
    ("water", "{c}市水务集团", "enterprise"), ("abc", "中国农业银行{c}分行", "enterprise"),
    ("hmch", "{c}市妇幼保健院", "institution"), ("coop", "{c}市供销社集团", "enterprise"),
    ("post", "中国邮政{c}市分公司", "enterprise"), ("vtc", "{c}职业技术学院", "institution"),
    ("tobacco", "{c}市烟草公司", "enterprise"), ("icbc", "中国工商银行{c}分行", "enterprise"),
    ("ccb", "中国建设银行{c}分行", "enterprise"), ("tv", "{c}市广播电视台", "institution"),
    ("boc", "中国银行{c}分行", "enterprise"), ("ct", "中国电信{c}分公司", "enterprise"),
    ("h2", "{c}市第二人民医院", "institution"), ("cu", "中国联通{c}分公司", "enterprise"),
    ("life", "中国人寿{c}分公司", "enterprise"), ("cdc", "{c}市疾病预防控制中心", "institution"),
    ("picc", "中国人保财险{c}分公司", "enterprise"), ("sinopec", "中国石化{c}石油分公司", "enterprise"),
    ("blood", "{c}市中心血站", "institution"), ("tower", "中国铁塔{c}分公司", "enterprise"),
    ("tech", "{c}技师学院", "institution"), ("invest", "{c}市投资控股集团", "enterprise"),
    ("agri", "{c}市农业科学研究所", "research"), ("forest", "{c}市林业科学研究所", "research"),
    ("fish", "{c}市水产技术推广中心", "research"),
)

MEMBER_SLOTS = 1.15       # a pool's enterprise/institution member capacity = ceil(1.15 × its planned towns)
RESEARCH_SLOTS = 1.25     # its research capacity = ceil(1.25 × its planned industry towns)
MEMBER_STRENGTH = 4       # member units never lead (capacity 0); strength is informational only

# --- town needs -------------------------------------------------------------------------------------
NEEDS = ("agriculture", "industry", "tourism")  # 宜农 / 宜工 / 宜游 (seed 004: 宜工则工、宜农则农、宜商则商、宜游则游)
INDUSTRY_SHARE = 1 / 3    # the third of a county's towns nearest its seat (parks, county-seat industry)

# --- cadres -----------------------------------------------------------------------------------------
AGE_BINS = ((23, 29, 0.18), (30, 35, 0.27), (36, 40, 0.20), (41, 45, 0.15), (46, 50, 0.11), (51, 58, 0.09))
"""Nominees' ages: the programme asked for 优秀干部、年轻干部 (seed 002), so the pool is younger than the civil
service as a whole; about 80 % are 45 or under, 9 % over 50."""
ENTRY_AGE = {"agency": ((22, 0.5), (23, 0.15), (25, 0.3), (28, 0.05)),
             "enterprise": ((22, 0.55), (23, 0.15), (25, 0.25), (28, 0.05)),
             "institution": ((22, 0.3), (25, 0.4), (28, 0.3)),
             "research": ((22, 0.15), (25, 0.4), (28, 0.45))}
"""Age at the first job (bachelor 22, master 25, doctorate 28)."""
PARTY_SHARE = {"agency": 0.88, "enterprise": 0.72, "institution": 0.68, "research": 0.6}
"""Party members among nominees: civil servants mostly are; fewer in enterprises, hospitals and institutes."""
PARTY_AT_UNIVERSITY = 0.45  # share of Party members who joined at university (19–22), the rest at work
RANK_STEPS = {"agency": (6, 12, 20, 28), "enterprise": (7, 14, 22, 30),
              "institution": (7, 14, 22, 30), "research": (8, 15, 23, 31)}
"""Work years (plus N(0, 2.5) noise) at which a nominee reaches 副科, 正科, 副处, 正处 (nobody above: bureau-level
cadres are not sent to towns). Enterprises, institutions and institutes use the equivalent 职务层次."""
RETIRE_AGE = 60           # last year of service: the year before a cadre turns 60 (available_until)
LATE_SHARE = 0.05         # nominees busy elsewhere in the first year: available_from one or two years later
LEAVING_SHARE = 0.03      # nominees who leave the unit within three years: available_until that year
PER_UNIT = 2              # nominees of every unit, plus 10 per town it may lead and 7 per group it may join
PER_TOWN_LED, PER_GROUP = 10, {"enterprise": 7, "institution": 7, "agency": 7, "research": 4}
ROLES_PER_TOWN_LED = {("leader", 0): 1, ("leader", 2): 1, ("leader", 4): 1, ("leader", 5): 1,
                      ("member", 0): 2, ("member", 1): 1, ("member", 2): 1, ("member", 3): 1, ("member", 4): 1,
                      ("member", 5): 1}
ROLES_PER_GROUP = {"research": {("member", 0): 1, ("member", 3): 1, ("member", 5): 1}}
ROLES_PER_GROUP_DEFAULT = {("member", 0): 2, ("member", 1): 1, ("member", 2): 1, ("member", 3): 1, ("member", 4): 1,
                           ("member", 5): 1}
"""Posts (role, start year offset) a unit must be able to fill at once, per town it may lead or group it may
join. Over ``policy.staffing.years`` = 6 a team of 5 with 3-year terms and at most 2 replaced a year needs at
least 13 cadres, starting in every year of the horizon (the staggered calendar with the fewest replacements:
5 + 1 + 2 + 2 + 1 + 2), two or three of them leaders from the lead unit, each eligible in the year it starts
(ages and years grow). A lead unit and a member unit each cover the team's posts in every start year, with some
slack (the calendar may stagger otherwise); units nominate role-drawn cadres until a matching fills them."""

SURNAMES = tuple("陈李黄张梁林刘吴罗何郑杨谢郭邓许钟曾冯蔡叶王周彭苏赖朱卢温邱廖徐胡潘杜余江方赵莫丘严陆范侯古袁麦")
GIVEN = tuple("伟志文明华建国强军平辉敏静丽芳婷晓海俊杰涛斌勇鹏磊超丹燕玲红颖慧琳洁雪梅霞秀英嘉宇浩思欣佳雅晨睿泽锦荣德永振耀庆祥")


@dataclass(frozen=True)
class Pool:
    """Units that may join the same groups: one PRD city, the provincial tier, or one target city."""

    tier: str
    city: str           # PRD or target city; "" for provincial
    towns: int          # planned towns of the pool's tier
    industry: float     # industry towns among the key towns the pool serves (share)


def town_needs(towns: pd.DataFrame, seat_km: pd.Series) -> pd.Series:
    """``needs`` of each town: ``agriculture`` for every key and consolidation town; ``industry`` for the third of
    each county's towns nearest the county seat (``seat_km``); ``tourism`` where the ethnic or old-base flag is
    set (ethnic culture, red tourism). Pilot towns: empty (their own cities plan them)."""
    target = towns.category != "pilot"
    rank = seat_km.groupby(towns.county_code).rank(method="first")
    size = towns.groupby("county_code").town_id.transform("size")
    industry = target & (rank <= np.ceil(INDUSTRY_SHARE * size))
    tourism = target & ((towns.ethnic == "true") | (towns.old_base == "true"))
    tags = [np.where(target, "agriculture", ""), np.where(industry, "industry", ""),
            np.where(tourism, "tourism", "")]
    return pd.Series([";".join(t for t in row if t) for row in zip(*tags, strict=True)], index=towns.index)


def pools(plan: pd.DataFrame, towns: pd.DataFrame) -> list[Pool]:
    """The member pools and their planned towns (the lead tier plan) and industry shares."""
    key = towns[towns.category == "key"]
    industry = key.needs.str.contains("industry")
    share = industry.groupby(key.city).mean()
    out = []
    for helper, rows in plan.groupby("helper", sort=False):
        n = int(rows.prd.sum())
        out.append(Pool("prd", str(helper), n, float((rows.prd * rows.city.map(share)).sum() / max(n, 1))))
    out.append(Pool("provincial", "", int(plan.provincial.sum()), float(industry.mean())))
    out += [Pool("local", r.city, int(r.local), float(share[r.city])) for r in plan.itertuples()]
    return out


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """Largest-remainder split, every part at least 1."""
    w = np.asarray(weights, dtype=float)
    exact = total * w / w.sum()
    parts = np.maximum(1, np.floor(exact)).astype(int)
    for i in np.argsort(-(exact - np.floor(exact)), kind="stable")[: max(0, total - int(parts.sum()))]:
        parts[i] += 1
    return [int(p) for p in parts]


def _capacities(units: Sequence[tuple[str, str, str, str]], total: int) -> dict[str, int]:
    """``total`` member slots split equally over the first ``min(len, total)`` units."""
    used = units[: min(len(units), total)]
    return dict(zip([u[0] for u in used], _split(total, [1.0] * len(used)), strict=True)) if used else {}


def member_units(plan: pd.DataFrame, towns: pd.DataFrame, cities: pd.DataFrame, slug: Mapping[str, str],
                 localities: Mapping[str, Sequence[tuple[str, str]]], provincial_start: int,
                 offset_deg: float) -> list[dict[str, str]]:
    """Member-only units (capacity 0) of every pool, with ``member_capacity`` sized from the tier plan: the
    pool's first units of enterprise/institution kind share ceil(1.15 × towns) slots equally (so most join one
    group, as in the programme: 7,174 units for about 1,140 teams), its first research units ceil(1.25 ×
    industry towns) (research institutes are few and serve several towns). ``localities``: each PRD
    city's districts (or helper towns) as (full name, id slug), for :data:`PRD_LOCALITY_MEMBERS`."""
    centre = cities.set_index("city_name")
    rows: list[dict[str, str]] = []
    for pool in pools(plan, towns):
        if pool.tier == "prd":
            prefix = f"prd-{slug[pool.city]}-m-"
            units = [(prefix + s, n, k, pool.city) for s, n, k in PRD_MEMBERS[pool.city]]
            units += [(f"{prefix}{s}-{where}", t.format(p=place), k, pool.city)
                      for place, where in localities[pool.city] for s, t, k in PRD_LOCALITY_MEMBERS]
        elif pool.tier == "provincial":
            units = [(f"prov-m-{s}", n, k, host) for s, n, k, host in PROVINCIAL_MEMBERS]
        else:
            units = [(f"loc-{slug[pool.city]}-m-{s}", t.format(c=pool.city[:-1]), k, pool.city)
                     for s, t, k in LOCAL_MEMBERS]
        caps = _capacities([u for u in units if u[2] != "research"], math.ceil(pool.towns * MEMBER_SLOTS))
        caps |= _capacities([u for u in units if u[2] == "research"],
                            math.ceil(pool.towns * pool.industry * RESEARCH_SLOTS))
        for i, (uid, name, kind, host) in enumerate(u for u in units if u[0] in caps):
            if pool.tier == "provincial" and not host:
                j = provincial_start + i
                lon = float(centre.lon_gcj02["广州市"]) + offset_deg * ((j % 9) - 4)
                lat = float(centre.lat_gcj02["广州市"]) + offset_deg * ((j // 9) - 4)
                where = "city_centre_offset(广州市)"
            else:
                lon, lat = float(centre.lon_gcj02[host]), float(centre.lat_gcj02[host])
                where = "city_centre" if pool.tier != "provincial" else f"city_centre({host})"
            rows.append({"unit_id": uid, "name": name, "tier": pool.tier, "city": pool.city, "capacity": "0",
                         "strength": str(MEMBER_STRENGTH), "lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "kind": kind,
                         "coord_source": where, "note": "member unit (illustrative capacity)",
                         "member_capacity": str(caps[uid])})
    return rows


# --- cadres -----------------------------------------------------------------------------------------

def _choice(rng: np.random.Generator, table: Sequence[tuple[int, float]]) -> int:
    values, p = zip(*table, strict=True)
    return int(values[rng.choice(len(values), p=np.asarray(p) / sum(p))])


def _rank(rng: np.random.Generator, kind: str, work_years: int) -> str:
    score = work_years + rng.normal(0, 2.5)
    return RANKS[int(sum(score >= step for step in RANK_STEPS[kind]))]


def _cadre(rng: np.random.Generator, kind: str, profile: str, offset: int = 0) -> dict[str, object]:
    """One nominee. ``general``: the pool's mix (some nominees busy in the first year or leaving early, every
    nominee of 54 or more retiring within the horizon); ``leader``/``member``/``head``: a nominee drawn for
    that role, eligible for it from the first year to year ``offset`` and available throughout."""
    if profile == "general":
        lo, hi, _ = AGE_BINS[rng.choice(len(AGE_BINS), p=[b[2] for b in AGE_BINS])]
        age = int(rng.integers(lo, hi + 1))
        party = bool(rng.random() < PARTY_SHARE[kind])
    else:
        age = int(rng.integers(*{"leader": (32, LEADER_MAX_AGE - offset + 1),
                                 "member": (27, MEMBER_MAX_AGE - offset + 1), "head": (40, 54)}[profile]))
        party = True
    entry = min(_choice(rng, ENTRY_AGE[kind]), age)
    work_years = max(0, age - entry - int(rng.random() < 0.15))  # some took a year off
    party_years = 0
    if party:
        joined = int(rng.integers(19, 23)) if rng.random() < PARTY_AT_UNIVERSITY else int(rng.integers(23, age + 1))
        party_years = max(0, age - joined)
        if profile == "member":
            party_years = max(party_years, MEMBER_MIN_PARTY_YEARS)
    rank = _rank(rng, kind, work_years)
    if profile == "leader" and RANKS.index(rank) < RANKS.index(LEADER_MIN_RANK):
        rank = LEADER_MIN_RANK
    if profile == "head":
        rank = HEAD_MIN_RANK if rng.random() < 0.8 else "正处"
    if profile == "member":
        work_years = max(work_years, MEMBER_MIN_WORK_YEARS)
    available_from = available_until = ""
    if profile == "general":
        draw = rng.random()
        if age >= RETIRE_AGE - 6:
            available_until = str(YEAR + RETIRE_AGE - 1 - age)
        elif draw < LATE_SHARE:
            available_from = str(YEAR + int(rng.integers(1, 3)))
        elif draw < LATE_SHARE + LEAVING_SHARE:
            available_until = str(YEAR + int(rng.integers(0, 3)))
    name = str(rng.choice(SURNAMES)) + "".join(str(c) for c in rng.choice(GIVEN, size=int(rng.integers(1, 3))))
    return {"name": name, "party_member": "true" if party else "false", "party_years": party_years,
            "work_years": work_years, "age": age, "rank": rank, "available_from": available_from,
            "available_until": available_until, "previous_town": ""}


def eligible(c: Mapping[str, object], role: str, offset: int) -> bool:
    """Shenzhen 2022 rules for ``role`` (leader or member) in year ``YEAR + offset`` (ages and years grow),
    available in that year."""
    age, party = int(str(c["age"])) + offset, c["party_member"] == "true"
    if c["available_from"] and int(str(c["available_from"])) > YEAR + offset:
        return False
    if c["available_until"] and int(str(c["available_until"])) < YEAR + offset:
        return False
    if role == "leader":
        return party and age <= LEADER_MAX_AGE and RANKS.index(str(c["rank"])) >= RANKS.index(LEADER_MIN_RANK)
    return (party and int(str(c["party_years"])) + offset >= MEMBER_MIN_PARTY_YEARS and age <= MEMBER_MAX_AGE
            and int(str(c["work_years"])) + offset >= MEMBER_MIN_WORK_YEARS)


def unfilled(nominees: Sequence[Mapping[str, object]], posts: Mapping[tuple[str, int], int]) -> tuple[str, int] | None:
    """A post (role, offset) left empty by a maximum matching of nominees to ``posts`` (count each), or None."""
    seats = [post for post, n in posts.items() for _ in range(n)]
    can = [[i for i, c in enumerate(nominees) if eligible(c, role, offset)] for role, offset in seats]
    holder: dict[int, int] = {}  # nominee → seat

    def augment(seat: int, seen: set[int]) -> bool:
        for i in can[seat]:
            if i not in seen:
                seen.add(i)
                if i not in holder or augment(holder[i], seen):
                    holder[i] = seat
                    return True
        return False

    for seat in range(len(seats)):
        if not augment(seat, set()):
            return seats[seat]
    return None


def cadres(units: pd.DataFrame, heads: Mapping[str, int],
           previous: Mapping[str, Sequence[str]]) -> tuple[pd.DataFrame, dict[str, int]]:
    """The cadres each unit nominates, and how many role-drawn nominees were added.

    A unit that may lead c towns and join m groups nominates 2 + 10c + 7m cadres (research units 4m) from the
    general mix; if they cannot fill the posts of :data:`ROLES_PER_TOWN_LED` (×c) and :data:`ROLES_PER_GROUP`
    (×m) at once, it adds a nominee drawn for an empty post (its role, eligible by its year) until they can. A county-paired
    unit adds one 副处/正处 cadre per paired county (``heads``) to head the county working group; a previous
    lead adds one member-drawn cadre per town it led before, with that ``previous_town`` (who served there).
    """
    rng = np.random.default_rng(CADRE_SEED)
    rows: list[dict[str, object]] = []
    added = {"leader": 0, "member": 0, "head": 0, "previous": 0}
    for u in units.itertuples():
        cap, mcap = int(u.capacity), int(u.member_capacity)
        if cap == 0 and mcap == 0:
            continue
        posts: dict[tuple[str, int], int] = {}
        for per, n in ((ROLES_PER_TOWN_LED, cap), (ROLES_PER_GROUP.get(u.kind, ROLES_PER_GROUP_DEFAULT), mcap)):
            for post, k in per.items():
                posts[post] = posts.get(post, 0) + k * n
        mine = [_cadre(rng, u.kind, "general") for _ in range(PER_UNIT + PER_TOWN_LED * cap + PER_GROUP[u.kind] * mcap)]
        while (empty := unfilled(mine, posts)) is not None:
            mine.append(_cadre(rng, u.kind, *empty))
            added[empty[0]] += 1
        for _ in range(heads.get(u.unit_id, 0)):
            mine.append(_cadre(rng, u.kind, "head"))
            added["head"] += 1
        for town in previous.get(u.unit_id, ()):
            mine.append(_cadre(rng, u.kind, "member") | {"previous_town": town})
            added["previous"] += 1
        for i, c in enumerate(mine, start=1):
            rows.append({"cadre_id": f"{u.unit_id}-{i:03d}", "unit_id": u.unit_id, **c})
    columns = ["cadre_id", "unit_id", "name", "party_member", "party_years", "work_years", "age", "rank",
               "available_from", "available_until", "previous_town"]
    return pd.DataFrame(rows, columns=columns).astype(str), added


# --- README -------------------------------------------------------------------------------------------

def readme_section(towns: pd.DataFrame, units: pd.DataFrame, staff: pd.DataFrame, added: Mapping[str, int]) -> str:
    """The scenario README's part on needs, member units and cadres: the rules above and this build's numbers."""
    key = towns[towns.category == "key"]
    needs = {n: int(key.needs.str.contains(n).sum()) for n in NEEDS}
    members = units[units.capacity == "0"].assign(member_capacity=lambda f: f.member_capacity.astype(int))
    by_pool = (members.assign(pool=members.tier.map({"prd": "PRD city", "provincial": "provincial",
                                                     "local": "target city"}))
               .pivot_table(index="pool", columns="kind", values="member_capacity", aggfunc=["count", "sum"],
                            fill_value=0))
    by_pool.columns = [f"{k} {'units' if a == 'count' else 'capacity'}" for a, k in by_pool.columns]
    kind = staff.unit_id.map(units.set_index("unit_id").kind)
    frame = staff.assign(kind=kind, age=staff.age.astype(int))
    records = frame.to_dict("records")
    frame["leader"] = [eligible(c, "leader", 0) for c in records]
    frame["member"] = [eligible(c, "member", 0) for c in records]
    per_kind = frame.groupby("kind").agg(cadres=("cadre_id", "size"), age=("age", "mean"),
                                         party=("party_member", lambda s: (s == "true").mean()),
                                         leader=("leader", "mean"), member=("member", "mean"))
    rows = ["| kind | cadres | mean age | Party members | may lead (2021) | may join (2021) |", "|---|--:|--:|--:|--:|--:|"]
    rows += [f"| {k} | {int(r.cadres)} | {r.age:.1f} | {r.party:.0%} | {r.leader:.0%} | {r.member:.0%} |"
             for k, r in per_kind.iterrows()]
    ages = pd.cut(frame.age, [0, 30, 35, 40, 45, 50, 99], labels=["≤30", "31–35", "36–40", "41–45", "46–50", "51+"])
    age_mix = ", ".join(f"{label} {share:.0%}" for label, share in ages.value_counts(normalize=True, sort=False).items())
    rank_mix = ", ".join(f"{r} {share:.0%}" for r, share in
                         frame["rank"].value_counts(normalize=True).reindex(RANKS).dropna().items())
    table = ["| pool | " + " | ".join(by_pool.columns) + " |", "|---|" + "--:|" * len(by_pool.columns)]
    table += ["| " + pool + " | " + " | ".join(str(int(v)) for v in r) + " |" for pool, r in by_pool.iterrows()]
    return f"""### Town needs (`towns.csv`, column `needs`; illustrative)
- Tags from the 2023 vertical-assistance guidance (seed 004: 宜工则工、宜农则农、宜商则商、宜游则游): `agriculture`
  for every key and consolidation town; `industry` for the third of each county's towns nearest its seat
  (county-seat industrial parks); `tourism` where the town carries the ethnic or old-base flag (ethnic culture,
  red tourism). Pilot towns have none. Key towns: {needs['agriculture']} agriculture, {needs['industry']} industry,
  {needs['tourism']} tourism.

### Member units (`units.csv`, capacity 0, column `member_capacity`; illustrative)
- Member units never lead (capacity 0): no lead plan can use them, and the lead optimum is unchanged. Names: the
  PRD cities' municipal state-owned enterprises, hospitals, universities and research institutes and the provincial
  and central ones are real organisations; after them each PRD city's districts (东莞, 中山: its helper towns)
  add a hospital, a state-owned company and similar units, and each target city takes the usual municipal units
  and branches (市人民医院, 市城市建设投资集团, 广东电网…供电局, 中国移动…分公司, 市农业科学研究所 …): real kinds of unit,
  names from a template.
- Pools (a PRD city, the provincial tier, a target city: with `members_share_lead_city`, PRD and local members
  join only groups led by their own city): the pool's first enterprise/institution units share
  ceil({MEMBER_SLOTS} × its planned towns) member slots equally, so most join one group (the programme: 7,174
  units for about 1,140 teams); its first research units share ceil({RESEARCH_SLOTS} × its planned industry towns)
  (institutes are few and serve several towns, like rural science commissioners). Strength {MEMBER_STRENGTH}.
- The member units seed 003 names in 揭阳's round-1 groups are `previous_member` relationships (省政府办公厅 +
  广东粤海控股集团 at 金和镇, …); the four of them that are lead units get `member_capacity` 1.

{chr(10).join(table)}

- Policy (`scenario.yaml`, `groups`): every group has at least one enterprise or institution; towns whose needs
  include `industry` a research unit too; at most 4 members; 20 points per previous member kept.

### Cadres (`cadres.csv`; generated people, `scripts/build_cadres.py`, numpy `default_rng({CADRE_SEED})`)
- Who: every unit that may lead or join a group nominates cadres (the candidates for six years of teams, not
  only those sent): {PER_UNIT} + {PER_TOWN_LED} per town it may lead + {PER_GROUP['enterprise']} per group it may join (research
  institutes {PER_GROUP['research']}), drawn from the mix below. Scale check: 8,099 cadres were sent to about 1,140 teams in
  year 1 (7.1 a team; 揭阳 5.4); a team of 5 with 3-year terms needs about 13 over six years.
- Mix (as of 2021, `staffing.start_year`): ages in bins 23–29 / 30–35 / 36–40 / 41–45 / 46–50 / 51–58 with
  weights {' / '.join(f'{w:.0%}' for *_, w in AGE_BINS)} (the programme asked for young cadres, 年轻干部); first job at
  22 (bachelor), 25 (master) or 28 (doctorate), more of the later in institutions and institutes, 15 % a year
  less; Party members {', '.join(f'{k} {v:.0%}' for k, v in PARTY_SHARE.items())} ({PARTY_AT_UNIVERSITY:.0%} joined at
  university, the rest at work); rank by work years plus N(0, 2.5): 副科 / 正科 / 副处 / 正处 after
  {' / '.join(map(str, RANK_STEPS['agency']))} years in agencies, 1–2 years later elsewhere (no bureau-level
  cadres); {LATE_SHARE:.0%} busy in 2021 (`available_from` 2022 or 2023), {LEAVING_SHARE:.0%} leaving by 2023
  (`available_until`); every nominee of {RETIRE_AGE - 6} or more available until the year before turning {RETIRE_AGE}.
- Enough for the rules (Shenzhen 2022: leader Party member ≤ 50 and ≥ 副科 from the lead unit; members full
  Party members of ≥ 1 year with ≥ 2 years of work, ≤ 45, from the group's units; terms of 3 years, at most
  half a team replaced a year): each unit must be able to fill, at once (a matching), a leader starting in years
  0, 2, 4 and 5 and members starting in every year 0–5 per town it may lead, and members in every year per
  group it may join, each eligible in its start year; where the mix falls short the unit adds a nominee drawn
  for the empty post ({added['leader']:,} leaders and {added['member']:,} members in all). County-paired lead units add one
  副处/正处 cadre per county ({added['head']}) to head the county working group; each previous lead adds the cadre who
  served in that town (`previous_town`, {added['previous']}).
- This build: {len(staff):,} cadres; ages {age_mix}; ranks {rank_mix}.
- Checked by `tests/test_guangdong_staffing.py`: `bangfu solve`, then `bangfu staff`, give every one of the 600 key
  towns a group and a team of 5 that the team audit accepts, the county heads and a six-year rotation calendar.

{chr(10).join(rows)}
"""
