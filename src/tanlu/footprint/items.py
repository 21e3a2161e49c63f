"""What a footprint's lines are: every item and category with its activity in the factor
library and its name in English and Chinese (the names a page or a report shows; no template
holds its own).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    """One kind of footprint line.

    Attributes
    ----------
    item
        The item's id, e.g. ``electricity``, ``car_fuel_petrol``, ``goods_clothing``.
    category
        The category it is summed in (a key of :data:`CATEGORIES`).
    activity
        Its activity in the factor library (activities.csv), or empty for a diet line (a
        documented average per person, not a factor).
    canonical_unit
        The unit its quantity is converted to: the activity's canonical unit, ``person_year``
        for a diet.
    name_en, name_zh
        Its name.
    """

    item: str
    category: str
    activity: str
    canonical_unit: str
    name_en: str
    name_zh: str


# Categories of a person's or household's footprint, and of a small firm's (by scope and,
# for scope 2, by method).
CATEGORIES: dict[str, tuple[str, str]] = {
    "home_energy": ("Home energy", "居家能源"),
    "transport": ("Transport", "交通出行"),
    "diet": ("Diet", "饮食"),
    "goods": ("Goods", "商品消费"),
    "scope1": ("Scope 1: fuels burned by the firm", "范围一：自有燃料燃烧"),
    "scope2_location": (
        "Scope 2, location-based: purchased energy",
        "范围二（基于位置）：外购能源",
    ),
    "scope2_market": ("Scope 2, market-based: purchased energy", "范围二（基于市场）：外购能源"),
    "scope3": (
        "Scope 3: purchased goods and services (spend-based)",
        "范围三：采购商品与服务（支出法）",
    ),
}

_ITEMS: tuple[Item, ...] = (
    Item("electricity", "home_energy", "electricity", "MWh", "Household electricity", "家庭用电"),
    Item("natural_gas", "home_energy", "natural_gas_stationary", "m3", "Natural gas", "天然气"),
    Item(
        "car_fuel_petrol",
        "transport",
        "gasoline_mobile",
        "t",
        "Car, petrol burned",
        "汽车（按汽油用量）",
    ),
    Item(
        "car_fuel_diesel",
        "transport",
        "diesel_mobile",
        "t",
        "Car, diesel burned",
        "汽车（按柴油用量）",
    ),
    Item(
        "car_km_petrol",
        "transport",
        "car_travel_petrol",
        "km",
        "Car, petrol, distance",
        "汽油车（按里程）",
    ),
    Item(
        "car_km_diesel",
        "transport",
        "car_travel_diesel",
        "km",
        "Car, diesel, distance",
        "柴油车（按里程）",
    ),
    Item(
        "car_km_hybrid",
        "transport",
        "car_travel_hybrid",
        "km",
        "Car, hybrid, distance",
        "混合动力车（按里程）",
    ),
    Item(
        "car_km_unknown",
        "transport",
        "car_travel",
        "km",
        "Car, fuel unknown, distance",
        "汽车（燃料未知，按里程）",
    ),
    Item(
        "flight_domestic",
        "transport",
        "air_travel_domestic",
        "passenger_km",
        "Flights, domestic",
        "国内航班",
    ),
    Item(
        "flight_short_haul",
        "transport",
        "air_travel_short_haul",
        "passenger_km",
        "Flights, short-haul international (< 3,700 km)",
        "短途国际航班（< 3,700 公里）",
    ),
    Item(
        "flight_long_haul",
        "transport",
        "air_travel_long_haul",
        "passenger_km",
        "Flights, long-haul international (> 3,700 km)",
        "长途国际航班（> 3,700 公里）",
    ),
    Item(
        "flight_international",
        "transport",
        "air_travel_international",
        "passenger_km",
        "Flights, international not to or from the UK",
        "国际航班（非英国往返）",
    ),
    Item(
        "rail",
        "transport",
        "rail_travel",
        "passenger_km",
        "Rail (intercity and high-speed)",
        "铁路（城际与高铁）",
    ),
    Item("diet", "diet", "", "person_year", "Diet", "饮食"),
    Item("goods_clothing", "goods", "spend_naics_315220", "CNY", "Clothing", "服装"),
    Item("goods_footwear", "goods", "spend_naics_316210", "CNY", "Footwear", "鞋类"),
    Item("goods_phones", "goods", "spend_naics_334210", "CNY", "Phones", "手机与电话"),
    Item("goods_computers", "goods", "spend_naics_334111", "CNY", "Computers", "电脑"),
    Item(
        "goods_audio_video",
        "goods",
        "spend_naics_334310",
        "CNY",
        "Audio and video equipment",
        "音视频设备",
    ),
    Item(
        "goods_small_appliances",
        "goods",
        "spend_naics_335210",
        "CNY",
        "Small electrical appliances",
        "小家电",
    ),
    Item(
        "goods_major_appliances",
        "goods",
        "spend_naics_335220",
        "CNY",
        "Major household appliances",
        "大家电",
    ),
    Item("goods_furniture", "goods", "spend_naics_337122", "CNY", "Furniture", "家具"),
    Item(
        "goods_toiletries",
        "goods",
        "spend_naics_325620",
        "CNY",
        "Toiletries and cosmetics",
        "洗护与化妆品",
    ),
    Item("goods_toys", "goods", "spend_naics_339930", "CNY", "Toys and games", "玩具与游戏"),
    # a small firm's bills (scope 1 and 2) and the market-based view of its electricity
    Item(
        "firm_electricity",
        "scope2_location",
        "electricity",
        "MWh",
        "Purchased electricity",
        "外购电力",
    ),
    Item(
        "firm_electricity_market",
        "scope2_market",
        "electricity",
        "MWh",
        "Purchased electricity, market-based",
        "外购电力（基于市场）",
    ),
    Item("firm_heat", "scope2_location", "heat", "GJ", "Purchased heat", "外购热力"),
    Item("firm_natural_gas", "scope1", "natural_gas_stationary", "m3", "Natural gas", "天然气"),
    Item(
        "firm_diesel_generator",
        "scope1",
        "diesel_stationary",
        "t",
        "Diesel, generators",
        "柴油（发电机）",
    ),
    Item(
        "firm_diesel_vehicles", "scope1", "diesel_mobile", "t", "Diesel, vehicles", "柴油（车辆）"
    ),
    Item(
        "firm_petrol_vehicles", "scope1", "gasoline_mobile", "t", "Petrol, vehicles", "汽油（车辆）"
    ),
    Item("firm_spend", "scope3", "", "CNY", "Spend", "采购支出"),
)
ITEMS: dict[str, Item] = {item.item: item for item in _ITEMS}

# Goods a household questionnaire takes, by the name it is given there.
GOODS: dict[str, str] = {
    item.item.removeprefix("goods_"): item.item for item in _ITEMS if item.category == "goods"
}
# A small firm's bills, by the name a bill is given.
BILLS: dict[str, str] = {
    "electricity": "firm_electricity",
    "heat": "firm_heat",
    "natural_gas": "firm_natural_gas",
    "diesel_generator": "firm_diesel_generator",
    "diesel_vehicles": "firm_diesel_vehicles",
    "petrol_vehicles": "firm_petrol_vehicles",
}
# The diets a questionnaire takes -> their row in averages.csv.
DIETS: dict[str, str] = {
    "average": "diet_current_adult",
    "average_man": "diet_current_man",
    "average_woman": "diet_current_woman",
    "low_carbon": "diet_low_carbon_adult",
    "low_carbon_man": "diet_low_carbon_man",
    "low_carbon_woman": "diet_low_carbon_woman",
}
# Flights by how far they go -> their item.
FLIGHTS: dict[str, str] = {
    "domestic": "flight_domestic",
    "short_haul": "flight_short_haul",
    "long_haul": "flight_long_haul",
    "international": "flight_international",
}
