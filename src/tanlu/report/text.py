"""The report's words in Chinese and English, and numbers written for each language.

One table of labels (:data:`LABELS`), keyed by a short name, with the English and the Chinese
text; :func:`label` picks one. Numbers: English groups thousands with commas (4,608,592);
Chinese reports conventionally do the same in tables, and write large totals in 万 (10^4) in
prose: :func:`format_tonnes` gives ``460.9万`` for 4,608,592 in Chinese text and ``4,608,592``
in English. Percentages have one decimal in both.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")

LABELS: dict[str, tuple[str, str]] = {
    "title": (
        "Greenhouse gas inventory and roadmap to carbon neutrality",
        "温室气体盘查与碳中和路线图报告",
    ),
    "generated_by": ("Produced with tanlu", "由 tanlu（碳路）生成"),
    "contents": ("Contents", "目录"),
    "appendix": ("Appendix", "附录"),
    "summary": ("Summary", "摘要"),
    "boundary": ("Boundary and methodology", "边界与方法学"),
    "inventory": ("Inventory", "温室气体排放清单"),
    "electricity": ("Green electricity", "绿色电力"),
    "targets": ("Targets", "目标"),
    "roadmap": ("Roadmap", "路线图"),
    "macc": ("Marginal abatement cost curve", "边际减排成本曲线"),
    "disclosure": ("Disclosure tables", "披露表"),
    "quality": ("Data quality, fallbacks and assumptions", "数据质量、替代因子与假设"),
    "year": ("Year", "年份"),
    "scope1": ("Scope 1", "范围一"),
    "scope2_location": ("Scope 2 (location-based)", "范围二（基于位置）"),
    "scope2_market": ("Scope 2 (market-based)", "范围二（基于市场）"),
    "scope3": ("Scope 3", "范围三"),
    "total_market": ("Total (market-based scope 2)", "合计（范围二基于市场）"),
    "total_location": ("Total (location-based scope 2)", "合计（范围二基于位置）"),
    "emissions_t": ("Emissions (tCO2e)", "排放量（吨二氧化碳当量）"),
    "category": ("Category", "类别"),
    "site": ("Site", "站点"),
    "consolidation": ("Consolidation approach", "合并方法"),
    "gwp_set": ("Global warming potentials", "全球变暖潜势"),
    "residual_policy": ("Market-based residual factor", "基于市场的剩余排放因子"),
    "factors_used": ("Emission factors used", "使用的排放因子"),
    "activity": ("Activity", "活动"),
    "factor": ("Factor", "因子"),
    "unit": ("Unit", "单位"),
    "source": ("Source", "来源"),
    "status": ("Status", "状态"),
    "consumption": ("Electricity consumed (MWh)", "用电量（兆瓦时）"),
    "green_share": ("Green share", "绿电占比"),
    "re100_share": ("RE100 share", "RE100 口径占比"),
    "cfe_score": ("24/7 carbon-free score", "24/7 无碳电力得分"),
    "target": ("Target", "目标"),
    "met": ("Met", "达成"),
    "target_bound": ("Allowed (emissions) or required (green)", "上限（排放）或下限（绿电）"),
    "target_achieved": ("In the plan", "路线图实现值"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "baseline": ("Baseline", "基准情景"),
    "gross": ("Gross emissions", "总排放"),
    "offsets": ("Offsets", "抵消"),
    "offset_avoidance": ("Avoidance credits", "减排类抵消"),
    "offset_removal": ("Removal credits", "移除类抵消"),
    "net": ("Net emissions", "净排放"),
    "net_cost": ("Net cost (CNY)", "净成本（元）"),
    "lever": ("Lever", "措施"),
    "quantity": ("Quantity", "数量"),
    "abatement": ("Abatement (tCO2e)", "减排量（吨二氧化碳当量）"),
    "cost": ("Cost (CNY)", "成本（元）"),
    "cost_per_t": ("Cost (CNY/tCO2e)", "成本（元/吨二氧化碳当量）"),
    "fallbacks": ("Factor fallbacks", "因子替代"),
    "cny": ("CNY", "元"),
    "years_used": ("Years used", "使用年份"),
    "factors_used_note": (
        "Every factor used in the inventory of any year, with the years that used it.",
        "列出各年度排放清单使用的全部排放因子及其使用年份。",
    ),
    "category_last_year": (
        "Emissions by category in the last reporting year",
        "最近报告年度各类别排放",
    ),
    "category_last_year_note": (
        "The table above gives every year's totals by scope.",
        "各年度分范围排放见上表。",
    ),
    "market_residual_activity": (
        "electricity (market-based residual)",
        "电力（基于市场的剩余排放因子）",
    ),
    "progress_by_lever": ("Levers: planned and actual", "各措施计划与实际"),
    "variance": ("Variance", "差异"),
    "band_range": ("P5–P95", "P5–P95 区间"),
    "median": ("median", "中位数"),
    "fallback": ("Fallback", "替代说明"),
    "disabled_levers": ("Levers not used", "未启用的措施"),
    "reason": ("Reason", "原因"),
    "assumptions": ("Assumptions", "假设"),
    "metric": ("Metric", "指标"),
    "value": ("Value", "数值"),
    "reference": ("Reference", "依据"),
    "net_discounted_cost": (
        "Net cost of the plan, discounted",
        "路线图净成本（折现）",
    ),
    "plan_meets": ("The least-cost plan meets every target.", "最低成本路线图可实现全部目标。"),
    "plan_misses": ("No plan meets every target.", "没有可实现全部目标的路线图。"),
    "no_targets": ("The project sets no targets: no roadmap.", "项目未设定目标，未生成路线图。"),
    "wedges": ("Abatement by lever", "各措施减排量"),
    "binding": ("What holds the plan", "约束路线图的因素"),
    "binding_text": (
        "The constraints that bind the least-cost plan, with their shadow prices: how much the "
        "plan's net cost would fall, in CNY of that year, if the bound were loosened by one unit "
        "in that year. The highest price of each constraint is shown; a bound met at the limit of "
        "what the levers can do has no price from the solve. Every year and site is in "
        "results.xlsx (sheet roadmap_binding_constraints) and results.json.",
        "以下约束限定了最低成本路线图，并给出其影子价格：若该年的约束放宽一个单位，路线图净成本"
        "可下降的金额（当年人民币）。表中为各约束的最高影子价格；措施已达上限的约束无法由本次求解得出价格。各年份、各站点的"
        "完整数据见 results.xlsx（roadmap_binding_constraints 工作表）与 results.json。",
    ),
    "at_limit": ("at the limit of the levers", "措施已达上限"),
    "no_binding": (
        "No constraint binds beyond the plan's own costs.",
        "除措施自身成本外，没有起约束作用的条件。",
    ),
    "constraint": ("Constraint", "约束"),
    "applies_to": ("Lever or target", "措施或目标"),
    "where": ("Sites", "站点"),
    "years": ("Years", "年份"),
    "shadow_price": ("Highest shadow price", "最高影子价格"),
    "all_sites": ("whole organisation", "全组织"),
    "sites_count": ("sites", "个站点"),
    "emissions_by_scope": ("Emissions by scope", "分范围排放"),
    "green_over_years": ("Green electricity share", "绿电占比变化"),
    "no_data": ("no data", "无数据"),
    "uncertainty": ("Scenarios and uncertainty", "情景与不确定性"),
    "uncertainty_text": (
        "Monte Carlo over the uncertain settings below, each drawn uniformly between its low and "
        "high value; draws:",
        "对下列不确定参数进行蒙特卡洛模拟，各参数在上下限之间均匀抽样；抽样次数：",
    ),
    "infeasible": ("draws that cannot meet the targets", "无法实现目标的抽样占比"),
    "band_gross": ("Gross emissions, P5–P95 and median", "总排放量：P5–P95 区间与中位数"),
    "setting": ("Setting", "参数"),
    "settings_in_effect": ("Roadmap settings in effect", "路线图设定（假设）"),
    "lever_parameters": ("Lever parameters and their sources", "减排措施参数及来源"),
    "parameter": ("Parameter", "参数项"),
    "status_note": (
        "Status: S a published figure read in its source; S3 read only in a secondary copy; "
        "D derived by the arithmetic in docs/levers.md; user a value of this project's "
        "tanlu.toml.",
        "状态：S 为在原始来源中读取的公开数值；S3 为仅在二手转载中读取；D 为按 docs/levers.md "
        "中的算式推导；user 为本项目 tanlu.toml 中的取值。",
    ),
    "low": ("Low", "下限"),
    "high": ("High", "上限"),
    "no_uncertainty": (
        "No uncertainty ranges are set ([roadmap.uncertainty] in tanlu.toml).",
        "未设定不确定性范围（tanlu.toml 中的 [roadmap.uncertainty]）。",
    ),
    "progress": ("Progress against the plan", "目标进展"),
    "progress_text": (
        "Actual inventories compared with the least-cost plan made from the base year",
        "实际排放清单与基准年制定的最低成本路线图对比，基准年为",
    ),
    "planned": ("Planned", "计划"),
    "actual": ("Actual", "实际"),
    "on_track": ("On track", "是否达标"),
    "no_progress": (
        "No reporting year after the base year yet: nothing to compare.",
        "基准年之后尚无报告年份，暂无可比较的进展。",
    ),
    "change_from_base": ("Change from base year", "较基准年变化"),
    "site_trend": ("Emissions by site and year", "各站点逐年排放"),
    "named_scenarios": ("Named scenarios", "设定情景"),
    "scenarios_text": (
        "The base plan beside each scenario of [roadmap.scenarios] in tanlu.toml: the same "
        "inventories, grid prices and targets, with the scenario's settings changed as listed. "
        "Figures of the last planned year.",
        "基准方案与 tanlu.toml 中 [roadmap.scenarios] 各情景的对比：排放清单、电价与目标相同，"
        "仅按下表所列调整参数。数值为规划末年数据。",
    ),
    "no_scenarios": (
        "No named scenarios are set ([roadmap.scenarios] in tanlu.toml).",
        "未设定情景（tanlu.toml 中的 [roadmap.scenarios]）。",
    ),
    "base_plan": ("Base plan", "基准方案"),
    "scenario": ("Scenario", "情景"),
    "scenario_gross": ("Gross emissions by scenario", "各情景总排放"),
    "meets_targets": ("Meets every target", "实现全部目标"),
    "last_planned_year": ("Last planned year", "规划末年"),
    "total_discounted_cost": ("Total cost, discounted (CNY)", "总成本（折现，元）"),
    "net_discounted_cost_short": ("Net cost, discounted (CNY)", "净成本（折现，元）"),
    "last_year_cost": ("Cost in the last planned year (CNY)", "规划末年成本（元）"),
    "last_year_gross": (
        "Gross emissions, last planned year (tCO2e)",
        "规划末年总排放（吨二氧化碳当量）",
    ),
    "last_year_offsets": ("Offsets, last planned year (tCO2e)", "规划末年抵消量（吨二氧化碳当量）"),
    "last_year_net": (
        "Net emissions, last planned year (tCO2e)",
        "规划末年净排放（吨二氧化碳当量）",
    ),
    "plan_offsets": ("Offsets over the plan (tCO2e)", "规划期抵消总量（吨二氧化碳当量）"),
    "last_year_green": ("Green share, last planned year", "规划末年绿电占比"),
    "changed_settings": ("Settings changed", "调整的参数"),
    "shortfall_intro": (
        "cannot meet every target, even with every enabled lever at its potential and offsets "
        "at their cap:",
        "即使所有启用的措施均达到潜力上限、抵消用至上限，仍无法实现全部目标：",
    ),
    "short_by": ("short by", "缺口"),
    "monte_carlo": ("Monte Carlo", "蒙特卡洛模拟"),
    "macc_bottom_up": ("Bottom-up MACC", "自下而上的边际减排成本曲线"),
    "macc_model": ("Model-derived MACC", "模型推导的边际减排成本曲线"),
    "macc_model_series": ("model-derived (marginal cost)", "模型推导（边际成本）"),
    "macc_bottom_up_series": ("bottom-up (cost per lever)", "自下而上（各措施成本）"),
    "macc_text": (
        "Two curves for the last planned year. The bottom-up curve ranks the levers by their "
        "levelised cost per tonne, net of the electricity they save, each with what it can abate "
        "on its own. The model-derived curve caps the year's gross emissions (scopes 1–3) at a "
        "series of cuts from the baseline and solves the roadmap for each cap, without the "
        "targets and offsets: its marginal cost is the dual (shadow price) of the cap, what the "
        "last tonne costs when every lever's ramp, potential and interaction and every rule "
        "(such as the limit on certificates) count. Levers that save money are taken even "
        "without a cap, so the model-derived curve starts above them; it ends at the deepest cut "
        "the levers reach.",
        "以下两条曲线均针对规划末年。自下而上的曲线按各措施的平准化单位减排成本（扣除节省的电费）"
        "排序，宽度为该措施单独可实现的减排量。模型推导的曲线将该年总排放（范围一至三）按一系列"
        "较基准情景的削减比例设定上限，在不计目标与抵消的情况下逐一求解路线图：边际成本即该上限"
        "约束的对偶值（影子价格），即在计入各措施的推进速度、潜力、相互作用以及证书占比上限等规则后，"
        "最后一吨减排的成本。能节省费用的措施即使没有上限也会被采用，因此模型推导曲线从其上方开始；"
        "曲线止于各措施所能达到的最大削减。",
    ),
    "reduction_share": ("Cut from the baseline", "较基准情景削减"),
    "cap": ("Cap on gross emissions (tCO2e)", "总排放上限（吨二氧化碳当量）"),
    "marginal_cost": ("Marginal cost (CNY/tCO2e)", "边际成本（元/吨二氧化碳当量）"),
    "macc_model_empty": (
        "The levers cannot make the first cut of the model-derived curve: no curve.",
        "各措施无法实现模型推导曲线的第一档削减，未生成曲线。",
    ),
    "operational_control": ("operational control", "运营控制权法"),
    "financial_control": ("financial control", "财务控制权法"),
    "equity_share": ("equity share", "股权比例法"),
    "excluding_market_traded_non_fossil": (
        "national factor excluding market-traded non-fossil electricity (reading A)",
        "全国电力平均排放因子（不含市场化交易的非化石能源电量，解读A）",
    ),
    "grid_average": ("national grid average (reading B)", "全国电力平均排放因子（解读B）"),
    "assumption_text": (
        "Every number with a unit carries its source in the tables above or in the project "
        "files; the assumptions (growth, prices, levers without a sourced default) are inputs "
        "in tanlu.toml and are described in docs/roadmap.md and docs/levers.md.",
        "所有带单位的数值均在上表或项目文件中注明来源；增长率、价格及无公开来源默认值的措施参数"
        "等假设均为 tanlu.toml 中的输入项，详见 docs/roadmap.md 与 docs/levers.md。",
    ),
}


def label(key: str, language: Language) -> str:
    """The text of a label in a language."""
    english, chinese = LABELS[key]
    return chinese if language == "zh" else english


# Names of the inventory's categories (tanlu.factors.library.SCOPE_CATEGORIES), in the words of
# the GHG Protocol Corporate and Scope 3 Standards and their usual Chinese renderings.
CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "stationary_combustion": ("Stationary combustion", "固定燃烧"),
    "mobile_combustion": ("Mobile combustion", "移动燃烧"),
    "fugitive": ("Fugitive emissions", "逸散排放"),
    "process": ("Process emissions", "过程排放"),
    "purchased_electricity": ("Purchased electricity", "外购电力"),
    "purchased_heat": ("Purchased heat", "外购热力"),
    "cat1_purchased_goods_services": ("1 Purchased goods and services", "类别1 外购商品和服务"),
    "cat2_capital_goods": ("2 Capital goods", "类别2 资本货物"),
    "cat3_fuel_energy_related": (
        "3 Fuel- and energy-related activities",
        "类别3 燃料和能源相关活动",
    ),
    "cat4_upstream_transport": (
        "4 Upstream transportation and distribution",
        "类别4 上游运输和配送",
    ),
    "cat5_waste": ("5 Waste generated in operations", "类别5 运营中产生的废弃物"),
    "cat6_business_travel": ("6 Business travel", "类别6 商务差旅"),
    "cat7_employee_commuting": ("7 Employee commuting", "类别7 员工通勤"),
    "cat8_upstream_leased_assets": ("8 Upstream leased assets", "类别8 上游租赁资产"),
}
# Names of the bundled roadmap levers (tanlu.roadmap.levers.LEVERS); custom levers keep their id.
LEVER_NAMES: dict[str, tuple[str, str]] = {
    "building_efficiency": ("Building energy efficiency", "建筑节能改造"),
    "pue_improvement": ("Data-centre PUE improvement", "数据中心PUE优化"),
    "onsite_pv": ("On-site PV", "分布式光伏"),
    "green_power_contract": ("Green-power contracts", "绿电交易"),
    "gec": ("Green electricity certificates (GEC)", "绿证（GEC）"),
    "fleet_electrification": ("Fleet electrification", "车队电动化"),
    "backup_fuel_switch": ("Back-up generator fuel switch", "备用发电机燃料替代"),
    "low_gwp_refrigerant": ("Low-GWP refrigerants", "低GWP制冷剂替代"),
    "supplier_engagement": ("Supplier engagement", "供应商减排合作"),
    "offset_avoidance": ("Avoidance credits", "减排类碳信用"),
    "offset_removal": ("Removal credits", "移除类碳信用"),
}
# The constraint families of the roadmap model (tanlu.roadmap.plan.CONSTRAINT_MEANINGS): what
# each says, in words a reader of the report follows.
CONSTRAINT_NAMES: dict[str, tuple[str, str]] = {
    "target": ("Emission target", "排放目标"),
    "target_green": ("Green electricity target", "绿色电力目标"),
    "site_lever_ramp": ("Pace of adoption at a site", "站点措施推进速度"),
    "site_lever_no_retirement": ("Adoption kept once made", "已实施措施不得退出"),
    "stream_lever_ramp": ("Pace of a cut in an emission stream", "排放源减排推进速度"),
    "stream_lever_no_retirement": ("Cut kept once made", "已实现减排不得退出"),
    "ramp_mwh": ("Purchase growth (MWh a year)", "采购增长上限（MWh/年）"),
    "ramp_share_of_purchase": (
        "Purchase growth (share of grid purchase a year)",
        "采购增长上限（占电网购电比例/年）",
    ),
    "market_limit": ("Market volume available", "市场可采购量"),
    "floor": ("Contracted minimum", "合同最低采购量"),
    "within_purchase": ("Green power up to the site's purchase", "绿电不超过站点购电量"),
    "certificate_share": ("Share of certificates allowed", "绿证占比上限"),
    "offset_cap": ("Cap on carbon credits", "碳信用使用上限"),
    "offsets_residual_only": ("Credits only for residual emissions", "碳信用仅抵消剩余排放"),
    "emission_cap": ("Emission cap", "排放上限"),
    "trajectory_line": ("Straight-line trajectory", "直线减排路径"),
    "trajectory_fall": ("Largest fall in one year", "单年最大降幅"),
    "trajectory_green_share": ("Green share rises every year", "绿电占比逐年上升"),
}


def constraint_name(constraint: str, language: Language) -> str:
    """A roadmap constraint family's name in the report's language (its id when unknown)."""
    return _named(CONSTRAINT_NAMES, constraint, language)


# The roadmap's quantity units (RoadmapResult.by_lever.unit).
UNIT_NAMES: dict[str, tuple[str, str]] = {
    "MWh saved": ("MWh saved", "MWh（节约）"),
    "kWp installed": ("kWp installed", "kWp（新增装机）"),
    "MWh": ("MWh", "MWh"),
    "vehicles": ("vehicles", "辆"),
    "tCO2e cut": ("tCO2e cut", "tCO2e（减排）"),
    "tCO2e retired": ("tCO2e retired", "tCO2e（注销）"),
}
# The units of the climate metrics and the lever parameters that are words, not symbols
# (tCO2e, CNY/MWh ... are shown as written).
MEASURE_UNIT_NAMES: dict[str, tuple[str, str]] = {
    "share": ("share", "比例"),
    "share/yr": ("share/yr", "比例/年"),
    "flag": ("flag (1 = yes)", "标志（1 = 是）"),
    "year": ("year", "年"),
    "yr": ("yr", "年"),
    "ratio": ("ratio", "比值"),
    "CNY/share": ("CNY per whole site or stream (share 1)", "元/全部（比例为1）"),
}
# The references of the climate metrics that are not a paragraph number.
REFERENCE_NAMES: dict[str, tuple[str, str]] = {
    "CDP climate change questionnaire, energy": (
        "CDP climate change questionnaire, energy",
        "CDP 气候变化问卷（能源）",
    ),
}
# The climate-metrics table's fixed metric ids (tanlu.report.run.climate_metrics_table).
METRIC_NAMES: dict[str, tuple[str, str]] = {
    "gross_scope1_tco2e": ("Gross scope 1 emissions", "范围一排放总量"),
    "gross_scope2_location_tco2e": (
        "Gross scope 2 emissions (location-based)",
        "范围二排放总量（基于位置）",
    ),
    "gross_scope2_market_tco2e": (
        "Gross scope 2 emissions (market-based)",
        "范围二排放总量（基于市场）",
    ),
    "gross_scope3_tco2e": ("Gross scope 3 emissions", "范围三排放总量"),
    "green_electricity_share": ("Green electricity share", "绿色电力占比"),
    "base_year": ("Base year", "基准年"),
    "plan_meets_targets": ("Plan meets every target (1 = yes)", "路线图实现全部目标（1 = 是）"),
}
_TARGET_METRIC = re.compile(
    r"target_(?P<index>\d+)\.(?P<kind>\w+?)(?:\.scopes_(?P<scopes>[\d+]+))?"
    r"(?:\.per_(?P<denominator>\w+))?"
)
_SCOPE3_METRIC = "gross_scope3_tco2e."
_INTENSITY_METRIC = re.compile(r"intensity_total_market\.per_(?P<denominator>\w+)")
_TARGET_KINDS: dict[str, tuple[str, str]] = {
    "carbon_neutral": ("carbon neutral (net emissions)", "碳中和（净排放）"),
    "net_zero": ("net zero (net emissions)", "净零排放（净排放）"),
    "green_electricity": ("green electricity share", "绿色电力占比"),
    "absolute_reduction": (
        "absolute reduction, share of base year a year",
        "绝对减排（每年占基准年比例）",
    ),
    "intensity_reduction": (
        "intensity reduction, share of base-year intensity a year",
        "强度减排（每年占基准年强度比例）",
    ),
}


def _named(names: dict[str, tuple[str, str]], key: str, language: Language) -> str:
    pair = names.get(key)
    if pair is None:
        return key
    return pair[0] if language == "en" else pair[1]


def category_name(category: str, language: Language) -> str:
    """An inventory category's name (its id when unknown)."""
    return _named(CATEGORY_NAMES, category, language)


