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
ENGINE = ReplacingMergeTree(Version)
ORDER BY (Kind, Id)
