-- KPI Wizard: 1 KPI for BigQuery, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   support_tickets: first_response_at, opened_at
-- Plain names (a-z, 0-9, _) are unquoted; other names are quoted exactly.

-- reads support_tickets(first_response_at, opened_at)
-- first_response_time: Time to first response (month, bigquery)
SELECT
  CAST(TIMESTAMP_TRUNC(opened_at, MONTH) AS DATE) AS period,
  (
    AVG(
      DATETIME_DIFF(
        DATETIME_TRUNC(CAST(first_response_at AS DATETIME), MINUTE),
        DATETIME_TRUNC(CAST(opened_at AS DATETIME), MINUTE),
        MINUTE
      )
    ) / 60.0
  ) AS value,
  COUNT(*) AS row_count
FROM support_tickets
WHERE
  NOT opened_at IS NULL
GROUP BY
  period
ORDER BY
  period;
