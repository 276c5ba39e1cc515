SELECT
  CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', [opened_at]), '1900-01-01') AS DATE) AS period,
  (
    CAST(AVG(DATEDIFF(MINUTE, opened_at, first_response_at)) AS FLOAT) / 60.0
  ) AS value,
  COUNT_BIG(*) AS row_count
FROM [support_tickets]
WHERE
  NOT [opened_at] IS NULL
GROUP BY
  CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', [opened_at]), '1900-01-01') AS DATE)
ORDER BY
  period
