-- Applied by the migration runner when the configured trace retention differs from the table's TTL.
ALTER TABLE otel_traces MODIFY TTL toDateTime(Timestamp) + toIntervalDay({{ttl_days_traces}})
