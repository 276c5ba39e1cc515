"""The KPI template library: content rules, formulas that parse and run, render, search."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from importlib import resources
from typing import Any

import duckdb
import pytest
import sqlglot
from pydantic import ValidationError
from sqlglot import exp

from kpi_model.errors import KpiWizardError
from kpi_model.library import (
    DUCKDB_KEYWORDS,
    Template,
    TemplateError,
    check_library,
    get_template,
    load_templates,
    parse_templates,
    quote_column,
    search_templates,
    template_ids,
)
from kpi_model.models import KPI_ID_PATTERN, Category, Kind, Kpi, Measure

TEMPLATES = load_templates()
IDS = [t.id for t in TEMPLATES]
BY_ID = {t.id: t for t in TEMPLATES}

REQUIRED_IDS = """
revenue gross_margin net_profit_margin operating_cash_flow roi roas cost_per_lead
customer_acquisition_cost customer_lifetime_value average_order_value purchase_price_savings
cost_of_goods_sold conversion_rate repeat_purchase_rate customer_retention_rate churn_rate
net_revenue_retention nps csat customer_effort_score first_response_time
first_contact_resolution average_handle_time return_rate on_time_delivery cycle_time
throughput asset_utilisation defect_rate inventory_turnover inventory_level
order_fulfilment_rate mqls sqls pipeline_velocity win_rate sales_cycle_length
activation_rate sessions page_views registered_users_total social_followers app_downloads
email_open_rate click_through_rate employee_turnover employee_engagement time_to_hire
absenteeism_rate training_hours_per_employee revenue_per_employee
""".split()

VANITY_IDS = ["page_views", "registered_users_total", "social_followers", "app_downloads"]
SURVEY_IDS = ["nps", "csat", "customer_effort_score", "employee_engagement"]

# SQL type of every role used by the library. A new template whose role is missing here
# fails test_every_role_has_a_test_type: add the role with the type a real column has.
_TYPES_BY_ROLE = {
    "DATE": """date paid_date due_date promised_date start_date order_date created_date
        opened_date termination_date expected_date received_date""",
    "TIMESTAMP": "created_at first_response_at resolved_at",
    "INTEGER": "order_number page_count",
    "BOOLEAN": """accepted activated aware churned complained completed has_left internal_candidate
        on_contract opened passed_first_time resolved_first_contact vacant won
        viewed_product added_to_cart started_checkout ordered returned used_coupon picked_correctly
        backordered referred""",
    "VARCHAR": """cash_flow_type customer_id employee_id hire_id item_id lead_id new_customer_id
        offer_id opportunity_id order_id position_id session_id ticket_id user_id
        purchase_order_id order_line_id failure_id""",
    "DOUBLE": """absence_hours actual amount attributed_revenue available_hours baseline_price
        budget clicks cogs contracted_hours defective_quantity discount downloads ending_revenue
        follower_count gain gross_profit hold_seconds hours_worked impressions inventory_value
        investment list_price_amount lost_time_injuries on_hand_quantity operating_expense
        ordered_quantity overtime_hours process_cost quantity recruiting_cost returned_quantity
        revenue rework_cost run_hours scheduled_hours score scrap_cost shipped_quantity spend
        starting_revenue talk_seconds order_value refund_amount total_cost training_hours unit_price wrap_up_seconds""",
}
ROLE_TYPES = {role: sql_type for sql_type, roles in _TYPES_BY_ROLE.items() for role in roles.split()}

_SAMPLE_VALUES: dict[str, list[Any]] = {
    "DATE": ["2025-01-03", "2025-01-20", "2025-02-11", None],
    "TIMESTAMP": ["2025-01-03 08:00:00", "2025-01-03 17:30:00", "2025-02-11 09:15:00", None],
    "INTEGER": [1, 2, 1, 3],
    "BOOLEAN": [True, False, True, None],
    "VARCHAR": ["operating", "b", "operating", "c"],
    "DOUBLE": [10.0, 25.5, 7.0, None],
}

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def _placeholders(sql: str | None) -> set[str]:
    return set(_PLACEHOLDER.findall(sql or ""))


def _dummy(sql: str) -> str:
    """Replace every ``{role}`` with a column name such as ``c_role``."""
    return _PLACEHOLDER.sub(lambda m: f"c_{m.group(1)}", sql)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def _rotate(values: list[Any], by: int) -> list[Any]:
    by %= len(values)
    return values[by:] + values[:by]


def _parse_single(sql: str) -> Any:
    statements = sqlglot.parse(sql, read="duckdb")
    assert len(statements) == 1 and statements[0] is not None, f"not a single expression: {sql}"
    return statements[0]


def _has_aggregate(node: exp.Expression) -> bool:
    return any(True for _ in node.find_all(exp.AggFunc, exp.Count))


# ---------------------------------------------------------------------------- content


def test_size_and_categories() -> None:
    counts = Counter(t.category for t in TEMPLATES)
    assert len(TEMPLATES) >= 110
    for category in Category:
        assert counts[category] >= 10, f"only {counts[category]} {category.value} templates"


def test_ids_unique_and_well_formed() -> None:
    assert len(IDS) == len(set(IDS)), [i for i, n in Counter(IDS).items() if n > 1]
    for template_id in IDS:
        assert re.fullmatch(KPI_ID_PATTERN, template_id), template_id
    assert template_ids() == IDS


@pytest.mark.parametrize("template_id", REQUIRED_IDS)
def test_required_id_exists(template_id: str) -> None:
    assert template_id in BY_ID


def test_each_file_holds_its_own_category() -> None:
    folder = resources.files("kpi_model.library").joinpath("templates")
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".yaml"))
    assert names == sorted(f"{c.value}.yaml" for c in Category)
    for name in names:
        templates = parse_templates(folder.joinpath(name).read_text(encoding="utf-8"), filename=name)
        assert {t.category.value for t in templates} == {name.removesuffix(".yaml")}


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_partners_exist_and_have_opposite_kind(template: Template) -> None:
    for partner in template.partners:
        assert partner in BY_ID, f"{template.id}: unknown partner {partner}"
        assert partner != template.id
        assert BY_ID[partner].kind != template.kind, f"{template.id} and {partner} are both {template.kind}"


def test_most_templates_have_partners() -> None:
    without = [t.id for t in TEMPLATES if not t.partners]
    assert not without, f"templates without partners: {without}"


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_expression_is_one_aggregate(template: Template) -> None:
    sql = _dummy(template.expression)
    node = _parse_single(sql)
    assert _has_aggregate(node), f"{template.id}: expression has no aggregate function"
    select = _parse_single(f"SELECT {sql} AS value FROM t")
    assert isinstance(select, exp.Select) and len(select.expressions) == 1


@pytest.mark.parametrize("template", [t for t in TEMPLATES if t.filter], ids=lambda t: t.id)
def test_filter_is_a_row_condition(template: Template) -> None:
    assert template.filter is not None
    node = _parse_single(_dummy(template.filter))
    # The filter goes into WHERE, where an aggregate is not allowed.
    assert not _has_aggregate(node), f"{template.id}: filter contains an aggregate"
    _parse_single(f"SELECT count(*) FROM t WHERE {_dummy(template.filter)}")


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_roles_match_placeholders(template: Template) -> None:
    used = _placeholders(template.expression) | _placeholders(template.filter)
    assert "date" in template.roles
    assert used <= set(template.roles)
    assert set(template.roles) - {"date"} <= used
    assert all(description.strip() for description in template.roles.values())


@pytest.mark.parametrize("template", [t for t in TEMPLATES if t.decomposes_into], ids=lambda t: t.id)
def test_decomposition_uses_template_ids(template: Template) -> None:
    assert template.decomposes_into is not None
    node = _parse_single(template.decomposes_into)
    names = {column.name for column in node.find_all(exp.Column)}
    assert names, f"{template.id}: decomposes_into names no template"
    assert names <= set(IDS), f"{template.id}: unknown ids {names - set(IDS)}"
    assert template.id not in names


def test_revenue_decomposes_into_non_monetary_drivers() -> None:
    assert BY_ID["revenue"].decomposes_into == "sessions * conversion_rate * average_order_value"


@pytest.mark.parametrize("template_id", [*VANITY_IDS, "email_open_rate", "sessions"])
def test_vanity_metrics_carry_a_warning(template_id: str) -> None:
    assert (BY_ID[template_id].vanity_risk or "").strip()


@pytest.mark.parametrize("template_id", SURVEY_IDS)
def test_survey_templates_are_qualitative(template_id: str) -> None:
    template = BY_ID[template_id]
    assert template.measure is Measure.QUALITATIVE
    assert template.scale


def test_meaningful_partner_pairs() -> None:
    assert BY_ID["first_response_time"].kind is Kind.LEADING
    assert {"csat", "churn_rate"} <= set(BY_ID["first_response_time"].partners)
    assert {"win_rate", "revenue"} <= set(BY_ID["mqls"].partners)


# ------------------------------------------------------------------- formulas that run


def test_every_role_has_a_test_type() -> None:
    roles = {role for t in TEMPLATES for role in t.roles}
    missing = sorted(roles - set(ROLE_TYPES))
    assert not missing, f"add these roles to ROLE_TYPES in tests/test_library.py: {missing}"


@pytest.fixture(scope="module")
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    yield con
    con.close()


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_expression_executes_in_duckdb(template: Template, connection: duckdb.DuckDBPyConnection) -> None:
    roles = list(template.roles)
    columns = ", ".join(f"{quote_column(r)} {ROLE_TYPES[r]}" for r in roles)
    table = f"t_{template.id}"
    connection.execute(f"CREATE OR REPLACE TEMP TABLE {table} ({columns})")
    # Rotate each column's sample values so that two columns of one type differ (date spans > 0).
    samples = [_rotate(_SAMPLE_VALUES[ROLE_TYPES[r]], i) for i, r in enumerate(roles)]
    rows = list(zip(*samples, strict=True))
    connection.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' for _ in roles)})", rows)

    expression, row_filter = template.render({r: r for r in roles})
    where = f" WHERE {row_filter}" if row_filter else ""
    result = connection.execute(f"SELECT {expression} AS value FROM {table}{where}").fetchall()
    assert len(result) == 1, "an aggregate expression returns exactly one row"
    value = result[0][0]
    assert value is None or isinstance(value, int | float), f"{template.id} returned {value!r}"
    # Grouped by period, as the engine will run it.
    grouped = connection.execute(
        f"SELECT date_trunc('month', date) AS period, {expression} AS value FROM {table}{where} GROUP BY ALL"
    ).fetchall()
    assert grouped


def _value(con: duckdb.DuckDBPyConnection, template_id: str, table: str, **roles: str) -> Any:
    expression, row_filter = get_template(template_id).render(roles)
    return _scalar(con, f"SELECT {expression} FROM {table}" + (f" WHERE {row_filter}" if row_filter else ""))


def test_some_known_values(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE answers AS SELECT * FROM (VALUES "
        "(DATE '2025-01-01', 10, 5), (DATE '2025-01-02', 9, 4), "
        "(DATE '2025-01-03', 7, 3), (DATE '2025-01-04', 3, 1)) v(answered, nps_answer, csat_answer)"
    )
    # 2 promoters, 1 detractor of 4 answers -> 25
    assert _value(connection, "nps", "answers", date="answered", score="nps_answer") == 25.0
    assert _value(connection, "csat", "answers", date="answered", score="csat_answer") == 0.5

    connection.execute(
        "CREATE OR REPLACE TEMP TABLE orders AS SELECT * FROM (VALUES "
        "('o1', 'c1', 1, DATE '2025-01-05', DATE '2025-01-04'), "
        "('o2', 'c1', 2, DATE '2025-01-09', DATE '2025-01-10'), "
        "('o3', 'c2', 1, NULL, DATE '2025-01-10'), "
        "('o4', 'c3', 1, DATE '2025-01-08', DATE '2025-01-09')"
        ") v(order_ref, customer, order_no, delivered, promised)"
    )
    # c1 bought again; c2 and c3 did not
    assert _value(
        connection,
        "repeat_purchase_rate",
        "orders",
        date="delivered",
        customer_id="customer",
        order_number="order_no",
    ) == pytest.approx(1 / 3)
    # delivered: o1 late, o2 and o4 on time; undelivered o3 is left out by the filter
    assert _value(
        connection,
        "on_time_delivery",
        "orders",
        date="delivered",
        order_id="order_ref",
        promised_date="promised",
    ) == pytest.approx(2 / 3)
    assert (
        _value(
            connection,
            "new_customers",
            "orders",
            date="delivered",
            customer_id="customer",
            order_number="order_no",
        )
        == 3
    )


def test_keyword_list_matches_duckdb() -> None:
    rows = duckdb.execute(
        "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category <> 'unreserved'"
    ).fetchall()
    missing = {name for (name,) in rows} - DUCKDB_KEYWORDS
    assert not missing, f"add to DUCKDB_KEYWORDS: {sorted(missing)}"


# ---------------------------------------------------------------------------- render


def test_quote_column() -> None:
    assert quote_column("amount") == "amount"
    assert quote_column("Order Value") == '"Order Value"'
    assert quote_column("Amount") == '"Amount"'
    assert quote_column('say "hi"') == '"say ""hi"""'
    assert quote_column("order") == '"order"'  # reserved word
    assert quote_column("2024_sales") == '"2024_sales"'


