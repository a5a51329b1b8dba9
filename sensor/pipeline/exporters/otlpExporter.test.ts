import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import type { BuiltSpan, OtlpKeyValue } from '../spanBuilder.ts';
import { encodeSpans, OtlpExporter } from './otlpExporter.ts';

// The hand-written encoder against the schema: protobufjs decodes what encodeSpans wrote, and that must be
// what protobufjs itself would have encoded from the same spans (the reference, field for field).
const root = protobuf.loadSync(
  fileURLToPath(new URL('../../../incloud/collector/otlp.proto', import.meta.url)),
);
const Request = root.lookupType('otlp.ExportTraceServiceRequest');
const asObject = (bytes: Uint8Array) =>
  Request.toObject(Request.decode(bytes), { longs: String, bytes: String, defaults: false });

const kv = (key: string, value: OtlpKeyValue['value']): OtlpKeyValue => ({ key, value });
const long = 'é'.repeat(100) + 'x'.repeat(20_000); // multi-byte UTF-8 and a length of three varint bytes

function span(i: number, resource: BuiltSpan['resource'], extra: Partial<BuiltSpan['span']> = {}): BuiltSpan {
  return {
    resource,
    span: {
      traceId: Buffer.alloc(16, i + 1),
      spanId: Buffer.alloc(8, i + 2),
      name: `GET /items/{id} ${i}`,
      kind: i % 2 === 0 ? 2 : 3,
      startTimeUnixNano: (1_700_000_000_000_000_000n + BigInt(i)).toString(),
      endTimeUnixNano: '18446744073709551615', // the largest fixed64
      attributes: [
        kv('http.request.method', { stringValue: 'GET' }),
        kv('http.response.status_code', { intValue: 200 }),
        kv('neg', { intValue: -3 }),
        kv('zero', { intValue: 0 }),
        kv('ratio', { doubleValue: 0.25 }),
        kv('flag', { boolValue: false }),
        kv('empty', { stringValue: '' }),
        kv('short.non.ascii', { stringValue: 'abc café ü €' }), // ASCII first, then multi-byte
        kv('max.one.byte', { stringValue: '€'.repeat(42) }), // 42 chars, 126 bytes: still one length byte
        kv('understory.response.body', { stringValue: long }),
      ],
      status: i === 1 ? { code: 2, message: '503' } : { code: 0 },
      ...extra,
    },
  };
}

function reference(spans: BuiltSpan[], version: string, extra: Record<string, string>): Uint8Array {
  const groups = new Map<string, { attributes: OtlpKeyValue[]; spans: unknown[] }>();
  for (const s of spans) {
    const key = JSON.stringify(s.resource);
    if (!groups.has(key)) {
      const attrs = Object.entries({ ...extra, ...s.resource }).map(([k, v]) =>
        kv(k, typeof v === 'number' ? { intValue: v } : { stringValue: v }),
      );
      groups.set(key, { attributes: attrs, spans: [] });
    }
    groups.get(key)!.spans.push(s.span);
  }
  const msg = {
    resourceSpans: [...groups.values()].map((g) => ({
      resource: { attributes: g.attributes },
      scopeSpans: [{ scope: { name: 'understory-sensor', version }, spans: g.spans }],
    })),
  };
  return Request.encode(Request.fromObject(msg)).finish();
}

describe('encodeSpans', () => {
  it('writes what the otlp.proto schema decodes to the same spans as a reflection encoder', () => {
    const a = { 'service.name': 'cart', 'k8s.namespace.name': 'shop', 'process.pid': 77 };
    const b = { 'service.name': 'db', 'process.pid': 78 };
    const spans = [
      span(0, a),
      span(1, b),
      span(2, a, {
        parentSpanId: Buffer.alloc(8, 9),
        flags: 1,
        traceState: 'vendor=x',
      }),
      span(3, b, {
        links: [
          { traceId: Buffer.alloc(16, 5), spanId: Buffer.alloc(8, 6), flags: 1, traceState: 'k=v' },
          { traceId: Buffer.alloc(16, 7), spanId: Buffer.alloc(8, 8) },
        ],
      }),
    ];
    const extra = { 'k8s.cluster.name': 'prod' };
    const got = asObject(encodeSpans(spans, '1.2.3', extra));
    expect(got).toEqual(asObject(reference(spans, '1.2.3', extra)));
    expect(got.resourceSpans).toHaveLength(2);
    expect(got.resourceSpans[0].scopeSpans[0].spans).toHaveLength(2);
    expect(got.resourceSpans[0].scopeSpans[0].spans[1].flags).toBe(1);
    expect(got.resourceSpans[1].scopeSpans[0].spans[1].links).toHaveLength(2);
  });

  it('encodes an empty batch and a batch larger than the initial buffer', () => {
    expect(encodeSpans([])).toHaveLength(0);
    const many = Array.from({ length: 40 }, (_, i) => span(i, { 'service.name': `w${i % 3}` }));
    const got = asObject(encodeSpans(many));
    expect(got).toEqual(asObject(reference(many, '0.1.0', {})));
  });
});

describe('OtlpExporter batching', () => {
  it('sends a batch intervalMs after its first span, and keeps no timer while nothing is pending', async () => {
    const bodies: number[] = [];
    const server = createServer((req, res) => {
      let n = 0;
      req.on('data', (b: Buffer) => {
        n += b.length;
      });
      req.on('end', () => {
        bodies.push(n);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const exporter = new OtlpExporter({ url, intervalMs: 150 });
    // The batch timer is unref'd (not among the process's active resources): read the field itself.
    const timers = () => ((exporter as unknown as { timer?: NodeJS.Timeout }).timer === undefined ? 0 : 1);
    try {
      const idle = timers();
      exporter.start();
      expect(timers()).toBe(idle); // started and idle: no wake-ups
      exporter.export(span(0, { 'service.name': 'a' }));
      exporter.export(span(1, { 'service.name': 'a' }));
      expect(timers()).toBe(idle + 1); // one timer for the pending batch
      const t0 = Date.now();
      while (bodies.length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
      expect(bodies).toHaveLength(1); // both spans in one body, without an explicit flush
      expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
      await new Promise((r) => setTimeout(r, 50));
      expect(timers()).toBe(idle);
    } finally {
      await exporter.shutdown(1000);
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
