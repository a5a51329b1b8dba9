import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { ApiCall } from '../contract.ts';
import { drive } from '../testkit-b/streamDriver.ts';
import { ERROR_CODE_APIS } from './errorCodes.ts';
import { spec } from './index.ts';
import { API_NAMES } from './types.ts';

/**
 * Error codes of responses beyond Produce/Fetch. No broker runs here, so each response is laid out from the
 * protocol's schema and checked twice: KafkaJS (a real client) decodes and parses the same body (its
 * `parse` throws the protocol error a client would see), and our parser must report that code. A body
 * KafkaJS cannot read, or reads a different code from, fails the case before our parser is asked.
 */
const require = createRequire(import.meta.url);

class Body {
  readonly bytes: number[] = [];
  i16(n: number): this {
    this.bytes.push((n >> 8) & 255, n & 255);
    return this;
  }
  i32(n: number): this {
    this.bytes.push((n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255);
    return this;
  }
  i64(n: number): this {
    return this.i32(0).i32(n);
  }
  i8(n: number): this {
    this.bytes.push(n & 255);
    return this;
  }
  bool(b: boolean): this {
    this.bytes.push(b ? 1 : 0);
    return this;
  }
  str(s: string | null): this {
    if (s === null) return this.i16(-1);
    const b = Buffer.from(s);
    this.i16(b.length);
    this.bytes.push(...b);
    return this;
  }
  /** ARRAY: int32 count, then the items written by `each`. */
  arr<T>(items: T[], each: (b: this, item: T) => void): this {
    this.i32(items.length);
    for (const item of items) each(this, item);
    return this;
  }
}

interface Case {
  api: string;
  version: number;
  /** The KafkaJS folder under src/protocol/requests. */
  kafkajs: string;
  body: Body;
}

const E = 36; // TOPIC_ALREADY_EXISTS, or any code: the parser must not care which
const cases: Case[] = [
  {
    api: 'ListOffsets',
    version: 1,
    kafkajs: 'listOffsets',
    body: new Body().arr(['t'], (b, t) => b.str(t).arr([0], (p) => p.i32(0).i16(3).i64(0).i64(0))),
  },
  {
    api: 'ListOffsets',
    version: 2,
    kafkajs: 'listOffsets',
    body: new Body().i32(0).arr(['t'], (b, t) => b.str(t).arr([0], (p) => p.i32(0).i16(6).i64(0).i64(0))),
  },
  {
    api: 'Metadata',
    version: 1,
    kafkajs: 'metadata',
    body: new Body()
      .arr([1, 2], (b, id) =>
        b
          .i32(id)
          .str(`broker-${id}`)
          .i32(9092)
          .str(id === 1 ? 'rack-a' : null),
      )
      .i32(1)
      .arr(['orders'], (b, t) =>
        b
          .i16(3)
          .str(t)
          .bool(false)
          .arr([], () => {}),
      ),
  },
  {
    api: 'Metadata',
    version: 5,
    kafkajs: 'metadata',
    body: new Body()
      .i32(0)
      .arr([1], (b, id) => b.i32(id).str('kafka').i32(9092).str(null))
      .str('cluster-1')
      .i32(1)
      .arr(['orders'], (b, t) =>
        b
          .i16(5)
          .str(t)
          .bool(false)
          .arr([], () => {}),
      ),
  },
  {
    api: 'DescribeGroups',
    version: 1,
    kafkajs: 'describeGroups',
    body: new Body().i32(0).arr(['g'], (b, g) =>
      b
        .i16(16)
        .str(g)
        .str('Dead')
        .str('')
        .str('')
        .arr([], () => {}),
    ),
  },
  {
    api: 'CreateTopics',
    version: 2,
    kafkajs: 'createTopics',
    body: new Body().i32(0).arr(['t'], (b, t) => b.str(t).i16(E).str('exists')),
  },
  {
    api: 'DeleteTopics',
    version: 1,
    kafkajs: 'deleteTopics',
    body: new Body().i32(0).arr(['t'], (b, t) => b.str(t).i16(3)),
  },
  {
    api: 'DeleteRecords',
    version: 0,
    kafkajs: 'deleteRecords',
    body: new Body().i32(0).arr(['t'], (b, t) => b.str(t).arr([0], (p) => p.i32(0).i64(-1).i16(1))),
  },
  {
    api: 'DescribeConfigs',
    version: 0,
    kafkajs: 'describeConfigs',
    body: new Body().i32(0).arr([2], (b, type) =>
      b
        .i16(29)
        .str('denied')
        .i8(type)
        .str('t')
        .arr([], () => {}),
    ),
  },
  {
    api: 'CreatePartitions',
    version: 0,
    kafkajs: 'createPartitions',
    body: new Body().i32(0).arr(['t'], (b, t) => b.str(t).i16(37).str('invalid')),
  },
  {
    api: 'DeleteGroups',
    version: 0,
    kafkajs: 'deleteGroups',
    body: new Body().i32(0).arr(['g'], (b, g) => b.str(g).i16(69)),
  },
  {
    api: 'OffsetFetch',
    version: 2,
    kafkajs: 'offsetFetch',
    body: new Body().arr([], () => {}).i16(15),
  },
  {
    api: 'OffsetFetch',
    version: 3,
    kafkajs: 'offsetFetch',
    body: new Body()
      .i32(0)
      .arr(['t'], (b, t) => b.str(t).arr([0], (p) => p.i32(0).i64(-1).str('').i16(3)))
      .i16(0),
  },
  {
    api: 'FindCoordinator',
    version: 1,
    kafkajs: 'findCoordinator',
    body: new Body().i32(0).i16(15).str('not available').i32(-1).str('').i32(-1),
  },
  {
    api: 'AddPartitionsToTxn',
    version: 0,
    kafkajs: 'addPartitionsToTxn',
    body: new Body().i32(0).arr(['t'], (b, t) => b.str(t).arr([0], (p) => p.i32(0).i16(48))),
  },
  {
    api: 'TxnOffsetCommit',
    version: 0,
    kafkajs: 'txnOffsetCommit',
    body: new Body().i32(0).arr(['t'], (b, t) => b.str(t).arr([0], (p) => p.i32(0).i16(49))),
  },
  {
    api: 'CreateAcls',
    version: 0,
    kafkajs: 'createAcls',
    body: new Body().i32(0).arr([0], (b) => b.i16(31).str('denied')),
  },
];

/**
 * The code KafkaJS reports for `body`: the protocol error its `parse` throws (one error, or the first of an
 * aggregate), else the first non-zero `errorCode` of what `decode` read (parsers that return errors).
 */
async function kafkajsCode(c: Case): Promise<number> {
  type Mod = { decode: (b: Buffer) => Promise<unknown>; parse: (d: unknown) => Promise<unknown> };
  const exported = require(`kafkajs/src/protocol/requests/${c.kafkajs}/v${c.version}/response.js`) as
    | Mod
    | ((args: { topics: unknown[] }) => Mod);
  const mod = typeof exported === 'function' ? exported({ topics: [] }) : exported;
  const decoded = await mod.decode(Buffer.from(c.body.bytes));
  try {
    await mod.parse(decoded);
  } catch (e) {
    const err = e as { code?: number; errors?: { code?: number }[] };
    const code = err.code ?? err.errors?.[0]?.code;
    if (typeof code === 'number') return code;
  }
  return firstErrorCode(decoded);
}

function firstErrorCode(v: unknown): number {
  if (Array.isArray(v)) {
    for (const x of v) {
      const c = firstErrorCode(x);
      if (c !== 0) return c;
    }
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'errorCode' && typeof x === 'number' && x !== 0) return x;
      const c = firstErrorCode(x);
      if (c !== 0) return c;
    }
  }
  return 0;
}

