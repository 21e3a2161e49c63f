"""The citizen's page's words in English and Chinese: :func:`citizen_page` gives the page
(``/app/citizen.html``, docs/service.md "Carbon inclusion") one document per language, with
the ledger's codes named in words: an entry's status and reason (docs/ledger.md, "Rules";
:data:`tanlu.ledger.rules.REASONS`, the review's ``released`` and ``rejected_on_review``), its
kind and the action it credits. A code the page has no words for is shown as itself.
"""

from __future__ import annotations

from typing import Any, Literal

Language = Literal["en", "zh"]

CITIZEN_WORDS: dict[str, tuple[str, str]] = {
    "title": ("My carbon-inclusion account", "我的碳普惠账户"),
    "intro": (
        "Enter the one-time code your app shows you (valid 15 minutes) to read your own "
        "balance and entries in every city you are linked in. Nobody else's.",
        "输入 App 显示的一次性验证码（15 分钟内有效），查看您在已关联城市的余额和记录。"
        "只能看到您本人的记录。",
    ),
    "other_language": ("中文", "English"),
    "code": ("Code from your app", "App 中的验证码"),
    "code_hint": ("e.g. ABCD-EFGH-JKMN", "如：ABCD-EFGH-JKMN"),
    "sign_in": ("Show my account", "查看我的账户"),
    "signing_in": ("Checking…", "正在核对…"),
    "bad_code": (
        "This code is unknown, used already or expired: ask your app for a new one.",
        "验证码无效、已使用或已过期：请在 App 中重新获取。",
    ),
    "too_many": (
        "Too many wrong codes from here lately: try again in {minutes} minutes.",
        "近期错误验证码过多：请 {minutes} 分钟后再试。",
    ),
    "taken": (
        "This code's account is linked to another person's account already.",
        "该验证码对应的账户已关联到其他人的账户。",
    ),
    "failed": (
        "Something went wrong ({status}): please try again.",
        "出错了（{status}）：请重试。",
    ),
    "empty_code": ("Type the code first.", "请先输入验证码。"),
    "accounts": ("Your accounts", "您的账户"),
    "no_accounts": ("No account is linked any more.", "已没有关联的账户。"),
    "city": ("City's scheme", "城市碳普惠"),
    "pseudonym": ("Your name in the app", "您在 App 中的账户名"),
    "balance": ("Balance", "余额"),
    "credited": ("Credited", "累计获得"),
    "reversed": ("Reversed", "已撤销"),
    "redeemed": ("Redeemed", "已兑换"),
    "gco2e": ("gCO₂e", "克二氧化碳当量"),
    "entries": ("Entries", "记录"),
    "no_entries": ("No entries yet.", "暂无记录。"),
    "newest": ("The newest 200 entries, newest first.", "最近 200 条记录，最新的在前。"),
    "date": ("Date", "日期"),
    "action": ("Action", "行为"),
    "status": ("Status", "状态"),
    "credited_g": ("Credited (g)", "获得（克）"),
    "link": ("Link another city or app", "关联其他城市或 App"),
    "link_hint": (
        "A code from another city's scheme or another app adds that account to this one.",
        "输入其他城市或其他 App 的验证码，即可将该账户关联到此处。",
    ),
    "add": ("Link", "关联"),
    "linked": ("Linked.", "已关联。"),
    "linked_already": ("That account was linked already.", "该账户此前已关联。"),
    "sign_out": ("Sign out", "退出"),
    "signed_out": ("Signed out.", "已退出。"),
    "privacy": (
        "The ledger knows you only by the app's pseudonym; the city's scheme can erase it "
        "on request.",
        "账本只记录 App 提供的化名；可向城市碳普惠机构申请删除。",
    ),
    "footprint": ("Your household's carbon footprint", "家庭碳足迹计算"),
    # what an entry counted, in its methodology's unit
    "unit_passenger_km": ("km", "公里"),
    "unit_km": ("km", "公里"),
    "unit_trip": ("trip", "次"),
    "unit_step": ("steps", "步"),
    "unit_kwh": ("kWh saved", "千瓦时（节约）"),
    # an entry's status
    "status_accepted": ("Credited", "已计入"),
    "status_held": ("Held for review", "待审核"),
    "status_rejected": ("Not credited", "未计入"),
    # an entry's kind, when it is not a trip's credit
    "kind_reversal": ("Taken back", "撤销"),
    "kind_redemption": ("Redeemed", "兑换"),
    "kind_rejection": ("Rejected on review", "审核未通过"),
    # the reasons (docs/ledger.md, "Rules"; review)
    "reason_no_methodology": (
        "no method credits this action here on that day",
        "该地区当日没有适用于此行为的方法学",
    ),
    "reason_no_consent": (
        "you had not agreed to take part at the time",
        "当时您尚未同意参与",
    ),
    "reason_late": ("sent too long after the action", "上报时间超过申报期限"),
    "reason_future": ("dated in the future", "时间晚于上报时间"),
    "reason_no_quantity": ("no distance or quantity was sent", "缺少距离或数量"),
    "reason_impossible_speed": ("faster than the trip can be", "速度超出合理范围"),
    "reason_duplicate": ("the same trip was counted already", "同一行程已计入"),
    "reason_overlap": ("it overlaps another of your trips", "与您的另一行程时间重叠"),
    "reason_teleport": (
        "it starts too far from where your previous trip ended",
        "起点距上一行程终点过远",
    ),
    "reason_repeated_trip": (
        "the same trip too many times in a day",
        "同一行程单日次数过多",
    ),
    "reason_burst": ("too many trips in a short time", "短时间内行程过多"),
    "reason_daily_cap": ("cut by the daily cap", "受每日上限削减"),
    "reason_monthly_cap": ("cut by the monthly cap", "受每月上限削减"),
    "reason_released": ("released on review", "经审核计入"),
    "reason_rejected_on_review": ("rejected on review", "经审核不予计入"),
    "reason_reversal": ("a credit taken back", "撤销已计入的减排量"),
    "reason_redemption": ("redeemed", "已兑换"),
    # the actions of the bundled methodologies (src/tanlu/ledger/data/methodologies.csv)
    "action_metro": ("Metro", "地铁"),
    "action_bus": ("Bus", "公交"),
    "action_cycling": ("Cycling", "骑行"),
    "action_walking": ("Walking", "步行"),
    "action_household_electricity": ("Saving electricity at home", "家庭节电"),
}


def citizen_page(language: Language) -> dict[str, Any]:
    """The citizen's page's words in ``language`` (``en`` or ``zh``).

    Returns
    -------
    dict
        ``language``; ``words`` (key: text).
    """
    index = 0 if language == "en" else 1
    return {
        "language": language,
        "words": {key: pair[index] for key, pair in CITIZEN_WORDS.items()},
    }
