"""Generate the bundled sample company, "Northwind Outfitters", as CSV files.

Northwind Outfitters sells outdoor gear through a web shop, its own retail stores and
a B2B team (outdoor shops, clubs, corporate gifts). This script writes two years of its
data, 2024-11-01 to 2026-10-31, as seven tables:

    orders, web_sessions, leads, support_tickets, survey_responses, purchases, machine_log

The output is deterministic: a fixed seed, only the standard library (``random``,
``csv``, ``datetime``) and every number formatted explicitly, so each run writes the
same bytes on every platform and on Python 3.11 and later. Each table draws from its
own ``random.Random`` (seeded with the table's name), so changing one table does not
reshuffle the others.

The relationships baked into the data (seasonality, growth, MQLs leading won deals by
two months, a cheaper supplier from mid-2025 that raises defects and then defect
returns, slow first responses lowering CSAT) and the deliberate data-quality warts are
described in ``sample_data/README.md``.

Usage::

    python sample_data/generate.py            # rewrites sample_data/data/*.csv
    python sample_data/generate.py --out DIR  # writes the CSVs into DIR instead
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

Row = dict[str, str]
T = TypeVar("T")

SEED = "northwind-outfitters-v1"
START = dt.date(2024, 11, 1)
END = dt.date(2026, 10, 31)  # last day of data; also the day the extract was taken
DEFAULT_OUT = Path(__file__).resolve().parent / "data"

# fmt: off
TABLE_COLUMNS = {
    "orders": ["order_id", "order_date", "customer_id", "channel", "region", "product_category",
               "order_no", "amount", "cost", "discount", "status", "returned_date",
               "delivered_date", "promised_date", "return_reason"],
    "web_sessions": ["session_id", "session_date", "channel", "device", "pages_viewed",
                     "converted", "order_id"],
    "leads": ["lead_id", "created_date", "source", "is_mql", "mql_date", "stage", "deal_value",
              "won_date", "lost_date", "sales_rep"],
    "support_tickets": ["ticket_id", "opened_at", "first_response_at", "resolved_at", "channel",
                        "category", "handle_minutes", "resolved_first_contact", "csat"],
    "survey_responses": ["response_id", "response_date", "customer_id", "nps_score",
                         "comment_topic"],
    "purchases": ["po_id", "po_date", "supplier", "part", "list_price", "paid_price", "quantity",
                  "defects_found"],
    "machine_log": ["log_date", "machine_id", "planned_hours", "run_hours", "units_processed"],
}

# Demand by calendar month: a Q4 (holiday) peak and a spring/summer hiking season.
SEASON = {1: 0.80, 2: 0.78, 3: 0.92, 4: 1.00, 5: 1.08, 6: 1.05,
          7: 0.98, 8: 0.95, 9: 0.97, 10: 1.08, 11: 1.38, 12: 1.62}
ANNUAL_GROWTH = 0.22  # demand grows ~22 % a year, linearly
WEB_ORDERS_PER_DAY = 8.5  # at the start, before season and weekday
WEB_WEEKDAY = [1.10, 1.00, 0.95, 0.95, 0.95, 0.90, 1.15]  # Monday..Sunday
RETAIL_ORDERS_PER_DAY = 12.0
RETAIL_WEEKDAY = [0.80, 0.80, 0.85, 0.90, 1.10, 1.55, 0.0]  # stores are closed on Sundays
B2B_ORDERS_PER_DAY = 1.5  # working days only; grows ~30 % a year, half as seasonal

REGIONS = ["North", "South", "East", "West", "Central"]
REGION_WEIGHTS = [22, 18, 20, 25, 15]

# product category: (typical list price of one item, cost of goods as a share of list price)
CATEGORIES = {
    "Tents": (240.0, 0.54), "Backpacks": (125.0, 0.50), "Footwear": (140.0, 0.56),
    "Apparel": (78.0, 0.44), "Climbing": (92.0, 0.50), "Camp Kitchen": (56.0, 0.47),
    "Accessories": (29.0, 0.40),
}
CATEGORY_WEIGHTS = {  # in the order of CATEGORIES
    "web": [10, 16, 18, 26, 8, 9, 13],
    "retail": [6, 13, 20, 30, 9, 8, 14],
    "b2b": [18, 20, 12, 22, 12, 10, 6],
}
RETURN_REASONS = ["wrong size", "changed mind", "damaged in transit", "not as described"]
RETURN_REASON_WEIGHTS = [45, 30, 10, 15]  # 'defect' is drawn separately (see make_orders)

# Procurement. From July 2025 the cheap supplier gets most purchase orders (cheap_supplier_share).
CHEAP_SUPPLIER = "Pacific Trail Supply Co"
SUPPLIERS = {  # name: (discount off list price, share of units failing inspection)
    "Alpine Textiles AG": (0.045, 0.007),
    "Nordic Components AB": (0.055, 0.009),
    "Vista Outdoor Parts Ltd": (0.070, 0.013),
    CHEAP_SUPPLIER: (0.190, 0.048),
}
PARTS = {  # part: (list price per unit at the start, typical quantity per purchase order)
    "ripstop nylon 30D (m)": (4.20, 1800), "aluminium tent pole set": (18.50, 400),
    "YKK zipper #5": (0.85, 4000), "down fill 800 (kg)": (145.00, 40),
    "EVA midsole (pair)": (3.10, 1500), "rubber outsole (pair)": (9.40, 1200),
    "buckle 25 mm": (0.35, 5000), "webbing 25 mm (m)": (0.60, 3000),
    "carabiner 24 kN": (6.80, 600), "waterproof membrane (m)": (11.50, 900),
    "stove burner unit": (14.20, 300), "merino yarn (kg)": (38.00, 120),
}

# B2B marketing calendar: lead volume by month (trade fairs in January and June, webinar
# series in March and September, quiet summers and Decembers). Won deals follow ~2 months later.
CAMPAIGNS = {
    "2024-11": 1.00, "2024-12": 0.60,
    "2025-01": 1.50, "2025-02": 0.95, "2025-03": 1.40, "2025-04": 0.80, "2025-05": 1.10,
    "2025-06": 1.75, "2025-07": 0.70, "2025-08": 0.60, "2025-09": 1.35, "2025-10": 1.00,
    "2025-11": 0.90, "2025-12": 0.60,
    "2026-01": 1.60, "2026-02": 1.00, "2026-03": 1.50, "2026-04": 0.80, "2026-05": 1.05,
    "2026-06": 1.80, "2026-07": 0.70, "2026-08": 0.60, "2026-09": 1.40, "2026-10": 1.00,
}
LEAD_SOURCES = ["trade fair", "web form", "webinar", "referral", "outbound", "partner"]
SALES_REPS = ["A. Lindqvist", "M. Okafor", "J. Schneider", "P. Moreau", "S. Tanaka", "R. Alvarez"]

# Customer service: how stretched the team is (multiplies the time to first response):
# peak season, two agents leaving in August 2025, a help-desk tool change in March 2026.
SERVICE_PRESSURE_BY_MONTH = {11: 1.35, 12: 1.75, 1: 1.40}
SERVICE_EVENTS = {"2025-08": 1.9, "2025-09": 1.5, "2026-03": 1.7}
TICKET_CATEGORIES = ["order status", "returns", "product question", "product defect", "billing",
                     "account"]
TICKET_CHANNELS = {"email": 1.3, "chat": 0.25, "phone": 0.05, "web form": 1.2}  # response speed
TICKET_CHANNEL_WEIGHTS = [40, 25, 20, 15]
HANDLE_MINUTES = {"email": 8, "chat": 9, "phone": 14, "web form": 8}  # median agent minutes
FIRST_CONTACT_RESOLUTION = {"product defect": 0.45, "billing": 0.80, "account": 0.82}  # else 0.72
TICKET_HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13,  # 00h..11h
                       11, 12, 13, 12, 10, 9, 8, 7, 6, 5, 3, 2]  # 12h..23h

SESSION_CHANNELS = ["organic", "paid", "email", "social", "direct"]
SESSION_TRAFFIC_SHARE = [38, 24, 10, 12, 16]
SESSION_CONVERSION = [1.0, 0.8, 2.2, 0.45, 1.3]  # relative to the average conversion rate
DEVICES, DEVICE_WEIGHTS = ["mobile", "desktop", "tablet"], [58, 35, 7]

SURVEY_TOPICS = ["", "price", "product range", "product quality", "delivery", "customer service",
                 "website"]
SURVEY_TOPIC_WEIGHTS = [30, 18, 14, 12, 10, 9, 7]

MACHINES = {"SORT-01": 420, "PACK-01": 95, "PACK-02": 95, "CONV-01": 600, "LABEL-01": 310,
            "WRAP-01": 140}  # machine: units processed per run hour at full load
# fmt: on


# ---------------------------------------------------------------------------- helpers


def table_rng(table: str) -> random.Random:
    """A random generator of its own for one table (string seeds hash the same everywhere)."""
    return random.Random(f"{SEED}:{table}")


def days(start: dt.date = START, end: dt.date = END) -> list[dt.date]:
    """Every calendar day from ``start`` to ``end`` inclusive."""
    return [start + dt.timedelta(n) for n in range((end - start).days + 1)]


def years_since_start(day: dt.date) -> float:
    """Time since the first day of data, in years."""
    return (day - START).days / 365.0


def month_key(day: dt.date) -> str:
    """``2025-07`` for any day in July 2025."""
    return f"{day.year:04d}-{day.month:02d}"


def previous_month(key: str) -> str:
    """``2025-06`` for ``2025-07``; ``2024-12`` for ``2025-01``."""
    year, month = int(key[:4]), int(key[5:])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def demand(day: dt.date) -> float:
    """Relative customer demand on a day: linear growth times the seasonal factor."""
    return (1.0 + ANNUAL_GROWTH * years_since_start(day)) * SEASON[day.month]


def expected_web_orders(day: dt.date) -> float:
    """Mean number of web orders on a day (web sessions are drawn around the same mean)."""
    return WEB_ORDERS_PER_DAY * demand(day) * WEB_WEEKDAY[day.weekday()]


def cheap_supplier_share(day: dt.date) -> float:
    """Share of purchase orders going to the cheap supplier: 8 % until June 2025, then 58 %."""
    key = month_key(day)
    if key < "2025-07":
        return 0.08
    return {"2025-07": 0.25, "2025-08": 0.45}.get(key, 0.58)


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's method; a rounded normal for large means)."""
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    """A log-normal draw with the given median."""
    return median * math.exp(rng.gauss(0.0, sigma))


