SELECT
  CAST(DATE_TRUNC('MONTH', `order_date`) AS DATE) AS period,
  (
    SUM(amount)
  ) AS value,
  COUNT(*) AS row_count
FROM `orders`
WHERE
  NOT `order_date` IS NULL AND (
    status = 'completed'
  )
GROUP BY
  CAST(DATE_TRUNC('MONTH', `order_date`) AS DATE)
ORDER BY
  period