def test_render_quotes_odd_names() -> None:
    expression, row_filter = get_template("average_order_value").render(
        {"date": "Order Date", "revenue": "Order Value", "order_id": "order"}
    )
    assert expression == 'sum("Order Value") / nullif(count(DISTINCT "order"), 0)'
    assert row_filter is None
    con = duckdb.connect()
    con.execute('CREATE TABLE t ("Order Value" DOUBLE, "order" VARCHAR)')
    con.execute("INSERT INTO t VALUES (10, 'a'), (30, 'a'), (20, 'b')")
    assert _scalar(con, f"SELECT {expression} FROM t") == pytest.approx(30.0)


def test_render_fills_filter() -> None:
    expression, row_filter = get_template("operating_cash_flow").render(
        {"date": "value_date", "amount": "Betrag", "cash_flow_type": "section"}
    )
    assert expression == 'sum("Betrag")'
    assert row_filter == "section = 'operating'"


def test_render_missing_role_names_it() -> None:
    template = get_template("gross_margin")
    with pytest.raises(TemplateError, match="'cogs'") as info:
        template.render({"date": "d", "revenue": "sales"})
    assert "'revenue'" not in str(info.value)
    with pytest.raises(TemplateError, match=r"'revenue'.*'cogs'"):
        template.render({"date": "d", "revenue": "  "})
    assert isinstance(info.value, KpiWizardError)


