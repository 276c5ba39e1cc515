-- KPI Wizard: 1 KPI for Spark SQL, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   support_tickets: first_response_at, opened_at
-- Plain names (a-z, 0-9, _) are unquoted; other names are quoted exactly.

-- reads support_tickets(first_response_at, opened_at)
-- first_response_time: Time to first response (month, spark)
SELECT
  CAST(DATE_TRUNC('MONTH', opened_at) AS DATE) AS period,
  (
    AVG(
      DATEDIFF(MINUTE, DATE_TRUNC('MINUTE', opened_at), DATE_TRUNC('MINUTE', first_response_at))
    ) / CAST(60.0 AS DOUBLE)
  ) AS value,
  COUNT(*) AS row_count
FROM support_tickets
WHERE
  NOT opened_at IS NULL
GROUP BY
  CAST(DATE_TRUNC('MONTH', opened_at) AS DATE)
ORDER BY
  period;
