SELECT
  CAST(TIMESTAMP_TRUNC(`order_date`, MONTH) AS DATE) AS period,
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
  period
ORDER BY
  period