def pick(rng: random.Random, options: Sequence[T], weights: Sequence[float]) -> T:
    """One weighted choice."""
    return rng.choices(options, weights)[0]


def money(value: float) -> str:
    """A currency amount with two decimals."""
    return f"{value:.2f}"


def iso(value: dt.date | dt.datetime | None) -> str:
    """ISO text for a date (``2025-07-01``) or timestamp (``2025-07-01 09:30:00``); '' for None."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat()


# ---------------------------------------------------------------------------- tables


def make_purchases(rng: random.Random) -> list[Row]:
    """Procurement purchase orders for components, about 4 per working day.

    From July 2025 most orders go to the cheap supplier: the price paid drops (purchase
    price savings rise) and more delivered units fail incoming inspection (``defects_found``).
    """
    rows: list[Row] = []
    premium = [name for name in SUPPLIERS if name != CHEAP_SUPPLIER]
    for day in days():
        if day.weekday() >= 5:
            continue
        inflation = 1.0 + 0.03 * years_since_start(day)
        for _ in range(poisson(rng, 3.6 * (1.0 + 0.15 * years_since_start(day)))):
            part = rng.choice(list(PARTS))
            base_price, typical_quantity = PARTS[part]
            if rng.random() < cheap_supplier_share(day):
                supplier = CHEAP_SUPPLIER
            else:
                supplier = pick(rng, premium, [45, 38, 17])
            discount, defect_share = SUPPLIERS[supplier]
            list_price = round(base_price * inflation, 2)
            paid_price = round(list_price * (1.0 - discount + rng.gauss(0.0, 0.012)), 2)
            quantity = max(10, int(round(lognormal(rng, typical_quantity, 0.35), -1)))
            defects = round(quantity * defect_share * lognormal(rng, 1.0, 0.45))
            rows.append({
                "po_id": f"PO-{len(rows) + 1:05d}", "po_date": iso(day), "supplier": supplier,
                "part": part, "list_price": money(list_price), "paid_price": money(paid_price),
                "quantity": str(quantity), "defects_found": str(defects),
            })  # fmt: skip
    return rows


def monthly_defect_rate(purchases: list[Row]) -> dict[str, float]:
    """Share of purchased units failing inspection, by month of the purchase order."""
    defects: Counter[str] = Counter()
    units: Counter[str] = Counter()
    for row in purchases:
        units[row["po_date"][:7]] += int(row["quantity"])
        defects[row["po_date"][:7]] += int(row["defects_found"])
    return {key: defects[key] / units[key] for key in units}


class _Customers:
    """Who places an order, and how many orders each customer has placed so far.

    Web and retail customers share one loyalty-id pool; 5,000 of them existed before the
    extract starts, so ``order_no`` continues their history. B2B accounts have their own pool.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.orders = {f"C-{n:06d}": 1 + int(rng.expovariate(0.9)) for n in range(1, 5001)}
        self.consumers = list(self.orders)
        self.b2b_orders = {f"B-{n:04d}": 3 + int(rng.expovariate(0.15)) for n in range(1, 181)}
        self.accounts = list(self.b2b_orders)

    def next_order(self, day: dt.date, channel: str) -> tuple[str, int]:
        """The customer id of a new order and which order of that customer it is (1-based)."""
        rng = self.rng
        if channel == "b2b":
            if rng.random() < 0.04:  # a newly won account
                self.accounts.append(f"B-{len(self.accounts) + 1:04d}")
                self.b2b_orders[self.accounts[-1]] = 0
            customer = rng.choice(self.accounts)
            self.b2b_orders[customer] += 1
            return customer, self.b2b_orders[customer]
        returning_share = 0.44 + 0.025 * years_since_start(day)  # the loyalty programme works
        if rng.random() < returning_share:
            customer = rng.choice(self.consumers)
        else:
            customer = f"C-{len(self.consumers) + 1:06d}"
            self.consumers.append(customer)
            self.orders[customer] = 0
        self.orders[customer] += 1
        return customer, self.orders[customer]


