-- KPI Wizard: 1 KPI for Spark SQL, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   web_sessions: converted, session_date
-- Plain names (a-z, 0-9, _) are unquoted; other names are quoted exactly.

-- reads web_sessions(converted, session_date)
-- conversion_rate: Web conversion rate (month, spark)
SELECT
  CAST(DATE_TRUNC('MONTH', session_date) AS DATE) AS period,
  (
    COUNT(*) FILTER(WHERE
      converted = 1) / NULLIF(COUNT(*), 0)
  ) AS value,
  (
    COUNT(*) FILTER(WHERE
      converted = 1)
  ) AS numerator,
  (
    COUNT(*)
  ) AS denominator,
  COUNT(*) AS row_count
FROM web_sessions
WHERE
  NOT session_date IS NULL
GROUP BY
  CAST(DATE_TRUNC('MONTH', session_date) AS DATE)
ORDER BY
  period;
