-- KPI Wizard: 1 KPI for T-SQL, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   orders: amount, channel, order_date, order_id
--   web_sessions: converted, session_date
-- Plain names (a-z, 0-9, _) are unquoted; other names are quoted exactly.

-- reads orders(amount, channel, order_date, order_id); web_sessions(converted, session_date)
-- web_revenue: Web order revenue (month, tsql)
WITH k_average_order_value AS (
  SELECT
    CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', order_date), '1900-01-01') AS DATE) AS period,
    (
      CAST(SUM(amount) AS FLOAT) / NULLIF(COUNT_BIG(DISTINCT order_id), 0)
    ) AS value,
    (
      SUM(amount)
    ) AS numerator,
    (
      COUNT_BIG(DISTINCT order_id)
    ) AS denominator,
    COUNT_BIG(*) AS row_count
  FROM orders
  WHERE
    NOT order_date IS NULL AND (
      channel = 'web'
    )
  GROUP BY
    CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', order_date), '1900-01-01') AS DATE)
), k_conversion_rate AS (
  SELECT
    CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', session_date), '1900-01-01') AS DATE) AS period,
    (
      CAST(COUNT(IIF(converted = 1, 1, NULL)) AS FLOAT) / NULLIF(COUNT_BIG(*), 0)
    ) AS value,
    (
      COUNT(IIF(converted = 1, 1, NULL))
    ) AS numerator,
    (
      COUNT_BIG(*)
    ) AS denominator,
    COUNT_BIG(*) AS row_count
  FROM web_sessions
  WHERE
    NOT session_date IS NULL
  GROUP BY
    CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', session_date), '1900-01-01') AS DATE)
), k_sessions AS (
  SELECT
    CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', session_date), '1900-01-01') AS DATE) AS period,
    (
      COUNT_BIG(*)
    ) AS value,
    COUNT_BIG(*) AS row_count
  FROM web_sessions
  WHERE
    NOT session_date IS NULL
  GROUP BY
    CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', session_date), '1900-01-01') AS DATE)
), k_web_revenue AS (
  SELECT
    k_average_order_value.period AS period,
    (
      CAST(k_sessions.value AS FLOAT) * CAST(k_conversion_rate.value AS FLOAT) * CAST(k_average_order_value.value AS FLOAT)
    ) AS value,
    (
      SELECT
        MIN(v)
      FROM (VALUES
        (k_average_order_value.row_count),
        (k_conversion_rate.row_count),
        (k_sessions.row_count)) AS row_counts(v)
    ) AS row_count
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
  period;
