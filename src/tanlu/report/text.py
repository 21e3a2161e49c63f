"""The report's words in Chinese and English, and numbers written for each language.

One table of labels (:data:`LABELS`), keyed by a short name, with the English and the Chinese
text; :func:`label` picks one. Numbers: English groups thousands with commas (4,608,592);
Chinese reports conventionally do the same in tables, and write large totals in 万 (10^4) in
prose: :func:`format_tonnes` gives ``460.9万`` for 4,608,592 in Chinese text and ``4,608,592``
in English. Percentages have one decimal in both.
"""

from __future__ import annotations

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
    "operational_control": ("operational control", "运营控制权法"),
    "financial_control": ("financial control", "财务控制权法"),
    "equity_share": ("equity share", "股权比例法"),
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


def format_number(value: float, decimals: int = 0) -> str:
    """A number with thousands grouped by commas (both languages, as in tables)."""
    return f"{value:,.{decimals}f}"


def format_share(value: float) -> str:
    """A share [0..1] as a percentage with one decimal: 0.1234 -> ``12.3%``."""
    return f"{100 * value:.1f}%"


def format_tonnes(value: float, language: Language) -> str:
    """A large quantity in prose: ``4,608,592`` (en) or ``460.9万`` (zh, 10^4 units)."""
    if language == "zh" and abs(value) >= 1e4:
        return f"{value / 1e4:,.1f}万"
    return f"{value:,.0f}"
