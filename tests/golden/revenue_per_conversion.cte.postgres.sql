-- KPI Wizard: 1 KPI for PostgreSQL, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   orders: amount, channel, cost, customer_id, order_date, order_id, region, status
--   web_sessions: channel, converted, device, order_id, session_date, session_id
-- View sources, as CTEs in front of each KPI that reads them: completed_orders, web_conversions.
-- Plain names (a-z, 0-9, _) are unquoted; PostgreSQL reads them in lower case; other names are quoted exactly.

-- reads orders(amount, channel, cost, customer_id, order_date, order_id, region, status); web_sessions(channel, converted, device, order_id, session_date, session_id)
-- revenue_per_conversion: Revenue per converted session (not direct) (month, postgres)
WITH completed_orders AS (
  SELECT
    order_id,
    order_date,
    customer_id,
    channel,
    region AS "Sales Region",
    amount,
    cost,
    amount - cost AS margin
  FROM orders
  WHERE
    status = 'completed'
), web_conversions AS (
  SELECT
    s.session_id,
    s.session_date,
    s.device,
    s.channel AS traffic_channel,
    o."Sales Region",
    o.amount,
    o.margin
  FROM web_sessions AS s
  JOIN completed_orders AS o
    ON o.order_id = s.order_id
  WHERE
    s.converted = 1
)
SELECT
  CAST(DATE_TRUNC('MONTH', session_date) AS DATE) AS period,
  (
    CAST(SUM(amount) AS DOUBLE PRECISION) / NULLIF(COUNT(DISTINCT session_id), 0)
  ) AS value,
  (
    SUM(amount)
  ) AS numerator,
  (
    COUNT(DISTINCT session_id)
  ) AS denominator,
  COUNT(*) AS row_count
FROM web_conversions
WHERE
  NOT session_date IS NULL AND (
    traffic_channel <> 'direct'
  )
GROUP BY
  CAST(DATE_TRUNC('MONTH', session_date) AS DATE)
ORDER BY
  period NULLS FIRST;
