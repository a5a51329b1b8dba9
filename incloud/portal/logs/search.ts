import type { LogsSearchAnswer, QueryParams } from '../../../lib/tunnel/index.ts';
import type { ClickhouseReader } from '../clickhouseReader.ts';
import { jsonAnswer, type QueryAnswer, type QueryContext, QueryError } from '../query.ts';
import { checkRange } from '../timeRange.ts';
import { compileLogFilter } from './compile.ts';
import { LogQueryError, parseLogQuery } from './queryLanguage.ts';

interface LogRow {
  ts: string;
  ServiceName: string;
  SeverityText: string;
  Body: string;
  TraceId: string;
  SpanId: string;
  LogAttributes: Record<string, string>;
  ResourceAttributes: Record<string, string>;
}

/**
 * `logs.search`: the newest (or, with `order: 'asc'`, the oldest) matching rows plus a count histogram over the
 * whole range. The ORDER BY direction is one of two constants, never text from the request.
 */
export function logsSearchHandler(reader: ClickhouseReader, maxRangeMs: number) {
  return async (p: QueryParams<'logs.search'>, ctx: QueryContext): Promise<QueryAnswer> => {
    checkRange(p, maxRangeMs);
    let filter: ReturnType<typeof compileLogFilter>;
    try {
      filter = compileLogFilter(parseLogQuery(p.query), { startMs: p.start, endMs: p.end });
    } catch (err) {
      if (err instanceof LogQueryError) throw new QueryError('bad_request', err.message);
      throw err;
    }
    const bucketMs = Math.max(1, Math.ceil((p.end - p.start) / p.buckets));
    const [rows, counts] = await Promise.all([
      reader.select<LogRow>(
        `SELECT toString(toUnixTimestamp64Nano(Timestamp)) AS ts, ServiceName, SeverityText, Body, TraceId, SpanId,
  LogAttributes, ResourceAttributes
FROM otel_logs
WHERE ${filter.where}
ORDER BY Timestamp ${p.order === 'asc' ? 'ASC' : 'DESC'}
LIMIT {limit:UInt32}`,
        { ...filter.params, limit: p.limit },
        ctx,
      ),
      reader.select<{ b: number; c: number }>(
        `SELECT intDiv(toUnixTimestamp64Milli(Timestamp) - {startMs:Int64}, {bucketMs:Int64}) AS b, count() AS c
FROM otel_logs
WHERE ${filter.where}
GROUP BY b
ORDER BY b
LIMIT {buckets:UInt32}`,
        { ...filter.params, bucketMs, buckets: p.buckets },
        ctx,
      ),
    ]);
    const histogram = Array.from({ length: p.buckets }, (_, i) => ({
      start: p.start + i * bucketMs,
      count: 0,
    }));
    let total = 0;
    for (const { b, c } of counts) {
      const bucket = histogram[Number(b)];
      if (bucket) bucket.count = Number(c);
      total += Number(c);
    }
    const answer: LogsSearchAnswer = {
      rows: rows.map((r) => ({
        timestamp: r.ts,
        service: r.ServiceName,
        severity: r.SeverityText,
        body: r.Body,
        traceId: r.TraceId,
        spanId: r.SpanId,
        attributes: r.LogAttributes,
        resource: r.ResourceAttributes,
      })),
      histogram,
      bucketMs,
      total,
    };
    return jsonAnswer(answer);
  };
}
