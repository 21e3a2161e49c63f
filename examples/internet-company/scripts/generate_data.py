"""Regenerate data/activities_*.csv and data/activities_travel.xlsx of this example.

The figures are the calibrated ones of docs/example-calibration.md; edit them here, re-run
(`python scripts/generate_data.py` with pandas and openpyxl installed), then re-check the totals.
data/instruments.csv is hand-written.
"""
import csv, calendar
from datetime import date, timedelta
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
DATA.mkdir(parents=True, exist_ok=True)
HEADER = ["site", "period_start", "period_end", "activity", "quantity", "unit", "meter",
          "category", "source_document", "note"]

# monthly load shape of a data centre (cooling load peaks in summer); sums to 1
DC_SHAPE = [0.079, 0.072, 0.080, 0.080, 0.084, 0.087, 0.092, 0.092, 0.086, 0.083, 0.080, 0.085]
assert abs(sum(DC_SHAPE) - 1) < 1e-9, sum(DC_SHAPE)
OFFICE_Q = [0.24, 0.23, 0.28, 0.25]  # quarterly shape of an office (summer air conditioning)

def month_bounds(y, m):
    return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])

def split(total, shape, step):
    """Round parts to `step`; the last part takes the rounding remainder so the sum is exact."""
    parts = [round(total * s / step) * step for s in shape[:-1]]
    parts.append(total - sum(parts))
    return parts

rows = []
def add(site, start, end, activity, qty, unit, meter="", category="", doc="", note=""):
    rows.append([site, start.isoformat(), end.isoformat(), activity, qty, unit, meter, category, doc, note])

# ---------------- electricity ----------------
# owned data centres (MWh/yr, 2021); 2022 = +10 %
DCS = {
    "dc_qingyuan": 700_000, "dc_guian": 900_000, "dc_tianjin": 500_000,
    "dc_shanghai": 450_000, "dc_chongqing": 420_000, "dc_huailai": 600_000, "dc_ulanqab": 300_000,
}
COLO = {"colo_beijing": 600_000, "colo_kunshan": 500_000, "colo_guangzhou": 650_000}
GROWTH = 1.10
for y in (2021, 2022):
    for site, annual in {**DCS, **COLO}.items():
        total = int(round(annual * (GROWTH if y == 2022 else 1.0)))
        colo = site.startswith("colo")
        doc = (f"lessor monthly metering statement {y}" if colo else f"grid utility bills {y} (110 kV supply)")
        for m, q in enumerate(split(total, DC_SHAPE, 10), start=1):
            s, e = month_bounds(y, m)
            add(site, s, e, "electricity", q, "MWh", meter="main", doc=doc,
                note=("our racks only (sub-metered by the lessor)" if colo else ""))

# offices: quarterly (kWh); HQ after the 2020 retrofit
OFFICES = {  # site: (2021 kWh, unit label)
    "hq_shenzhen": (30_000_000, "kWh"),
    "office_beijing": (18_000_000, "kWh"),
    "office_shanghai": (8_000_000, "kWh"),
    "office_chengdu": (10_000_000, "度"),
}
for y in (2021, 2022):
    for site, (annual, unit) in OFFICES.items():
        total = int(round(annual * (GROWTH if y == 2022 else 1.0)))
        for qi, q in enumerate(split(total, OFFICE_Q, 1000)):
            s = date(y, 3 * qi + 1, 1); e = month_bounds(y, 3 * qi + 3)[1]
            add(site, s, e, "electricity", q, unit, meter="main", doc=f"property-management invoice {y}Q{qi+1}")

# Guangzhou office: utility billing cycle runs 16th -> 15th, so the first 2021 bill starts in 2020
# 6,000 MWh/yr in 2021 -> 500 MWh a cycle; 2022 +10 % -> 550
cycles = [(date(2020, 12, 16), date(2021, 1, 15))]
for y, m in [(2021, m) for m in range(1, 13)] + [(2022, m) for m in range(1, 13)]:
    s = date(y, m, 16)
    e = date(y + (m == 12), 1 if m == 12 else m + 1, 15)
    cycles.append((s, e))
for s, e in cycles:
    kwh = 500_000 if e <= date(2022, 1, 15) else 550_000
    note = "billing cycle crosses the year end; tanlu splits it by days" if s.year != e.year else ""
    add("office_guangzhou", s, e, "electricity", kwh, "kWh", meter="grid", doc=f"China Southern Grid bill {e:%Y-%m}", note=note)

# shuttle depot: charging of electric minibuses
for y in (2021, 2022):
    total = 400 if y == 2021 else 440
    for qi, q in enumerate(split(total, [0.25] * 4, 10)):
        s = date(y, 3 * qi + 1, 1); e = month_bounds(y, 3 * qi + 3)[1]
        add("shuttle_fleet", s, e, "electricity", q, "MWh", meter="chargers", doc=f"depot charger meter {y}Q{qi+1}")

