import { describe, expect, it } from 'vitest';
import type { ApiCall } from '../protocols/contract.ts';
import { Redactor } from './redaction.ts';
import { type OtlpSpan, parseTraceparent, SpanBuilder } from './spanBuilder.ts';

const ID = { workload: 'cart', namespace: 'shop', peer: 'checkout' };
const builder = new SpanBuilder({ redactor: new Redactor(), node: 'node-1' });

function call(over: Partial<ApiCall> = {}): ApiCall {
  return {
    protocol: 'http',
    role: 'server',
    method: 'POST',
    resource: '/users/42/login?next=/home&token=SENTINEL1',
    status: '200',
    error: false,
    startNs: 1_700_000_000_000_000_000n,
    endNs: 1_700_000_000_250_000_000n,
    reqBytes: 100,
    respBytes: 200,
    client: { ip: '10.0.0.1', port: 50000 },
    server: { ip: '10.0.0.2', port: 8080 },
    pid: 77,
    ...over,
  };
}

const attrs = (s: OtlpSpan) =>
  Object.fromEntries(
    s.attributes.map((a) => [a.key, a.value.stringValue ?? a.value.intValue ?? a.value.boolValue]),
  );

describe('parseTraceparent', () => {
  it.each([
    [
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '4bf92f3577b34da6a3ce929d0e0e4736',
      '00f067aa0ba902b7',
      1,
    ],
    [
      ' 00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00 ',
      '4bf92f3577b34da6a3ce929d0e0e4736',
      '00f067aa0ba902b7',
      0,
    ],
    ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', undefined, undefined, undefined],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', undefined, undefined, undefined],
    ['ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', undefined, undefined, undefined],
    ['00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01', undefined, undefined, undefined],
    ['garbage', undefined, undefined, undefined],
  ])('%s', (value, trace, parent, flags) => {
    const p = parseTraceparent(value);
    expect([p?.traceId.toString('hex'), p?.parentId.toString('hex'), p?.flags]).toEqual([
      trace,
      parent,
      flags,
    ]);
  });
});

