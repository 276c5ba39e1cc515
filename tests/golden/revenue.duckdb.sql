SELECT
  CAST("order_date" AS DATE) - CAST(DAY("order_date") - 1 AS INT) AS period,
  (
    SUM(amount)
  ) AS value,
  COUNT(*) AS row_count
FROM "orders"
WHERE
  NOT "order_date" IS NULL AND (
    status = 'completed'
  )
GROUP BY
  CAST("order_date" AS DATE) - CAST(DAY("order_date") - 1 AS INT)
ORDER BY
  period NULLS FIRST
