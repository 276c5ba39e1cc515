"""Hostile SQL: view sources that try to read outside the workspace, and text built to exhaust the checker.

Every hostile view is refused by :func:`validate_view` with a message that names a fix and, as the
second wall, does not leak the planted secret when its raw SQL runs anyway in a DuckDB connection locked
like the engine's. Texts nested or sized to make sqlglot (or DuckDB) recurse or crawl are refused before
sqlglot parses them, through the same door for every public function that takes user text.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from sqlglot.errors import ParseError

from kpi_model import formula
from kpi_model.engine import lock
from kpi_model.formula import (
    MAX_FORMULA_DEPTH,
    MAX_FORMULA_LENGTH,
    MAX_FORMULA_NODES,
    MAX_FORMULA_TREE_DEPTH,
    MAX_VIEW_DEPTH,
    MAX_VIEW_LENGTH,
    MAX_VIEW_NODES,
    MAX_VIEW_TABLES,
    MAX_VIEW_TREE_DEPTH,
    Compiler,
    FormulaError,
    FormulaLimitError,
    OverLimitError,
    check_aggregate,
    check_derived,
    check_filter,
    check_kpi_text,
    compile_sql,
    is_derived,
    parse,
    parse_tree,
    referenced_names,
    validate_view,
    view_tables,
)
from kpi_model.models import Kpi, Source, Workspace

from .hostile_support import Canary, names_a_fix

TABLES = {"orders", "leads"}


@pytest.fixture
def canary(tmp_path) -> Canary:
    return Canary(tmp_path / "outside")


@pytest.fixture
def locked(tmp_path):
    """A workspace database with its tables, locked the way the engine locks its connections."""
    folder = tmp_path / "workspace"
    folder.mkdir()
    connection = duckdb.connect(str(folder / "data.duckdb"))
    _create_tables(connection)
    lock(connection)
    yield connection
    connection.close()


def _create_tables(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(
        "CREATE TABLE orders AS SELECT range AS order_id, DATE '2024-01-01' + CAST(range AS INTEGER) AS order_date, "
        "range * 1.5 AS amount, CASE WHEN range % 2 = 0 THEN 'web' ELSE 'shop' END AS channel, "
        "range % 5 AS customer_id FROM range(20)"
    )
    connection.execute(
        "CREATE TABLE leads AS SELECT range AS lead_id, 'won' AS stage, range * 2.0 AS amount, "
        "DATE '2024-01-01' AS created FROM range(5)"
    )


def _run_raw(connection: duckdb.DuckDBPyConnection, sql: str, secret: str) -> tuple[object, str]:
    """Run SQL as written (no checks), with a DataFrame holding the secret in the calling frame: DuckDB's
    Python client would read it for a table of that name unless external access is off."""
    import pandas as pd

    leak = pd.DataFrame({"password": [secret]})  # noqa: F841 - bait for DuckDB's replacement scan
    try:
        return connection.execute(sql).fetchall(), ""
    except duckdb.Error as error:
        return None, str(error)


# ---------------------------------------------------------------------------- hostile views


def _secret(c: Canary) -> str:
    return str(c.secret_file)


def _other_db(c: Canary) -> str:
    return str(c.other_workspace / "data.duckdb")


FILES = r"never files or URLs|file path or URL"
KELVIN = "\u212a"  # Python's lower() makes it "k"; DuckDB does not
NOT_A_TABLE = "is not a table of this workspace"
STATEMENT = r"must be a SELECT|statement"

# (label, SQL for the canary, words the refusal must contain), all written before the checks existed.
HOSTILE_VIEWS: list[tuple[str, Callable[[Canary], str], str]] = [
    (
        "CTE in a subquery, its name read outside it",
        lambda c: (
            f'SELECT CAST(s.password AS INTEGER) FROM (WITH "{_secret(c)}" AS (SELECT 1 AS a) '
            f'SELECT a FROM "{_secret(c)}") x, "{_secret(c)}" s'
        ),
        FILES,
    ),
    (
        "CTE named like the file, read in its own body",
        lambda c: f'WITH "{_secret(c)}" AS (SELECT * FROM "{_secret(c)}") SELECT * FROM "{_secret(c)}"',
        FILES,
    ),
    (
        "CTE in one UNION branch, read in the other",
        lambda c: (
            f'(WITH "{_secret(c)}" AS (SELECT 1 AS password) SELECT * FROM "{_secret(c)}") '
            f'UNION ALL SELECT * FROM "{_secret(c)}"'
        ),
        FILES,
    ),
    (
        "CTE named like the other workspace's database",
        lambda c: f"WITH \"{_other_db(c)}\" AS (SELECT 1 AS password) SELECT * FROM '{_other_db(c)}'",
        FILES,
    ),
    (
        "Kelvin sign in the CTE name, ASCII k in the path",
        lambda c: (
            f'WITH "{_other_db(c).replace("k", KELVIN)}" AS (SELECT 1 AS password) SELECT * FROM "{_other_db(c)}"'
        ),
        FILES,
    ),
    (
        "CTE in a sibling subquery",
        lambda c: "SELECT * FROM (WITH s AS (SELECT * FROM orders) SELECT * FROM s) a, (SELECT * FROM s) b",
        "unknown table 's'",
    ),
    (
        "CTE read before it is defined",
        lambda c: "WITH a AS (SELECT * FROM b), b AS (SELECT * FROM orders) SELECT * FROM a",
        "unknown table 'b'",
    ),
    (
        "non-recursive CTE reading itself",
        lambda c: "WITH r AS (SELECT * FROM r) SELECT * FROM r",
        "unknown table 'r'",
    ),
    ("quoted path", lambda c: f'SELECT * FROM "{_secret(c)}"', FILES),
    ("string path", lambda c: f"SELECT * FROM '{_secret(c)}'", FILES),
    ("FROM-first string path", lambda c: f"FROM '{_secret(c)}'", FILES),
    ("TABLE path", lambda c: f'SELECT * FROM (TABLE "{_secret(c)}")', FILES),
    ("other workspace's database file", lambda c: f"SELECT * FROM '{_other_db(c)}'", FILES),
    ("joined path", lambda c: f'SELECT * FROM orders JOIN "{_secret(c)}" s ON true', FILES),
    ("UNION with a path", lambda c: f"SELECT 1 AS password UNION ALL SELECT * FROM '{_secret(c)}'", FILES),
    ("EXISTS over a path", lambda c: f"SELECT * FROM orders WHERE EXISTS (SELECT 1 FROM '{_secret(c)}')", FILES),
    ("IN over a path", lambda c: f"SELECT * FROM orders WHERE channel IN (SELECT password FROM '{_secret(c)}')", FILES),
    (
        "recursive CTE that joins a path",
        lambda c: (
            f"WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r, '{_secret(c)}' WHERE n < 3) "
            "SELECT * FROM r"
        ),
        FILES,
    ),
    (
        "CTE with column names over a path",
        lambda c: f'WITH t(p) AS (SELECT * FROM "{_secret(c)}") SELECT * FROM t',
        FILES,
    ),
    ("PIVOT over a path", lambda c: f"SELECT * FROM (PIVOT '{_secret(c)}' ON password)", FILES),
    (
        "comment hiding a path",
        lambda c: f"SELECT * FROM orders -- harmless\nUNION ALL BY NAME SELECT * FROM '{_secret(c)}'",
        FILES,
    ),
    ("parquet name that is no table", lambda c: 'SELECT * FROM "orders.parquet"', FILES),
    ("http URL", lambda c: "SELECT * FROM 'http://127.0.0.1:9/x.csv'", FILES),
    ("s3 URL", lambda c: "SELECT * FROM 's3://bucket/secret.parquet'", FILES),
    ("read_csv", lambda c: f"SELECT * FROM read_csv('{_secret(c)}')", NOT_A_TABLE),
    (
        "read_csv_auto in a CTE",
        lambda c: f"WITH a AS (SELECT * FROM read_csv_auto('{_secret(c)}')) SELECT * FROM a",
        NOT_A_TABLE,
    ),
    (
        "read_text in a scalar subquery",
        lambda c: f"SELECT (SELECT content FROM read_text('{_secret(c)}')) AS c",
        NOT_A_TABLE,
    ),
    ("read_text as a value", lambda c: f"SELECT read_text('{_secret(c)}') AS c", "not allowed"),
    ("read_blob", lambda c: f"SELECT * FROM read_blob('{_secret(c)}')", NOT_A_TABLE),
    ("read_parquet of the other database", lambda c: f"SELECT * FROM read_parquet('{_other_db(c)}')", NOT_A_TABLE),
    ("sniff_csv", lambda c: f"SELECT * FROM sniff_csv('{_secret(c)}')", NOT_A_TABLE),
    ("glob", lambda c: f"SELECT * FROM glob('{c.root}/*')", NOT_A_TABLE),
    ("query()", lambda c: f"SELECT * FROM query('SELECT * FROM read_csv(''{_secret(c)}'')')", NOT_A_TABLE),
    ("query_table()", lambda c: f"SELECT * FROM query_table('{_secret(c)}')", NOT_A_TABLE),
    ("range as a table", lambda c: "SELECT count(*) AS n FROM range(1000000)", NOT_A_TABLE),
    ("generate_series as a table", lambda c: "SELECT count(*) AS n FROM generate_series(1, 1000000)", NOT_A_TABLE),
    ("duckdb_tables()", lambda c: "SELECT * FROM duckdb_tables()", NOT_A_TABLE),
    ("duckdb_settings() in a subquery", lambda c: "SELECT (SELECT count(*) FROM duckdb_settings()) AS n", NOT_A_TABLE),
    ("pragma_table_info()", lambda c: "SELECT * FROM pragma_table_info('orders')", NOT_A_TABLE),
    ("getvariable() as a table", lambda c: "SELECT * FROM getvariable('x')", NOT_A_TABLE),
    ("other database's table", lambda c: f'SELECT * FROM "{_other_db(c)}".secret_table', "another database"),
    ("catalog.schema.table", lambda c: "SELECT * FROM other.main.secret_table", "another database"),
    ("information_schema", lambda c: "SELECT * FROM information_schema.tables", "another database"),
    ("schema-qualified own table", lambda c: "SELECT * FROM main.orders", "another database"),
    ("Python variable name", lambda c: "SELECT * FROM leak", "unknown table 'leak'"),
    ("DESCRIBE a path", lambda c: f"SELECT * FROM (DESCRIBE '{_secret(c)}')", "statement"),
    ("SUMMARIZE a path", lambda c: f"SELECT * FROM (SUMMARIZE '{_secret(c)}')", "not allowed in a view"),
    ("getenv", lambda c: "SELECT getenv('HOME') AS home", "not allowed"),
    ("current_setting", lambda c: "SELECT current_setting('home_directory') AS h", "not allowed"),
    ("lambda calling getenv", lambda c: "SELECT list_transform([1], x -> getenv('HOME')) AS h", "not allowed"),
    ("parameter", lambda c: "SELECT * FROM orders WHERE amount > $1", "parameters"),
    ("ATTACH", lambda c: f"ATTACH '{_other_db(c)}' AS o", STATEMENT),
    (
        "stacked ATTACH",
        lambda c: f"SELECT 1; ATTACH '{_other_db(c)}' AS o; SELECT * FROM o.secret_table",
        "3 statements",
    ),
    ("INSTALL", lambda c: "INSTALL httpfs", STATEMENT),
    ("LOAD", lambda c: "LOAD httpfs", STATEMENT),
    ("SET", lambda c: "SET enable_external_access = true", STATEMENT),
    ("PRAGMA", lambda c: "PRAGMA database_list", STATEMENT),
    ("CALL", lambda c: "CALL pragma_version()", STATEMENT),
    ("COPY out", lambda c: f"COPY (SELECT * FROM orders) TO '{c.root}/stolen.csv'", STATEMENT),
    ("COPY in", lambda c: f"COPY orders FROM '{_secret(c)}'", STATEMENT),
    ("EXPORT DATABASE", lambda c: f"EXPORT DATABASE '{c.root}/dump'", "does not parse"),
]


@pytest.mark.parametrize(("label", "sql_for", "words"), HOSTILE_VIEWS, ids=[case[0] for case in HOSTILE_VIEWS])
def test_hostile_view_is_refused_and_the_locked_engine_holds_anyway(canary, locked, label, sql_for, words):
    sql = sql_for(canary)
    with pytest.raises(FormulaError, match=words) as refused:
        validate_view(sql, TABLES)
    assert names_a_fix(str(refused.value)), str(refused.value)
    output, error = _run_raw(locked, sql, canary.token)
    canary.assert_untouched(refused.value, output, error)
    assert locked.execute("SELECT count(*) FROM orders").fetchone() == (20,), "the workspace's data is intact"


def test_the_raw_run_would_leak_without_the_lock(canary, tmp_path):
    """The canary and the bait are real: unlocked, DuckDB reads the file and the Python variable."""
    connection = duckdb.connect(str(tmp_path / "plain.duckdb"))
    assert canary.token in str(_run_raw(connection, f"SELECT * FROM '{canary.secret_file}'", canary.token))
    assert canary.token in str(_run_raw(connection, "SELECT * FROM leak", canary.token))


def test_there_are_enough_hostile_cases():
    assert len(HOSTILE_VIEWS) >= 30 and len(HOSTILE_NESTING) >= 10


# ---------------------------------------------------------------------------- scope of CTEs


# (view, the table it is refused for, or None when it passes): each accepted one also runs in DuckDB,
# each refused one fails in DuckDB because DuckDB, too, looks the name up as a table that does not exist.
SCOPES: list[tuple[str, str | None]] = [
    ("WITH orders AS (SELECT * FROM orders WHERE amount > 5) SELECT * FROM orders", None),
    ("WITH a AS (SELECT * FROM orders) SELECT * FROM (SELECT * FROM a) s", None),
    ("WITH a AS (SELECT * FROM orders) SELECT * FROM (WITH b AS (SELECT * FROM a) SELECT * FROM b) s", None),
    ("WITH a AS (SELECT * FROM orders) SELECT * FROM (WITH a AS (SELECT * FROM a) SELECT * FROM a) s", None),
    ("WITH a AS (SELECT * FROM orders), b AS (SELECT * FROM a WHERE amount > 5) SELECT * FROM b", None),
    ("WITH a AS (SELECT order_id FROM orders) SELECT * FROM a UNION ALL SELECT * FROM a", None),
    ("WITH a AS (SELECT * FROM orders) SELECT (SELECT max(amount) FROM a) AS top", None),
    (
        "WITH a AS (SELECT * FROM orders) "
        "SELECT * FROM orders o, LATERAL (SELECT * FROM a WHERE a.order_id = o.order_id)",
        None,
    ),
    ("WITH Recent AS (SELECT * FROM orders) SELECT * FROM RECENT", None),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r", None),
    (
        "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3), s AS (SELECT * FROM r) "
        "SELECT * FROM s",
        None,
    ),
    ("SELECT * FROM orders o WHERE EXISTS (SELECT 1 FROM leads l WHERE l.lead_id = o.customer_id)", None),
    ("SELECT * FROM (WITH a AS (SELECT * FROM orders) SELECT * FROM a) s, a", "a"),
    ("(WITH a AS (SELECT order_id FROM orders) SELECT * FROM a) UNION ALL SELECT * FROM a", "a"),
    ("SELECT * FROM (SELECT 1 AS n) a, LATERAL (SELECT * FROM a) l", "a"),
    ("WITH a AS (SELECT * FROM b), b AS (SELECT * FROM orders) SELECT * FROM a", "b"),
    ("WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT 1 AS n) SELECT * FROM a", "b"),
    ("WITH r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r", "r"),
    (
        "WITH a AS (WITH inner_cte AS (SELECT * FROM orders) SELECT * FROM inner_cte) SELECT * FROM inner_cte",
        "inner_cte",
    ),
    (
        "SELECT (SELECT count(*) FROM c) AS n FROM orders WHERE order_id IN (WITH c AS (SELECT 1) SELECT * FROM c)",
        "c",
    ),
    ('WITH "\u212a" AS (SELECT * FROM orders) SELECT * FROM k', "k"),
]


@pytest.mark.parametrize(("sql", "refused_for"), SCOPES)
def test_cte_names_are_resolved_by_scope_as_duckdb_does(sql, refused_for):
    connection = duckdb.connect()
    _create_tables(connection)
    if refused_for is None:
        normalised = validate_view(sql, TABLES)
        assert connection.execute(f"SELECT count(*) FROM ({normalised})").fetchone()[0] > 0
        assert view_tables(sql) <= TABLES
        return
    with pytest.raises(FormulaError, match=f"unknown table '{refused_for}'"):
        validate_view(sql, TABLES)
    with pytest.raises(duckdb.Error, match=r"does not exist|[Cc]ircular"):
        connection.execute(sql)
    assert refused_for in view_tables(sql)


def _random_view(rng: random.Random, names: list[str], cte_names: list[str], depth: int = 0) -> str:
    """A random query of CTEs (some recursive), unions, joins, LATERAL and EXISTS over the given names."""

    def relation(level: int) -> str:
        roll = rng.random()
        if level > 3 or roll < 0.45:
            return f"{rng.choice(names)} t{rng.randint(0, 99)}"
        if roll < 0.7:
            return f"({_random_view(rng, names, cte_names, level + 1)}) s{rng.randint(0, 99)}"
        if roll < 0.85:
            return f"{relation(level + 1)} CROSS JOIN {relation(level + 1)}"
        return (
            f"{relation(level + 1)}, LATERAL ({_random_view(rng, names, cte_names, level + 1)}) l{rng.randint(0, 99)}"
        )

    def select(level: int) -> str:
        sql = f"SELECT * FROM {relation(level)}"
        if rng.random() < 0.2:
            sql += f" WHERE EXISTS ({_random_view(rng, names, cte_names, level + 1)})"
        return sql

    roll = rng.random()
    if depth < 3 and roll < 0.35:
        recursive = "RECURSIVE " if rng.random() < 0.3 else ""
        bodies = [
            _random_view(rng, names, cte_names, depth + 1) if rng.random() < 0.6 else "SELECT 'cte' AS password"
            for _ in range(rng.randint(1, 3))
        ]
        ctes = ", ".join(f"{rng.choice(cte_names)} AS ({body})" for body in bodies)
        return f"WITH {recursive}{ctes} {_random_view(rng, names, cte_names, depth + 1)}"
    if depth < 3 and roll < 0.5:
        return f"{select(depth)} UNION ALL BY NAME {select(depth)}"
    if depth < 3 and roll < 0.6:
        inner = [_random_view(rng, names, cte_names, depth + 1) for _ in range(2)]
        return f"({inner[0]}) UNION ALL BY NAME ({inner[1]})"
    return select(depth)


def test_random_views_that_pass_never_read_outside(canary, tmp_path):
    """2,000 random shapes of CTEs, scopes and joins naming the secret file, the other database and CTEs
    named like them: whatever passes, run with no lock at all, never reads the secret."""
    connection = duckdb.connect(str(tmp_path / "unlocked.duckdb"))
    connection.execute("CREATE TABLE orders AS SELECT 'orders' AS password")
    secret, other = _secret(canary), _other_db(canary)
    names = ["orders", "ORDERS", '"orders"', "a", "b", "k", f'"{secret}"', f"'{secret}'", f"'{other}'"]
    names += [f'"{secret.upper()}"', f'"{other.replace("k", KELVIN)}"']
    cte_names = ["a", "b", "orders", "A", f'"{KELVIN}"', f'"{secret}"', f'"{other.replace("k", KELVIN)}"']
    rng = random.Random(20261205)
    accepted = 0
    for _ in range(2_000):
        sql = _random_view(rng, names, cte_names)
        try:
            normalised = validate_view(sql, {"orders"})
        except FormulaError:
            continue
        accepted += 1
        for runnable in (normalised, sql):
            try:
                result: object = connection.execute(runnable).fetchall()
            except duckdb.Error as error:
                result = str(error)
            assert canary.token not in str(result), sql
    assert accepted > 50, "the generator should also build views that pass"
    canary.assert_untouched()


# ---------------------------------------------------------------------------- views that must keep working


LEGIT_VIEWS = [
    "SELECT order_id, order_date, amount FROM orders WHERE channel = 'web'",
    "WITH won AS (SELECT * FROM leads WHERE stage = 'won') SELECT o.*, w.lead_id FROM orders o "
    "LEFT JOIN won w ON o.customer_id = w.lead_id UNION ALL BY NAME SELECT * FROM orders",
    "SELECT * FROM orders o JOIN leads l ON o.customer_id = l.lead_id",
    "SELECT order_id FROM orders UNION SELECT lead_id FROM leads",
    "SELECT order_id FROM orders INTERSECT SELECT lead_id FROM leads",
    "SELECT order_id FROM orders EXCEPT SELECT lead_id FROM leads",
    "WITH RECURSIVE days(d) AS (SELECT min(order_date) FROM orders UNION ALL SELECT d + INTERVAL 1 DAY FROM days "
    "WHERE d < (SELECT max(order_date) FROM orders)) SELECT d FROM days",
    "SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY order_date) AS n FROM orders",
    "SELECT *, lag(amount) OVER (ORDER BY order_date) AS prev, lead(amount, 1, 0) OVER w AS nxt FROM orders "
    "WINDOW w AS (ORDER BY order_date)",
    "SELECT *, rank() OVER (ORDER BY amount) AS r, ntile(4) OVER (ORDER BY amount) AS q FROM orders",
    "SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id HAVING sum(amount) > 10 "
    "ORDER BY total DESC LIMIT 10",
    "SELECT * FROM orders QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY order_date DESC) = 1",
    "SELECT o.*, (SELECT max(amount) FROM orders i WHERE i.customer_id = o.customer_id) AS best FROM orders o",
    "SELECT * FROM orders o, LATERAL (SELECT count(*) AS c FROM leads l WHERE l.lead_id = o.customer_id) x",
    "SELECT *, CASE WHEN amount > 10 THEN 'big' WHEN amount > 5 THEN 'mid' ELSE 'small' END AS size FROM orders",
    "SELECT CAST(order_date AS DATE) AS day, amount::DOUBLE AS amount, TRY_CAST(channel AS VARCHAR) AS c FROM orders",
    "SELECT strptime('01.02.2024', '%d.%m.%Y') AS day, coalesce(amount, 0) AS a, date_trunc('month', order_date) AS m "
    "FROM orders",
    "SELECT order_date + INTERVAL 1 DAY AS next_day, date_diff('day', order_date, current_date) AS age FROM orders",
    "SELECT count(DISTINCT customer_id) AS c, sum(amount) FILTER (WHERE channel = 'web') AS w FROM orders",
    "SELECT * EXCLUDE (channel) FROM orders",
    "FROM orders SELECT order_id",
    "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(id, label)",
    "SELECT channel, sum(amount) AS total FROM orders GROUP BY ALL",
    "SELECT * FROM orders o ANTI JOIN leads l ON o.order_id = l.lead_id",
    "SELECT -amount AS neg, amount IS DISTINCT FROM 0 AS nz, [1, 2] AS l, {'a': 1} AS s FROM orders",
    "SELECT * FROM orders WHERE amount > ANY (SELECT amount FROM leads)",
    "(SELECT * FROM orders) UNION ALL (SELECT * FROM orders)",
    "SELECT count(*) OVER () AS total, sum(amount) OVER (ORDER BY order_date ROWS BETWEEN 6 PRECEDING "
    "AND CURRENT ROW) AS rolling FROM orders",
    "SELECT * FROM orders /* a comment */ WHERE NOT (amount < 0) -- and another",
]


@pytest.mark.parametrize("sql", LEGIT_VIEWS)
def test_legitimate_views_pass_and_run_in_the_locked_engine(locked, sql):
    normalised = validate_view(sql, TABLES)
    assert "/*" not in normalised and "--" not in normalised
    locked.execute(f"CREATE OR REPLACE VIEW v AS {normalised}")
    assert locked.execute("SELECT count(*) FROM v").fetchone()[0] > 0


def test_a_view_at_every_limit_still_passes(locked):
    nested = "SELECT * FROM " + "(SELECT * FROM " * (MAX_VIEW_DEPTH - 1) + "orders" + ")" * (MAX_VIEW_DEPTH - 1)
    joined = "SELECT * FROM orders t0 " + " ".join(
        f"JOIN orders t{i} USING (order_id)" for i in range(1, MAX_VIEW_TABLES)
    )
    for sql in (nested, joined):
        locked.execute(f"CREATE OR REPLACE VIEW v AS {validate_view(sql, TABLES)}")
        assert locked.execute("SELECT count(*) FROM v").fetchone() == (20,)


# ---------------------------------------------------------------------------- nesting and size


def _nest(opening: str, closing: str, levels: int, inner: str = "amount") -> str:
    return opening * levels + inner + closing * levels


DEPTH = "levels deep"
LONG = "characters long"
PARTS = "parts"
CHAIN = "nests or chains"

# (label, check, text, words): formulas and filters nested or sized to exhaust sqlglot or DuckDB.
HOSTILE_NESTING: list[tuple[str, Callable[[str], object], str, str]] = [
    ("500 brackets in a formula", check_aggregate, "sum(" + _nest("(", ")", 500) + ")", DEPTH),
    ("500 brackets in a filter", check_filter, _nest("(", ")", 500, "amount > 0"), DEPTH),
    ("500 brackets in a derived KPI", lambda t: check_derived(t, {"revenue"}), _nest("(", ")", 500, "revenue"), DEPTH),
    ("3000 unclosed brackets", check_aggregate, "sum" + "(" * 3000, DEPTH),
    ("nested function calls", check_aggregate, "sum(" + _nest("abs(", ")", 200) + ")", DEPTH),
    ("nested CASE", check_aggregate, "sum(" + _nest("CASE WHEN amount > 0 THEN ", " END", 100, "1") + ")", DEPTH),
    ("nested casts", check_aggregate, "sum(" + _nest("CAST(", " AS DOUBLE)", 100) + ")", DEPTH),
    ("nested scalar subqueries", check_aggregate, _nest("(SELECT ", ")", 300, "1"), DEPTH),
    ("NOT NOT NOT …", check_filter, "NOT " * 900 + "amount > 0", DEPTH),
    ("NOT a = NOT b = …", check_filter, "NOT amount = " * 300 + "amount", DEPTH),
    ("- - - …", check_aggregate, "sum(" + "- " * 1500 + "amount)", DEPTH),
    ("@@@ … (abs)", check_aggregate, "sum(" + "@" * 3000 + "amount)", DEPTH),
    ("INTERVAL INTERVAL …", check_filter, "order_date > " + "INTERVAL " * 400 + "1 DAY", DEPTH),
    ("subscripts [1][1]…", check_filter, "amount" + "[1]" * 1300 + " > 0", DEPTH),
    ("assignments := …", check_filter, "amount := " * 350 + "1", DEPTH),
    ("casts ::DOUBLE::DOUBLE …", check_aggregate, "sum(amount" + "::DOUBLE" * 300 + ")", DEPTH),
    ("powers ^ ^ ^ …", check_filter, "amount" + " ^ 2" * 500 + " > 0", DEPTH),
    ("5,000-term sum", check_aggregate, "sum(" + "+".join(["amount"] * 5000) + ")", LONG),
    ("IN list of 1,990 columns", check_filter, "amount IN (" + ",".join(["a"] * 1990) + ")", PARTS),
    ("120-term sum", check_aggregate, "sum(" + "+".join(["amount"] * 120) + ")", CHAIN),
    ("AT TIME ZONE chain", check_filter, "order_date" + " AT TIME ZONE 'UTC'" * 120 + " > 0", CHAIN),
    ("IN list of 100,000", check_filter, "amount IN (" + ",".join(map(str, range(100_000))) + ")", LONG),
    (
        "CASE with 5,000 branches",
        check_aggregate,
        "sum(CASE " + " ".join(f"WHEN amount = {i} THEN {i}" for i in range(5000)) + " END)",
        LONG,
    ),
    ("a 10 MB formula", check_aggregate, "sum(amount)" + " " * 10_000_000, LONG),
]


@pytest.mark.parametrize(("label", "check", "text", "words"), HOSTILE_NESTING, ids=[c[0] for c in HOSTILE_NESTING])
def test_hostile_nesting_and_size_are_refused_before_parsing(label, check, text, words):
    with pytest.raises(OverLimitError, match=words) as refused:
        check(text)
    assert names_a_fix(str(refused.value)), str(refused.value)


HOSTILE_VIEW_SIZES: list[tuple[str, str, str]] = [
    ("500 brackets", "SELECT " + _nest("(", ")", 500, "1") + " AS n FROM orders", DEPTH),
    ("nested subqueries", "SELECT * FROM " + _nest("(SELECT * FROM ", ")", 100, "orders"), DEPTH),
    ("nested scalar subqueries", "SELECT " + _nest("(SELECT ", ")", 1000, "1"), DEPTH),
    (
        "nested IN subqueries",
        "SELECT * FROM orders WHERE " + _nest("amount IN (SELECT amount FROM orders WHERE ", ")", 40, "true"),
        DEPTH,
    ),
    ("nested WITH", "SELECT * FROM " + _nest("(WITH a AS (SELECT 1) SELECT * FROM ", ")", 60, "orders"), DEPTH),
    ("a 1 MB view", "SELECT * FROM orders" + " " * 1_000_000, LONG),
    (
        "300 joins",
        "SELECT * FROM orders t0 " + " ".join(f"JOIN orders t{i} USING (order_id)" for i in range(1, 300)),
        "tables",
    ),
    ("1,500-term AND", "SELECT * FROM orders WHERE " + " AND ".join(["a<>1"] * 1_500), PARTS),
    ("200-term sum", "SELECT " + "+".join(["amount"] * 200) + " AS s FROM orders", CHAIN),
    ("AT TIME ZONE chain", "SELECT order_date" + " AT TIME ZONE 'UTC'" * 1000 + " AS t FROM orders", "too deeply"),
    ("- - - …", "SELECT " + "- " * 5000 + "1 AS n", DEPTH),
]


@pytest.mark.parametrize(("label", "sql", "words"), HOSTILE_VIEW_SIZES, ids=[c[0] for c in HOSTILE_VIEW_SIZES])
def test_hostile_view_sizes_are_refused(locked, label, sql, words):
    with pytest.raises(FormulaLimitError, match=words) as refused:
        validate_view(sql, TABLES)
    assert names_a_fix(str(refused.value)), str(refused.value)


def test_each_limit_has_its_own_message_at_its_largest_input():
    """Each limit answers on the largest input that reaches it (these run in milliseconds, not seconds)."""
    cases = [
        (check_aggregate, "sum(amount)" + " " * 50_000_000, f"more than the {MAX_FORMULA_LENGTH:,} allowed"),
        (check_aggregate, "sum" + "(" * (MAX_FORMULA_LENGTH - 3), f"more than {MAX_FORMULA_DEPTH} levels deep"),
        (check_filter, "amount IN (" + ",".join(["a"] * 1_990) + ")", f"more than {MAX_FORMULA_NODES:,} parts"),
        (check_aggregate, "sum(" + "+".join(["amount"] * 500) + ")", f"more than {MAX_FORMULA_TREE_DEPTH} operations"),
        (lambda t: validate_view(t, TABLES), "FROM orders" + " " * 50_000_000, f"more than the {MAX_VIEW_LENGTH:,}"),
        (
            lambda t: validate_view(t, TABLES),
            "SELECT " + "(" * (MAX_VIEW_LENGTH - 7),
            f"more than {MAX_VIEW_DEPTH} levels",
        ),
        (
            lambda t: validate_view(t, TABLES),
            "SELECT amount IN (" + ",".join(["1"] * 9_000) + ") AS x FROM orders",
            f"more than {MAX_VIEW_NODES:,} parts",
        ),
        (
            lambda t: validate_view(t, TABLES),
            "SELECT " + "+".join(["amount"] * 2_500) + " AS s FROM orders",
            f"more than {MAX_VIEW_TREE_DEPTH} operations",
        ),
        (
            lambda t: validate_view(t, TABLES),
            "SELECT 1 AS n FROM " + ", ".join(["orders"] * 1_000),
            f"more than {MAX_VIEW_TABLES} tables",
        ),
    ]
    for check, text, words in cases:
        with pytest.raises(OverLimitError, match=words):
            check(text)


def test_formulas_at_the_limits_still_pass():
    deepest = "sum(" + _nest("(", ")", MAX_FORMULA_DEPTH - 1) + ")"
    assert check_aggregate(deepest).columns == {"amount"}
    assert check_aggregate("sum(" + "+".join(["amount"] * 90) + ")").columns == {"amount"}
    assert check_filter("channel IN (" + ", ".join(f"'c{i}'" for i in range(300)) + ")").columns == {"channel"}
    assert check_filter(" OR ".join(f"amount = {i}" for i in range(200))).columns == {"amount"}
    with pytest.raises(FormulaLimitError):
        check_aggregate("sum(" + _nest("(", ")", MAX_FORMULA_DEPTH) + ")")


# ---------------------------------------------------------------------------- one door for every entry point

DEEP = "sum(" + _nest("(", ")", 500) + ")"
DEEP_FILTER = _nest("(", ")", 500, "amount > 0")


def _workspace(expression: str | None = None, filter_: str | None = None) -> Workspace:
    return Workspace(
        name="w",
        sources=[Source(name="orders", path="orders.csv")],
        kpis=[
            Kpi(id="k", name="K", source="orders", time_column="order_date", expression=expression, filter=filter_),
            Kpi(id="revenue", name="Revenue", source="orders", time_column="order_date", expression="sum(amount)"),
        ],
    )


def _check_first_kpi(workspace: Workspace) -> None:
    check_kpi_text(workspace, workspace.kpis[0])


ENTRY_POINTS: list[tuple[str, Callable[[], object]]] = [
    ("parse", lambda: parse(DEEP)),
    ("parse_tree", lambda: parse_tree(DEEP)),
    ("check_aggregate", lambda: check_aggregate(DEEP)),
    ("check_filter", lambda: check_filter(DEEP_FILTER)),
    ("check_derived", lambda: check_derived(_nest("(", ")", 500, "revenue"), {"revenue"})),
    ("check_kpi_text formula", lambda: _check_first_kpi(_workspace(DEEP))),
    ("check_kpi_text filter", lambda: _check_first_kpi(_workspace("sum(amount)", DEEP_FILTER))),
    ("Compiler.select", lambda: Compiler(_workspace(DEEP)).select("k")),
    ("Compiler.select filter", lambda: Compiler(_workspace("sum(amount)", DEEP_FILTER)).select("k")),
    ("compile_sql", lambda: compile_sql(_workspace(DEEP), "k", dialect="tsql")),
    ("validate_view", lambda: validate_view("SELECT " + _nest("(", ")", 500, "1"), TABLES)),
]


@pytest.mark.parametrize(("label", "call"), ENTRY_POINTS, ids=[e[0] for e in ENTRY_POINTS])
def test_every_entry_point_refuses_deep_text_with_the_limit_message(label, call):
    with pytest.raises(FormulaLimitError, match="levels deep"):
        call()


def test_lenient_entry_points_treat_deep_text_as_unparseable():
    assert referenced_names(DEEP) == set()
    assert is_derived(_nest("(", ")", 500, "revenue"), None, {"revenue"}) is False
    assert view_tables("SELECT * FROM " + _nest("(SELECT * FROM ", ")", 100, "orders")) == set()
    with pytest.raises(ParseError):  # what the audit rules catch around parse_tree
        parse_tree(DEEP)


def _at_depth(frames_left: int, call: Callable[[], object]) -> object:
    """Run ``call`` with only about ``frames_left`` Python frames left before the recursion limit."""
    import inspect

    def descend(remaining: int) -> object:
        return call() if remaining <= 0 else descend(remaining - 1)

    return descend(sys.getrecursionlimit() - len(inspect.stack(0)) - frames_left)


@pytest.mark.parametrize(
    "call",
    [
        lambda: check_aggregate("sum(" + _nest("abs(", ")", MAX_FORMULA_DEPTH - 1, "amount_at_depth") + ")"),
        lambda: validate_view("SELECT " + _nest("(SELECT ", ")", MAX_VIEW_DEPTH, "1") + " AS deep_n", TABLES),
        lambda: parse_tree("sum(" + _nest("(", ")", MAX_FORMULA_DEPTH - 1, "amount_in_tree") + ")"),
    ],
)
def test_a_recursion_error_becomes_a_formula_error(call):
    """Within the limits but called with too little stack left: a FormulaError, never a RecursionError,
    and no parse error either (that would let lenient callers take it for text that does not parse)."""
    with pytest.raises(FormulaLimitError, match="nested too deeply to check") as refused:
        _at_depth(150, call)
    assert names_a_fix(str(refused.value))
    assert not isinstance(refused.value, ParseError)


def test_lenient_entry_points_do_not_swallow_a_recursion_error():
    """referenced_names() may call text that does not parse "no names", but not text it ran out of stack on:
    a derived KPI taken for a plain one would compile silently wrong."""
    text = _nest("(", ")", MAX_FORMULA_DEPTH - 2, "revenue + lenient_check")
    with pytest.raises(FormulaLimitError):
        _at_depth(150, lambda: referenced_names(text))
    with pytest.raises(FormulaLimitError):
        _at_depth(150, lambda: is_derived(text + " + 0", None, {"revenue", "lenient_check"}))
    assert referenced_names(text) == {"revenue", "lenient_check"}


def test_a_long_chain_of_derived_kpis_needs_no_recursion():
    kpis = [Kpi(id="k0", name="K0", source="orders", time_column="order_date", expression="sum(amount)")]
    kpis += [Kpi(id=f"k{i}", name=f"K{i}", expression=f"k{i - 1} * 1.01") for i in range(1, 1_500)]
    workspace = Workspace(name="w", sources=[Source(name="orders", path="orders.csv")], kpis=kpis)
    assert Compiler(workspace).dependencies("k1499") == [f"k{i}" for i in range(1_500)]
    cyclic = workspace.model_copy(
        update={"kpis": [*kpis[1:], kpis[0].model_copy(update={"source": None, "expression": "k1499 + 1"})]}
    )
    with pytest.raises(FormulaError, match="cycle: k0 → k1499 → k1498"):
        Compiler(cyclic).dependencies("k0")


def test_the_limits_leave_room_for_a_deep_caller():
    """At the depth limit the checks need under 700 frames: 300 are left for the app calling them."""
    _at_depth(700, lambda: check_aggregate("sum(" + _nest("abs(", ")", MAX_FORMULA_DEPTH - 1, "amt_room") + ")"))
    _at_depth(700, lambda: validate_view("SELECT " + _nest("(SELECT ", ")", MAX_VIEW_DEPTH - 1, "1") + " AS r", TABLES))


def test_the_limits_are_documented_values():
    assert (MAX_FORMULA_LENGTH, MAX_FORMULA_DEPTH, MAX_FORMULA_NODES) == (4_000, 24, 2_000)
    assert (MAX_VIEW_LENGTH, MAX_VIEW_DEPTH, MAX_VIEW_NODES, MAX_VIEW_TABLES) == (20_000, 24, 5_000, 64)
    assert Path(formula.limits.__file__).parts[-2:] == ("formula", "limits.py")
