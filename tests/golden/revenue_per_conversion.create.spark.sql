-- KPI Wizard: 1 KPI for Spark SQL, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   orders: amount, channel, cost, customer_id, order_date, order_id, region, status
--   web_sessions: channel, converted, device, order_id, session_date, session_id
-- It creates the view sources first (CREATE OR REPLACE VIEW): completed_orders, web_conversions.
-- Plain names (a-z, 0-9, _) are unquoted; other names are quoted exactly.

-- view completed_orders: reads orders(amount, channel, cost, customer_id, order_date, order_id, region, status)
CREATE OR REPLACE VIEW completed_orders AS
SELECT
  order_id,
  order_date,
  customer_id,
  channel,
  region AS `Sales Region`,
  amount,
  cost,
  amount - cost AS margin
FROM orders
WHERE
  status = 'completed';

-- view web_conversions: reads web_sessions(channel, converted, device, order_id, session_date, session_id)
CREATE OR REPLACE VIEW web_conversions AS
SELECT
  s.session_id,
  s.session_date,
  s.device,
  s.channel AS traffic_channel,
  o.`Sales Region`,
  o.amount,
  o.margin
FROM web_sessions AS s
JOIN completed_orders AS o
  ON o.order_id = s.order_id
WHERE
  s.converted = 1;

-- revenue_per_conversion: Revenue per converted session (not direct) (month, spark)
SELECT
  CAST(DATE_TRUNC('MONTH', session_date) AS DATE) AS period,
  (
    SUM(amount) / NULLIF(COUNT(DISTINCT session_id), 0)
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
  period;
