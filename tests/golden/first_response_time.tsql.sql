SELECT
  CAST(DATETRUNC(MONTH, [opened_at]) AS DATE) AS period,
  (
    CAST(AVG(DATEDIFF(MINUTE, opened_at, first_response_at)) AS FLOAT) / 60.0
  ) AS value,
  COUNT_BIG(*) AS row_count
FROM [support_tickets]
WHERE
  NOT [opened_at] IS NULL
GROUP BY
  CAST(DATETRUNC(MONTH, [opened_at]) AS DATE)
ORDER BY
  period
