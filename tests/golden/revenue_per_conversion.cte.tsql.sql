-- KPI Wizard: 1 KPI for T-SQL, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   orders: amount, channel, cost, customer_id, order_date, order_id, region, status
--   web_sessions: channel, converted, device, order_id, session_date, session_id
-- View sources, as CTEs in front of each KPI that reads them: completed_orders, web_conversions.
-- Plain names (a-z, 0-9, _) are unquoted; other names are quoted exactly.

-- reads orders(amount, channel, cost, customer_id, order_date, order_id, region, status); web_sessions(channel, converted, device, order_id, session_date, session_id)
-- revenue_per_conversion: Revenue per converted session (not direct) (month, tsql)
WITH completed_orders AS (
  SELECT
    order_id AS order_id,
    order_date AS order_date,
    customer_id AS customer_id,
    channel AS channel,
    region AS [Sales Region],
    amount AS amount,
    cost AS cost,
    amount - cost AS margin
  FROM orders
  WHERE
    status = 'completed'
), web_conversions AS (
  SELECT
    s.session_id AS session_id,
    s.session_date AS session_date,
    s.device AS device,
    s.channel AS traffic_channel,
    o.[Sales Region] AS [Sales Region],
    o.amount AS amount,
    o.margin AS margin
  FROM web_sessions AS s
  JOIN completed_orders AS o
    ON o.order_id = s.order_id
  WHERE
    s.converted = 1
)
SELECT
  CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', session_date), '1900-01-01') AS DATE) AS period,
  (
    CAST(SUM(amount) AS FLOAT) / NULLIF(COUNT_BIG(DISTINCT session_id), 0)
  ) AS value,
  (
    SUM(amount)
  ) AS numerator,
  (
    COUNT_BIG(DISTINCT session_id)
  ) AS denominator,
  COUNT_BIG(*) AS row_count
FROM web_conversions
WHERE
  NOT session_date IS NULL AND (
    traffic_channel <> 'direct'
  )
GROUP BY
  CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', session_date), '1900-01-01') AS DATE)
ORDER BY
  period;
