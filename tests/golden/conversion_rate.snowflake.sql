SELECT
  CAST(DATE_TRUNC('MONTH', "session_date") AS DATE) AS period,
  (
    COUNT_IF(converted = 1) / NULLIF(COUNT(*), 0)
  ) AS value,
  (
    COUNT_IF(converted = 1)
  ) AS numerator,
  (
    COUNT(*)
  ) AS denominator,
  COUNT(*) AS row_count
FROM "web_sessions"
WHERE
  NOT "session_date" IS NULL
GROUP BY
  CAST(DATE_TRUNC('MONTH', "session_date") AS DATE)
ORDER BY
  period NULLS FIRST
