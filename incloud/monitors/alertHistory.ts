import type { AlertHistoryRow, AlertView } from '../../lib/tunnel/monitors.ts';
import type { ClickhouseReader } from '../portal/clickhouseReader.ts';
import type { Transition } from './alertTracker.ts';

export type Notified = 'sent' | 'silenced' | 'none';

export interface HistoryEntry {
  transition: Transition;
  monitorName: string;
  severity: string;
  message: string;
  notified: Notified;
}

/** Epoch ms as the `YYYY-MM-DD hh:mm:ss.mmm` (UTC) text DateTime64(3) accepts. */
export function dt64ms(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** One alert_history row (db/clickhouse/0020_alert_history.sql) per transition. */
export function historyRow(e: HistoryEntry): Record<string, unknown> {
  const t = e.transition;
  return {
    Timestamp: dt64ms(t.at),
    MonitorId: t.monitorId,
    MonitorName: e.monitorName,
    Fingerprint: t.fingerprint,
    State: t.to,
    Previous: t.from,
    Severity: e.severity,
    Labels: t.labels,
    Value: Number.isFinite(t.value) ? t.value : 0,
    ActiveSince: dt64ms(t.activeSince),
    Message: e.message,
    Notified: e.notified,
  };
}

interface Row {
  ts: string;
  MonitorId: string;
  MonitorName: string;
  Fingerprint: string;
  State: AlertHistoryRow['state'];
  Previous: string;
  Severity: string;
  Labels: Record<string, string>;
  Value: number;
  Message: string;
  Notified: string;
}

/** Newest first, bounded by the reader's limits and `limit`. */
export async function readHistory(
  reader: ClickhouseReader,
  p: { start: number; end: number; monitorId?: string; limit: number },
  ctx: { signal?: AbortSignal; timeoutMs?: number },
): Promise<AlertHistoryRow[]> {
  const params: Record<string, unknown> = { startMs: p.start, endMs: p.end, limit: p.limit };
  let monitorFilter = '';
  if (p.monitorId !== undefined) {
    monitorFilter = 'AND MonitorId = {monitorId:String}';
    params.monitorId = p.monitorId;
  }
  const rows = await reader.select<Row>(
    `SELECT toString(toUnixTimestamp64Milli(Timestamp)) AS ts, MonitorId, MonitorName, Fingerprint, State, Previous,
  Severity, Labels, Value, Message, Notified
FROM alert_history
WHERE Timestamp >= fromUnixTimestamp64Milli({startMs:Int64}) AND Timestamp < fromUnixTimestamp64Milli({endMs:Int64})
  ${monitorFilter}
ORDER BY Timestamp DESC
LIMIT {limit:UInt32}`,
    params,
    ctx,
  );
  return rows.map((r) => ({
    timestamp: Number(r.ts),
    monitorId: r.MonitorId,
    monitorName: r.MonitorName,
    fingerprint: r.Fingerprint,
    state: r.State,
    previous: r.Previous,
    severity: r.Severity,
    labels: r.Labels,
    value: Number(r.Value),
    message: r.Message,
    notified: r.Notified,
  }));
}

/** How far back the current state is looked for: an alert silent in history for longer is not "current". */
const CURRENT_LOOKBACK_DAYS = 30;

/**
 * The alert instances whose latest transition is pending or firing: the current state, read from history so
 * that any replica (the portal, a restarted evaluator) sees the same thing without talking to the evaluator.
 */
export async function readCurrent(
  reader: ClickhouseReader,
  ctx: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<AlertView[]> {
  const rows = await reader.select<{
    Fingerprint: string;
    monitorId: string;
    state: 'pending' | 'firing' | 'resolved';
    labels: Record<string, string>;
    value: number;
    activeSince: string;
    since: string;
  }>(
    `SELECT Fingerprint, argMax(MonitorId, Timestamp) AS monitorId, argMax(State, Timestamp) AS state,
  argMax(Labels, Timestamp) AS labels, argMax(Value, Timestamp) AS value,
  toString(toUnixTimestamp64Milli(argMax(ActiveSince, Timestamp))) AS activeSince,
  toString(toUnixTimestamp64Milli(max(Timestamp))) AS since
FROM alert_history
WHERE Timestamp >= now() - toIntervalDay(${CURRENT_LOOKBACK_DAYS})
GROUP BY Fingerprint
HAVING state != 'resolved'
ORDER BY monitorId, Fingerprint
LIMIT 10000`,
    {},
    ctx,
  );
  return rows.map((r) => ({
    monitorId: r.monitorId,
    fingerprint: r.Fingerprint,
    state: r.state as 'pending' | 'firing',
    labels: r.labels,
    value: Number(r.value),
    activeSince: Number(r.activeSince),
    firingSince: r.state === 'firing' ? Number(r.since) : null,
  }));
}

/** Each monitor's newest transition (epoch ms) within the current-state lookback, by monitor id. */
export async function readNewestTransitions(
  reader: ClickhouseReader,
  ctx: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<Map<string, number>> {
  const rows = await reader.select<{ MonitorId: string; newest: string }>(
    `SELECT MonitorId, toString(toUnixTimestamp64Milli(max(Timestamp))) AS newest
FROM alert_history
WHERE Timestamp >= now() - toIntervalDay(${CURRENT_LOOKBACK_DAYS})
GROUP BY MonitorId
LIMIT 10000`,
    {},
    ctx,
  );
  return new Map(rows.map((r) => [r.MonitorId, Number(r.newest)]));
}

/**
 * When a monitor's state (firing, pending, OK) last changed, from its alerts now and its newest transition:
 * firing: the earliest `firingSince` of its alerts firing now; pending: the earliest `activeSince` of its
 * pending alerts; OK: its newest transition (the last of its alerts resolved then). Null: no transition in the
 * lookback. An approximation where instances overlap: firing since 10:00 (A), then B fires at 10:05 and A
 * resolves at 10:10 reads "firing since 10:05", though some alert has fired since 10:00.
 */
export function lastTransitionAt(alerts: readonly AlertView[], newest: number | undefined): number | null {
  const firing = alerts.filter((a) => a.state === 'firing').map((a) => a.firingSince ?? a.activeSince);
  if (firing.length > 0) return Math.min(...firing);
  const pending = alerts.filter((a) => a.state === 'pending').map((a) => a.activeSince);
  if (pending.length > 0) return Math.min(...pending);
  return newest ?? null;
}
