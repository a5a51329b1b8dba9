import type { QueryParams } from '../../lib/tunnel/index.ts';
import type { ClickhouseReader } from './clickhouseReader.ts';
import { jsonAnswer, type QueryAnswer, type QueryContext } from './query.ts';
import { checkRange } from './timeRange.ts';

/** Optional equality filters: request field -> k8s_events column (identifiers only from this table). */
const FILTERS = {
  namespace: 'Namespace',
  kind: 'InvolvedObjectKind',
  name: 'InvolvedObjectName',
  type: 'Type',
  reason: 'Reason',
} as const;

/**
 * `events.list`: Kubernetes events that were active in the range, newest first. The table keeps every
 * observed version of an event (ReplacingMergeTree on LastTimestamp); FINAL gives the latest per Uid.
 */
export function eventsListHandler(reader: ClickhouseReader, maxRangeMs: number) {
  return async (p: QueryParams<'events.list'>, ctx: QueryContext): Promise<QueryAnswer> => {
    checkRange(p, maxRangeMs);
    const params: Record<string, unknown> = { startMs: p.start, endMs: p.end, limit: p.limit };
    const conds = [
      'LastTimestamp >= fromUnixTimestamp64Milli({startMs:Int64})',
      'FirstTimestamp < fromUnixTimestamp64Milli({endMs:Int64})',
    ];
    for (const [field, column] of Object.entries(FILTERS) as [keyof typeof FILTERS, string][]) {
      const value = p[field];
      if (value === undefined) continue;
      conds.push(`${column} = {${field}:String}`);
      params[field] = value;
    }
    const events = await reader.select(
      `SELECT Uid AS uid, Namespace AS namespace, Name AS name, Type AS type, Reason AS reason, Message AS message,
  Count AS count, toString(toUnixTimestamp64Milli(FirstTimestamp)) AS firstTimestampMs,
  toString(toUnixTimestamp64Milli(LastTimestamp)) AS lastTimestampMs,
  InvolvedObjectKind AS kind, InvolvedObjectNamespace AS objectNamespace, InvolvedObjectName AS objectName,
  Workload AS workload, SourceComponent AS source, SourceHost AS host
FROM k8s_events FINAL
WHERE ${conds.join(' AND ')}
ORDER BY LastTimestamp DESC
LIMIT {limit:UInt32}`,
      params,
      ctx,
    );
    return jsonAnswer({ events });
  };
}
