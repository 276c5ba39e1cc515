-- KPI Wizard: 1 KPI for T-SQL, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   orders: amount, order_date, status
-- Plain names (a-z, 0-9, _) are unquoted; other names are quoted exactly.

-- reads orders(amount, order_date, status)
-- revenue: Net revenue (month, tsql)
SELECT
  CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', order_date), '1900-01-01') AS DATE) AS period,
  (
    SUM(amount)
  ) AS value,
  COUNT_BIG(*) AS row_count
FROM orders
WHERE
  NOT order_date IS NULL AND (
    status = 'completed'
  )
GROUP BY
  CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', order_date), '1900-01-01') AS DATE)
ORDER BY
  period;
