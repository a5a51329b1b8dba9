import { describe, expect, it } from 'vitest';
import { loadSessions } from '../testkit-b/sessionFixture.ts';
import { byteByByte, type Chunk, drive, StreamDriver } from '../testkit-b/streamDriver.ts';
import { spec } from './index.ts';
import { readBasicProperties } from './properties.ts';
import { messageCalls, WANT_MESSAGE_CALLS } from './traceContext.fixture.ts';

const enc = new TextEncoder();
const u16 = (n: number) => [n >> 8, n & 255];
const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u64 = (n: number) => [0, 0, 0, 0, ...u32(n)];
const short = (s: string) => [s.length, ...enc.encode(s)];
const frame = (type: number, channel: number, payload: number[]) => [
  type,
  ...u16(channel),
  ...u32(payload.length),
  ...payload,
  0xce,
];
const method = (ch: number, cls: number, m: number, args: number[] = []) =>
  frame(1, ch, [...u16(cls), ...u16(m), ...args]);
const header = (ch: number, size: number) => frame(2, ch, [...u16(60), ...u16(0), ...u64(size), ...u16(0)]);
const body = (ch: number, s: string) => frame(3, ch, [...enc.encode(s)]);
const PROTOCOL = [...enc.encode('AMQP'), 0, 0, 9, 1];
const queueDeclare = (ch: number, q: string) => method(ch, 50, 10, [...u16(0), ...short(q), 0, 0, 0, 0]);
const queueDeclareOk = (ch: number, q: string) => method(ch, 50, 11, [...short(q), ...u32(0), ...u32(0)]);
const exchangeDeclare = (ch: number, x: string) =>
  method(ch, 40, 10, [...u16(0), ...short(x), ...short('direct'), 0, 0, 0, 0, 0]);
const publish = (ch: number, x: string, rk: string) =>
  method(ch, 60, 40, [...u16(0), ...short(x), ...short(rk), 0]);
const deliver = (ch: number, tag: number, x: string, rk: string) =>
  method(ch, 60, 60, [...short('ctag'), ...u64(tag), 0, ...short(x), ...short(rk)]);
const ack = (ch: number, tag: number) => method(ch, 60, 80, [...u64(tag), 0]);
const channelClose = (ch: number, code: number, text: string) =>
  method(ch, 20, 40, [...u16(code), ...short(text), ...u16(50), ...u16(10)]);

let t = 0n;
const req = (...p: number[][]): Chunk => ({ type: 'request', tsNs: ++t, data: new Uint8Array(p.flat()) });
const resp = (...p: number[][]): Chunk => ({ type: 'response', tsNs: ++t, data: new Uint8Array(p.flat()) });
it('counts a message content header and body in the bytes of the frame that carries it', () => {
  const pub = publish(1, 'orders', 'new');
  const r = drive(spec, [req(pub, header(1, 5), body(1, 'hello'))]);
  // method frame + content header frame (8 + 14) + 5 body bytes + 8 of body framing
  expect(r.calls.map((c) => [c.reqBytes, c.respBytes])).toEqual([[pub.length + 22 + 5 + 8, 0]]);
  const big = drive(spec, [req(pub, header(1, 300_000))]);
  // three body frames at a 128 KiB frame_max
  expect(big.calls[0]!.reqBytes).toBe(pub.length + 22 + 300_000 + 3 * 8);
});

const brief = (chunks: Chunk[]) =>
  drive(spec, chunks).calls.map((c) => `${c.method} ${c.resource} ${c.status}`);