# The other "lever" values of the plan's parameters table.
PARAMETER_GROUPS: dict[str, tuple[str, str]] = {
    "all": ("Whole roadmap", "路线图整体"),
    "electricity": ("Grid electricity", "电网电力"),
}


def lever_name(lever: str, language: Language) -> str:
    """A bundled lever's name (or a parameter group's); a custom lever's id."""
    return _named({**LEVER_NAMES, **PARAMETER_GROUPS}, lever, language)


def unit_name(unit: str, language: Language) -> str:
    """A roadmap quantity unit, or a unit that is a word (``share``, ``year``), in the
    report's language; a unit symbol (``tCO2e``, ``CNY/MWh``) as written."""
    return _named({**UNIT_NAMES, **MEASURE_UNIT_NAMES}, unit, language)


def reference_name(reference: str, language: Language) -> str:
    """A climate metric's reference in the report's language (paragraph numbers as written)."""
    return _named(REFERENCE_NAMES, reference, language)


# The wording of tanlu.factors.lookup._describe_fallback and of the GWP note of
# tanlu.inventory.calculate, parts joined by "; ".
_REGION_FALLBACK = re.compile(
    r"no (?P<activity>\S+) factor for (?P<wanted>.+?): used (?P<level>national|regional grid|"
    r"province) (?P<region>.+)"
)
_YEAR_FALLBACK = re.compile(
    r"no (?P<year>\d{4}) factor: used (?P<valid>[\d-]+) \((?P<when>latest earlier|earliest later)\)"
)
_GWP_NOTE = re.compile(r"CO2e factor uses (?P<factor>\S*) GWPs, project uses (?P<project>\S+)")
_REGION_LEVELS = {"national": "全国", "regional grid": "区域电网", "province": "省级"}


