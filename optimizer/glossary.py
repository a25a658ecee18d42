"""Chinese and English words for the workbooks' headers and instructions: planners read Chinese, the code keys English.

Each entry is ``(中文标签, 中文说明, English meaning)``; the texts follow the README's table. A column or key
missing here still appears in the workbooks, with its pydantic description as the English meaning.
"""

from __future__ import annotations

Entry = tuple[str, str, str]

DISTANCE_NOTE = "distance_weight > 0 时必填"

COLUMNS: dict[str, dict[str, Entry]] = {
    "towns": {
        "town_id": ("镇编码", "唯一编号（所附数据为国家统计局 12 位区划代码）",
                    "unique id (the shipped data uses the 12-digit NBS code)"),
        "name": ("镇名", "镇（乡、街道）名称", "town name"),
        "city": ("地级市", "所属地级市", "city"),
        "county": ("县（市、区）", "所属县（市、区），县级结对据此匹配", "county; what county pairings refer to"),
        "category": ("类别", "key 重点帮扶镇（安排牵头单位）；consolidation 巩固提升镇、pilot 先行示范镇（不安排）",
                     "key (gets a lead), consolidation or pilot (get none)"),
        "border": ("省际边界", "是否省际边界镇，true/false，默认 false", "provincial border town, true/false (default false)"),
        "ethnic": ("少数民族地区", "是否少数民族地区，true/false，默认 false", "ethnic-minority area, true/false (default false)"),
        "old_base": ("重点老区苏区", "是否重点老区苏区，true/false，默认 false",
                     "key old revolutionary base, true/false (default false)"),
        "lon": ("经度", f"可选，单位为度；{DISTANCE_NOTE}（重点帮扶镇）",
                "optional longitude in degrees (needed on key towns when distance_weight > 0)"),
        "lat": ("纬度", f"可选，单位为度；{DISTANCE_NOTE}（重点帮扶镇）",
                "optional latitude in degrees (needed on key towns when distance_weight > 0)"),
        "needs": ("帮扶需求", "可选，以 ; 分隔的需求标签（如 industry;tourism），组团成员规则据此选镇",
                  "optional `;`-separated need tags (e.g. industry;tourism) that member rules select"),
    },
    "units": {
        "unit_id": ("单位编码", "唯一编号", "unique id"),
        "name": ("单位名称", "帮扶单位名称", "unit name"),
        "tier": ("帮扶层级", "prd 珠三角核心区单位；provincial 省直及中直驻粤单位；local 本市市直单位",
                 "prd, provincial or local"),
        "city": ("所属城市", "prd 单位填所在珠三角城市，local 单位填本市，provincial 单位留空",
                 "the PRD city for prd, the unit's own city for local, empty for provincial"),
        "capacity": ("最多牵头镇数", "该单位最多牵头帮扶的重点帮扶镇数，整数 ≥ 0",
                     "most key towns the unit may lead (integer ≥ 0)"),
        "strength": ("帮扶力量", "1–5，默认 3（用于优先规则）", "1–5, default 3 (used by priority rules)"),
        "lon": ("经度", f"可选，单位为度；{DISTANCE_NOTE}（每个单位）",
                "optional longitude (needed on every unit when distance_weight > 0)"),
        "lat": ("纬度", f"可选，单位为度；{DISTANCE_NOTE}（每个单位）",
                "optional latitude (needed on every unit when distance_weight > 0)"),
        "kind": ("单位类型", "agency 党政机关（默认）；enterprise 企业；institution 事业单位；research 科研力量（组团成员规则据此计数）",
                 "agency (default), enterprise, institution or research (counted by member rules)"),
        "member_capacity": ("最多参与组团数", "该单位最多作为成员单位参与的组团数，默认 0",
                            "most groups the unit may join as a member unit (default 0)"),
        "min_memberships": ("最少参与组团数", "该单位至少作为成员单位参与的组团数，默认 0，不超过最多参与组团数",
                            "fewest groups the unit must join as a member unit (default 0, at most member_capacity)"),
        "quota_group": ("牵头数分组", "可选，单位所属的分组名（如 深圳市直单位），policy.lead_counts 可按组规定牵头总数",
                        "optional name of a set of units (e.g. 深圳市直单位) whose total leads policy.lead_counts fixes"),
    },
    "counterparts": {
        "prd_city": ("珠三角城市", "对口帮扶的珠三角城市：其 prd 单位只能帮扶对口城市的镇",
                     "a PRD unit may lead only towns in its city's target cities"),
        "target_city": ("对口城市", "被对口帮扶的城市", "the target city of the PRD city"),
    },
    "relationships": {
        "unit_id": ("单位编码", "帮扶单位编号", "unit id"),
        "kind": ("关系类型", "previous_lead 原牵头帮扶（填镇编码，每镇最多一条）；county_pairing 县级结对（填县："
                 "有县级结对的单位只能帮扶这些县的镇）；previous_member 原组团成员单位（填镇编码）",
                 "previous_lead (with town_id; at most one per town), county_pairing (with county: a unit with "
                 "county pairings may lead only towns in those counties) or previous_member (with town_id: the unit "
                 "was a member of the town's group)"),
        "town_id": ("镇编码", "previous_lead、previous_member 时必填", "required for previous_lead and previous_member"),
        "county": ("县（市、区）", "county_pairing 时必填", "required for county_pairing"),
    },
    "scores": {
        "unit_id": ("单位编码", "帮扶单位编号", "unit id"),
        "town_id": ("镇编码", "镇编号", "town id"),
        "score": ("匹配分", "该组合的整数匹配分（可为负），由规划人员或研究者另行计算",
                  "integer affinity of the pair (may be negative), computed elsewhere"),
    },
    "pins": {
        "unit_id": ("单位编码", "帮扶单位编号", "unit id"),
        "town_id": ("镇编码", "重点帮扶镇编号", "key town id"),
        "action": ("指定/排除", "pin 该单位必须牵头该镇（每镇最多一条）；ban 该单位不得牵头该镇",
                   "pin: the unit must lead the town (at most one pin per town); ban: it must not"),
    },
    "baseline": {
        "town_id": ("镇编码", "基准方案（上一版方案，如 plan.csv）中的重点帮扶镇",
                    "key town of the baseline plan (an earlier plan.csv)"),
        "unit_id": ("单位编码", "该镇在基准方案中的牵头单位", "its lead unit in the baseline plan"),
    },
    "cadres": {
        "cadre_id": ("干部编码", "唯一编号", "unique id"),
        "unit_id": ("所在单位", "派出单位编码（须在 units 表中）", "the unit that employs and would send the cadre"),
        "name": ("姓名", "干部姓名", "name"),
        "party_member": ("正式党员", "是否正式党员，true/false", "full Party member, true/false"),
        "party_years": ("党龄", "入党年数（非党员填 0），以 start_year 为准", "years of Party membership (0 if none), "
                        "as of start_year"),
        "work_years": ("工作年限", "参加工作年数，以 start_year 为准", "years of work experience, as of start_year"),
        "age": ("年龄", "周岁，以 start_year 为准", "age in years, as of start_year"),
        "rank": ("职级", "科员、副科、正科、副处、正处、副厅、正厅之一", "科员 < 副科 < 正科 < 副处 < 正处 < 副厅 < 正厅"),
        "available_from": ("可派起始年", "可选，最早可派驻年份；留空不限", "optional first year the cadre can serve"),
        "available_until": ("可派截止年", "可选，最晚可派驻年份；留空不限", "optional last year the cadre can serve"),
        "previous_town": ("原驻镇", "可选，曾驻的镇编码（优先留任）", "optional town the cadre served before "
                          "(kept where possible)"),
    },
}

