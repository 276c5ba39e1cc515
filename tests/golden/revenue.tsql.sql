SELECT
  CAST(DATETRUNC(MONTH, [order_date]) AS DATE) AS period,
  (
    SUM(amount)
  ) AS value,
  COUNT_BIG(*) AS row_count
FROM [orders]
WHERE
  NOT [order_date] IS NULL AND (
    status = 'completed'
  )
GROUP BY
  CAST(DATETRUNC(MONTH, [order_date]) AS DATE)
ORDER BY
  period
