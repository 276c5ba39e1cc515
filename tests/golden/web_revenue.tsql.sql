WITH k_average_order_value AS (
  SELECT
    CAST(DATETRUNC(MONTH, [order_date]) AS DATE) AS period,
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
  FROM [orders]
  WHERE
    NOT [order_date] IS NULL AND (
      channel = 'web'
    )
  GROUP BY
    CAST(DATETRUNC(MONTH, [order_date]) AS DATE)
), k_conversion_rate AS (
  SELECT
    CAST(DATETRUNC(MONTH, [session_date]) AS DATE) AS period,
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
  FROM [web_sessions]
  WHERE
    NOT [session_date] IS NULL
  GROUP BY
    CAST(DATETRUNC(MONTH, [session_date]) AS DATE)
), k_sessions AS (
  SELECT
    CAST(DATETRUNC(MONTH, [session_date]) AS DATE) AS period,
    (
      COUNT_BIG(*)
    ) AS value,
    COUNT_BIG(*) AS row_count
  FROM [web_sessions]
  WHERE
    NOT [session_date] IS NULL
  GROUP BY
    CAST(DATETRUNC(MONTH, [session_date]) AS DATE)
), k_web_revenue AS (
  SELECT
    k_average_order_value.period AS period,
    (
      (
        k_sessions.value
      ) * (
        k_conversion_rate.value
      ) * (
        k_average_order_value.value
      )
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
  period
