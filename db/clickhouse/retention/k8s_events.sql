-- Applied by the migration runner when the configured event retention differs from the table's TTL.
ALTER TABLE k8s_events MODIFY TTL toDateTime(LastTimestamp) + toIntervalDay({{ttl_days_events}})
