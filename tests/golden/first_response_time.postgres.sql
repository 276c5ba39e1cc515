SELECT
  CAST(DATE_TRUNC('MONTH', "opened_at") AS DATE) AS period,
  (
    CAST(AVG(
      CAST(EXTRACT(epoch FROM DATE_TRUNC('MINUTE', CAST(first_response_at AS TIMESTAMP)) - DATE_TRUNC('MINUTE', CAST(opened_at AS TIMESTAMP))) / 60 AS BIGINT)
    ) AS DOUBLE PRECISION) / 60.0
  ) AS value,
  COUNT(*) AS row_count
FROM "support_tickets"
WHERE
  NOT "opened_at" IS NULL
GROUP BY
  CAST(DATE_TRUNC('MONTH', "opened_at") AS DATE)
ORDER BY
  period NULLS FIRST
