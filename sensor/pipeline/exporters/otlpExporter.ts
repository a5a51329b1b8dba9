import { Counter, Gauge, type Registry } from 'prom-client';
import type { BuiltSpan, OtlpKeyValue, OtlpSpan } from '../spanBuilder.ts';
import { BatchSender, type Body, PermanentSendError } from './batchSender.ts';
import { HttpPoster } from './httpPoster.ts';
import { ProtoWriter } from './protoWriter.ts';

/**
 * OTLP/HTTP protobuf export of sampled spans to the collector (ours or the OpenTelemetry Collector):
 * POST <url>/v1/traces. Spans wait in a pending batch (at most `maxSpansPerBatch`, flushed then or
 * `intervalMs` after its first span); spans of the same resource (workload, namespace, node, pid) share one
 * ResourceSpans.
 * 4xx other than 429 is permanent (dropped, counted); 429, 5xx and network errors are retried by the batch
 * sender. The message schema is the collector's own otlp.proto (the wire format of opentelemetry-proto);
 * otlpExporter.test.ts decodes what `encodeSpans` writes with that schema.
 */

export interface OtlpExporterOptions {
  /** Base URL of the collector, e.g. http://127.0.0.1:4318. */
  url: string;
  intervalMs: number;
  maxSpansPerBatch: number;
  maxQueueBodies: number;
  timeoutMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  scopeVersion: string;
  /** The cluster's ingest token, sent as `Authorization: Bearer <token>` (never logged). */
  token?: string;
  /** Added to every span's resource (e.g. `k8s.cluster.name`); the span's own attributes win. */
  resourceAttributes?: Record<string, string>;
  registry?: Registry;
}

export const DEFAULT_OTLP_OPTIONS = {
  intervalMs: 2_000,
  maxSpansPerBatch: 512,
  maxQueueBodies: 64,
  timeoutMs: 10_000,
  initialBackoffMs: 250,
  maxBackoffMs: 10_000,
  scopeVersion: '0.1.0',
};

export class OtlpExporter {
  private readonly o: OtlpExporterOptions;
  private readonly endpoint: string;
  private readonly sender: BatchSender;
  private readonly poster: HttpPoster;
  private readonly headers: Record<string, string>;
  private pending: BuiltSpan[] = [];
  /** Armed while spans are pending (see `export`). */
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private readonly m;

  constructor(opts: Pick<OtlpExporterOptions, 'url'> & Partial<OtlpExporterOptions>) {
    this.o = { ...DEFAULT_OTLP_OPTIONS, ...opts };
    try {
      this.endpoint = new URL('v1/traces', this.o.url.endsWith('/') ? this.o.url : `${this.o.url}/`).href;
    } catch {
      throw new Error(`cannot configure OTLP export: ${JSON.stringify(this.o.url)} is not a URL`);
    }
    this.poster = new HttpPoster(this.endpoint, this.o.timeoutMs);
    this.headers = otlpHeaders(this.o.token);
    const registers = opts.registry ? [opts.registry] : [];
    let queued: Gauge;
    this.m = {
      sent: new Counter({
        name: 'sensor_otlp_spans_sent_total',
        help: 'Spans the collector accepted',
        registers,
      }),
      dropped: new Counter({
        name: 'sensor_otlp_spans_dropped_total',
        help: 'Spans never delivered, by reason (queue_full, rejected, shutdown)',
        labelNames: ['reason'],
        registers,
      }),
      errors: new Counter({
        name: 'sensor_otlp_errors_total',
        help: 'Failed OTLP export requests (each retry counts)',
        registers,
      }),
      queued: new Gauge({
        name: 'sensor_otlp_queue_bodies',
        help: 'Encoded span batches waiting to be sent',
        registers,
        collect: () => queued.set(this.sender.queued),
      }),
    };
    queued = this.m.queued;
    this.sender = new BatchSender({
      name: 'otlp-exporter',
      maxQueueBodies: this.o.maxQueueBodies,
      initialBackoffMs: this.o.initialBackoffMs,
      maxBackoffMs: this.o.maxBackoffMs,
      send: (b) => this.post(b),
      onSent: (b) => this.m.sent.inc(b.items),
      onDropped: (b, reason) => this.m.dropped.inc({ reason }, b.items),
      onError: () => this.m.errors.inc(),
    });
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.sender.start();
  }