def test_to_kpi_with_roles() -> None:
    kpi = get_template("repeat_purchase_rate").to_kpi(
        "repeat_rate",
        goal="grow-repeat",
        roles={"date": "order_date", "customer_id": "customer_id", "order_number": "order_no"},
        source="orders",
        owner="Head of Sales",
    )
    assert isinstance(kpi, Kpi)
    Kpi.model_validate(kpi.model_dump())
    assert kpi.id == "repeat_rate"
    assert kpi.template == "repeat_purchase_rate"
    assert kpi.goal == "grow-repeat" and kpi.source == "orders" and kpi.owner == "Head of Sales"
    assert kpi.time_column == "order_date"
    assert kpi.expression is not None and "order_no > 1" in kpi.expression
    assert kpi.kind is Kind.LEADING and kpi.category is Category.CUSTOMER
    assert kpi.description == get_template("repeat_purchase_rate").definition


def test_to_kpi_draft_without_roles() -> None:
    kpi = get_template("nps").to_kpi()
    assert kpi.id == "nps" and kpi.template == "nps"
    assert kpi.expression is None and kpi.filter is None and kpi.time_column is None
    assert kpi.measure is Measure.QUALITATIVE and kpi.scale == "0-10"


def test_to_kpi_bad_id_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="Bad Id"):
        get_template("revenue").to_kpi("Bad Id")


