-- KPI Wizard: 1 KPI for BigQuery, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   orders: amount, order_date, status
-- Plain names (a-z, 0-9, _) are unquoted; other names are quoted exactly.

-- reads orders(amount, order_date, status)
-- revenue: Net revenue (month, bigquery)
SELECT
  CAST(TIMESTAMP_TRUNC(order_date, MONTH) AS DATE) AS period,
  (
    SUM(amount)
  ) AS value,
  COUNT(*) AS row_count
FROM orders
WHERE
  NOT order_date IS NULL AND (
    status = 'completed'
  )
GROUP BY
  period
ORDER BY
  period;