describe('amqp parse + stitch', () => {
  it.each([
    [
      'handshake and channel open make no calls',
      [
        req(PROTOCOL),
        resp(method(0, 10, 10, [0, 9])),
        req(method(0, 10, 11)),
        req(method(1, 20, 10, [0])),
        resp(method(1, 20, 11, [0, 0, 0, 0])),
      ],
      [],
    ],
    [
      'queue.declare paired with declare-ok',
      [req(queueDeclare(1, 'jobs')), resp(queueDeclareOk(1, 'jobs'))],
      ['queue.declare jobs OK'],
    ],
    [
      'server-named queue takes the name from declare-ok',
      [req(queueDeclare(1, '')), resp(queueDeclareOk(1, 'amq.gen-1'))],
      ['queue.declare amq.gen-1 OK'],
    ],
    [
      'exchange.declare',
      [req(exchangeDeclare(1, 'orders')), resp(method(1, 40, 11))],
      ['exchange.declare orders OK'],
    ],
    [
      'passive declare of a missing queue: 404',
      [req(queueDeclare(2, 'nope')), resp(channelClose(2, 404, "NOT_FOUND - no queue 'nope'"))],
      ['queue.declare nope 404'],
    ],
    [
      'publish with content header and body',
      [req(publish(1, 'orders', 'new'), header(1, 5), body(1, 'hello'))],
      ['basic.publish orders OK'],
    ],
    [
      'publish on the default exchange names the queue',
      [req(publish(1, '', 'jobs'), header(1, 0))],
      ['basic.publish jobs OK'],
    ],
    [
      'deliver then ack',
      [resp(deliver(1, 7, 'orders', 'new'), header(1, 5), body(1, 'hello')), req(ack(1, 7))],
      ['basic.deliver orders OK', 'basic.ack  OK'],
    ],
    [
      'async channel.close for a missing exchange',
      [
        req(publish(1, 'missing', 'x'), header(1, 0)),
        resp(channelClose(1, 404, "NOT_FOUND - no exchange 'missing'")),
      ],
      ['basic.publish missing OK', 'channel.close  404'],
    ],
    [
      'replies on different channels pair by channel',
      [req(queueDeclare(1, 'a'), queueDeclare(2, 'b')), resp(queueDeclareOk(2, 'b'), queueDeclareOk(1, 'a'))],
      ['queue.declare a OK', 'queue.declare b OK'],
    ],
    ['heartbeats are ignored', [req(frame(8, 0, [])), resp(frame(8, 0, []))], []],
  ] as [string, Chunk[], string[]][])('%s', (_n, chunks, want) => {
    expect(brief(chunks)).toEqual(want);
  });

  it('copes with any segmentation', () => {
    const chunks = [
      ...byteByByte('request', new Uint8Array(queueDeclare(1, 'seg')), 1n),
      ...byteByByte('response', new Uint8Array(queueDeclareOk(1, 'seg')), 2n),
    ];
    expect(brief(chunks)).toEqual(['queue.declare seg OK']);
  });

  it('rejects a frame without its frame-end byte and resynchronises', () => {
    const broken = publish(1, 'x', 'y');
    broken[broken.length - 1] = 0;
    const r = drive(spec, [req(broken, publish(1, 'z', 'w'), header(1, 0))]);
    expect(r.calls.map((c) => c.resource)).toEqual(['z']);
    expect(r.invalid).toBeGreaterThan(0);
  });

  it.each([
    ['protocol header', PROTOCOL, 1],
    ['connection.start', method(0, 10, 10, [0, 9, 0, 0, 0, 0]), 1],
    ['HTTP', [...enc.encode('GET / HTTP/1.1\r\n\r\n')], 0],
    ['NATS INFO', [...enc.encode('INFO {"server_id":"x"}\r\n')], 0],
  ] as [string, number[], number][])('detects %s', (_n, data, score) => {
    expect(
      spec.detect({ data: new Uint8Array(data), direction: 'egress', role: 'unknown', transport: 'tcp' })
        .score,
    ).toBe(score);
  });
});

// Content header properties (basic class): flags bit 15 content-type ... bit 7 message-id.
const F = { type: 1 << 15, encoding: 1 << 14, headers: 1 << 13, mode: 1 << 12, priority: 1 << 11 };
const G = { correlation: 1 << 10, replyTo: 1 << 9, expiration: 1 << 8, id: 1 << 7, timestamp: 1 << 6 };
const longstr = (s: string) => [...u32(enc.encode(s).length), ...enc.encode(s)];
const field = (name: string, type: string, value: number[]) => [...short(name), type.charCodeAt(0), ...value];
const table = (...entries: number[][]) => [...u32(entries.flat().length), ...entries.flat()];
const withProps = (ch: number, size: number, flagWords: number[], ...values: number[][]) =>
  frame(2, ch, [...u16(60), ...u16(0), ...u64(size), ...flagWords.flatMap(u16), ...values.flat()]);
const propsOf = (bytes: number[]) => {
  const r = spec.parseFrame('request', new Uint8Array(bytes), 0, 1n, spec.newState({ transport: 'tcp' }));
  expect(r.state).toBe('success');
  return r.frames![0]!.props;
};
const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const f32 = (v: number) => {
  const d = new DataView(new ArrayBuffer(4));
  d.setFloat32(0, v);
  return [...new Uint8Array(d.buffer)];
};
const f64 = (v: number) => {
  const d = new DataView(new ArrayBuffer(8));
  d.setFloat64(0, v);
  return [...new Uint8Array(d.buffer)];
};