# Beijing office: district heating (GJ), heating season only
for y in (2021, 2022):
    add("office_beijing", date(y, 1, 1), date(y, 3, 15), "heat", 26_000, "GJ", meter="heat", doc=f"district-heating invoice {y} (season end)")
    add("office_beijing", date(y, 11, 15), date(y, 12, 31), "heat", 14_000 if y == 2021 else 15_000, "GJ", meter="heat", doc=f"district-heating invoice {y} (season start)")

# ---------------- scope 1 ----------------
# back-up diesel: monthly load tests + outage hours; quarterly fuel-delivery records
DIESEL = {  # site: (2021 quantity, unit)
    "dc_qingyuan": (360_000, "L"), "dc_guian": (420_000, "L"), "dc_shanghai": (300_000, "升"),
    "dc_tianjin": (260, "t"), "dc_chongqing": (240, "吨"), "dc_huailai": (320, "t"), "dc_ulanqab": (290, "t"),
}
for y in (2021, 2022):
    for site, (qty, unit) in DIESEL.items():
        total = qty * (GROWTH if y == 2022 else 1.0)
        step = 1000 if unit in ("L", "升") else 1
        total = int(round(total / step) * step)
        for qi, q in enumerate(split(total, [0.25] * 4, step)):
            s = date(y, 3 * qi + 1, 1); e = month_bounds(y, 3 * qi + 3)[1]
            add(site, s, e, "diesel_stationary", q, unit, meter="genset-tank", doc=f"fuel delivery notes {y}Q{qi+1}", note="generator load tests and grid-outage running")
# shuttle buses: monthly fuel-card statements, litres
for y in (2021, 2022):
    total = 4_200_000 if y == 2021 else 4_620_000
    for m, q in enumerate(split(total, [1 / 12] * 12, 1000), start=1):
        s, e = month_bounds(y, m)
        add("shuttle_fleet", s, e, "diesel_mobile", q, "L", meter="fuel-card", doc=f"fuel-card statement {y}-{m:02d}")
# refrigerant top-ups (maintenance records, kg)
REFR = [
    ("dc_guian", "refrigerant_hfc_134a", 300, "chiller plant top-up"),
    ("dc_qingyuan", "refrigerant_hfc_134a", 250, "chiller plant top-up"),
    ("dc_tianjin", "refrigerant_hfc_134a", 250, "chiller plant top-up"),
    ("hq_shenzhen", "refrigerant_r410a", 200, "VRF units, annual service"),
    ("office_beijing", "refrigerant_r410a", 150, "VRF units, annual service"),
    ("office_shanghai", "refrigerant_r410a", 150, "VRF units, annual service"),
    ("office_chengdu", "refrigerant_hcfc_22", 50, "old R-22 split units (scheduled for replacement); Montreal Protocol gas, reported outside the scopes"),
]
for y in (2021, 2022):
    for site, act, kg, note in REFR:
        if y == 2022 and act == "refrigerant_hcfc_22":
            continue  # units replaced in 2021-Q4
        d = date(y, 9, 10)
        add(site, d, d, act, kg, "kg", doc=f"maintenance work order {y}", note=note)

def write_csv(path, rws):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f); w.writerow(HEADER); w.writerows(rws)
write_csv(DATA / "activities_energy.csv", rows)

# ---------------- purchases (CNY / 万元) ----------------
rows = []
# (activity, 2021 spend, unit, category override, note). Spend booked quarterly.
CAPEX = [
    ("dc_guian", "spend_naics_334111", 2_400_000, "万元", "", "servers (capitalised), all DCs, booked at the Gui'an procurement centre"),
    ("dc_guian", "spend_naics_334112", 600_000, "万元", "", "storage arrays (capitalised)"),
    ("dc_guian", "spend_naics_334413", 400_000, "万元", "cat2_capital_goods", "GPU/accelerator cards installed in servers: capitalised, so category 2 (the activity's default is category 1)"),
    ("dc_guian", "spend_naics_334290", 300_000, "万元", "", "network switches and optical equipment"),
    ("dc_huailai", "spend_naics_236210", 900_000, "万元", "", "DC building construction (Huailai phase 3, Qingyuan phase 2, Ulanqab)"),
    ("hq_shenzhen", "spend_naics_236220", 250_000, "万元", "", "new office campus construction (building materials and works)"),
    ("dc_huailai", "spend_naics_238210", 300_000, "万元", "", "electrical installation works in new DC halls"),
    ("dc_huailai", "spend_naics_333415", 250_000, "万元", "", "chillers, CRAH units, cooling towers"),
    ("dc_huailai", "spend_naics_335911", 150_000, "万元", "", "UPS and battery strings"),
    ("dc_huailai", "spend_naics_335311", 100_000, "万元", "", "power transformers"),
    ("dc_huailai", "spend_naics_333618", 80_000, "万元", "", "diesel generator sets"),
]
OPEX = [
    ("hq_shenzhen", "spend_naics_541511", 1_500_000_000, "CNY", "", "outsourced software development"),
    ("hq_shenzhen", "spend_naics_561720", 200_000_000, "CNY", "", "cleaning services, all offices"),
    ("hq_shenzhen", "spend_naics_722310", 300_000_000, "元", "", "staff canteen catering contracts"),
]
for y in (2021, 2022):
    for site, act, amount, unit, cat, note in CAPEX + OPEX:
        amt = amount * (GROWTH if y == 2022 else 1.0)
        step = 1000 if unit == "万元" else 1_000_000
        amt = int(round(amt / step) * step)
        for qi, q in enumerate(split(amt, [0.2, 0.25, 0.25, 0.3], step)):
            s = date(y, 3 * qi + 1, 1); e = month_bounds(y, 3 * qi + 3)[1]
            add(site, s, e, act, q, unit, category=cat, doc=f"ERP fixed-asset / AP ledger {y}Q{qi+1}", note=note)
