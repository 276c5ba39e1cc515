-- KPI Wizard: 1 KPI for DuckDB, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   support_tickets: first_response_at, opened_at
-- Plain names (a-z, 0-9, _) are unquoted; other names are quoted exactly.

-- reads support_tickets(first_response_at, opened_at)
-- first_response_time: Time to first response (month, duckdb)
SELECT
  CAST(opened_at AS DATE) - CAST(DAY(opened_at) - 1 AS INT) AS period,
  (
    AVG(DATE_DIFF('MINUTE', opened_at, first_response_at)) / 60.0
  ) AS value,
  COUNT(*) AS row_count
FROM support_tickets
WHERE
  NOT opened_at IS NULL
GROUP BY
  CAST(opened_at AS DATE) - CAST(DAY(opened_at) - 1 AS INT)
ORDER BY
  period NULLS FIRST;