def make_orders(rng: random.Random, defect_rate: dict[str, float]) -> list[Row]:
    """Sales orders from all three channels (web, retail, b2b), one row per order, by date.

    Defect-related returns follow the previous month's incoming defect rate (stock bought
    in one month is sold the next). Data-quality warts are added at the end.
    """
    customers = _Customers(rng)
    rows: list[Row] = []
    for day in days():
        weekday = day.weekday()
        b2b_level = (1.0 + 0.30 * years_since_start(day)) * (0.5 + 0.5 * SEASON[day.month])
        counts = {
            "web": poisson(rng, expected_web_orders(day)),
            "retail": poisson(rng, RETAIL_ORDERS_PER_DAY * demand(day) * RETAIL_WEEKDAY[weekday]),
            "b2b": 0 if weekday >= 5 else poisson(rng, B2B_ORDERS_PER_DAY * b2b_level),
        }
        key = month_key(day)
        defect_return_p = 0.9 * defect_rate.get(previous_month(key), defect_rate[key])
        for channel, count in counts.items():
            for _ in range(count):
                customer, order_no = customers.next_order(day, channel)
                order = _order(rng, day, channel, defect_return_p)
                rows.append({
                    "order_id": f"NW-{100001 + len(rows)}", "order_date": iso(day),
                    "customer_id": customer, "channel": channel, "order_no": str(order_no),
                    **order,
                })  # fmt: skip
    return _add_order_warts(rng, rows)


