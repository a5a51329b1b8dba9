/**
 * Logs of a cluster through the edge and its portal (`logs.search`, incloud/portal/README.md "Logs"): the newest
 * `limit` matching lines plus a count histogram over the whole range. Times are epoch ms; row timestamps are
 * epoch ns as decimal strings.
 */
import type { LogsSearchAnswer } from '../../../../../lib/tunnel/queries.ts';
import { api } from '../../api.ts';
import type { ClusterRef } from '../../clusterApi.ts';
import { nsToMs } from '../traces/format.ts';
import { quoteValue } from './querySuggest.ts';

export type { LogsSearchAnswer };
export type LogRow = LogsSearchAnswer['rows'][number];

/** The portal's caps (lib/tunnel/queries.ts logsSearchParams). */
export const MAX_LIMIT = 1000;
export const MAX_BUCKETS = 500;

export function searchLogs(
  ref: ClusterRef,
  q: { start: number; end: number; query: string; limit: number; buckets: number; order?: 'asc' | 'desc' },
  opts: { timeoutMs?: number } = {},
): Promise<LogsSearchAnswer> {
  const qs = new URLSearchParams({
    start: String(Math.floor(q.start)),
    end: String(Math.ceil(q.end)),
    query: q.query,
    limit: String(q.limit),
    buckets: String(q.buckets),
  });
  if (q.order) qs.set('order', q.order);
  return api<LogsSearchAnswer>(
    'GET',
    `/api/orgs/${encodeURIComponent(ref.orgId)}/clusters/${encodeURIComponent(ref.clusterId)}/logs?${qs}`,
    undefined,
    opts,
  );
}

/** Identity of a line for de-duplication (the table has no row id): time, service, pod and body. */
export function lineKey(r: LogRow): string {
  return `${r.timestamp}|${r.service}|${r.resource['k8s.pod.name'] ?? ''}|${r.body}`;
}

export const CONTEXT_LINES = 10;
/** How far from the hit context lines are looked for. */
const CONTEXT_REACH_MS = 15 * 60_000;

/**
 * The lines around `hit` from the same workload (its pod when known, else its service): up to `CONTEXT_LINES`
 * before and after, in time order, with the hit's index. Two queries: the newest lines up to the hit and the
 * oldest lines from it on (`order: asc`), each within 15 minutes.
 */
export async function contextOf(
  ref: ClusterRef,
  hit: LogRow,
): Promise<{ lines: LogRow[]; hitIndex: number; scope: string }> {
  const pod = hit.resource['k8s.pod.name'];
  const scope = pod ? `pod:${quoteValue(pod)}` : `service:${quoteValue(hit.service)}`;
  const ms = Math.floor(nsToMs(hit.timestamp));
  // Three times the lines wanted: lines of the hit's own millisecond come in both answers.
  const limit = CONTEXT_LINES * 3;
  const [before, after] = await Promise.all([
    searchLogs(ref, {
      start: Math.max(0, ms - CONTEXT_REACH_MS),
      end: ms + 1,
      query: scope,
      limit,
      buckets: 1,
    }),
    searchLogs(ref, { start: ms, end: ms + CONTEXT_REACH_MS, query: scope, limit, buckets: 1, order: 'asc' }),
  ]);
  const later = after.rows;
  const byKey = new Map<string, LogRow>();
  for (const r of [...before.rows, ...later]) byKey.set(lineKey(r), r);
  byKey.set(lineKey(hit), hit);
  const all = [...byKey.values()].sort((a, b) => compareNs(a.timestamp, b.timestamp));
  const at = all.findIndex((r) => lineKey(r) === lineKey(hit));
  const from = Math.max(0, at - CONTEXT_LINES);
  const lines = all.slice(from, at + CONTEXT_LINES + 1);
  return { lines, hitIndex: at - from, scope };
}

/** Orders decimal ns strings without losing precision. */
export function compareNs(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

export type SeverityLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'unknown';

/** Severity text as written by many loggers (`WARNING`, `Information`, `err`, `E`, `crit`) -> a level. */
export function severityLevel(text: string): SeverityLevel {
  const s = text.trim().toLowerCase();
  if (!s) return 'unknown';
  if (/^(fatal|crit|emerg|alert|panic)/.test(s)) return 'fatal';
  if (/^(err|e$|severe)/.test(s)) return 'error';
  if (/^(warn|w$)/.test(s)) return 'warn';
  if (/^(info|i$|notice)/.test(s)) return 'info';
  if (/^(debug|d$|fine)/.test(s)) return 'debug';
  if (/^(trace|t$|finest)/.test(s)) return 'trace';
  return 'unknown';
}
