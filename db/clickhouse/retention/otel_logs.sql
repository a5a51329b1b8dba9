-- Applied by the migration runner when the configured log retention differs from the table's TTL.
ALTER TABLE otel_logs MODIFY TTL TimestampTime + toIntervalDay({{ttl_days_logs}})