def fallback_text(text: str, language: Language) -> str:
    """A factor fallback's description in the report's language: ``no 2022 factor: used 2019
    (latest earlier)`` is ``无2022年因子：采用2019年因子（此前最近年份）``; a part not
    recognised stays as written."""
    if language == "en":
        return text
    parts = []
    for part in text.split("; "):
        region = _REGION_FALLBACK.fullmatch(part)
        year = _YEAR_FALLBACK.fullmatch(part)
        gwp = _GWP_NOTE.fullmatch(part)
        if region is not None:
            wanted = region["wanted"]
            wanted = "站点所在地区" if wanted == "the site's region" else wanted
            level = _REGION_LEVELS[region["level"]]
            where = "中国" if region["region"] == "China" else region["region"]
            parts.append(f"{wanted}无该活动因子：采用{level}（{where}）因子")
        elif year is not None:
            when = "此前最近年份" if year["when"] == "latest earlier" else "此后最早年份"
            parts.append(f"无{year['year']}年因子：采用{year['valid']}年因子（{when}）")
        elif gwp is not None:
            factor = gwp["factor"] if gwp["factor"] not in ("", "unknown") else "未知"
            parts.append(f"CO2e 因子所用全球变暖潜势为{factor}，项目采用{gwp['project']}")
        else:
            parts.append(part)
    return "；".join(parts)