# ---------------------------------------------------------------------------- search


def test_search_by_keyword() -> None:
    assert "average_order_value" in [t.id for t in search_templates("aov")]
    assert "average_order_value" in [t.id for t in search_templates("AOV")]
    assert search_templates("order value")[0].id == "average_order_value"


def test_search_ranks_name_matches_first() -> None:
    results = [t.id for t in search_templates("churn")]
    assert results[0] == "churn_rate"
    assert "employee_turnover" in results  # through its keywords


def test_search_title_before_definition_only() -> None:
    results = search_templates("cash")
    assert results[0].id == "operating_cash_flow"
    title_hits = [t for t in results if "cash" in t.search_text()[0]]
    assert results[: len(title_hits)] == title_hits


def test_search_every_word_must_match() -> None:
    assert search_templates("revenue employee")[0].id == "revenue_per_employee"
    assert all("employee" in " ".join(t.search_text()) for t in search_templates("revenue employee"))


def test_search_filters() -> None:
    people = search_templates(category=Category.PEOPLE)
    assert people and all(t.category is Category.PEOPLE for t in people)
    assert search_templates(category="people") == people
    leading = search_templates(kind="Leading")
    assert leading and all(t.kind is Kind.LEADING for t in leading)
    assert len(search_templates()) == len(TEMPLATES)
    rate_lagging_customer = search_templates("rate", category="customer", kind=Kind.LAGGING)
    assert rate_lagging_customer
    assert all(t.category is Category.CUSTOMER and t.kind is Kind.LAGGING for t in rate_lagging_customer)