describe('amqp content header properties', () => {
  // Each value is followed by a text entry: it is read only if the value before it was skipped exactly.
  it.each([
    ['t', [1], 'true'],
    ['b', [0xfb], '-5'],
    ['B', [200], '200'],
    ['s', [0xfe, 0xd4], '-300'],
    ['u', [0xea, 0x60], '60000'],
    ['I', [0xff, 0xfe, 0xee, 0x90], '-70000'],
    ['i', [0xee, 0x6b, 0x28, 0x00], '4000000000'],
    ['l', [0xff, 0xff, 0xff, 0, 0, 0, 0, 0], String(-(2 ** 40))],
    ['L', [0, 0, 1, 0, 0, 0, 0, 0], String(2 ** 40)],
    ['f', f32(1.5), '1.5'],
    ['d', f64(-2.25), '-2.25'],
    ['D', [2, 0, 0, 4, 0xd2], undefined],
    ['S', longstr('text'), 'text'],
    ['x', [...u32(3), 1, 2, 3], undefined],
    ['A', [...u32(7), 0x53, ...longstr('ab')], undefined],
    ['T', u64(1_700_000_000), '1700000000'],
    ['F', table(field('traceparent', 'S', longstr('nested'))), undefined],
    ['V', [], undefined],
  ] as [string, number[], string | undefined][])('skips field type %s', (type, value, want) => {
    const headers = propsOf(
      withProps(1, 0, [F.headers], table(field('v', type, value), field('after', 'S', longstr('ok')))),
    )?.headers;
    expect(headers).toEqual(want === undefined ? { after: 'ok' } : { v: want, after: 'ok' });
  });

  it('reads every property up to message-id, in flag order', () => {
    const all = F.type | F.encoding | F.headers | F.mode | F.priority | G.correlation | G.replyTo;
    const props = propsOf(
      withProps(
        1,
        5,
        [all | G.expiration | G.id | G.timestamp],
        short('application/json'),
        short('gzip'),
        table(field('traceparent', 'S', longstr(TP))),
        [2, 9],
        short('corr-1'),
        short('amq.rabbitmq.reply-to'),
        short('60000'),
        short('msg-1'),
        u64(1_700_000_000),
      ),
    );
    expect(props).toEqual({
      contentType: 'application/json',
      headers: { traceparent: TP },
      correlationId: 'corr-1',
      messageId: 'msg-1',
    });
  });

  it('follows flag continuation words', () => {
    const header = withProps(1, 0, [G.id | 1, 1, 0], short('msg-2'));
    expect(propsOf(header)).toEqual({ messageId: 'msg-2' });
    expect(propsOf(withProps(1, 0, [G.id | 1, 1, 1, 1, 1], short('msg-2')))).toEqual({});
  });

  it('keeps what was decoded of a table larger than the frame', () => {
    const entries = [field('traceparent', 'S', longstr(TP)), field('tracestate', 'S', longstr('k=v'))];
    const flat = entries.flat();
    const cut = [...u32(flat.length + 1000), ...flat, ...field('third', 'S', [...u32(500), 0x61])];
    expect(propsOf(withProps(1, 0, [F.headers | G.id], cut, short('lost')))).toEqual({
      headers: { traceparent: TP, tracestate: 'k=v' },
    });
  });

  it('stops at a zero-filled hole inside the table and reads on after it', () => {
    const inside = table(field('traceparent', 'S', longstr(TP)), new Array(40).fill(0));
    expect(propsOf(withProps(1, 0, [F.headers | G.id], inside, short('msg-3')))).toEqual({
      headers: { traceparent: TP },
      messageId: 'msg-3',
    });
    // The hole covers the properties after the table too: they read as empty, which is not kept.
    expect(propsOf(withProps(1, 0, [F.headers | G.correlation | G.id], inside, [0, 0]))).toEqual({
      headers: { traceparent: TP },
    });
  });

  it('keeps 32 headers, cuts names to 128 and values to 256 characters', () => {
    const many = Array.from({ length: 40 }, (_, i) => field(`h${i}`, 'S', longstr(`v${i}`)));
    const props = propsOf(withProps(1, 0, [F.headers | G.id], table(...many), short('msg-4')));
    expect(Object.keys(props!.headers!)).toEqual(Array.from({ length: 32 }, (_, i) => `h${i}`));
    expect(props!.messageId).toBe('msg-4');
    const long = propsOf(
      withProps(1, 0, [F.headers], table(field('n'.repeat(200), 'S', longstr('v'.repeat(1000))))),
    );
    expect(long!.headers).toEqual({ ['n'.repeat(128)]: 'v'.repeat(256) });
  });

  it('never throws on any truncation or corruption of a header', () => {
    const good = withProps(
      1,
      5,
      [F.type | F.headers | G.correlation | G.id],
      short('text/plain'),
      table(field('traceparent', 'S', longstr(TP)), field('n', 'I', u32(7)), field('x', 'F', table())),
      short('c'),
      short('m'),
    ).slice(7, -1);
    const b = new Uint8Array(good);
    for (let end = 0; end <= b.length; end++) expect(() => readBasicProperties(b, 12, end)).not.toThrow();
    let seed = 1;
    for (let n = 0; n < 2000; n++) {
      const bad = b.slice();
      for (let k = 0; k < 3; k++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        bad[seed % bad.length] = seed >> 8;
      }
      expect(() => readBasicProperties(bad, 12, bad.length)).not.toThrow();
    }
  });
});

