import type { QueryParams } from '../../lib/tunnel/index.ts';
import { type QueryAnswer, type QueryContext, QueryError } from './query.ts';

/**
 * Arguments of the read-only Prometheus API that are forwarded; anything else is dropped, so no VictoriaMetrics
 * extension argument reaches it by accident. (Paths and methods are already allow-listed by the shared schema.)
 */
export const FORWARDED_ARGS = new Set([
  'query',
  'time',
  'start',
  'end',
  'step',
  'timeout',
  'match[]',
  'limit',
  'metric',
  'lookback_delta',
  'limit_per_metric',
]);

/** VictoriaMetrics over its Prometheus-compatible HTTP API. */
export class VictoriaMetricsClient {
  readonly baseUrl: string;

  constructor(url: string) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new Error(`cannot use VictoriaMetrics URL ${JSON.stringify(url)}: not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new Error(`cannot use VictoriaMetrics URL ${url}: scheme must be http or https`);
    this.baseUrl = u.toString().replace(/\/+$/, '');
  }

  /** Sends one allow-listed API call; the caller streams or reads the response. */
  async call(
    path: string,
    method: 'GET' | 'POST',
    args: [string, string][],
    signal: AbortSignal,
  ): Promise<Response> {
    const form = new URLSearchParams(args.filter(([k]) => FORWARDED_ARGS.has(k)));
    const url = method === 'GET' ? `${this.baseUrl}${path}?${form}` : `${this.baseUrl}${path}`;
    try {
      return await fetch(url, {
        method,
        redirect: 'error',
        signal,
        ...(method === 'POST'
          ? { body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } }
          : {}),
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new QueryError('unavailable', `cannot reach VictoriaMetrics: ${(err as Error).message}`);
    }
  }

  /** An instant query's vector result (for the RED queries). */
  async instantVector(query: string, timeMs: number, signal: AbortSignal): Promise<VectorSample[]> {
    const res = await this.call(
      '/api/v1/query',
      'POST',
      [
        ['query', query],
        ['time', String(timeMs / 1000)],
      ],
      signal,
    );
    const text = await res.text();
    let body: { status?: string; error?: string; data?: { resultType?: string; result?: VectorSample[] } };
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`cannot read VictoriaMetrics answer: HTTP ${res.status}, not JSON`);
    }
    if (body.status !== 'success')
      throw new Error(`cannot run PromQL ${query}: ${body.error ?? `HTTP ${res.status}`}`);
    if (body.data?.resultType !== 'vector')
      throw new Error(`cannot run PromQL ${query}: not a vector result`);
    return body.data.result ?? [];
  }
}

export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** `prom`: passes one read-only Prometheus API call through, streaming the body with a size bound. */
export function promHandler(vm: VictoriaMetricsClient, maxResponseBytes: number) {
  return async (p: QueryParams<'prom'>, ctx: QueryContext): Promise<QueryAnswer> => {
    const res = await vm.call(p.path, p.method, withTimeout(p.args, ctx.timeoutMs), ctx.signal);
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? 'application/json',
      body: boundedBody(res, maxResponseBytes),
    };
  };
}

/**
 * VictoriaMetrics keeps evaluating a query after its client went away; a `timeout` argument no longer than the
 * request's own deadline makes it stop too. A caller's smaller timeout is kept.
 */
export function withTimeout(args: [string, string][], timeoutMs: number): [string, string][] {
  const seconds = Math.max(1, Math.floor(timeoutMs / 1000));
  const given = args.find(([k]) => k === 'timeout');
  if (given && /^\d+(\.\d+)?s$/.test(given[1]) && Number.parseFloat(given[1]) <= seconds) return args;
  return [...args.filter(([k]) => k !== 'timeout'), ['timeout', `${seconds}s`]];
}

async function* boundedBody(res: Response, max: number): AsyncGenerator<Uint8Array> {
  if (!res.body) return;
  let total = 0;
  for await (const piece of res.body) {
    total += piece.byteLength;
    // Throwing out of for-await cancels the response stream, which closes the connection to VictoriaMetrics.
    if (total > max)
      throw new QueryError(
        'too_large',
        `the VictoriaMetrics answer is larger than ${max} bytes; narrow the query`,
      );
    yield piece;
  }
}
