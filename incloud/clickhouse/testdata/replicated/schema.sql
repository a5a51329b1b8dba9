-- database
CREATE DATABASE IF NOT EXISTS understory ON CLUSTER 'understory' ENGINE = Replicated('/clickhouse/understory/databases/understory', '{shard}', '{replica}');

-- 0001_otel_logs
-- Logs in the layout of the OpenTelemetry Collector's ClickHouse exporter (same column names and types), so the
-- real collector in a cluster and Grafana's ClickHouse plugin read and write the same table.
-- 7 is replaced by the migration runner with a validated whole number of days.
-- Beyond the exporter's settings: non_replicated_deduplication_window lets a retried insert carrying the same
-- insert_deduplication_token be dropped on a single (non-replicated) server and on chdb; fsync_after_insert
-- makes an acknowledged insert survive a power cut. Neither changes the columns.
CREATE TABLE IF NOT EXISTS otel_logs (
  Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
  TimestampTime DateTime DEFAULT toDateTime(Timestamp),
  TraceId String CODEC(ZSTD(1)),
  SpanId String CODEC(ZSTD(1)),
  TraceFlags UInt8,
  SeverityText LowCardinality(String) CODEC(ZSTD(1)),
  SeverityNumber UInt8,
  ServiceName LowCardinality(String) CODEC(ZSTD(1)),
  Body String CODEC(ZSTD(1)),
  ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
  ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
  ScopeName String CODEC(ZSTD(1)),
  ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
  ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  EventName String CODEC(ZSTD(1)),
  INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
  INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
)
ENGINE = ReplicatedMergeTree()
PARTITION BY toDate(TimestampTime)
PRIMARY KEY (ServiceName, TimestampTime)
ORDER BY (ServiceName, TimestampTime, Timestamp)
TTL TimestampTime + toIntervalDay(7)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000,
  fsync_after_insert = 1;

-- 0002_otel_traces
-- Spans in the layout of the OpenTelemetry Collector's ClickHouse exporter (same column names and types).
-- Timestamp is the span start; Duration is end - start in nanoseconds; SpanKind and StatusCode hold the
-- collector's names (Server, Client, ... / Unset, Ok, Error).
-- 7 is replaced by the migration runner with a validated whole number of days.
CREATE TABLE IF NOT EXISTS otel_traces (
  Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
  TraceId String CODEC(ZSTD(1)),
  SpanId String CODEC(ZSTD(1)),
  ParentSpanId String CODEC(ZSTD(1)),
  TraceState String CODEC(ZSTD(1)),
  SpanName LowCardinality(String) CODEC(ZSTD(1)),
  SpanKind LowCardinality(String) CODEC(ZSTD(1)),
  ServiceName LowCardinality(String) CODEC(ZSTD(1)),
  ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  ScopeName String CODEC(ZSTD(1)),
  ScopeVersion String CODEC(ZSTD(1)),
  SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  Duration UInt64 CODEC(T64, ZSTD(1)),
  StatusCode LowCardinality(String) CODEC(ZSTD(1)),
  StatusMessage String CODEC(ZSTD(1)),
  Events Nested (
    Timestamp DateTime64(9),
    Name LowCardinality(String),
    Attributes Map(LowCardinality(String), String)
  ) CODEC(ZSTD(1)),
  Links Nested (
    TraceId String,
    SpanId String,
    TraceState String,
    Attributes Map(LowCardinality(String), String)
  ) CODEC(ZSTD(1)),
  INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
  INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
  INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
)
ENGINE = ReplicatedMergeTree()
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(7)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000,
  fsync_after_insert = 1;

-- 0003_otel_traces_trace_id_ts
-- First and last span time per trace id (the exporter's lookup table): finding a trace by id reads this small
-- table first, then only the otel_traces partitions between Start and End.
CREATE TABLE IF NOT EXISTS otel_traces_trace_id_ts (
  TraceId String CODEC(ZSTD(1)),
  Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
  End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))
)
ENGINE = ReplicatedMergeTree()
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)
TTL toDateTime(Start) + toIntervalDay(7)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

-- 0004_otel_traces_trace_id_ts_mv
-- Fills otel_traces_trace_id_ts on every insert into otel_traces (one row per trace id and insert block).
CREATE MATERIALIZED VIEW IF NOT EXISTS otel_traces_trace_id_ts_mv
TO otel_traces_trace_id_ts
AS SELECT
  TraceId,
  min(Timestamp) AS Start,
  max(Timestamp) AS End
FROM otel_traces
WHERE TraceId != ''
GROUP BY TraceId;

-- 0005_k8s_events
-- Kubernetes events stored by the k8s-watcher. An event object is updated in place by the API server (Count and
-- LastTimestamp grow), so every observed version is inserted and ReplacingMergeTree keeps the latest per Uid
-- (query with FINAL, or argMax(..., LastTimestamp), for an exact answer before merges).
-- 30 is replaced by the migration runner with a validated whole number of days.
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
ENGINE = ReplicatedReplacingMergeTree(LastTimestamp)
PARTITION BY toDate(FirstTimestamp)
ORDER BY (Namespace, InvolvedObjectKind, InvolvedObjectName, Uid)
TTL toDateTime(LastTimestamp) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

-- 0020_alert_history
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
ENGINE = ReplicatedMergeTree()
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (MonitorId, Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(90)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

-- 0021_monitor_config
-- Monitor definitions, notification targets and silences (incloud/monitors), kept in the cluster so target
-- secrets never leave it. Every change inserts a new version of the whole object (Body is its JSON); a delete
-- inserts a version with Deleted = 1. Readers take argMax(..., Version) per (Kind, Id), exact before merges.
CREATE TABLE IF NOT EXISTS monitor_config (
  Kind LowCardinality(String),
  Id String,
  Version UInt64,
  Deleted UInt8,
  Body String CODEC(ZSTD(1)),
  UpdatedAt DateTime64(3)
)
ENGINE = ReplicatedReplacingMergeTree(Version)
ORDER BY (Kind, Id);

