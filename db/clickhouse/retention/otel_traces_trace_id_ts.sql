-- Applied by the migration runner when the configured trace retention differs from the table's TTL.
ALTER TABLE otel_traces_trace_id_ts MODIFY TTL toDateTime(Start) + toIntervalDay({{ttl_days_traces}})
