import { type Document, serialize } from 'bson';
import { describe, expect, it } from 'vitest';
import { byteByByte, type Chunk, drive } from '../testkit-b/streamDriver.ts';
import { spec } from './index.ts';

const le32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255];
const enc = new TextEncoder();
function message(requestId: number, responseTo: number, opCode: number, body: number[]): Uint8Array {
  return new Uint8Array([
    ...le32(16 + body.length),
    ...le32(requestId),
    ...le32(responseTo),
    ...le32(opCode),
    ...body,
  ]);
}
const doc = (d: Document) => [...serialize(d)];
const opMsg = (id: number, to: number, d: Document, flags = 0) =>
  message(id, to, 2013, [...le32(flags), 0, ...doc(d)]);
const opQuery = (id: number, coll: string, d: Document) =>
  message(id, 0, 2004, [...le32(0), ...enc.encode(coll), 0, ...le32(0), ...le32(-1), ...doc(d)]);
const opReply = (id: number, to: number, d: Document) =>
  message(id, to, 1, [...le32(0), ...le32(0), ...le32(0), ...le32(0), ...le32(1), ...doc(d)]);
const withSequence = (id: number, d: Document, docs: Document[]) => {
  const seq = [...enc.encode('documents'), 0, ...docs.flatMap(doc)];
  return message(id, 0, 2013, [...le32(0), 1, ...le32(4 + seq.length), ...seq, 0, ...doc(d)]);
};

let t = 0n;
const req = (...p: Uint8Array[]): Chunk => ({
  type: 'request',
  tsNs: ++t,
  data: new Uint8Array(p.flatMap((x) => [...x])),
});
const resp = (...p: Uint8Array[]): Chunk => ({
  type: 'response',
  tsNs: ++t,
  data: new Uint8Array(p.flatMap((x) => [...x])),
});
const brief = (chunks: Chunk[]) =>
  drive(spec, chunks).calls.map((c) => `${c.method} ${c.resource} ${c.status}`);

describe('mongodb parse + stitch', () => {
  it.each([
    [
      'OP_MSG find',
      [
        req(opMsg(1, 0, { find: 'users', filter: {}, $db: 'shop' })),
        resp(opMsg(9, 1, { cursor: { id: 0n, firstBatch: [] }, ok: 1 })),
      ],
      ['find shop.users 1'],
    ],
    [
      'OP_MSG error with code',
      [
        req(opMsg(2, 0, { insert: 'users', $db: 'shop' })),
        resp(opMsg(9, 2, { ok: 0, errmsg: 'not primary', code: 10107 })),
      ],
      ['insert shop.users 10107'],
    ],
    [
      'insert with a document sequence section',
      [
        req(withSequence(3, { insert: 'logs', $db: 'app' }, [{ a: 1 }, { a: 2 }])),
        resp(opMsg(9, 3, { n: 2, ok: 1 })),
      ],
      ['insert app.logs 1'],
    ],
    [
      'command without collection',
      [req(opMsg(4, 0, { ping: 1, $db: 'admin' })), resp(opMsg(9, 4, { ok: 1 }))],
      ['ping admin 1'],
    ],
    [
      'legacy OP_QUERY / OP_REPLY',
      [req(opQuery(5, 'admin.$cmd', { isMaster: 1 })), resp(opReply(9, 5, { ismaster: true, ok: 1 }))],
      ['isMaster admin.$cmd 1'],
    ],
    [
      'replies paired by responseTo, out of order',
      [
        req(opMsg(6, 0, { find: 'a', $db: 'd' }), opMsg(7, 0, { find: 'b', $db: 'd' })),
        resp(opMsg(9, 7, { ok: 1 }), opMsg(10, 6, { ok: 1 })),
      ],
      ['find d.b 1', 'find d.a 1'],
    ],
    ['moreToCome: no reply expected', [req(opMsg(8, 0, { insert: 'x', $db: 'd' }, 2))], ['insert d.x ']],
    [
      'reply without request is dropped',
      [
        resp(opMsg(9, 99, { ok: 1 })),
        req(opMsg(11, 0, { ping: 1, $db: 'admin' })),
        resp(opMsg(12, 11, { ok: 1 })),
      ],
      ['ping admin 1'],
    ],
  ] as [string, Chunk[], string[]][])('%s', (_n, chunks, want) => {
    expect(brief(chunks)).toEqual(want);
  });

  it('copes with any segmentation', () => {
    const chunks = [
      ...byteByByte('request', opMsg(1, 0, { count: 'c', $db: 'd' }), 1n),
      ...byteByByte('response', opMsg(2, 1, { n: 0, ok: 1 }), 2n),
    ];
    expect(brief(chunks)).toEqual(['count d.c 1']);
  });

  it('keeps a frame whose document is malformed', () => {
    const bad = message(1, 0, 2013, [...le32(0), 0, ...le32(99), 2, 0x61]);
    expect(brief([req(bad), resp(opMsg(2, 1, { ok: 1 }))])).toEqual(['op_2013  1']);
  });

  it.each([
    ['OP_MSG request', opMsg(1, 0, { ping: 1, $db: 'admin' }), 0.6],
    ['HTTP', enc.encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 0],
    [
      'PostgreSQL startup',
      new Uint8Array([0, 0, 0, 16, 0, 3, 0, 0, 0x75, 0x73, 0x65, 0x72, 0, 0x61, 0, 0]),
      0,
    ],
  ] as [string, Uint8Array, number][])('detects %s', (_n, data, score) => {
    expect(spec.detect({ data, direction: 'egress', role: 'unknown', transport: 'tcp' }).score).toBe(score);
  });
});

describe('mongodb messages larger than what has arrived', () => {
  const find = (id: number) => opMsg(id, 0, { find: 'orders', $db: 'shop' });
  const chunks = (m: Uint8Array, size: number) =>
    Array.from({ length: Math.ceil(m.length / size) }, (_, i) => resp(m.subarray(i * size, (i + 1) * size)));

  it('parses a 2 MB reply from its first KiB and skips the rest as it streams', () => {
    const big = opMsg(100, 1, {
      cursor: { firstBatch: Array.from({ length: 20_000 }, (_, i) => ({ _id: i, pad: 'x'.repeat(80) })) },
      ok: 1,
    });
    expect(big.length).toBeGreaterThan(2_000_000);
    const calls = drive(spec, [
      req(find(1)),
      ...chunks(big, 65_536),
      req(find(2)),
      resp(opMsg(101, 2, { ok: 0, code: 26, errmsg: 'ns not found' })),
    ]).calls;
    expect(calls.map((c) => `${c.method} ${c.status} ${c.respBytes}`)).toEqual([
      `find 1 ${big.length}`,
      `find 26 ${opMsg(101, 2, { ok: 0, code: 26, errmsg: 'ns not found' }).length}`,
    ]);
    expect(calls[0]!.attributes?.['mongodb.reply_truncated']).toBe(true);
  });

  it('reads the fields of a reply cut short by the capture (zeros after the copied prefix)', () => {
    const reply = opMsg(100, 1, { ok: 0, errmsg: `bad ${'x'.repeat(3000)}`, code: 2 });
    const cut = new Uint8Array(reply.length);
    cut.set(reply.subarray(0, 1024));
    const [call] = drive(spec, [req(find(1)), resp(cut)]).calls;
    // `ok` came first; `code` lay past the copied bytes.
    expect(call?.status).toBe('error');
    expect(call?.error).toBe(true);
    expect(String(call?.attributes?.['error.message'])).toMatch(/^bad x{252}$/);
  });
});
