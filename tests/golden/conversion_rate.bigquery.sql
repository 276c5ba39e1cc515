-- KPI Wizard: 1 KPI for BigQuery, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   web_sessions: converted, session_date
-- Plain names (a-z, 0-9, _) are unquoted; other names are quoted exactly.

-- reads web_sessions(converted, session_date)
-- conversion_rate: Web conversion rate (month, bigquery)
SELECT
  CAST(TIMESTAMP_TRUNC(session_date, MONTH) AS DATE) AS period,
  (
    COUNTIF(converted = 1) / NULLIF(COUNT(*), 0)
  ) AS value,
  (
    COUNTIF(converted = 1)
  ) AS numerator,
  (
    COUNT(*)
  ) AS denominator,
  COUNT(*) AS row_count
FROM web_sessions
WHERE
  NOT session_date IS NULL
GROUP BY
  period
ORDER BY
  period;