  /**
   * Takes ownership of `span`. A batch goes out when full or `intervalMs` after its first span: the timer
   * is armed only while spans are pending, so an idle sensor has no export wake-ups.
   */
  export(span: BuiltSpan): void {
    this.pending.push(span);
    if (this.pending.length >= this.o.maxSpansPerBatch) this.flush();
    else if (this.timer === undefined && this.started) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.o.intervalMs);
      this.timer.unref();
    }
  }

  /** Encodes the pending spans into one request and queues it. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0) return;
    const spans = this.pending;
    this.pending = [];
    const bytes = encodeSpans(spans, this.o.scopeVersion, this.o.resourceAttributes);
    this.sender.push({ bytes, items: spans.length });
  }

  drain(timeoutMs: number): Promise<boolean> {
    this.flush();
    return this.sender.drain(timeoutMs);
  }

  get queued(): number {
    return this.sender.queued + (this.pending.length > 0 ? 1 : 0);
  }

  /** Sends what is pending (up to `graceMs`), then stops. Safe to call twice or before start. */
  async shutdown(graceMs = 3000): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.drain(graceMs);
    await this.sender.stop();
    this.poster.close();
  }

  private async post(b: Body): Promise<void> {
    const res = await this.poster.post(b.bytes, this.headers);
    if (res.status >= 200 && res.status < 300) return;
    const msg = `cannot export spans to ${this.endpoint}: HTTP ${res.status} ${res.text}`;
    if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new PermanentSendError(msg);
    throw new Error(msg);
  }
}

/**
 * One ExportTraceServiceRequest (otlp.proto), spans grouped by resource, written field by field (see
 * ProtoWriter: a reflection encoder cost more than building the spans).
 */
export function encodeSpans(
  spans: readonly BuiltSpan[],
  scopeVersion = '0.1.0',
  extraResource: Record<string, string> = {},
): Uint8Array {
  const byResource = new Map<string, { attributes: OtlpKeyValue[]; spans: OtlpSpan[] }>();
  for (const s of spans) {
    const key = resourceKey(s.resource);
    let g = byResource.get(key);
    if (!g) {
      g = { attributes: toKeyValues({ ...extraResource, ...s.resource }), spans: [] };
      byResource.set(key, g);
    }
    g.spans.push(s.span);
  }
  const w = new ProtoWriter(spans.length * 2048 + 1024);
  for (const g of byResource.values()) {
    const rs = w.begin(1); // ExportTraceServiceRequest.resource_spans
    const res = w.begin(1); // ResourceSpans.resource
    for (const kv of g.attributes) writeKeyValue(w, 1, kv);
    w.end(res);
    const ss = w.begin(2); // ResourceSpans.scope_spans
    const scope = w.begin(1);
    w.string(1, 'understory-sensor');
    w.string(2, scopeVersion);
    w.end(scope);
    for (const span of g.spans) writeSpan(w, span);
    w.end(ss);
    w.end(rs);
  }
  return w.finish();
}

/** Keys of resource objects seen before: the span builder shares one object per process and peer. */
const resourceKeys = new WeakMap<Record<string, string | number>, string>();

function resourceKey(r: Record<string, string | number>): string {
  let k = resourceKeys.get(r);
  if (k !== undefined) return k;
  k = '';
  for (const name in r) k += `${name}\u0000${r[name]}\u0000`;
  resourceKeys.set(r, k);
  return k;
}

function writeSpan(w: ProtoWriter, s: OtlpSpan): void {
  const m = w.begin(2); // ScopeSpans.spans
  w.bytes(1, s.traceId);
  w.bytes(2, s.spanId);
  if (s.traceState) w.string(3, s.traceState);
  if (s.parentSpanId && s.parentSpanId.length > 0) w.bytes(4, s.parentSpanId);
  if (s.name) w.string(5, s.name);
  if (s.kind) w.varint(6, s.kind);
  w.fixed64(7, BigInt(s.startTimeUnixNano));
  w.fixed64(8, BigInt(s.endTimeUnixNano));
  for (const kv of s.attributes) writeKeyValue(w, 9, kv);
  for (const l of s.links ?? []) {
    const link = w.begin(13); // Span.links
    w.bytes(1, l.traceId);
    w.bytes(2, l.spanId);
    if (l.traceState) w.string(3, l.traceState);
    if (l.flags) w.fixed32(6, l.flags);
    w.end(link);
  }
  const st = w.begin(15);
  if (s.status.message) w.string(2, s.status.message);
  if (s.status.code) w.varint(3, s.status.code);
  w.end(st);
  if (s.flags) w.fixed32(16, s.flags);
  w.end(m);
}

/** A KeyValue; its AnyValue holds the one value set (proto3: zero values are still written in a oneof). */
function writeKeyValue(w: ProtoWriter, field: number, kv: OtlpKeyValue): void {
  const m = w.begin(field);
  w.string(1, kv.key);
  const av = w.begin(2);
  const v = kv.value;
  if (v.stringValue !== undefined) w.string(1, v.stringValue);
  else if (v.boolValue !== undefined) w.bool(2, v.boolValue);
  else if (v.intValue !== undefined) w.varint(3, v.intValue);
  else if (v.doubleValue !== undefined) w.double(4, v.doubleValue);
  w.end(av);
  w.end(m);
}

/** Request headers of an OTLP/HTTP protobuf export, with the bearer token when there is one. */
export function otlpHeaders(token: string | undefined): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/x-protobuf' };
  if (token) h.authorization = `Bearer ${token}`;
  return h;
}

function toKeyValues(attrs: Record<string, string | number>): OtlpKeyValue[] {
  return Object.entries(attrs).map(([key, v]) => ({
    key,
    value: typeof v === 'number' ? { intValue: v } : { stringValue: v },
  }));
}
