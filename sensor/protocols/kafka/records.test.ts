import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { compressSync } from 'snappy';
import { describe, expect, it } from 'vitest';
import { callsFromPcap } from '../testkit-b/goldenCalls.ts';
import { drive } from '../testkit-b/streamDriver.ts';
import { MAX_ZSTD_WINDOW } from '../zstd.ts';
import { decompressRecords, MAX_DECOMPRESSED } from './compression.ts';
import { spec } from './index.ts';
import { MAX_HEADERS, MAX_RECORDS, readRecordBatch } from './records.ts';
import { batch, be, frame, produceV3, record, uv } from './testWire.ts';

const TP = (i: number) =>
  `00-4bf92f3577b34da6a3ce929d0e0e47${String(i).padStart(2, '0')}-00f067aa0ba902b7-01`;

describe('kafka record batches', () => {
  it('reads the count, the first key and each record headers', () => {
    const b = batch([record('user-1', '{}', [['traceparent', TP(1)]]), record(null, 'x', [])]);
    expect(readRecordBatch(b, 0, b.length)).toEqual({
      count: 2,
      compressed: false,
      key: 'user-1',
      headers: [{ traceparent: TP(1) }, {}],
    });
  });

  it.each([
    [
      'a batch whose records are not what its codec says is counted, not decoded',
      batch([record('k', 'v', [])], { attributes: 1 }),
      { count: 1, compressed: true, codec: 'gzip', headers: [] },
    ],
    [
      'a zstd batch whose frame is broken is counted, not decoded',
      batch([[0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]], { count: 1, attributes: 4 }),
      { count: 1, compressed: true, codec: 'zstd', headers: [] },
    ],
    ['an older message format has no headers', batch([record('k', 'v', [])], { magic: 1 }), undefined],
    ['too short for a batch header', Buffer.alloc(40), undefined],
  ])('%s', (_name, b, want) => {
    expect(readRecordBatch(b, 0, b.length)).toEqual(want);
  });

  it('keeps the records before a capture gap (zeros) and stops there', () => {
    const whole = batch([record('a', 'v', [['h', '1']]), record('b', 'v', [['h', '2']])]);
    const second = whole.length - record('b', 'v', [['h', '2']]).length;
    const cut = Buffer.concat([whole.subarray(0, second), Buffer.alloc(whole.length - second)]);
    expect(readRecordBatch(cut, 0, cut.length)?.headers).toEqual([{ h: '1' }]);
    // Cut inside the first record: nothing decoded, no throw.
    const early = Buffer.concat([whole.subarray(0, 66), Buffer.alloc(whole.length - 66)]);
    expect(readRecordBatch(early, 0, early.length)?.headers).toEqual([]);
  });

  it(`decodes at most ${MAX_RECORDS} records and ${MAX_HEADERS} headers each, values cut at 256`, () => {
    const many = Array.from({ length: 20 }, (_, i) => [`h${i}`, 'x'.repeat(300)] as [string, string]);
    const b = batch(Array.from({ length: 12 }, () => record('k', 'v', many)));
    const s = readRecordBatch(b, 0, b.length)!;
    expect(s.count).toBe(12);
    expect(s.headers).toHaveLength(MAX_RECORDS);
    expect(Object.keys(s.headers[0]!)).toHaveLength(MAX_HEADERS);
    expect(s.headers[0]!.h0).toHaveLength(256);
  });

  it('a Produce of several records links to each traceparent; of one, its headers are the call', () => {
    const run = (b: Buffer) => drive(spec, [{ type: 'request', tsNs: 1n, data: b }]).calls;
    const produce = (records: Buffer) => produceV3(records, { correlationId: 9, acks: 0, partition: 3 });
    const [several] = run(
      produce(
        batch([
          record('a', '1', [['traceparent', TP(1)]]),
          record('b', '2', []),
          record('c', '3', [
            ['traceparent', TP(3)],
            ['tracestate', 'k=v'],
          ]),
        ]),
      ),
    );
    expect(several?.links).toEqual([{ traceparent: TP(1) }, { traceparent: TP(3), tracestate: 'k=v' }]);
    expect(several?.reqHeaders).toBeUndefined();
    expect(several?.attributes).toMatchObject({
      'messaging.destination.partition.id': '3',
      'messaging.batch.message_count': 3,
      'messaging.kafka.message.key': 'a',
    });
    const [one] = run(produce(batch([record('a', '1', [['traceparent', TP(1)]])])));
    expect(one?.reqHeaders).toEqual({ traceparent: TP(1) });
    expect(one?.links).toBeUndefined();
  });

  it('a Fetch links to the trace context of each record received, even of a single one', () => {
    const request = frame([
      ...be(1, 2), // api key Fetch
      ...be(4, 2), // version 4
      ...be(21, 4), // correlation id
      ...be(-1, 2), // client id: null
      ...be(-1, 4), // replica id
      ...be(500, 4), // max wait
      ...be(1, 4), // min bytes
      ...be(1 << 20, 4), // max bytes
      0, // isolation level
      ...be(1, 4), // one topic
      ...be(6, 2),
      ...Buffer.from('orders'),
      ...be(0, 4), // no partitions listed (not read)
    ]);
    const response = (records: Buffer) =>
      frame([
        ...be(21, 4), // correlation id
        ...be(0, 4), // throttle time
        ...be(1, 4), // one topic
        ...be(6, 2),
        ...Buffer.from('orders'),
        ...be(1, 4), // one partition
        ...be(2, 4), // partition 2
        ...be(0, 2), // error code
        ...be(10, 8), // high watermark
        ...be(10, 8), // last stable offset
        ...be(-1, 4), // aborted transactions: null
        ...be(records.length, 4),
        ...records,
      ]);
    const run = (records: Buffer) =>
      drive(spec, [
        { type: 'request', tsNs: 1n, data: request },
        { type: 'response', tsNs: 2n, data: response(records) },
      ]).calls;
    const [two] = run(
      batch([record('a', '1', [['traceparent', TP(1)]]), record('b', '2', [['traceparent', TP(2)]])]),
    );
    expect(two?.method).toBe('Fetch');
    expect(two?.status).toBe('0');
    expect(two?.links).toEqual([{ traceparent: TP(1) }, { traceparent: TP(2) }]);
    expect(two?.attributes).toMatchObject({
      'messaging.destination.partition.id': '2',
      'messaging.batch.message_count': 2,
    });
    const [one] = run(batch([record('a', '1', [['traceparent', TP(1)]])]));
    expect(one?.links).toEqual([{ traceparent: TP(1) }]);
    expect(one?.reqHeaders).toBeUndefined();
  });

  it('reads a flexible Fetch (v12: compact fields, tagged sections) the same way', () => {
    const request = frame([
      ...be(1, 2), // api key Fetch
      ...be(12, 2), // version 12
      ...be(22, 4), // correlation id
      ...be(-1, 2), // client id: null (the header's is never compact)
      0, // header tagged fields
      ...be(-1, 4), // replica id
      ...be(500, 4),
      ...be(1, 4),
      ...be(1 << 20, 4),
      0, // isolation level
      ...be(0, 4), // session id
      ...be(-1, 4), // session epoch
      2, // one topic (compact: n + 1)
      7,
      ...Buffer.from('orders'),
      1, // no partitions
    ]);
    const records = batch([record('k', 'v', [['traceparent', TP(4)]]), record('k', 'v', [])]);
    const response = frame([
      ...be(22, 4),
      0, // header tagged fields
      ...be(0, 4), // throttle time
      ...be(0, 2), // error code
      ...be(7, 4), // session id
      2, // one topic
      7,
      ...Buffer.from('orders'),
      2, // one partition
      ...be(5, 4), // partition 5
      ...be(0, 2),
      ...be(10, 8),
      ...be(10, 8),
      ...be(0, 8), // log start offset
      0, // aborted transactions: null
      ...be(-1, 4), // preferred read replica
      ...uv(records.length + 1), // compact bytes: an unsigned varint of n + 1
      ...records,
      0, // partition tagged fields
      0, // topic tagged fields
      0, // response tagged fields
    ]);
    const [call] = drive(spec, [
      { type: 'request', tsNs: 1n, data: request },
      { type: 'response', tsNs: 2n, data: response },
    ]).calls;
    expect(call?.links).toEqual([{ traceparent: TP(4) }]);
    expect(call?.attributes).toMatchObject({
      'messaging.destination.partition.id': '5',
      'messaging.batch.message_count': 2,
    });
  });

  it("reads a real producer's record (kafka-python, Produce v7, a SkyWalking sw8 header)", () => {
    const calls = callsFromPcap(spec, 'kafka/deepflow__kafka__00-produce-v7-sw8.pcap', [36333]).map(
      (f) => f.call,
    );
    const produce = calls.find((c) => c.method === 'Produce');
    expect(produce?.resource).toBe('quickstart-events');
    expect(produce?.attributes).toMatchObject({
      'messaging.kafka.message.key': 'MyKey',
      'messaging.destination.partition.id': '0',
    });
    expect(produce?.reqHeaders?.sw8).toMatch(/^1-YmI3OWZhMzQtZDAzZi00YmMyLThmYTktOTc5YWY3ODc3NDI2-/);
  });
});

