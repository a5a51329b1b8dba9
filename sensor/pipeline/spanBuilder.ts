import { randomFillSync } from 'node:crypto';
import type { ApiCall, ProtocolName } from '../protocols/contract.ts';
import type { Identity } from './redAggregator.ts';
import type { Redactor } from './redaction.ts';
import { PROTOCOL_FAMILY } from './redMetrics.ts';
import type { SampleReason } from './traceSampler.ts';

/**
 * A kept API call -> one OTLP span (the plain-object shape protobufjs encodes with otlp.proto), with
 * OpenTelemetry semantic-convention attributes, redacted and bounded headers and body prefixes.
 *
 * Trace linking: a W3C `traceparent` in the request (`00-<trace id>-<parent id>-<flags>`) puts the span in the
 * caller's trace, as a child of the span that sent the request. Without one the span starts a new trace.
 * For messaging the request headers are the message's (NATS HPUB/HMSG headers, AMQP header table): the
 * publish and each delivery join the trace the producer's instrumentation started.
 * Times: ApiCall times are converted with `toEpochNs` (the capture's clock may be monotonic).
 */
export interface OtlpKeyValue {
  key: string;
  value: { stringValue?: string; intValue?: number; boolValue?: boolean; doubleValue?: number };
}

export interface OtlpSpan {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId?: Buffer;
  traceState?: string;
  flags?: number;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  status: { code: number; message?: string };
  /** Trace contexts of the messages a call carried (ApiCall.links), at most MAX_LINKS. */
  links?: { traceId: Buffer; spanId: Buffer; traceState?: string; flags?: number }[];
}

const MAX_LINKS = 16;

export interface BuiltSpan {
  /** Resource attributes (who made the span); spans with equal resources share one ResourceSpans. */
  resource: Record<string, string | number>;
  span: OtlpSpan;
}

export interface SpanBuilderOptions {
  redactor: Redactor;
  /** Node (host) name for the resource. */
  node?: string;
  toEpochNs?: (ns: bigint) => bigint;
  maxAttributes?: number;
  maxAttributeChars?: number;
}

const KIND = { server: 2, client: 3, producer: 4, consumer: 5 } as const;
/**
 * Messaging operations by protocol method: what OpenTelemetry's messaging conventions call `send` (a
 * PRODUCER span), `process` (a pushed delivery: CONSUMER), `receive` (a pull: CLIENT) and `settle`
 * (acknowledgements: CLIENT). Other methods (subscribe, declare, metadata) are plain CLIENT calls.
 */
const MESSAGING_OPERATION: Record<string, 'send' | 'process' | 'receive' | 'settle'> = {
  PUB: 'send',
  MSG: 'process',
  'basic.publish': 'send',
  'basic.deliver': 'process',
  'basic.get': 'receive',
  'basic.ack': 'settle',
  'basic.nack': 'settle',
  'basic.reject': 'settle',
  Produce: 'send',
  Fetch: 'receive',
};
const DB_SYSTEM: Partial<Record<ProtocolName, string>> = {
  postgres: 'postgresql',
  mysql: 'mysql',
  redis: 'redis',
  mongodb: 'mongodb',
};
const MESSAGING_SYSTEM: Partial<Record<ProtocolName, string>> = {
  kafka: 'kafka',
  amqp: 'rabbitmq',
  nats: 'nats',
};
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The parts of a valid W3C traceparent, or undefined (all-zero ids and version ff are invalid). */
export function parseTraceparent(
  value: string | undefined,
): { traceId: Buffer; parentId: Buffer; flags: number } | undefined {
  const m = value === undefined ? null : TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  return {
    traceId: Buffer.from(m[2]!, 'hex'),
    parentId: Buffer.from(m[3]!, 'hex'),
    flags: Number.parseInt(m[4]!, 16),
  };
}

export class SpanBuilder {
  private readonly maxAttributes: number;
  private readonly maxChars: number;
  private readonly toEpochNs: (ns: bigint) => bigint;

  constructor(private readonly o: SpanBuilderOptions) {
    this.maxAttributes = o.maxAttributes ?? 128;
    this.maxChars = o.maxAttributeChars ?? 4096;
    this.toEpochNs = o.toEpochNs ?? ((ns) => ns);
  }

  /** A method, not a closure made per span (one closure per span showed in the profile). */
  private add(attrs: OtlpKeyValue[], key: string, v: string | number | boolean | undefined): void {
    if (v === undefined || v === '' || attrs.length >= this.maxAttributes) return;
    if (typeof v === 'string') attrs.push({ key, value: { stringValue: v.slice(0, this.maxChars) } });
    else if (typeof v === 'boolean') attrs.push({ key, value: { boolValue: v } });
    else if (Number.isInteger(v)) attrs.push({ key, value: { intValue: v } });
    else attrs.push({ key, value: { doubleValue: v } });
  }

