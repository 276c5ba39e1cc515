SELECT
  CAST(TIMESTAMP_TRUNC(`session_date`, MONTH) AS DATE) AS period,
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
FROM `web_sessions`
WHERE
  NOT `session_date` IS NULL
GROUP BY
  period
ORDER BY
  period