SETTINGS: dict[str, Entry] = {
    "name": ("方案名称", "情景名称", "scenario name"),
    "description": ("说明", "情景说明", "scenario description"),
    "policy.target_level": ("帮扶对象层级", "town 镇（默认）或 county 县：towns 表每行是一个帮扶对象，报告和提示据此称“镇”或“县”",
                             "town (default) or county: each row of towns is a target; reports and messages say so"),
    "policy.tier_ratio": ("层级比例", "三个层级牵头镇数之比，YAML 写法，默认 {prd: 5, provincial: 2, local: 3}",
                          "towns led by each tier, as YAML; default {prd: 5, provincial: 2, local: 3}"),
    "policy.city_quotas": ("分市名额", "可选，某市各层级的确切镇数，YAML 写法，如 {湛江市: {prd: 24, provincial: 15, local: 17}}",
                           "optional exact towns per tier in a city, as YAML, e.g. {湛江市: {prd: 24, local: 17}}"),
    "policy.continuity_weight": ("延续权重", "每保留一个原牵头关系所得分数", "objective points per kept previous lead"),
    "policy.max_changes": ("最多调整数", "允许调整的原牵头关系数：整数，或比例（0.1 即 10%）；留空不限",
                           "previous leads allowed to change: a count, or a fraction (0.1 = 10 %); empty: no cap"),
    "policy.baseline_weight": ("基准保持权重", "有基准方案时，每个保持基准牵头单位的镇所得分数（默认 1000：稳定优先）",
                               "objective points per town keeping its baseline lead (default 1000: stability first)"),
    "policy.max_baseline_changes": ("最多偏离基准数", "牵头单位可与基准方案不同的重点帮扶镇数：整数，或比例；留空不限",
                                    "most key towns whose lead may differ from the baseline: a count or a fraction; "
                                    "empty: no cap"),
    "policy.distance_weight": ("距离权重", "单位与镇每相距 1 公里扣减的分数", "objective points lost per km unit → town"),
    "policy.priority": ("优先规则", "带某些标记的镇须由指定层级和/或最低帮扶力量的单位牵头，YAML 列表，"
                        "如 [{flags: [ethnic], tiers: [prd, provincial]}, {flags: [border], min_strength: 3}]",
                        "towns with any of the flags need these tiers and/or a minimum unit strength, as a YAML list"),
    "policy.staffing": ("驻镇工作队规则", "YAML 写法，缺省为深圳 2022 年方案：{min_team_size: 5, leader: {party_member: true, "
                        "max_age: 50, min_rank: 副科}, member: {party_member: true, min_party_years: 1, min_work_years: 2, "
                        "max_age: 45}, county_head: {min_rank: 副处}, start_year: 2022, years: 6, term_years: 3, "
                        "max_replaced_share: 0.5}",
                        "team staffing and rotation as YAML; defaults: Shenzhen 2022 (team of 5; leader Party member, "
                        "≤ 50, ≥ 副科; members Party members ≥ 1 year, ≥ 2 years of work, ≤ 45; county head ≥ 副处; "
                        "3-year terms; at most half a team replaced a year)"),
    "policy.groups": ("组团规则", "成员单位规则，YAML 写法，如 {member_rules: [{kinds: [enterprise, institution], min: 1}, "
                      "{kinds: [research], needs: [industry]}], member_continuity_weight: 20, max_members: 3}",
                      "group composition as YAML, e.g. {member_rules: [{kinds: [enterprise, institution], min: 1}], "
                      "member_continuity_weight: 20, max_members: 3}"),
    "policy.allow_unassigned": ("允许未分配", "true 时无法全部分配也给出最优的部分方案：未分配的镇各扣 unassigned_penalty 分，"
                                "名额按“牵头数 + 空缺”计，并列出缺口",
                                "true: the best partial plan when no complete one exists; each unassigned town costs "
                                "unassigned_penalty, quotas count leads plus vacancies, the shortfall is listed"),
    "policy.unassigned_penalty": ("未分配扣分", "每个未分配重点帮扶镇扣减的分数；留空自动取值，保证能全部分配时一定全部分配",
                                  "points lost per unassigned key town; empty: automatic, large enough that a "
                                  "complete plan always wins"),
    "policy.objective_stages": ("分级目标", "按优先次序排列的目标项分组，YAML 写法，如 [[continuity, baseline], [score, "
                                "distance]]：先使第一组最优，再在此前提下优化下一组；未列出的项作最后一组",
                                "lexicographic objectives as a YAML list of term groups, e.g. [[continuity, "
                                "baseline], [score, distance]]: each group optimised with the earlier ones held at "
                                "their optimum; unlisted terms form a last group"),
    "policy.lead_counts": ("牵头数", "可选，某单位（填单位编码）或某分组（填 quota_group）牵头的确切镇数，YAML 写法，"
                           "如 {深圳市直单位: 40, prd-sz-futian: 5}",
                           "optional exact targets led by a unit (unit_id) or a quota_group together, as YAML, "
                           "e.g. {深圳市直单位: 40, prd-sz-futian: 5}"),
    "policy.funding": ("帮扶资金", "bangfu budget 用：每镇每年金额及省、珠三角帮扶市、本市、县分担比例，YAML 写法，"
                       "如 {town_amount: 20000000, town_split: {province: 6, prd_city: 3, county: 1}, years: 3}",
                       "for bangfu budget: yearly amount per town and who pays it, as YAML, e.g. "
                       "{town_amount: 20000000, town_split: {province: 6, prd_city: 3, county: 1}, years: 3}"),
    "solver.method": ("求解方法", "auto（网络流加 CP-SAT）或 cp-sat", "auto (network path, then CP-SAT) or cp-sat"),
    "solver.time_limit": ("时间上限", "求解时间上限（秒）", "wall-clock limit in seconds"),
    "solver.workers": ("线程数", "CP-SAT 搜索线程数", "CP-SAT search workers"),
    "solver.seed": ("随机种子", "随机种子", "random seed"),
    "solver.relative_gap": ("相对差距", "差距不超过此值即停止（0 为证明最优）", "stop when the gap is at most this (0 = prove optimal)"),
    "solver.presolve": ("预处理", "CP-SAT 预处理，true/false", "CP-SAT presolve, true/false"),
    "solver.deterministic": ("确定性", "true 时相同输入得到相同方案", "true: same inputs give the same plan"),
    "solver.log": ("求解日志", "是否打印 CP-SAT 日志", "print CP-SAT's search log"),
}

