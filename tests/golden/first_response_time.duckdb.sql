SELECT
  CAST("opened_at" AS DATE) - CAST(DAY("opened_at") - 1 AS INT) AS period,
  (
    AVG(DATE_DIFF('MINUTE', opened_at, first_response_at)) / 60.0
  ) AS value,
  COUNT(*) AS row_count
FROM "support_tickets"
WHERE
  NOT "opened_at" IS NULL
GROUP BY
  CAST("opened_at" AS DATE) - CAST(DAY("opened_at") - 1 AS INT)
ORDER BY
  period NULLS FIRST
