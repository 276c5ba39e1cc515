-- KPI Wizard: 1 KPI for T-SQL, by month.
-- Tables it reads, with the columns it uses (create them with these names):
--   web_sessions: converted, session_date
-- Plain names (a-z, 0-9, _) are unquoted; other names are quoted exactly.

-- reads web_sessions(converted, session_date)
-- conversion_rate: Web conversion rate (month, tsql)
SELECT
  CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', session_date), '1900-01-01') AS DATE) AS period,
  (
    CAST(COUNT(IIF(converted = 1, 1, NULL)) AS FLOAT) / NULLIF(COUNT_BIG(*), 0)
  ) AS value,
  (
    COUNT(IIF(converted = 1, 1, NULL))
  ) AS numerator,
  (
    COUNT_BIG(*)
  ) AS denominator,
  COUNT_BIG(*) AS row_count
FROM web_sessions
WHERE
  NOT session_date IS NULL
GROUP BY
  CAST(DATEADD(MONTH, DATEDIFF(MONTH, '1900-01-01', session_date), '1900-01-01') AS DATE)
ORDER BY
  period;