PLAN_LABELS: dict[str, str] = {
    "town_id": "镇编码", "town_name": "镇名", "city": "地级市", "county": "县（市、区）", "unit_id": "单位编码",
    "unit_name": "单位名称", "tier": "帮扶层级", "kept_previous": "保留原牵头", "previous_unit_id": "原牵头单位",
    "members": "组团成员单位",
}

SUMMARY_LABELS: dict[str, str] = {
    "scenario": "情景", "status": "求解状态", "objective": "目标值", "best_bound": "最优界", "gap": "相对差距",
    "build_seconds": "建模秒数", "solve_seconds": "求解秒数", "variables": "候选组合数", "constraints": "约束数",
    "key_towns": "重点帮扶镇数", "tier_counts.prd": "珠三角单位牵头镇数", "tier_counts.provincial": "省直中直单位牵头镇数",
    "tier_counts.local": "本市单位牵头镇数", "changes": "调整的原牵头关系", "continuity.with_previous": "有原牵头单位的镇",
    "continuity.kept": "保留原牵头", "continuity.changed": "调整原牵头", "audit.passed": "独立核验通过",
    "audit.violations": "违规项", "audit.objective": "核验目标值", "message": "说明", "conflicts": "冲突",
    "ortools_version": "OR-Tools 版本", "fingerprint": "输入指纹（SHA-256）",
    "stages": "分级目标各级取值", "shortfall.penalty": "每镇未分配扣分", "shortfall.unassigned": "未分配镇数",
    "shortfall.total_penalty": "未分配扣分合计", "shortfall.towns": "未分配的镇及原因", "shortfall.quotas": "名额缺口",
    "groups.groups": "有成员单位的组团数", "groups.members": "成员单位参与次数", "groups.previous_members": "原组团成员关系",
    "groups.kept_previous_members": "保留原组团成员", "groups.objective": "组团目标值",
}

TIER_SHEETS: dict[str, str] = {"prd": "prd 珠三角", "provincial": "provincial 省直中直", "local": "local 本市"}
"""Plan-workbook sheet title of each helper tier."""

TIER_ZH: dict[str, str] = {"prd": "珠三角帮扶", "provincial": "省直及中直驻粤", "local": "属地市直"}
"""Each helper tier in the programme's words (600 个重点帮扶镇由珠三角 6 市、省直单位和中直驻粤单位、属地市直属单位按
5:2:3 帮扶), as the diagnosis's Chinese messages say it."""


def tier_zh(tier: str) -> str:
    """``珠三角帮扶（prd）``: a tier in Chinese with the key that ``tier_ratio`` and ``city_quotas`` use."""
    return f"{TIER_ZH[tier]}（{tier}）"
