SELECT
  CAST(DATE_TRUNC('MONTH', `opened_at`) AS DATE) AS period,
  (
    AVG(DATEDIFF(MINUTE, opened_at, first_response_at)) / 60.0
  ) AS value,
  COUNT(*) AS row_count
FROM `support_tickets`
WHERE
  NOT `opened_at` IS NULL
GROUP BY
  CAST(DATE_TRUNC('MONTH', `opened_at`) AS DATE)
ORDER BY
  period