describe('amqp message calls carry their content header', () => {
  const traced = (ch: number) =>
    withProps(
      ch,
      5,
      [F.type | F.headers | G.correlation | G.id],
      short('text/plain'),
      table(
        field('traceparent', 'S', longstr(TP)),
        field('tracestate', 'S', longstr('k=v')),
        field('n', 'b', [42]),
      ),
      short('corr-9'),
      short('msg-9'),
    );
  const want = {
    headers: { traceparent: TP, tracestate: 'k=v', n: '42', 'content-type': 'text/plain' },
    attributes: {
      'messaging.message.id': 'msg-9',
      'messaging.message.conversation_id': 'corr-9',
      'messaging.message.body.size': 5,
    },
  };
  const ret = (ch: number) =>
    method(ch, 60, 50, [...u16(312), ...short('NO_ROUTE'), ...short('x'), ...short('k')]);

  it.each([
    ['publish', [req(publish(1, 'orders', 'new'), traced(1), body(1, 'hello'))]],
    ['deliver', [resp(deliver(1, 7, 'orders', 'new'), traced(1), body(1, 'hello'))]],
    ['return', [resp(ret(1), traced(1), body(1, 'hello'))]],
    ['publish, header in a later read', [req(publish(1, 'orders', 'new')), req(traced(1), body(1, 'hello'))]],
    [
      'deliver, header after other channels',
      [resp(deliver(2, 7, 'o', 'n'), deliver(3, 1, 'o', 'n'), traced(2))],
    ],
  ] as [string, Chunk[]][])('%s', (_n, chunks) => {
    const call = drive(spec, chunks).calls[0]!;
    expect(call.reqHeaders).toEqual(want.headers);
    expect(call.attributes).toMatchObject(want.attributes);
  });

  it('waits for the header, and goes without it when the channel moves on', () => {
    const d = new StreamDriver(spec);
    d.push(req(publish(1, 'a', 'k')));
    expect(d.result.calls).toEqual([]);
    d.push(req(publish(2, 'b', 'k'), header(2, 3)));
    expect(d.result.calls.map((c) => c.resource)).toEqual(['b']);
    d.push(req(ack(1, 1)));
    expect(d.result.calls.map((c) => [c.method, c.resource, c.reqHeaders])).toEqual([
      ['basic.publish', 'b', undefined],
      ['basic.publish', 'a', undefined],
      ['basic.ack', '', undefined],
    ]);
  });

  it.each([
    ['the connection ends', [req(publish(1, 'a', 'k'))], true],
    [
      '64 frames of other channels come first',
      [req(publish(1, 'a', 'k'), ...Array(64).fill(body(2, 'x')))],
      false,
    ],
    [
      'a frame a second newer is queued',
      [req(publish(1, 'a', 'k')), { ...req(body(2, 'x')), tsNs: t + 2_000_000_000n }],
      false,
    ],
    ['the header comes the other way (at the end)', [req(publish(1, 'a', 'k')), resp(traced(1))], true],
  ] as [string, Chunk[], boolean][])('emits without the header when %s', (_n, chunks, end) => {
    const d = new StreamDriver(spec);
    for (const c of chunks) d.push(c);
    if (end) d.finish();
    expect(d.result.calls.map((c) => [c.method, c.reqHeaders])).toEqual([['basic.publish', undefined]]);
  });
});

it('the recorded amqplib session carries the trace context on publish and deliver', () => {
  const session = loadSessions(new URL('./testdata/', import.meta.url).pathname).find(
    (s) => s.name === 'amqplib-trace-context.json',
  );
  expect(messageCalls(drive(spec, session!.chunks).calls)).toEqual(WANT_MESSAGE_CALLS);
});
