-- Kubernetes events stored by the k8s-watcher. An event object is updated in place by the API server (Count and
-- LastTimestamp grow), so every observed version is inserted and ReplacingMergeTree keeps the latest per Uid
-- (query with FINAL, or argMax(..., LastTimestamp), for an exact answer before merges).
-- {{ttl_days_events}} is replaced by the migration runner with a validated whole number of days.
CREATE TABLE IF NOT EXISTS k8s_events (
  Uid String CODEC(ZSTD(1)),
  Namespace LowCardinality(String) CODEC(ZSTD(1)),
  Name String CODEC(ZSTD(1)),
  Type LowCardinality(String) CODEC(ZSTD(1)),
  Reason LowCardinality(String) CODEC(ZSTD(1)),
  Message String CODEC(ZSTD(1)),
  Count UInt32,
  FirstTimestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
  LastTimestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
  InvolvedObjectKind LowCardinality(String) CODEC(ZSTD(1)),
  InvolvedObjectNamespace LowCardinality(String) CODEC(ZSTD(1)),
  InvolvedObjectName String CODEC(ZSTD(1)),
  InvolvedObjectUid String CODEC(ZSTD(1)),
  Workload String CODEC(ZSTD(1)),
  SourceComponent LowCardinality(String) CODEC(ZSTD(1)),
  SourceHost LowCardinality(String) CODEC(ZSTD(1)),
  ReportingController LowCardinality(String) CODEC(ZSTD(1)),
  ClusterName LowCardinality(String) CODEC(ZSTD(1)),
  INDEX idx_involved_name InvolvedObjectName TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_message Message TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
)
ENGINE = ReplacingMergeTree(LastTimestamp)
PARTITION BY toDate(FirstTimestamp)
ORDER BY (Namespace, InvolvedObjectKind, InvolvedObjectName, Uid)
TTL toDateTime(LastTimestamp) + toIntervalDay({{ttl_days_events}})
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