def test_search_unknown_text_and_bad_filter() -> None:
    assert search_templates("zzzz quux") == []
    with pytest.raises(TemplateError, match="did you mean 'people'"):
        search_templates(category="peple")


def test_get_template_suggests() -> None:
    assert get_template("revenue").name == "Revenue"
    with pytest.raises(TemplateError, match="did you mean 'revenue'"):
        get_template("revenu")


def test_templates_are_read_only() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        get_template("revenue").name = "Changed"  # type: ignore[misc]


# ------------------------------------------------------------------ broken library files

_GOOD = """
- id: widgets
  name: Widgets
  definition: Widgets made.
  category: process
  kind: lagging
  direction: up
  unit_of_measure: count
  cadence: weekly
  expression: "sum({widgets})"
  roles: {date: day, widgets: widgets made}
"""


def test_parse_good_file() -> None:
    (template,) = parse_templates(_GOOD, filename="extra.yaml")
    assert template.id == "widgets" and template.used_roles() == ["widgets"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- id: [unclosed", "not valid YAML"),
        ("id: widgets", "expected a list"),
        (
            _GOOD.replace("cadence: weekly", "cadence: weekly\n  colour: blue"),
            "unknown key 'colour'",
        ),
        (_GOOD.replace("category: process", "category: proces"), "did you mean 'process'"),
        (_GOOD.replace('"sum({widgets})"', '"sum({widgets}) / sum({gadgets})"'), "gadgets"),
        (_GOOD.replace("widgets: widgets made", "widgets: made, spare: unused"), "spare"),
        (_GOOD.replace("date: day, ", ""), "'date'"),
        (_GOOD.replace("id: widgets", "id: Widgets"), "Widgets"),
    ],
)
def test_broken_file_names_file_and_problem(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        parse_templates(text, filename="broken.yaml")
    assert "broken.yaml" in str(info.value)
    assert message in str(info.value)


def _with(**changes: object) -> Template:
    (template,) = parse_templates(_GOOD, filename="extra.yaml")
    return template.model_copy(update=changes)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (_with(partners=["throughputt"]), "did you mean 'throughput'"),
        (_with(partners=["throughput"]), "opposite kind"),
        (_with(id="revenue"), "duplicate template id 'revenue'"),
        (_with(decomposes_into="sessions * conversion_rat"), "conversion_rat"),
        (_with(decomposes_into="widgets * 2"), "cannot use the template itself"),
    ],
)
def test_library_references_checked(extra: Template, message: str) -> None:
    check_library([*TEMPLATES, _with()])  # the good one passes
    with pytest.raises(TemplateError, match=re.escape(message)):
        check_library([*TEMPLATES, extra], {extra.id: "extra.yaml"})


