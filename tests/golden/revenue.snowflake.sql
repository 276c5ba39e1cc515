-- KPI Wizard: 1 KPI for Snowflake, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   orders: amount, order_date, status
-- Plain names (a-z, 0-9, _) are unquoted; Snowflake reads them in UPPER case; other names are quoted exactly.

-- reads orders(amount, order_date, status)
-- revenue: Net revenue (month, snowflake)
SELECT
  CAST(DATE_TRUNC('MONTH', order_date) AS DATE) AS period,
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
  CAST(DATE_TRUNC('MONTH', order_date) AS DATE)
ORDER BY
  period NULLS FIRST;