function ours(c: Case): ApiCall {
  const apiKey = API_NAMES.indexOf(c.api);
  const clientId = new Body().str('test').bytes;
  const reqBody = [...new Body().i16(apiKey).i16(c.version).i32(7).bytes, ...clientId];
  const request = new Uint8Array([...new Body().i32(reqBody.length).bytes, ...reqBody]);
  const respBody = [...new Body().i32(7).bytes, ...c.body.bytes];
  const response = new Uint8Array([...new Body().i32(respBody.length).bytes, ...respBody]);
  const calls = drive(spec, [
    { type: 'request', tsNs: 1n, data: request },
    { type: 'response', tsNs: 2n, data: response },
  ]).calls;
  expect(calls).toHaveLength(1);
  return calls[0]!;
}

describe('kafka response error codes for every API the parser names', () => {
  it('has a layout for every API name', () => {
    expect([...ERROR_CODE_APIS].sort((a, b) => a - b)).toEqual(API_NAMES.map((_, i) => i));
  });

  it.each(cases.map((c) => [`${c.api} v${c.version}`, c] as const))('%s', async (_, c) => {
    const want = await kafkajsCode(c);
    expect(want).not.toBe(0); // every case carries an error: a misread 0 would pass unnoticed otherwise
    const call = ours(c);
    expect(call.method).toBe(c.api);
    expect(call.status).toBe(String(want));
    expect(call.error).toBe(true);
  });
});
