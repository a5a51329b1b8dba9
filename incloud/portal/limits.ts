/**
 * Every bound the portal enforces, in one object so it is reviewed and configured in one place.
 * ClickHouse bounds are ClickHouse settings added to each query (see clickhouseReader.ts for which ones chdb
 * honours); the others are enforced by the portal itself.
 */
export interface PortalLimits {
  /** Requests served at once; more are answered `overloaded` at once instead of queueing. */
  maxInFlight: number;
  /** Upper bound of a request's time, whatever the edge asks for. */
  maxTimeoutMs: number;
  /** Bytes of one response body; past it the response ends with `too_large`. */
  maxResponseBytes: number;
  /** Widest time range a ClickHouse search or a PromQL RED query may cover. */
  maxRangeMs: number;
  clickhouse: {
    /** ClickHouse `max_execution_time` (seconds). */
    maxExecutionSeconds: number;
    /** ClickHouse `max_result_rows` (result_overflow_mode = throw); queries also carry their own LIMIT. */
    maxResultRows: number;
    /** ClickHouse `max_result_bytes` (result_overflow_mode = throw). */
    maxResultBytes: number;
    /** ClickHouse `max_rows_to_read`: the scan bound that stops unselective searches. */
    maxRowsToRead: number;
    /** ClickHouse `max_bytes_to_read`. */
    maxBytesToRead: number;
    /** ClickHouse `max_memory_usage` per query. */
    maxMemoryBytes: number;
  };
  /** VictoriaMetrics: upper bound on `limit` style arguments is VM's own; the portal bounds time and size. */
  prometheus: {
    /** Largest response body accepted from VictoriaMetrics before the request fails `too_large`. */
    maxResponseBytes: number;
  };
}

export function defaultLimits(): PortalLimits {
  return {
    maxInFlight: 64,
    maxTimeoutMs: 60_000,
    maxResponseBytes: 64 * 1024 * 1024,
    maxRangeMs: 31 * 24 * 3600 * 1000,
    clickhouse: {
      maxExecutionSeconds: 30,
      maxResultRows: 100_000,
      maxResultBytes: 64 * 1024 * 1024,
      maxRowsToRead: 500_000_000,
      maxBytesToRead: 50 * 1024 * 1024 * 1024,
      maxMemoryBytes: 2 * 1024 * 1024 * 1024,
    },
    prometheus: { maxResponseBytes: 64 * 1024 * 1024 },
  };
}

/** Fails fast on a configuration that would not bound anything. */
export function validateLimits(l: PortalLimits): PortalLimits {
  const positive: [string, number][] = [
    ['maxInFlight', l.maxInFlight],
    ['maxTimeoutMs', l.maxTimeoutMs],
    ['maxResponseBytes', l.maxResponseBytes],
    ['maxRangeMs', l.maxRangeMs],
    ['prometheus.maxResponseBytes', l.prometheus.maxResponseBytes],
    ...Object.entries(l.clickhouse).map(([k, v]): [string, number] => [`clickhouse.${k}`, v]),
  ];
  for (const [name, v] of positive) {
    if (!Number.isSafeInteger(v) || v <= 0)
      throw new Error(`cannot use portal limits: ${name} must be a positive integer, got ${v}`);
  }
  return l;
}
