SELECT
  CAST("session_date" AS DATE) - CAST(DAY("session_date") - 1 AS INT) AS period,
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
FROM "web_sessions"
WHERE
  NOT "session_date" IS NULL
GROUP BY
  CAST("session_date" AS DATE) - CAST(DAY("session_date") - 1 AS INT)
ORDER BY
  period NULLS FIRST
