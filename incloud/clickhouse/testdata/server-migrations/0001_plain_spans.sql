-- A plain table for the ClickHouse 18.16 server test: that server predates DateTime64, Map and TTL, so it
-- cannot hold the otel_* schema; this checks the client path and the migration runner, not the schema.
CREATE TABLE IF NOT EXISTS plain_spans (
  TraceId String, SpanName String, DurationNs UInt64, Day Date
) ENGINE = MergeTree() PARTITION BY Day ORDER BY (SpanName, TraceId)
