-- KPI Wizard: 1 KPI for DuckDB, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   orders: amount, order_date, status
-- Plain names (a-z, 0-9, _) are unquoted; other names are quoted exactly.

-- reads orders(amount, order_date, status)
-- revenue: Net revenue (month, duckdb)
SELECT
  CAST(order_date AS DATE) - CAST(DAY(order_date) - 1 AS INT) AS period,
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
  CAST(order_date AS DATE) - CAST(DAY(order_date) - 1 AS INT)
ORDER BY
  period NULLS FIRST;
