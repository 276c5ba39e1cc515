-- KPI Wizard: 1 KPI for DuckDB, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   orders: amount, channel, order_date, order_id
--   web_sessions: converted, session_date
-- Plain names (a-z, 0-9, _) are unquoted; other names are quoted exactly.

-- reads orders(amount, channel, order_date, order_id); web_sessions(converted, session_date)
-- web_revenue: Web order revenue (month, duckdb)
WITH k_average_order_value AS (
  SELECT
    CAST(order_date AS DATE) - CAST(DAY(order_date) - 1 AS INT) AS period,
    (
      SUM(amount) / NULLIF(COUNT(DISTINCT order_id), 0)
    ) AS value,
    (
      SUM(amount)
    ) AS numerator,
    (
      COUNT(DISTINCT order_id)
    ) AS denominator,
    COUNT(*) AS row_count
  FROM orders
  WHERE
    NOT order_date IS NULL AND (
      channel = 'web'
    )
  GROUP BY
    CAST(order_date AS DATE) - CAST(DAY(order_date) - 1 AS INT)
), k_conversion_rate AS (
  SELECT
    CAST(session_date AS DATE) - CAST(DAY(session_date) - 1 AS INT) AS period,
    (
      COUNT(*) FILTER(WHERE
        converted = 1) / NULLIF(COUNT(*), 0)
    ) AS value,
    (
      COUNT(*) FILTER(WHERE
        converted = 1)
    ) AS numerator,
    (
      COUNT(*)
    ) AS denominator,
    COUNT(*) AS row_count
  FROM web_sessions
  WHERE
    NOT session_date IS NULL
  GROUP BY
    CAST(session_date AS DATE) - CAST(DAY(session_date) - 1 AS INT)
), k_sessions AS (
  SELECT
    CAST(session_date AS DATE) - CAST(DAY(session_date) - 1 AS INT) AS period,
    (
      COUNT(*)
    ) AS value,
    COUNT(*) AS row_count
  FROM web_sessions
  WHERE
    NOT session_date IS NULL
  GROUP BY
    CAST(session_date AS DATE) - CAST(DAY(session_date) - 1 AS INT)
), k_web_revenue AS (
  SELECT
    k_average_order_value.period AS period,
    (
      CAST(k_sessions.value AS DOUBLE) * CAST(k_conversion_rate.value AS DOUBLE) * CAST(k_average_order_value.value AS DOUBLE)
    ) AS value,
    LEAST(k_average_order_value.row_count, k_conversion_rate.row_count, k_sessions.row_count) AS row_count
  FROM k_average_order_value
  INNER JOIN k_conversion_rate
    ON k_average_order_value.period = k_conversion_rate.period
  INNER JOIN k_sessions
    ON k_average_order_value.period = k_sessions.period
)
SELECT
  *
FROM k_web_revenue
ORDER BY
  period NULLS FIRST;