def _order(rng: random.Random, day: dt.date, channel: str, defect_return_p: float) -> Row:
    """What was ordered, at what price, and what happened to it (delivery, return)."""
    category = pick(rng, list(CATEGORIES), CATEGORY_WEIGHTS[channel])
    unit_price, cost_share = CATEGORIES[category]
    if channel == "b2b":
        items = round(rng.uniform(4, 20))
    else:
        items = 1 + int(rng.expovariate(1.6 if channel == "web" else 2.2))
    gross = unit_price * items * lognormal(rng, 1.0, 0.30)
    if channel == "b2b":
        discount_share = rng.uniform(0.10, 0.18)
    elif day.month == 11 and day.day >= 24:  # Black Friday week
        discount_share = rng.choice([0.20, 0.25, 0.30])
    elif channel == "web":
        discount_share = rng.choice([0.0, 0.0, 0.0, 0.05, 0.10, 0.15])
    else:
        discount_share = rng.choice([0.0, 0.0, 0.0, 0.0, 0.0, 0.10])
    discount = gross * discount_share
    # the cheap supplier lowers the cost of goods a little (and raises defects, see below)
    cost = gross * cost_share * (1.0 - 0.06 * cheap_supplier_share(day)) * lognormal(rng, 1, 0.05)

    status, reason = "completed", ""
    promised = day + dt.timedelta({"web": 4, "b2b": 10, "retail": 0}[channel])
    delivered: dt.date | None = None
    returned: dt.date | None = None
    if rng.random() < {"web": 0.035, "retail": 0.004, "b2b": 0.03}[channel]:
        status = "cancelled"
    else:
        arrival = day  # retail customers take their goods home
        if channel != "retail":
            peak_delay = 0.6 if day.month in (11, 12) else 0.0
            mean, spread = {"web": (3.0, 1.0), "b2b": (8.5, 1.6)}[channel]
            arrival = day + dt.timedelta(max(1, round(rng.gauss(mean + peak_delay, spread))))
        other_return_p = {"web": 0.075, "retail": 0.030, "b2b": 0.012}[channel]
        if category in ("Footwear", "Apparel"):
            other_return_p *= 1.6
        draw = rng.random()
        if draw < defect_return_p + other_return_p:
            back = arrival + dt.timedelta(rng.randint(2, 26))
            if back <= END:  # otherwise not returned yet when the data was extracted
                status, returned = "returned", back
                if draw < defect_return_p:
                    reason = "defect"
                else:
                    reason = pick(rng, RETURN_REASONS, RETURN_REASON_WEIGHTS)
        delivered = arrival if arrival <= END else None  # otherwise still in transit
    return {
        "region": pick(rng, REGIONS, REGION_WEIGHTS), "product_category": category,
        "amount": money(gross - discount), "cost": money(cost), "discount": money(discount),
        "status": status, "returned_date": iso(returned), "delivered_date": iso(delivered),
        "promised_date": iso(promised), "return_reason": reason,
    }  # fmt: skip