write_csv(DATA / "activities_purchases.csv", rows)

# ---------------- travel (xlsx, one sheet per data source) ----------------
def frame(rws):
    return pd.DataFrame(rws, columns=HEADER)
TRAVEL_SPLIT = {"hq_shenzhen": 0.45, "office_beijing": 0.25, "office_shanghai": 0.15, "office_chengdu": 0.10, "office_guangzhou": 0.05}
sheets = {}
for name, act, unit, totals, doc in [
    ("air", "air_travel_domestic", "passenger-km", {2021: 400_000_000, 2022: 320_000_000}, "travel-agency booking report"),
    ("rail", "rail_travel", "passenger-km", {2021: 150_000_000, 2022: 140_000_000}, "travel-agency booking report"),
    ("hotel", "hotel_stay", "间夜", {2021: 200_000, 2022: 170_000}, "travel-agency hotel report"),
]:
    rws = []
    for y, total in totals.items():
        for site, share in TRAVEL_SPLIT.items():
            site_total = int(round(total * share))
            step = 1000 if unit == "passenger-km" else 10
            for qi, q in enumerate(split(site_total, [0.22, 0.26, 0.27, 0.25], step)):
                s = date(y, 3 * qi + 1, 1); e = month_bounds(y, 3 * qi + 3)[1]
                rws.append([site, s.isoformat(), e.isoformat(), act, q, unit, "", "", f"{doc} {y}Q{qi+1}", ""])
    sheets[name] = frame(rws)
# commuting survey: annual, by office (passenger-km, vehicle-km for cars)
COMMUTE = {  # mode: (activity, unit, 2021 total)
    "metro": ("commute_metro", "passenger-km", 300_000_000),
    "bus": ("commute_bus", "passenger-km", 100_000_000),
    "car": ("commute_car", "km", 60_000_000),
}
rws = []
for y in (2021, 2022):
    for mode, (act, unit, total) in COMMUTE.items():
        for site, share in TRAVEL_SPLIT.items():
            q = int(round(total * (GROWTH if y == 2022 else 1.0) * share / 100_000) * 100_000)
            rws.append([site, f"{y}-01-01", f"{y}-12-31", act, q, unit, "", "", f"commuting survey {y} (scaled to headcount)", f"{mode}; car in vehicle-km"])
sheets["commuting"] = frame(rws)
with pd.ExcelWriter(DATA / "activities_travel.xlsx", engine="openpyxl") as xw:
    for name, df in sheets.items():
        df.to_excel(xw, sheet_name=name, index=False)

# ---------------- hourly meter, headquarters 2022 (data/meter_hourly_hq.csv) ----------------
# Illustrative: tanlu's documented office shape (08:00-20:00 working hours at full load, 30% of
# it at other times) on the 2022 working calendar of the State Council General Office notice on
# the 2022 public holidays (国办发明电〔2021〕11号): holidays are off, the make-up Saturdays and
# Sundays are working days. Scaled to 1 GWh to show that tanlu uses a meter series for its
# shape and scales it to the inventory's electricity (docs/methods.md section 10).
HOLIDAYS_2022 = [("2022-01-01", "2022-01-03"), ("2022-01-31", "2022-02-06"),
                 ("2022-04-03", "2022-04-05"), ("2022-04-30", "2022-05-04"),
                 ("2022-06-03", "2022-06-05"), ("2022-09-10", "2022-09-12"),
                 ("2022-10-01", "2022-10-07")]
MAKE_UP_DAYS_2022 = ["2022-01-29", "2022-01-30", "2022-04-02", "2022-04-24", "2022-05-07",
                     "2022-10-08", "2022-10-09"]
hours = pd.date_range("2022-01-01", "2023-01-01", freq="h", inclusive="left")
day = hours.normalize()
off = pd.Series(False, index=hours)
for first, last in HOLIDAYS_2022:
    off |= (day >= pd.Timestamp(first)) & (day <= pd.Timestamp(last))
workday = ((hours.day_of_week < 5) | day.isin(pd.to_datetime(MAKE_UP_DAYS_2022))) & ~off.to_numpy()
working = workday & (hours.hour >= 8) & (hours.hour < 20)
weights = pd.Series(working, index=hours).map({True: 1.0, False: 0.3})
energy = (weights * (1000.0 / weights.sum())).round(4)
pd.DataFrame({"site": "hq_shenzhen", "hour_start": hours.strftime("%Y-%m-%d %H:%M"),
              "energy_mwh": energy.to_numpy()}).to_csv(DATA / "meter_hourly_hq.csv", index=False)
print("ok")
