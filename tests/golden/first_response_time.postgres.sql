-- KPI Wizard: 1 KPI for PostgreSQL, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   support_tickets: first_response_at, opened_at
-- Plain names (a-z, 0-9, _) are unquoted; PostgreSQL reads them in lower case; other names are quoted exactly.

-- reads support_tickets(first_response_at, opened_at)
-- first_response_time: Time to first response (month, postgres)
SELECT
  CAST(DATE_TRUNC('MONTH', opened_at) AS DATE) AS period,
  (
    CAST(AVG(
      CAST(EXTRACT(epoch FROM DATE_TRUNC('MINUTE', CAST(first_response_at AS TIMESTAMP)) - DATE_TRUNC('MINUTE', CAST(opened_at AS TIMESTAMP))) / 60 AS BIGINT)
    ) AS DOUBLE PRECISION) / 60.0
  ) AS value,
  COUNT(*) AS row_count
FROM support_tickets
WHERE
  NOT opened_at IS NULL
GROUP BY
  CAST(DATE_TRUNC('MONTH', opened_at) AS DATE)
ORDER BY
  period NULLS FIRST;