def test_hyphens_and_phrases_search_alike():
    from kpi_model.library import search_templates

    assert search_templates("on time")[0].id == search_templates("on-time")[0].id == "on_time_delivery"


FUNNEL_STEPS = ["sessions", "product_views", "add_to_cart_sessions", "checkouts_started", "orders_placed"]
FUNNEL_RATES = [
    "product_view_rate",
    "add_to_cart_rate",
    "product_view_to_cart_rate",
    "cart_to_checkout_rate",
    "checkout_conversion_rate",
    "cart_abandonment_rate",
    "checkout_abandonment_rate",
]


@pytest.mark.parametrize("template_id", FUNNEL_STEPS + FUNNEL_RATES + ["revenue_per_session"])
def test_funnel_set_is_searchable_and_paired(template_id: str) -> None:
    template = BY_ID[template_id]
    assert "e-commerce funnel" in template.keywords
    assert template.partners


def test_funnel_values_on_a_known_session_table(connection: duckdb.DuckDBPyConnection) -> None:
    # 10 sessions: 6 view a product, 4 add to cart (3 of them after a product view), 3 start the
    # checkout, 2 order (both from a checkout).
    rows = [
        (1, True, True, True, True),
        (2, True, True, True, True),
        (3, True, True, True, False),
        (4, False, True, False, False),
        (5, True, False, False, False),
        (6, True, False, False, False),
        (7, True, False, False, False),
        (8, False, False, False, False),
        (9, False, False, False, False),
        (10, False, False, False, False),
    ]
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE visits "
        "(day DATE, visit INTEGER, pdp BOOLEAN, cart BOOLEAN, co BOOLEAN, paid BOOLEAN)"
    )
    connection.executemany("INSERT INTO visits VALUES (DATE '2025-03-01', ?, ?, ?, ?, ?)", rows)
    roles = {
        "date": "day",
        "session_id": "visit",
        "viewed_product": "pdp",
        "added_to_cart": "cart",
        "started_checkout": "co",
        "ordered": "paid",
    }

    def value(template_id: str) -> Any:
        template = BY_ID[template_id]
        return _value(connection, template_id, "visits", **{r: roles[r] for r in template.roles})

    assert [value(i) for i in ["product_views", "add_to_cart_sessions", "checkouts_started"]] == [6, 4, 3]
    assert value("product_view_rate") == pytest.approx(0.6)
    assert value("add_to_cart_rate") == pytest.approx(0.4)
    assert value("product_view_to_cart_rate") == pytest.approx(3 / 6)
    assert value("cart_to_checkout_rate") == pytest.approx(3 / 4)
    assert value("checkout_conversion_rate") == pytest.approx(2 / 3)
    assert value("cart_abandonment_rate") == pytest.approx(2 / 4)
    assert value("checkout_abandonment_rate") == pytest.approx(1 / 3)


