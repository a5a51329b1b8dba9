/**
 * How long ClickHouse keeps each kind of data, in whole days. Substituted into the migrations' `{{ttl_days_*}}`
 * placeholders and re-applied (ALTER TABLE ... MODIFY TTL) when the configuration changes.
 */
export interface Retention {
  tracesDays: number;
  logsDays: number;
  eventsDays: number;
}

export const DEFAULT_RETENTION: Retention = { tracesDays: 7, logsDays: 7, eventsDays: 30 };

/** The longest retention accepted: 10 years. Longer would push `DateTime` TTL past 2106 and wrap around. */
export const MAX_RETENTION_DAYS = 3650;

export function validateRetention(r: Retention): Retention {
  for (const [key, days] of Object.entries(r)) {
    if (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS) {
      throw new Error(
        `cannot use retention ${key}=${days}: must be a whole number of days in 1..${MAX_RETENTION_DAYS}`,
      );
    }
  }
  return r;
}

/** The placeholder values the SQL files may use. Only validated integers ever reach SQL text. */
export function retentionParams(r: Retention): Record<string, number> {
  validateRetention(r);
  return { ttl_days_traces: r.tracesDays, ttl_days_logs: r.logsDays, ttl_days_events: r.eventsDays };
}