def _add_order_warts(rng: random.Random, rows: list[Row]) -> list[Row]:
    """Add the documented data-quality warts to clean order rows.

    ~1 % of web/retail orders lose their customer_id (and so their order_no); web orders
    imported 2025-04-14..16 say 'Web'; 12 refund corrections with negative amounts; three
    retail order dates typed as 2027 instead of 2026; 8 order rows exported twice.
    """
    for row in rows:
        if row["channel"] != "b2b" and rng.random() < 0.01:
            row["customer_id"] = row["order_no"] = ""
        if row["channel"] == "web" and "2025-04-14" <= row["order_date"] <= "2025-04-16":
            row["channel"] = "Web"

    corrections = []
    latest = iso(END - dt.timedelta(60))  # so that every correction falls inside the data
    completed = [
        row for row in rows if row["status"] == "completed" and row["customer_id"] and row["order_date"] <= latest
    ]
    for _ in range(12):
        original = rng.choice(completed)
        when = dt.date.fromisoformat(original["order_date"]) + dt.timedelta(rng.randint(20, 60))
        refund = -round(float(original["amount"]) * rng.choice([0.10, 0.20, 0.25, 0.50]), 2)
        correction = dict.fromkeys(TABLE_COLUMNS["orders"], "")
        correction.update({
            "order_date": iso(when), "amount": money(refund), "cost": "0.00",
            "discount": "0.00", "status": "completed",
        })  # fmt: skip
        for column in ("customer_id", "channel", "region", "product_category"):
            correction[column] = original[column]
        corrections.append(correction)
    corrections.sort(key=lambda row: row["order_date"])
    for number, row in enumerate(corrections, start=1):
        row["order_id"] = f"NW-C{number:04d}"
    rows = sorted(rows + corrections, key=lambda row: row["order_date"])

    early_2026_retail = [
        row for row in rows if row["channel"] == "retail" and "2026-01" <= row["order_date"] < "2026-04"
    ]
    for row in rng.sample(early_2026_retail, 3):
        row["order_date"] = "2027" + row["order_date"][4:]
    for row in rng.sample(rows, 8):
        rows.insert(rows.index(row) + 1, dict(row))
    return rows


