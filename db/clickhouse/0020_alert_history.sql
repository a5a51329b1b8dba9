-- Alert state transitions written by the monitors evaluator (incloud/monitors): one row per transition of one
-- alert instance (a monitor plus one label set, identified by Fingerprint) to pending, firing or resolved.
-- Notified records what the notifier did with it (sent, silenced, none). History is kept 90 days; it is small
-- (rows only on transitions). The evaluator reads the latest row per Fingerprint at start-up to resume state.
CREATE TABLE IF NOT EXISTS alert_history (
  Timestamp DateTime64(3) CODEC(Delta(8), ZSTD(1)),
  MonitorId LowCardinality(String) CODEC(ZSTD(1)),
  MonitorName String CODEC(ZSTD(1)),
  Fingerprint String CODEC(ZSTD(1)),
  State LowCardinality(String) CODEC(ZSTD(1)),
  Previous LowCardinality(String) CODEC(ZSTD(1)),
  Severity LowCardinality(String) CODEC(ZSTD(1)),
  Labels Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  Value Float64,
  ActiveSince DateTime64(3),
  Message String CODEC(ZSTD(1)),
  Notified LowCardinality(String) CODEC(ZSTD(1))
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (MonitorId, Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(90)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