def metric_name(metric: str, language: Language) -> str:
    """A climate metric's name: ``target_0.carbon_neutral.scopes_1+2+3`` is ``Target 1, scopes
    1+2+3: carbon neutral (net emissions)``; ``gross_scope3_tco2e.cat6_business_travel`` is
    ``Gross scope 3 emissions: 6 Business travel``."""
    if metric.startswith(_SCOPE3_METRIC):
        category = category_name(metric.removeprefix(_SCOPE3_METRIC), language)
        total = _named(METRIC_NAMES, "gross_scope3_tco2e", language)
        return f"{total}: {category}" if language == "en" else f"{total}：{category}"
    intensity = _INTENSITY_METRIC.fullmatch(metric)
    if intensity is not None:
        per = intensity["denominator"]
        if language == "en":
            return f"Emission intensity (total, market-based) per {per}"
        return f"单位{per}排放强度（总排放，基于市场）"
    matched = _TARGET_METRIC.fullmatch(metric)
    if matched is None:
        return _named(METRIC_NAMES, metric, language)
    number = int(matched["index"]) + 1
    kind = _named(_TARGET_KINDS, matched["kind"], language)
    scopes, per = matched["scopes"], matched["denominator"]
    if language == "en":
        where = (f", scopes {scopes}" if scopes else "") + (f", per {per}" if per else "")
        return f"Target {number}{where}: {kind}"
    where = ""
    if scopes:
        where = f"范围{scopes.replace('+', '、')}" + (f"，单位{per}" if per else "")
        where = f"（{where}）"
    return f"目标{number}{where}：{kind}"