def make_web_sessions(rng: random.Random, orders: list[Row]) -> list[Row]:
    """Web-shop sessions: every web order comes from one converted session.

    Non-converting sessions are drawn so that the conversion rate is ~3.3 %, rising to
    ~3.9 % after the checkout redesign of September 2025, and 8 % higher in Nov/Dec.
    """
    web_orders: dict[str, set[str]] = defaultdict(set)
    for order in orders:
        if order["channel"].lower() == "web" and not order["order_id"].startswith("NW-C"):
            web_orders[order["order_date"]].add(order["order_id"])
    converting_mix = [s * c for s, c in zip(SESSION_TRAFFIC_SHARE, SESSION_CONVERSION, strict=False)]
    rows: list[Row] = []
    for day in days():
        rate = (0.033 if month_key(day) < "2025-09" else 0.039) * (1.08 if day.month >= 11 else 1.0)
        bouncing_mix = [s * (1.0 - rate * c) for s, c in zip(SESSION_TRAFFIC_SHARE, SESSION_CONVERSION, strict=False)]
        sessions = [
            (pick(rng, SESSION_CHANNELS, converting_mix), order_id) for order_id in sorted(web_orders[iso(day)])
        ]
        for _ in range(poisson(rng, expected_web_orders(day) * (1.0 - rate) / rate)):
            sessions.append((pick(rng, SESSION_CHANNELS, bouncing_mix), ""))
        rng.shuffle(sessions)
        for channel, order_id in sessions:
            pages = 4 + int(rng.expovariate(0.18)) if order_id else 1 + int(rng.expovariate(0.45))
            rows.append({
                "session_id": f"S-{len(rows) + 1:07d}", "session_date": iso(day), "channel": channel,
                "device": pick(rng, DEVICES, DEVICE_WEIGHTS), "pages_viewed": str(pages),
                "converted": "1" if order_id else "0", "order_id": order_id,
            })  # fmt: skip
    return rows


def make_leads(rng: random.Random) -> list[Row]:
    """B2B leads and the deals that grow out of them, from the CRM.

    Lead volume follows the marketing calendar (``CAMPAIGNS``); ~42 % of leads become
    marketing-qualified (MQL) within three weeks; ~30 % of MQLs are won about 60 days
    after qualifying, so MQLs in one month show up as won deals two months later; ~55 %
    are lost, the rest stall. Unqualified leads are closed as lost after one to two months.
    Stages are as of the extract date (later events have not happened yet).
    """
    rows: list[Row] = []
    for key, campaign in CAMPAIGNS.items():
        first = dt.date(int(key[:4]), int(key[5:]), 1)
        last = (first + dt.timedelta(32)).replace(day=1) - dt.timedelta(1)
        fair_month, webinar_month = first.month in (1, 6), first.month in (3, 9)
        source_weights = [30 if fair_month else 4, 26, 22 if webinar_month else 5, 14, 18, 10]
        count = poisson(rng, 205 * (1.0 + 0.10 * years_since_start(first)) * campaign)
        for created in sorted(rng.choice(days(first, last)) for _ in range(count)):
            mql = created + dt.timedelta(rng.randint(2, 21))
            row = dict.fromkeys(TABLE_COLUMNS["leads"], "")
            row.update({
                "lead_id": f"L-{len(rows) + 1:05d}", "created_date": iso(created),
                "source": pick(rng, LEAD_SOURCES, source_weights), "is_mql": "0", "stage": "open",
            })  # fmt: skip
            if rng.random() < 0.42 and mql <= END:
                value = round(lognormal(rng, 9000, 0.6), -1)
                row.update(
                    is_mql="1",
                    mql_date=iso(mql),
                    sales_rep=rng.choice(SALES_REPS),
                    deal_value=money(value),
                )
                outcome = rng.random()
                if outcome < 0.30:
                    won = mql + dt.timedelta(max(21, round(rng.gauss(60, 8))))
                    if won <= END:
                        row.update(stage="won", won_date=iso(won))
                elif outcome < 0.85:
                    lost = mql + dt.timedelta(rng.randint(14, 120))
                    if lost <= END:
                        row.update(stage="lost", lost_date=iso(lost))
            else:
                lost = created + dt.timedelta(rng.randint(25, 60))
                if lost <= END:
                    row.update(stage="lost", lost_date=iso(lost))
            rows.append(row)
    return rows