describe('SpanBuilder', () => {
  it('links the span into the caller trace from traceparent', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { span } = builder.build(
      call({ reqHeaders: { TraceParent: tp, tracestate: 'a=b' } }),
      ID,
      '/users/{id}/login',
      'slow',
    );
    expect(span.traceId.toString('hex')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(span.parentSpanId?.toString('hex')).toBe('00f067aa0ba902b7');
    expect(span.spanId).toHaveLength(8);
    expect(span.spanId.toString('hex')).not.toBe('00f067aa0ba902b7');
    expect([span.flags, span.traceState]).toEqual([1, 'a=b']);
  });

  it('starts a new trace without traceparent', () => {
    const a = builder.build(call(), ID, '/x', 'baseline').span;
    const b = builder.build(call(), ID, '/x', 'baseline').span;
    expect(a.traceId).toHaveLength(16);
    expect(a.traceId.equals(b.traceId)).toBe(false);
    expect(a.parentSpanId).toBeUndefined();
  });

  it('sets HTTP semantic-convention attributes, resource, kind, times and status', () => {
    const built = builder.build(call({ status: '503', error: true }), ID, '/users/{id}/login', 'error');
    expect(built.resource).toEqual({
      'service.name': 'cart',
      'k8s.namespace.name': 'shop',
      'host.name': 'node-1',
      'process.pid': 77,
    });
    expect(built.span).toMatchObject({
      name: 'POST /users/{id}/login',
      kind: 2,
      startTimeUnixNano: '1700000000000000000',
      endTimeUnixNano: '1700000000250000000',
      status: { code: 2, message: '503' },
    });
    expect(attrs(built.span)).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/users/{id}/login',
      'url.path': '/users/42/login',
      'url.query': 'next=/home&token=[REDACTED]',
      'http.response.status_code': 503,
      'network.protocol.version': '1.1',
      'server.address': '10.0.0.2',
      'server.port': 8080,
      'client.address': '10.0.0.1',
      'peer.service': 'checkout',
      'understory.sample.reason': 'error',
    });
  });

  it.each<[Partial<ApiCall>, string, string, Record<string, unknown>]>([
    [
      { protocol: 'grpc', role: 'client', resource: '/shop.Cart/Add', status: '0' },
      '/shop.Cart/Add',
      'shop.Cart/Add',
      { 'rpc.system': 'grpc', 'rpc.service': 'shop.Cart', 'rpc.method': 'Add', 'rpc.grpc.status_code': 0 },
    ],
    [
      { protocol: 'postgres', role: 'client', method: 'SELECT', resource: "SELECT 1 WHERE p = 'SENTINEL2'" },
      'SELECT ? WHERE p = ?',
      'SELECT',
      { 'db.system.name': 'postgresql', 'db.query.text': 'SELECT ? WHERE p = ?' },
    ],
    [
      { protocol: 'redis', role: 'client', method: 'GET', resource: 'user:1' },
      'user:{id}',
      'GET',
      { 'db.system.name': 'redis', 'db.operation.name': 'GET' },
    ],
    [
      { protocol: 'kafka', role: 'client', method: 'Produce', resource: 'orders' },
      'orders',
      'Produce orders',
      {
        'messaging.system': 'kafka',
        'messaging.destination.name': 'orders',
        'messaging.operation.type': 'send',
      },
    ],
    [
      { protocol: 'dns', role: 'client', method: 'A', resource: 'example.com', status: 'NOERROR' },
      'example.com',
      'A example.com',
      { 'dns.question.name': 'example.com', 'network.transport': 'udp' },
    ],
  ])('%o', (over, resource, name, want) => {
    const { span } = builder.build(call(over), ID, resource, 'baseline');
    expect(span.name).toBe(name);
    // A publish is a PRODUCER span; every other row here is a client call.
    expect(span.kind).toBe(over.protocol === 'kafka' ? 4 : 3);
    expect(attrs(span)).toMatchObject(want);
  });

  it.each([
    ['nats', 'PUB', 4, 'send'],
    ['nats', 'MSG', 5, 'process'],
    ['nats', 'SUB', 3, undefined],
    ['amqp', 'basic.publish', 4, 'send'],
    ['amqp', 'basic.deliver', 5, 'process'],
    ['amqp', 'basic.get', 3, 'receive'],
    ['amqp', 'basic.ack', 3, 'settle'],
    ['amqp', 'queue.declare', 3, undefined],
    ['kafka', 'Fetch', 3, 'receive'],
  ] as const)('%s %s: kind %i, messaging.operation.type %s', (protocol, method, kind, type) => {
    const { span } = builder.build(
      call({ protocol, method, role: 'unknown', resource: 'orders' }),
      ID,
      'orders',
      'baseline',
    );
    expect(span.kind).toBe(kind);
    expect(attrs(span)['messaging.operation.type']).toBe(type);
  });

  it('links a batch span to the valid trace context of each message it carried', () => {
    const tp = (i: number) => `00-${String(i).repeat(32)}-${String(i + 1).repeat(16)}-01`;
    const { span } = builder.build(
      call({
        protocol: 'kafka',
        method: 'Produce',
        role: 'unknown',
        resource: 'orders',
        links: [
          { traceparent: tp(1), tracestate: 'k=v' },
          { traceparent: 'garbage' },
          { traceparent: tp(3) },
        ],
      }),
      ID,
      'orders',
      'baseline',
    );
    expect(span.parentSpanId).toBeUndefined();
    expect(
      span.links?.map((l) => [l.traceId.toString('hex'), l.spanId.toString('hex'), l.traceState, l.flags]),
    ).toEqual([
      ['1'.repeat(32), '2'.repeat(16), 'k=v', 1],
      ['3'.repeat(32), '4'.repeat(16), undefined, 1],
    ]);
  });

  it('links a pulled message (basic.get) to its trace instead of joining it', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { span } = builder.build(
      call({
        protocol: 'amqp',
        method: 'basic.get',
        role: 'unknown',
        resource: 'q',
        reqHeaders: { traceparent: tp, tracestate: 'k=v' },
      }),
      ID,
      'q',
      'baseline',
    );
    expect(span.parentSpanId).toBeUndefined();
    expect(span.traceId.toString('hex')).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(
      span.links?.map((l) => [l.traceId.toString('hex'), l.spanId.toString('hex'), l.traceState]),
    ).toEqual([['4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', 'k=v']]);
  });

  it("puts a publish and its delivery into the producer's trace through the message headers", () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    for (const method of ['PUB', 'MSG']) {
      const { span } = builder.build(
        call({
          protocol: 'nats',
          method,
          role: 'unknown',
          resource: 'orders',
          reqHeaders: { traceparent: tp },
        }),
        ID,
        'orders',
        'baseline',
      );
      expect(span.traceId.toString('hex')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(span.parentSpanId?.toString('hex')).toBe('00f067aa0ba902b7');
    }
  });

  it('exports no secret from headers, bodies, query or attributes', () => {
    const { span } = builder.build(
      call({
        reqHeaders: {
          Authorization: 'Bearer SENTINEL3',
          Cookie: 'sid=SENTINEL4',
          'content-type': 'application/json',
        },
        respHeaders: { 'Set-Cookie': 'sid=SENTINEL5', Location: '/x?password=SENTINEL6' },
        reqBody: '{"user":"bob","password":"SENTINEL7","nested":{"api_key":"SENTINEL8"',
        respBody: 'access_token=SENTINEL9&ok=1',
        attributes: { 'db.user': 'x', note: 'Bearer SENTINEL10xyz' },
      }),
      ID,
      '/users/{id}/login',
      'forced',
    );
    const all = JSON.stringify(span);
    expect(all).not.toMatch(/SENTINEL/);
    expect(attrs(span)['http.request.header.content-type']).toBe('application/json');
    expect(attrs(span)['understory.request.body']).toContain('"user":"bob"');
  });

  it('bounds attribute count and length', () => {
    const small = new SpanBuilder({ redactor: new Redactor(), maxAttributes: 3, maxAttributeChars: 5 });
    const { span } = small.build(call(), ID, '/users/{id}/login', 'slow');
    expect(span.attributes).toHaveLength(3);
    expect(span.attributes.every((a) => (a.value.stringValue ?? '').length <= 5)).toBe(true);
  });

  it('shares one resource object per identity and pid, and names a new identity anew', () => {
    const b = new SpanBuilder({ redactor: new Redactor(), node: 'n1' });
    const first = b.build(call({ pid: 7 }), ID, '/', 'baseline').resource;
    expect(b.build(call({ pid: 7 }), ID, '/', 'baseline').resource).toBe(first);
    const other = b.build(call({ pid: 8 }), ID, '/', 'baseline').resource;
    expect(other).not.toBe(first);
    expect([first['process.pid'], other['process.pid']]).toEqual([7, 8]);
    const renamed = b.build(call({ pid: 7 }), { ...ID, workload: 'cart-v2' }, '/', 'baseline').resource;
    expect(renamed['service.name']).toBe('cart-v2');
    expect(first['service.name']).toBe('cart');
  });

  it('converts capture times with toEpochNs', () => {
    const b = new SpanBuilder({ redactor: new Redactor(), toEpochNs: (ns) => ns + 1000n });
    expect(b.build(call({ startNs: 5n, endNs: 7n }), ID, '/', 'slow').span.startTimeUnixNano).toBe('1005');
  });
});
