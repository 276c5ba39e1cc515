-- KPI Wizard: 1 KPI for T-SQL, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   support_tickets: first_response_at, opened_at
-- Plain names (a-z, 0-9, _) are unquoted; other names are quoted exactly.

-- reads support_tickets(first_response_at, opened_at)
-- first_response_time: Time to first response (month, tsql)
SELECT
  CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', opened_at), '1900-01-01') AS DATE) AS period,
  (
    CAST(AVG(DATEDIFF(MINUTE, opened_at, first_response_at)) AS FLOAT) / 60.0
  ) AS value,
  COUNT_BIG(*) AS row_count
FROM support_tickets
WHERE
  NOT opened_at IS NULL
GROUP BY
  CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', opened_at), '1900-01-01') AS DATE)
ORDER BY
  period;