# ------------------------------------------------------------ roles that take a condition


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_condition_roles_are_the_true_false_roles(template: Template) -> None:
    true_false = {role for role in template.used_roles() if ROLE_TYPES[role] == "BOOLEAN"}
    assert set(template.condition_roles()) == true_false


@pytest.mark.parametrize("template", [t for t in TEMPLATES if t.condition_roles()], ids=lambda t: t.id)
def test_expression_executes_with_conditions_for_its_true_false_roles(
    template: Template, connection: duckdb.DuckDBPyConnection
) -> None:
    # As the wizard builds it: a text column and "column = 'yes'" in place of each true/false column.
    from kpi_model.conditions import condition_sql

    flags = template.condition_roles()
    columns = [r for r in template.roles if r not in flags]
    # (name, SQL type, sample values) per column of the table.
    table_columns = [(r, ROLE_TYPES[r], _SAMPLE_VALUES[ROLE_TYPES[r]]) for r in columns]
    table_columns += [(f"state of {f}", "VARCHAR", ["yes", "no", "yes", None]) for f in flags]
    table = f"c_{template.id}"
    declared = ", ".join(f"{quote_column(name)} {sql_type}" for name, sql_type, _ in table_columns)
    connection.execute(f"CREATE OR REPLACE TEMP TABLE {table} ({declared})")
    samples = [_rotate(values, i) for i, (_, _, values) in enumerate(table_columns)]
    rows = list(zip(*samples, strict=True))
    connection.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' for _ in table_columns)})", rows)
    conditions = {f: condition_sql(f"state of {f}", "=", "yes", "VARCHAR") for f in flags}
    expression, row_filter = template.render({r: r for r in columns}, conditions)
    assert all(f"({c})" in f"{expression} {row_filter}" for c in conditions.values())
    where = f" WHERE {row_filter}" if row_filter else ""
    value = _scalar(connection, f"SELECT {expression} FROM {table}{where}")
    assert value is None or isinstance(value, int | float)


def test_render_with_a_condition_for_won(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE deals AS SELECT * FROM (VALUES "
        "('d1', DATE '2025-01-02', DATE '2025-02-01'), ('d2', DATE '2025-01-05', NULL), "
        "('d3', DATE '2025-01-09', DATE '2025-01-30'), ('d4', DATE '2025-01-10', NULL)) v(deal, created, won_date)"
    )
    expression, _ = get_template("win_rate").render(
        {"date": "created", "opportunity_id": "deal"}, {"won": "won_date IS NOT NULL"}
    )
    assert expression == (
        "count(DISTINCT deal) FILTER (WHERE (won_date IS NOT NULL)) / nullif(count(DISTINCT deal), 0)"
    )
    assert _scalar(connection, f"SELECT {expression} FROM deals") == pytest.approx(0.5)


def test_a_condition_for_a_column_role_is_refused() -> None:
    with pytest.raises(TemplateError, match=r"'opportunity_id' as a column.*pick a column"):
        get_template("win_rate").render({"date": "d", "won": "won"}, {"opportunity_id": "x = 1"})


def test_a_condition_role_without_column_or_condition_is_named() -> None:
    with pytest.raises(TemplateError, match="'won'"):
        get_template("win_rate").render({"date": "d", "opportunity_id": "deal"}, {"won": "  "})


def test_to_kpi_joins_only_rows_to_the_template_filter() -> None:
    kpi = get_template("on_time_delivery").to_kpi(
        roles={"date": "delivered", "order_id": "order_id", "promised_date": "promised"},
        only_rows="status = 'paid'",
    )
    assert kpi.filter == "(delivered IS NOT NULL) AND (status = 'paid')"
    plain = get_template("revenue").to_kpi(roles={"date": "d", "revenue": "amount"}, only_rows="status = 'paid'")
    assert plain.filter == "status = 'paid'"