def make_support_tickets(rng: random.Random, orders: list[Row], defect_rate: dict[str, float]) -> list[Row]:
    """Help-desk tickets, about one per two shipped (web/B2B) orders plus a few from stores.

    The time to first response depends on how stretched the team is that month
    (``SERVICE_PRESSURE_BY_MONTH``, ``SERVICE_EVENTS``); customers who waited longer give
    lower CSAT. Only ~45 % of resolved tickets are rated. The share of 'product defect'
    tickets follows the incoming defect rate. ~1 % of tickets were closed without a first
    response being logged (empty ``first_response_at``).
    """
    shipped = Counter(o["order_date"] for o in orders if o["channel"] in ("web", "Web", "b2b"))
    retail = Counter(o["order_date"] for o in orders if o["channel"] == "retail")
    end_of_extract = dt.datetime.combine(END, dt.time(23, 59, 59))
    tickets = []
    for day in days():
        key = month_key(day)
        pressure = SERVICE_PRESSURE_BY_MONTH.get(day.month, 1.0) * SERVICE_EVENTS.get(key, 1.0)
        category_weights = [30, 20, 22, 100 * (0.02 + 2.0 * defect_rate[key]), 10, 8]
        recent = sum(shipped[iso(day - dt.timedelta(lag))] for lag in range(2, 6)) / 4.0
        for _ in range(poisson(rng, 0.6 * recent + 0.04 * retail[iso(day)] + 1.0)):
            hour = pick(rng, list(range(24)), TICKET_HOUR_WEIGHTS)
            opened = dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59)))
            channel = pick(rng, list(TICKET_CHANNELS), TICKET_CHANNEL_WEIGHTS)
            category = pick(rng, TICKET_CATEGORIES, category_weights)
            wait = lognormal(rng, 70.0 * pressure * TICKET_CHANNELS[channel], 0.8)  # minutes
            responded = opened + dt.timedelta(minutes=max(1, round(wait)))
            first_contact = rng.random() < FIRST_CONTACT_RESOLUTION.get(category, 0.72)
            median_handle = HANDLE_MINUTES[channel] + (5 if category == "product defect" else 0)
            handle = max(2, round(lognormal(rng, median_handle, 0.45)))
            to_resolve = handle if first_contact else round(lognormal(rng, 1200, 0.9))
            resolved = responded + dt.timedelta(minutes=to_resolve)
            csat = ""
            if resolved <= end_of_extract and rng.random() < 0.45:
                mean = 4.85 - 0.55 * math.log2(1.0 + wait / 60.0) - (0.0 if first_contact else 0.35)
                mean -= 0.4 if category == "product defect" else 0.0
                csat = str(min(5, max(1, round(rng.gauss(mean, 0.75)))))
            response_logged = responded <= end_of_extract and rng.random() >= 0.01
            tickets.append((opened, {
                "opened_at": iso(opened), "first_response_at": iso(responded) if response_logged else "",
                "resolved_at": iso(resolved) if resolved <= end_of_extract else "",
                "channel": channel, "category": category, "handle_minutes": str(handle),
                "resolved_first_contact": "1" if first_contact else "0", "csat": csat,
            }))  # fmt: skip
    tickets.sort(key=lambda ticket: ticket[0])
    return [{"ticket_id": f"T-{n:06d}", **row} for n, (_, row) in enumerate(tickets, start=1)]