  build(call: ApiCall, id: Identity, resource: string, reason: SampleReason): BuiltSpan {
    const r = this.o.redactor;
    // Read once: for HTTP/1.x these are getters that decode the raw head on every read.
    const reqHeaders = call.reqHeaders;
    const respHeaders = call.respHeaders;
    const family = PROTOCOL_FAMILY[call.protocol];
    const operation = family === 'messaging' ? MESSAGING_OPERATION[call.method] : undefined;
    const traceparent = headerOf(reqHeaders, 'traceparent');
    // A pull (basic.get, Fetch) got a message of another trace: linked to it, not made its child.
    const pulled = operation === 'receive';
    const parent = pulled ? undefined : parseTraceparent(traceparent);
    const attrs: OtlpKeyValue[] = [];
    let name: string;
    if (family === 'http') {
      const status = Number(call.status);
      this.add(attrs, 'http.request.method', call.method);
      this.add(attrs, 'http.route', resource);
      this.add(attrs, 'url.path', r.url(call.resource.split('?')[0] ?? ''));
      const q = call.resource.indexOf('?');
      if (q >= 0) this.add(attrs, 'url.query', r.url(call.resource.slice(q)).slice(1));
      if (Number.isInteger(status) && status > 0) this.add(attrs, 'http.response.status_code', status);
      this.add(attrs, 'network.protocol.name', 'http');
      this.add(attrs, 'network.protocol.version', call.protocol === 'http2' ? '2' : '1.1');
      name = `${call.method} ${resource}`;
    } else if (family === 'rpc') {
      const [service, method] = call.resource.replace(/^\//, '').split('/');
      this.add(attrs, 'rpc.system', 'grpc');
      this.add(attrs, 'rpc.service', service);
      this.add(attrs, 'rpc.method', method);
      if (/^\d+$/.test(call.status)) this.add(attrs, 'rpc.grpc.status_code', Number(call.status));
      name = call.resource.replace(/^\//, '');
    } else if (family === 'db') {
      this.add(attrs, 'db.system.name', DB_SYSTEM[call.protocol]);
      this.add(attrs, 'db.operation.name', call.method);
      // The statement shape only: literals are gone, so no value leaves the sensor through the query text.
      this.add(attrs, 'db.query.text', resource);
      this.add(attrs, 'db.response.status_code', call.status);
      name = call.method || call.protocol;
    } else if (family === 'messaging') {
      this.add(attrs, 'messaging.system', MESSAGING_SYSTEM[call.protocol]);
      this.add(attrs, 'messaging.operation.name', call.method);
      this.add(attrs, 'messaging.operation.type', operation);
      this.add(attrs, 'messaging.destination.name', resource);
      name = `${call.method} ${resource}`.trim();
    } else {
      this.add(attrs, 'dns.question.name', call.resource);
      this.add(attrs, 'dns.question.type', call.method);
      this.add(attrs, 'dns.response.code', call.status);
      name = `${call.method} ${call.resource}`.trim();
    }
    this.add(attrs, 'network.transport', call.protocol === 'dns' ? 'udp' : 'tcp');
    this.add(attrs, 'server.address', call.server?.ip);
    this.add(attrs, 'server.port', call.server?.port);
    this.add(attrs, 'client.address', call.client?.ip);
    this.add(attrs, 'client.port', call.client?.port);
    this.add(attrs, 'peer.service', id.peer);
    this.add(attrs, 'understory.protocol', call.protocol);
    this.add(attrs, 'understory.sample.reason', reason);
    this.add(attrs, 'understory.request.size', call.reqBytes);
    this.add(attrs, 'understory.response.size', call.respBytes);
    const reqKept = r.headersOf(reqHeaders);
    const reqPrefix = family === 'http' ? 'http.request.header.' : 'understory.request.header.';
    for (const k in reqKept) this.add(attrs, headerKey(reqPrefix, k), reqKept[k]);
    const respKept = r.headersOf(respHeaders);
    const respPrefix = family === 'http' ? 'http.response.header.' : 'understory.response.header.';
    for (const k in respKept) this.add(attrs, headerKey(respPrefix, k), respKept[k]);
    this.add(
      attrs,
      'understory.request.body',
      r.body(call.reqBody, headerOf(reqHeaders, 'content-type') ?? ''),
    );
    this.add(
      attrs,
      'understory.response.body',
      r.body(call.respBody, headerOf(respHeaders, 'content-type') ?? ''),
    );
    for (const [k, v] of Object.entries(call.attributes ?? {}))
      this.add(attrs, k, typeof v === 'string' ? r.values(v) : v);

    const span: OtlpSpan = {
      traceId: parent?.traceId ?? randomId(16),
      spanId: randomId(8),
      name: name.slice(0, 256),
      kind: spanKind(call.role, family, operation),
      startTimeUnixNano: this.toEpochNs(call.startNs).toString(),
      endTimeUnixNano: this.toEpochNs(laterOf(call.startNs, call.endNs)).toString(),
      attributes: attrs,
      status: call.error ? { code: 2, message: call.status } : { code: 0 },
    };
    const pulledContext =
      pulled && traceparent ? [{ traceparent, tracestate: headerOf(reqHeaders, 'tracestate') }] : [];
    const links = linksOf(call.links ? [...pulledContext, ...call.links] : pulledContext);
    if (links.length > 0) span.links = links;
    if (parent) {
      span.parentSpanId = parent.parentId;
      span.flags = parent.flags & 0xff;
      const state = headerOf(reqHeaders, 'tracestate');
      if (state) span.traceState = state.slice(0, 512);
    }
    return { resource: this.resourceOf(id, call.pid), span };
  }

  /**
   * The resource attributes of (identity, pid), one shared object per pair: the exporter groups spans by
   * resource, and a shared object lets it do so without building a key from its contents per span.
   * Identities are shared per process and peer and replaced when names change, so the WeakMap follows them.
   */
  private readonly resources = new WeakMap<Identity, Map<number, Record<string, string | number>>>();

  private resourceOf(id: Identity, pid: number | undefined): Record<string, string | number> {
    let byPid = this.resources.get(id);
    if (byPid === undefined) {
      byPid = new Map();
      this.resources.set(id, byPid);
    }
    const slot = pid ?? -1;
    let res = byPid.get(slot);
    if (res === undefined) {
      res = { 'service.name': id.workload };
      if (id.namespace) res['k8s.namespace.name'] = id.namespace;
      if (id.pod) res['k8s.pod.name'] = id.pod;
      if (id.node) res['k8s.node.name'] = id.node;
      if (this.o.node) res['host.name'] = this.o.node;
      if (pid !== undefined) res['process.pid'] = pid;
      // Bounded: the pids behind one identity are few; a process that churns pids starts over.
      if (byPid.size >= 256) byPid.clear();
      byPid.set(slot, res);
    }
    return res;
  }
}

/** Header `lower` in any case (HTTP/1.x names are already lower-case; other protocols' may not be). */
function spanKind(role: ApiCall['role'], family: string | undefined, operation: string | undefined): number {
  if (family === 'messaging') {
    if (operation === 'send') return KIND.producer;
    if (operation === 'process') return KIND.consumer;
    return KIND.client;
  }
  return role === 'server' ? KIND.server : KIND.client;
}

/** Span links of the valid W3C contexts among `contexts`, at most MAX_LINKS. */
function linksOf(contexts: NonNullable<ApiCall['links']>): NonNullable<OtlpSpan['links']> {
  const links: NonNullable<OtlpSpan['links']> = [];
  for (const c of contexts) {
    const ctx = parseTraceparent(c.traceparent);
    if (!ctx) continue;
    const link: (typeof links)[number] = { traceId: ctx.traceId, spanId: ctx.parentId, flags: ctx.flags };
    if (c.tracestate) link.traceState = c.tracestate.slice(0, 512);
    links.push(link);
    if (links.length === MAX_LINKS) break;
  }
  return links;
}

function headerOf(h: Record<string, string> | undefined, lower: string): string | undefined {
  if (h === undefined) return undefined;
  const v = h[lower];
  if (v !== undefined) return v;
  for (const k in h) if (k.toLowerCase() === lower) return h[k];
  return undefined;
}

/** Span attribute names of headers (`http.request.header.<name>`), made once per name, not per span. */
const headerKeys = new Map<string, Map<string, string>>();

function headerKey(prefix: string, name: string): string {
  let byName = headerKeys.get(prefix);
  if (byName === undefined) {
    byName = new Map();
    headerKeys.set(prefix, byName);
  }
  let key = byName.get(name);
  if (key === undefined) {
    key = prefix + name;
    // Bounded: header names are chosen by the traffic.
    if (byName.size >= 4096) byName.clear();
    byName.set(name, key);
  }
  return key;
}

/**
 * Span and trace ids from a pool filled by the CSPRNG 4 KiB at a time: one randomBytes call per id cost
 * ~30 us here. Ids are views of the pool; a used-up pool is replaced, never refilled, so views stay valid.
 */
let pool = Buffer.alloc(0);
let poolAt = 0;
function randomId(n: number): Buffer {
  if (poolAt + n > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(4096));
    poolAt = 0;
  }
  const id = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return id;
}

/** A call whose end precedes its start (clock skew between CPUs) gets a zero duration. */
function laterOf(a: bigint, b: bigint): bigint {
  if (b < a) return a;
  return b;
}