# The target names of tanlu.roadmap.model.target_label, and their Chinese wording.
_TARGET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"(?P<share>[\d.]+)% green electricity by (?P<year>\d{4})"),
        "{year}年前绿色电力占比达到{share}%",
    ),
    (
        re.compile(r"absolute reduction of scopes (?P<scopes>[\d, ]+) by (?P<year>\d{4})"),
        "{year}年前范围{scopes}排放按目标路径绝对减排",
    ),
    (
        re.compile(r"intensity of scopes (?P<scopes>[\d, ]+) per (?P<per>\w+) by (?P<year>\d{4})"),
        "{year}年前范围{scopes}单位{per}排放强度按目标路径下降",
    ),
    (
        re.compile(r"carbon neutral in scopes (?P<scopes>[\d, ]+) by (?P<year>\d{4})"),
        "{year}年前范围{scopes}碳中和",
    ),
    (
        re.compile(r"net zero in scopes (?P<scopes>[\d, ]+) by (?P<year>\d{4})"),
        "{year}年前范围{scopes}净零排放",
    ),
    # the trajectory rows of tanlu.roadmap.model (``[roadmap.trajectory]``)
    (
        re.compile(
            r"trajectory: (?P<kind>net|gross) emissions of scopes (?P<scopes>[\d, ]+) on the "
            r"straight line from (?P<base>\d{4}) to (?P<share>[\d.]+)% of it by (?P<year>\d{4})"
        ),
        "减排路径：范围{scopes}{kind}排放不高于{base}年至{year}年降至基准年{share}%的直线",
    ),
    (
        re.compile(
            r"trajectory: (?P<kind>net|gross) emissions of scopes (?P<scopes>[\d, ]+) fall by "
            r"at most (?P<share>[\d.]+)% of the base year's in a year"
        ),
        "减排路径：范围{scopes}{kind}排放单年降幅不超过基准年的{share}%",
    ),
)
_EMISSION_KINDS = {"net": "净", "gross": "总"}


