"""The footprint page's words in English and Chinese, and the questionnaire's choices (provinces,
cars' fuels, flights, diets, goods) named in a language: :func:`footprint_page` gives the page
(``/app/footprint.html``) one document per language (docs/footprint.md, "Footprint page and
API"). The names of lines, categories and averages are the footprint's own
(:mod:`tanlu.footprint.items`, averages.csv), so that the page, the CLI and the API name them
alike.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from tanlu.factors.regions import regions_table
from tanlu.footprint import ITEMS, Car, DietGroup, Flight, Purchase, load_averages
from tanlu.footprint.items import DIETS, FLIGHTS, GOODS

Language = Literal["en", "zh"]

FOOTPRINT_WORDS: dict[str, tuple[str, str]] = {
    "title": ("Your household's carbon footprint", "家庭碳足迹计算"),
    "intro": (
        "Answer for your household and one year: what you leave out is not counted. "
        "No sign-in; nothing you enter is stored.",
        "按一个家庭、一年作答：不填的项不计入。无需登录；所填内容不会被保存。",
    ),
    "other_language": ("中文", "English"),
    "dashboard": ("Sign in to the dashboard", "登录管理平台"),
    "household": ("Your household", "您的家庭"),
    "year": ("Year", "年份"),
    "members": ("People in the household", "家庭人数"),
    "province": ("Province", "所在省份"),
    "province_hint": ("e.g. 广东 or Guangdong", "如：广东"),
    "home_energy": ("Home energy", "居家能源"),
    "electricity_kwh": ("Electricity in the year (kWh, 度)", "全年用电量（度）"),
    "natural_gas_m3": ("Piped natural gas in the year (m³)", "全年管道天然气（立方米）"),
    "transport": ("Transport", "交通出行"),
    "cars": ("Cars", "汽车"),
    "car": ("Car", "汽车"),
    "add_car": ("Add a car", "添加汽车"),
    "fuel": ("Fuel", "燃料"),
    "fuel_petrol": ("Petrol", "汽油"),
    "fuel_diesel": ("Diesel", "柴油"),
    "fuel_hybrid": ("Hybrid", "混合动力"),
    "fuel_unknown": ("Don't know", "不清楚"),
    "counted_by": ("Counted by", "计算方式"),
    "by_fuel": ("Fuel bought (litres)", "加油量（升）"),
    "by_distance": ("Distance driven (km)", "行驶里程（公里）"),
    "car_amount": ("Litres or km in the year", "全年升数或公里数"),
    "l_per_100km": ("The car's litres per 100 km (optional)", "百公里油耗（升，可不填）"),
    "flights": ("Flights", "航班"),
    "add_flight": ("Add flights", "添加航班"),
    "haul": ("Kind of flight", "航班类型"),
    "distance_km": ("Distance one way (km)", "单程距离（公里）"),
    "trips": ("One-way trips", "单程次数"),
    "travellers": ("Travellers", "出行人数"),
    "radiative_forcing": (
        "Count flights' non-CO₂ effects (radiative forcing)?",
        "是否计入航空的非二氧化碳效应（辐射强迫）？",
    ),
    "yes": ("Yes", "是"),
    "no": ("No", "否"),
    "rail": ("Rail (intercity and high-speed)", "铁路（城际与高铁）"),
    "diet": ("Diet", "饮食"),
    "diet_kind": ("Diet", "膳食类型"),
    "diet_persons": ("People eating it (adults 18-50)", "按此膳食的人数（18-50岁成人）"),
    "diet_none": ("Not counted", "不计入"),
    "goods": ("Goods bought in the year (元)", "全年购物支出（元）"),
    "remove": ("Remove", "删除"),
    "calculate": ("Calculate", "计算"),
    "calculating": ("Calculating…", "正在计算…"),
    "result": ("Your footprint", "您的碳足迹"),
    "total": ("Household, a year", "家庭全年"),
    "per_person": ("Per person, a year", "人均每年"),
    "tco2e": ("tCO₂e", "吨二氧化碳当量"),
    "by_category": ("By category", "分类"),
    "lines": ("What was counted", "计算明细"),
    "emissions": ("Emissions", "排放"),
    "quantity": ("Quantity", "数量"),
    "factor": ("Factor", "排放因子"),
    "source": ("Source", "来源"),
    "status": ("Status", "来源等级"),
    "status_S": ("read in the source", "出自原始来源"),
    "status_S3": ("read in a transcription", "转引"),
    "status_D": ("derived here", "据来源推算"),
    "status_U": ("not verified", "未核实"),
    "comparisons": ("Compared with averages", "与平均水平比较"),
    "chart": ("Per person, tonnes a year", "人均每年（吨）"),
    "you": ("You (per person)", "您（人均）"),
    "average": ("Average", "平均值"),
    "of_average": ("{ratio} of the average", "为平均值的 {ratio}"),
    "note": ("Note", "说明"),
    "fallbacks": ("Factors of another year or region", "采用其他年份或地区的因子"),
    "nothing_counted": (
        "Nothing was counted: answer at least one question.",
        "没有计入任何项：请至少回答一项。",
    ),
    "privacy": (
        "Computed and returned to this page only: nothing is stored, no personal data kept.",
        "仅计算并返回本页面：不保存任何内容，不保留个人信息。",
    ),
    "refused": ("Please check", "请检查"),
    # the averages' short names on the chart (the full name and source are listed below it)
    "average_cn_ghg_per_capita_2023": (
        "China, all emissions per person (2023)",
        "全国人均排放（2023）",
    ),
    "average_cn_household_footprint_per_capita_2012": (
        "Chinese households per person (2012)",
        "居民家庭消费人均（2012）",
    ),
}


def _choices(names: dict[str, tuple[str, str]], index: int) -> list[dict[str, str]]:
    return [{"value": value, "name": pair[index]} for value, pair in names.items()]


def footprint_page(language: Language) -> dict[str, Any]:
    """The footprint page's words in ``language`` and the questionnaire's choices, each a
    ``value`` the API takes and its ``name`` in that language.

    Returns
    -------
    dict
        ``language``; ``words`` (key: text); ``choices``: ``provinces`` (the value is the
        province's name in the language: the API takes either), ``fuels``, ``hauls``,
        ``diets`` (the averages they count), ``goods``.
    """
    index = 0 if language == "en" else 1
    regions = regions_table()
    column = "province_en" if language == "en" else "province_zh"
    averages = load_averages()
    fuels = {
        fuel: FOOTPRINT_WORDS[f"fuel_{fuel}"]
        for fuel in get_args(Car.model_fields["fuel"].annotation)
    }
    hauls = {
        haul: (ITEMS[FLIGHTS[haul]].name_en, ITEMS[FLIGHTS[haul]].name_zh)
        for haul in get_args(Flight.model_fields["haul"].annotation)
    }
    diets = {
        diet: (averages[DIETS[diet]].name_en, averages[DIETS[diet]].name_zh)
        for diet in get_args(DietGroup.model_fields["kind"].annotation)
    }
    goods = {
        kind: (ITEMS[GOODS[kind]].name_en, ITEMS[GOODS[kind]].name_zh)
        for kind in get_args(Purchase.model_fields["kind"].annotation)
    }
    return {
        "language": language,
        "words": {key: pair[index] for key, pair in FOOTPRINT_WORDS.items()},
        "choices": {
            "provinces": [{"value": str(name), "name": str(name)} for name in regions[column]],
            "fuels": _choices(fuels, index),
            "hauls": _choices(hauls, index),
            "diets": _choices(diets, index),
            "goods": _choices(goods, index),
        },
    }