/** Records compressed by real encoders: kafkajs' own record batch (gzip), the snappy package, the lz4 tool. */
describe('kafka compressed record batches', () => {
  const require = createRequire(import.meta.url);
  const records = Array.from({ length: 12 }, (_, i) =>
    record(`user-${i}`, JSON.stringify({ order: i, note: 'n'.repeat(40) }), [['traceparent', TP(i)]]),
  );
  const plain = Buffer.from(records.flat());
  const want = {
    count: 12,
    compressed: true,
    key: 'user-0',
    headers: Array.from({ length: MAX_RECORDS }, (_, i) => ({ traceparent: TP(i) })),
  };
  const xerial = (block: Buffer) =>
    Buffer.concat([
      Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]),
      Buffer.from([...be(1, 4), ...be(1, 4), ...be(block.length, 4)]),
      block,
    ]);

  async function kafkajsGzip(): Promise<Buffer> {
    const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
      RecordBatch: (o: object) => Promise<{ buffer: Buffer }>;
    };
    const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (o: object) => unknown;
    const encoded = await RecordBatch({
      compression: 1,
      lastOffsetDelta: 11,
      records: Array.from({ length: 12 }, (_, i) =>
        Record({
          offsetDelta: i,
          key: Buffer.from(`user-${i}`),
          value: Buffer.from(JSON.stringify({ order: i, note: 'n'.repeat(40) })),
          headers: { traceparent: Buffer.from(TP(i)) },
        }),
      ),
    });
    return encoded.buffer;
  }

  const cases: [string, () => Promise<Buffer>][] = [
    ['gzip (kafkajs)', kafkajsGzip],
    [
      'snappy, xerial framing',
      async () => batch([[...xerial(compressSync(plain))]], { count: 12, attributes: 2 }),
    ],
    ['snappy, raw block', async () => batch([[...compressSync(plain)]], { count: 12, attributes: 2 })],
    [
      'lz4 frame (lz4 tool)',
      async () =>
        batch([[...execFileSync('lz4', ['-c', '-q'], { input: plain })]], { count: 12, attributes: 3 }),
    ],
    [
      // Streamed, as a producer's compressing stream writes it: no content size, a window descriptor.
      'zstd frame (zstd tool, streamed)',
      async () =>
        batch([[...execFileSync('zstd', ['-c', '-q', '--no-content-size'], { input: plain })]], {
          count: 12,
          attributes: 4,
        }),
    ],
  ];

  it.each(cases)('%s: the records are decompressed and read', async (_name, make) => {
    const b = await make();
    const got = readRecordBatch(b, 0, b.length)!;
    expect({ ...got, codec: undefined }).toEqual({ ...want, codec: undefined });
    expect(got.codec).toBe(['gzip', 'snappy', 'lz4', 'zstd'][(b.readInt16BE(21) & 7) - 1]);
  });

  /** The batch with zeros after 60 % of its records' bytes, as the capture fills what it skipped. */
  const cutBatch = (b: Buffer) => {
    const half = 61 + Math.floor((b.length - 61) * 0.6);
    return Buffer.concat([b.subarray(0, half), Buffer.alloc(b.length - half)]);
  };

  // Stream codecs give what their input holds; zstd decodes whole blocks only (below).
  it.each(cases.filter(([name]) => !name.startsWith('zstd')))(
    '%s: cut by the capture (zeros after 60 % of the records), the first records still are',
    async (_name, make) => {
      const cut = cutBatch(await make());
      const got = readRecordBatch(cut, 0, cut.length)!;
      expect(got.count).toBe(12);
      expect(got.headers.length).toBeGreaterThan(0);
      expect(got.headers.length).toBeLessThan(MAX_RECORDS);
      // What was decoded is right; nothing made up from the fill.
      expect(got.headers).toEqual(got.headers.map((_, i) => ({ traceparent: TP(i) })));
    },
  );

  it('zstd cut inside its only block: counted, and nothing made up from the fill', async () => {
    const [, make] = cases.find(([name]) => name.startsWith('zstd'))!;
    const cut = cutBatch(await make());
    expect(readRecordBatch(cut, 0, cut.length)).toEqual({
      count: 12,
      compressed: true,
      codec: 'zstd',
      headers: [],
    });
  });

  it('bounds what one batch may decompress to', () => {
    const flood = Buffer.alloc(4 * MAX_DECOMPRESSED, 0x41);
    for (const [codec, blob] of [
      [1, gzipSync(flood)],
      [2, compressSync(flood)],
      [3, execFileSync('lz4', ['-c', '-q'], { input: flood })],
      [4, execFileSync('zstd', ['-c', '-q'], { input: flood })],
    ] as const)
      expect(decompressRecords(codec, blob)?.length, `codec ${codec}`).toBe(MAX_DECOMPRESSED);
  });

  it('zstd: a frame whose last byte is a real zero (a raw block, no checksum) is read whole', () => {
    const tail = Buffer.concat([randomBytes(200), Buffer.from([0])]);
    const frame = execFileSync('zstd', ['-c', '-q', '--no-check'], { input: tail });
    expect(frame.at(-1)).toBe(0);
    expect(Buffer.from(decompressRecords(4, frame)!)).toEqual(tail);
  });

  it('refuses a zstd frame that asks for a window past MAX_ZSTD_WINDOW', () => {
    // Frame header with a window descriptor (exponent e: 2^(10+e) bytes), then one raw block of 4 bytes.
    const frameWith = (exponent: number) =>
      Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, exponent << 3, 0x21, 0x00, 0x00, 1, 2, 3, 4]);
    expect(2 ** (10 + 13)).toBe(MAX_ZSTD_WINDOW);
    expect([...decompressRecords(4, frameWith(13))!]).toEqual([1, 2, 3, 4]);
    expect(decompressRecords(4, frameWith(14))).toBeUndefined();
    expect(decompressRecords(4, frameWith(20))).toBeUndefined(); // 1 GiB
  });

  it('a compressed Produce of several records links to each traceparent', async () => {
    const b = await kafkajsGzip();
    const [call] = drive(spec, [
      { type: 'request', tsNs: 1n, data: produceV3(b, { correlationId: 9, acks: 0 }) },
    ]).calls;
    expect(call!.attributes?.['messaging.kafka.batch.compression']).toBe('gzip');
    expect(call!.links).toEqual(Array.from({ length: MAX_RECORDS }, (_, i) => ({ traceparent: TP(i) })));
  });
});
