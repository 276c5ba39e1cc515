SELECT
  CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', [order_date]), '1900-01-01') AS DATE) AS period,
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
  CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', [order_date]), '1900-01-01') AS DATE)
ORDER BY
  period