def make_survey_responses(rng: random.Random, orders: list[Row]) -> list[Row]:
    """NPS survey answers: ~14 % of delivered web/retail orders with a known customer answer.

    Late deliveries and defect returns pull the score down, and those customers mention
    delivery or product quality.
    """
    answers, seen = [], set()
    for order in orders:
        delivered = order["delivered_date"]
        if order["channel"] not in ("web", "retail") or not order["customer_id"] or not delivered:
            continue
        if order["order_id"] in seen:  # an order exported twice gets one survey
            continue
        seen.add(order["order_id"])
        if rng.random() >= 0.14:
            continue
        answered = dt.date.fromisoformat(delivered) + dt.timedelta(rng.randint(5, 20))
        if answered > END:
            continue
        late = delivered > order["promised_date"]
        defect = order["return_reason"] == "defect"
        score = min(10, max(0, round(rng.gauss(8.4, 1.8) - 2.0 * late - 4.0 * defect)))
        if defect:
            topic = "product quality"
        elif late and rng.random() < 0.6:
            topic = "delivery"
        else:
            topic = pick(rng, SURVEY_TOPICS, SURVEY_TOPIC_WEIGHTS)
        answers.append((answered, order["customer_id"], score, topic))
    answers.sort(key=lambda answer: answer[0])
    return [
        {"response_id": f"R-{n:05d}", "response_date": iso(day), "customer_id": customer,
         "nps_score": str(score), "comment_topic": topic}
        for n, (day, customer, score, topic) in enumerate(answers, start=1)
    ]  # fmt: skip


def make_machine_log(rng: random.Random) -> list[Row]:
    """Daily log of the six warehouse machines (MES), Monday to Saturday.

    Two shifts on weekdays, one on Saturdays, an extra half shift in November and December;
    run hours fall short of planned hours through changeovers and occasional breakdowns,
    a little less so after the preventive-maintenance programme of February 2026.
    """
    rows: list[Row] = []
    for day in days():
        if day.weekday() == 6:
            continue
        planned = (8.0 if day.weekday() == 5 else 16.0) + (4.0 if day.month in (11, 12) else 0.0)
        maintenance_programme = 0.02 if day >= dt.date(2026, 2, 1) else 0.0
        load = min(1.0, 0.55 + 0.35 * demand(day))
        for machine, units_per_hour in MACHINES.items():
            availability = min(0.98, rng.gauss(0.85 + maintenance_programme, 0.04))
            if rng.random() < 0.02:  # breakdown
                availability = rng.uniform(0.15, 0.5)
            run = round(planned * availability * 4) / 4
            units = round(run * units_per_hour * load * lognormal(rng, 1.0, 0.05))
            rows.append({
                "log_date": iso(day), "machine_id": machine, "planned_hours": f"{planned:.1f}",
                "run_hours": f"{run:.2f}", "units_processed": str(units),
            })  # fmt: skip
    return rows


# ---------------------------------------------------------------------------- output


def generate() -> dict[str, list[Row]]:
    """Build every table in memory, in dependency order."""
    purchases = make_purchases(table_rng("purchases"))
    defect_rate = monthly_defect_rate(purchases)
    orders = make_orders(table_rng("orders"), defect_rate)
    return {
        "orders": orders,
        "web_sessions": make_web_sessions(table_rng("web_sessions"), orders),
        "leads": make_leads(table_rng("leads")),
        "support_tickets": make_support_tickets(table_rng("support_tickets"), orders, defect_rate),
        "survey_responses": make_survey_responses(table_rng("survey_responses"), orders),
        "purchases": purchases,
        "machine_log": make_machine_log(table_rng("machine_log")),
    }


def write_tables(tables: dict[str, list[Row]], out: Path) -> None:
    """Write one CSV per table (UTF-8, ``\\n`` line ends, header row first)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        with open(out / f"{name}.csv", "w", encoding="utf-8", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=TABLE_COLUMNS[name], lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    """Command line: generate the tables, write them and print the row count of each."""
    parser = argparse.ArgumentParser(description="Generate the Northwind Outfitters sample data as CSV files.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: sample_data/data)")
    args = parser.parse_args(argv)
    tables = generate()
    write_tables(tables, args.out)
    for name, rows in tables.items():
        print(f"{name:<18} {len(rows):>8,} rows")
    print(f"{'total':<18} {sum(len(rows) for rows in tables.values()):>8,} rows -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
