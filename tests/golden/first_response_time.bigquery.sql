SELECT
  CAST(TIMESTAMP_TRUNC(`opened_at`, MONTH) AS DATE) AS period,
  (
    AVG(DATE_DIFF(first_response_at, opened_at, MINUTE)) / 60.0
  ) AS value,
  COUNT(*) AS row_count
FROM `support_tickets`
WHERE
  NOT `opened_at` IS NULL
GROUP BY
  period
ORDER BY
  period
