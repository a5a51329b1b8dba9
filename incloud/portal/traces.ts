import type { QueryParams, SpanSummary } from '../../lib/tunnel/index.ts';
import type { ClickhouseReader } from './clickhouseReader.ts';
import { jsonAnswer, type QueryAnswer, type QueryContext, QueryError } from './query.ts';
import { checkRange } from './timeRange.ts';

/**
 * Traces from `otel_traces`. Timestamps and durations are epoch nanoseconds as decimal strings (JSON numbers
 * lose precision past 2^53). Status names are matched in both spellings found in the wild: the collector's
 * `STATUS_CODE_ERROR` and the short `Error`.
 */
const STATUS_VALUES = {
  error: ['Error', 'STATUS_CODE_ERROR'],
  ok: ['Ok', 'STATUS_CODE_OK'],
  unset: ['Unset', 'STATUS_CODE_UNSET', ''],
} as const;

const SUMMARY_COLUMNS = `TraceId AS traceId, SpanId AS spanId, ParentSpanId AS parentSpanId,
  toString(toUnixTimestamp64Nano(Timestamp)) AS timestamp, toString(Duration) AS durationNs,
  ServiceName AS service, SpanName AS name, SpanKind AS kind, StatusCode AS status`;

export function tracesSearchHandler(reader: ClickhouseReader, maxRangeMs: number) {
  return async (p: QueryParams<'traces.search'>, ctx: QueryContext): Promise<QueryAnswer> => {
    checkRange(p, maxRangeMs);
    const params: Record<string, unknown> = { startMs: p.start, endMs: p.end, limit: p.limit };
    const conds = [
      'Timestamp >= fromUnixTimestamp64Milli({startMs:Int64})',
      'Timestamp < fromUnixTimestamp64Milli({endMs:Int64})',
    ];
    if (p.service !== undefined) {
      conds.push('ServiceName = {service:String}');
      params.service = p.service;
    }
    if (p.resource !== undefined) {
      conds.push(
        "(SpanName = {resource:String} OR SpanAttributes['http.route'] = {resource:String} OR SpanAttributes['url.path'] = {resource:String})",
      );
      params.resource = p.resource;
    }
    if (p.status !== undefined) {
      conds.push('StatusCode IN {statuses:Array(String)}');
      params.statuses = STATUS_VALUES[p.status];
    }
    if (p.rootOnly) conds.push("ParentSpanId = ''");
    if (p.minDurationMs !== undefined) {
      conds.push('Duration >= {minNs:UInt64}');
      params.minNs = Math.round(p.minDurationMs * 1e6);
    }
    if (p.maxDurationMs !== undefined) {
      conds.push('Duration <= {maxNs:UInt64}');
      params.maxNs = Math.round(p.maxDurationMs * 1e6);
    }
    const spans = await reader.select<SpanSummary>(
      `SELECT ${SUMMARY_COLUMNS}
FROM otel_traces
WHERE ${conds.join(' AND ')}
ORDER BY Timestamp DESC
LIMIT {limit:UInt32}`,
      params,
      ctx,
    );
    return jsonAnswer({ spans });
  };
}

/**
 * The time span of a trace from the small lookup table, so the span queries read only those partitions.
 * Start/End are whole seconds: the window is widened by one second at the end.
 */
async function traceWindow(reader: ClickhouseReader, traceId: string, ctx: QueryContext) {
  const rows = await reader.select<{ n: number; s: string; e: string }>(
    `SELECT count() AS n, toString(toUnixTimestamp(min(Start))) AS s, toString(toUnixTimestamp(max(End)) + 1) AS e
FROM otel_traces_trace_id_ts
WHERE TraceId = {traceId:String}`,
    { traceId },
    ctx,
  );
  const r = rows[0];
  if (!r || Number(r.n) === 0) throw new QueryError('not_found', `trace ${traceId} was not found`);
  return { fromS: Number(r.s), toS: Number(r.e) };
}

export function traceGetHandler(reader: ClickhouseReader) {
  return async (p: QueryParams<'traces.get'>, ctx: QueryContext): Promise<QueryAnswer> => {
    const w = await traceWindow(reader, p.traceId, ctx);
    const spans = await reader.select<SpanSummary & { attributes: Record<string, string> }>(
      `SELECT ${SUMMARY_COLUMNS}, SpanAttributes AS attributes
FROM otel_traces
WHERE TraceId = {traceId:String}
  AND Timestamp >= toDateTime({fromS:UInt32}) AND Timestamp <= toDateTime({toS:UInt32})
ORDER BY Timestamp
LIMIT 10000`,
      { traceId: p.traceId, ...w },
      ctx,
    );
    if (spans.length === 0) throw new QueryError('not_found', `trace ${p.traceId} was not found`);
    return jsonAnswer({ traceId: p.traceId, spans });
  };
}

interface SpanRow extends SpanSummary {
  attributes: Record<string, string>;
  resource: Record<string, string>;
  scopeName: string;
  statusMessage: string;
  eventTimes: string[];
  eventNames: string[];
  eventAttributes: Record<string, string>[];
  linkTraceIds: string[];
  linkSpanIds: string[];
}

/** Header attributes as the OpenTelemetry semantic conventions name them. */
const HEADER = /^(http\.request\.header\.|http\.response\.header\.)/;
/** Body prefixes: the semantic conventions have no standard name yet; any attribute naming a body counts. */
const BODY = /(^|\.)body(\.|$)/;

export function spanGetHandler(reader: ClickhouseReader) {
  return async (p: QueryParams<'traces.span'>, ctx: QueryContext): Promise<QueryAnswer> => {
    const w = await traceWindow(reader, p.traceId, ctx);
    const rows = await reader.select<SpanRow>(
      `SELECT ${SUMMARY_COLUMNS}, SpanAttributes AS attributes, ResourceAttributes AS resource,
  ScopeName AS scopeName, StatusMessage AS statusMessage,
  arrayMap(t -> toString(toUnixTimestamp64Nano(t)), Events.Timestamp) AS eventTimes,
  Events.Name AS eventNames, Events.Attributes AS eventAttributes,
  Links.TraceId AS linkTraceIds, Links.SpanId AS linkSpanIds
FROM otel_traces
WHERE TraceId = {traceId:String} AND SpanId = {spanId:String}
  AND Timestamp >= toDateTime({fromS:UInt32}) AND Timestamp <= toDateTime({toS:UInt32})
LIMIT 1`,
      { traceId: p.traceId, spanId: p.spanId, ...w },
      ctx,
    );
    const r = rows[0];
    if (!r) throw new QueryError('not_found', `span ${p.spanId} of trace ${p.traceId} was not found`);
    const headers: Record<string, string> = {};
    const bodies: Record<string, string> = {};
    const other: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.attributes)) {
      if (HEADER.test(k)) headers[k] = v;
      else if (BODY.test(k)) bodies[k] = v;
      else other[k] = v;
    }
    const { eventTimes, eventNames, eventAttributes, linkTraceIds, linkSpanIds, attributes: _a, ...span } = r;
    return jsonAnswer({
      ...span,
      attributes: other,
      headers,
      bodies,
      events: eventNames.map((name, i) => ({
        name,
        timestamp: eventTimes[i],
        attributes: eventAttributes[i],
      })),
      links: linkTraceIds.map((traceId, i) => ({ traceId, spanId: linkSpanIds[i] })),
    });
  };
}
