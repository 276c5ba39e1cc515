-- KPI Wizard: 1 KPI for Snowflake, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   orders: amount, channel, order_date, order_id
--   web_sessions: converted, session_date
-- Plain names (a-z, 0-9, _) are unquoted; Snowflake reads them in UPPER case; other names are quoted exactly.

-- reads orders(amount, channel, order_date, order_id); web_sessions(converted, session_date)
-- web_revenue: Web order revenue (month, snowflake)
WITH k_average_order_value AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', order_date) AS DATE) AS period,
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
    CAST(DATE_TRUNC('MONTH', order_date) AS DATE)
), k_conversion_rate AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', session_date) AS DATE) AS period,
    (
      COUNT_IF(converted = 1) / NULLIF(COUNT(*), 0)
    ) AS value,
    (
      COUNT_IF(converted = 1)
    ) AS numerator,
    (
      COUNT(*)
    ) AS denominator,
    COUNT(*) AS row_count
  FROM web_sessions
  WHERE
    NOT session_date IS NULL
  GROUP BY
    CAST(DATE_TRUNC('MONTH', session_date) AS DATE)
), k_sessions AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', session_date) AS DATE) AS period,
    (
      COUNT(*)
    ) AS value,
    COUNT(*) AS row_count
  FROM web_sessions
  WHERE
    NOT session_date IS NULL
  GROUP BY
    CAST(DATE_TRUNC('MONTH', session_date) AS DATE)
), k_web_revenue AS (
  SELECT
    k_average_order_value.period AS period,
    (
      CAST(k_sessions.value AS DOUBLE) * CAST(k_conversion_rate.value AS DOUBLE) * CAST(k_average_order_value.value AS DOUBLE)
    ) AS value,
    LEAST_IGNORE_NULLS(k_average_order_value.row_count, k_conversion_rate.row_count, k_sessions.row_count) AS row_count
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