def target_name(name: str, language: Language) -> str:
    """A target's name (as :func:`tanlu.roadmap.model.target_label` writes it) in the report's
    language: ``carbon neutral in scopes 1, 2 by 2030`` is ``2030年前范围1、2碳中和``."""
    if language == "en":
        return name
    for pattern, wording in _TARGET_PATTERNS:
        matched = pattern.fullmatch(name)
        if matched:
            parts = matched.groupdict()
            if "scopes" in parts:
                parts["scopes"] = "、".join(s.strip() for s in parts["scopes"].split(","))
            if "kind" in parts:
                parts["kind"] = _EMISSION_KINDS[parts["kind"]]
            return wording.format(**parts)
    return name


def _unsigned_zero(value: float, decimals: int) -> float:
    """0.0 for a value that rounds to zero (so that -1e-9 is not written ``-0``)."""
    return 0.0 if round(value, decimals) == 0 else value


def format_number(value: float, decimals: int = 0) -> str:
    """A number with thousands grouped by commas (both languages, as in tables)."""
    return f"{_unsigned_zero(value, decimals):,.{decimals}f}"


def format_share(value: float) -> str:
    """A share [0..1] as a percentage with one decimal: 0.1234 -> ``12.3%``."""
    return f"{_unsigned_zero(100 * value, 1):.1f}%"


def format_tonnes(value: float, language: Language) -> str:
    """A large quantity in prose: ``4,608,592`` (en) or ``460.9万`` (zh, 10^4 units)."""
    if language == "zh" and abs(value) >= 1e4:
        return f"{value / 1e4:,.1f}万"
    return format_number(value)
