import { serialize } from 'bson';
import { describe, expect, it } from 'vitest';
import { batch, produceResponseV3, produceV3, record } from '../protocols/kafka/testWire.ts';
import { body, data, FEEDS, makeSource, response, tuple } from '../testing/liveSourceEvents.ts';
import type { LiveSource } from './liveSource.ts';

/**
 * LiveSource keeps parsing when the capture copied only a prefix of a message: it fills the bytes it did
 * not get, per protocol, so a call is kept and the next one still parses; a hole too large becomes a gap.
 */
describe.each(FEEDS)('LiveSource fill, %s', (_name, batched) => {
  const source = (opts: Partial<ConstructorParameters<typeof LiveSource>[0]> = {}) =>
    makeSource(opts, batched);

  it('fills truncated HTTP bodies so the next keep-alive response still parses', () => {
    const { src, feed, keys } = source();
    const t = tuple(40000, 80);
    for (const path of ['/one', '/two', '/three']) {
      feed(data(20, 7, t, 'egress', `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`, { role: 'client' }));
      const full = Buffer.from(response(3000), 'latin1');
      // The kernel copied 256 bytes of a 3 KB read; the next read starts exactly at the next response.
      feed(data(20, 7, t, 'ingress', full.subarray(0, 256), { role: 'client', length: full.length }));
    }
    expect(keys()).toEqual([
      'http client GET /one 200 20',
      'http client GET /two 200 20',
      'http client GET /three 200 20',
    ]);
    expect(src.stats.truncatedEvents).toBe(3);
    expect(src.stats.filledBytes).toBe(3 * (response(3000).length - 256));
    expect(src.stats.gaps).toBe(0);
  });

  it('a body that arrives over several truncated reads keeps its length', () => {
    const { feed, keys } = source();
    const t = tuple(40001, 80);
    feed(data(21, 7, t, 'egress', 'GET /big HTTP/1.1\r\n\r\n', { role: 'client' }));
    const full = Buffer.from(response(100_000), 'latin1');
    for (let at = 0; at < full.length; at += 16_384) {
      const read = full.subarray(at, Math.min(full.length, at + 16_384));
      feed(data(21, 7, t, 'ingress', read.subarray(0, 256), { role: 'client', length: read.length }));
    }
    feed(data(21, 7, t, 'egress', 'GET /after HTTP/1.1\r\n\r\n', { role: 'client' }));
    feed(data(21, 7, t, 'ingress', response(2), { role: 'client' }));
    expect(keys()).toEqual(['http client GET /big 200 21', 'http client GET /after 200 21']);
  });

  it('declares a gap for other protocols and resynchronises without mis-pairing', () => {
    const { src, calls, feed, keys } = source();
    const t = tuple(40002, 6379);
    const bulk = Buffer.from(`$5000\r\n${body(5000)}\r\n`, 'latin1');
    feed(data(30, 9, t, 'egress', '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n', { role: 'client' }));
    feed(data(30, 9, t, 'ingress', bulk.subarray(0, 256), { role: 'client', length: bulk.length }));
    feed(data(30, 9, t, 'egress', '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n', { role: 'client' }));
    feed(data(30, 9, t, 'ingress', '+OK\r\n', { role: 'client' }));
    feed(data(30, 9, t, 'egress', '*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n', { role: 'client' }));
    feed(data(30, 9, t, 'ingress', '-ERR value is not an integer\r\n', { role: 'client' }));
    src.flush();
    expect(src.stats.gaps).toBe(1);
    // The GET's reply lost its end: it is reported as a truncated success from the reply's start, and the
    // later commands keep their own replies.
    expect(keys()).toEqual([
      'redis client GET k OK 30',
      'redis client SET k OK 30',
      'redis client INCR k ERR 30',
    ]);
    expect(calls.map((c) => c.attributes?.['db.response.truncated'])).toEqual([true, undefined, undefined]);
    expect(calls[0]!.respBytes).toBe(256);
  });

  it('fills a Kafka Produce larger than the copied prefix: every call is kept, records read from the prefix', () => {
    const { src, calls, feed } = source();
    const t = tuple(40003, 9092);
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    for (let i = 1; i <= 4; i++) {
      // Odd requests carry a 3 KB value: the kernel copies 1024 bytes of them.
      const req = produceV3(batch([record(`k${i}`, 'v'.repeat(i % 2 ? 3000 : 10), [['traceparent', tp]])]), {
        correlationId: i,
      });
      feed(data(50, 4, t, 'egress', req.subarray(0, 1024), { role: 'client', length: req.length }));
      feed(data(50, 4, t, 'ingress', produceResponseV3(i), { role: 'client' }));
    }
    expect(calls.map((c) => `${c.method} ${c.status} ${c.attributes?.['kafka.correlation_id']}`)).toEqual([
      'Produce 0 1',
      'Produce 0 2',
      'Produce 0 3',
      'Produce 0 4',
    ]);
    // A record's key comes before its value, its headers after it: the 3 KB values cut those records'
    // headers off, not their keys.
    expect(calls.map((c) => c.reqHeaders?.traceparent)).toEqual([undefined, tp, undefined, tp]);
    expect(calls.map((c) => c.attributes?.['messaging.kafka.message.key'])).toEqual(['k1', 'k2', 'k3', 'k4']);
    expect(src.stats.gaps).toBe(0);
    expect(src.stats.filledBytes).toBeGreaterThan(4000);
  });

  it('parses a Kafka message bigger than the tracker buffer from its prefix, skipping the rest as it streams', () => {
    const { src, calls, feed } = source();
    const t = tuple(40004, 9092);
    const big = produceV3(batch([record('big', 'v'.repeat(600_000), [])]), { correlationId: 7 });
    for (let at = 0; at < big.length; at += 65_536)
      feed(data(51, 4, t, 'egress', big.subarray(at, at + 65_536), { role: 'client' }));
    feed(data(51, 4, t, 'ingress', produceResponseV3(7), { role: 'client' }));
    expect(calls.map((c) => `${c.method} ${c.status} ${c.reqBytes}`)).toEqual([`Produce 0 ${big.length}`]);
    expect(src.tracker.stats.bufferOverflows).toBe(0);
  });

  it('fills a MongoDB reply larger than the copied prefix: its call is kept and the next one still parses', () => {
    const { src, calls, feed } = source();
    const t = tuple(40005, 27017);
    const msg = (id: number, to: number, doc: Record<string, unknown>) => {
      const d = serialize(doc);
      const m = Buffer.alloc(21 + d.length);
      m.writeInt32LE(m.length, 0);
      m.writeInt32LE(id, 4);
      m.writeInt32LE(to, 8);
      m.writeInt32LE(2013, 12); // OP_MSG
      m.set(d, 21); // flags 0, section kind 0
      return m;
    };
    const docs = Array.from({ length: 200 }, (_, i) => ({ _id: i, status: 'shipped', note: 'x'.repeat(40) }));
    const reply = msg(100, 1, { cursor: { firstBatch: docs, id: 0n, ns: 'shop.orders' }, ok: 1 });
    feed(
      data(52, 4, t, 'egress', msg(1, 0, { find: 'orders', filter: {}, $db: 'shop' }), { role: 'client' }),
    );
    feed(data(52, 4, t, 'ingress', reply.subarray(0, 1024), { role: 'client', length: reply.length }));
    feed(data(52, 4, t, 'egress', msg(2, 0, { find: 'missing', $db: 'shop' }), { role: 'client' }));
    feed(
      data(52, 4, t, 'ingress', msg(101, 2, { ok: 0, code: 13, errmsg: 'unauthorized' }), { role: 'client' }),
    );
    expect(calls.map((c) => `${c.method} ${c.resource} ${c.status} ${c.respBytes}`)).toEqual([
      `find shop.orders 1 ${reply.length}`,
      'find shop.missing 13 ' + msg(101, 2, { ok: 0, code: 13, errmsg: 'unauthorized' }).length,
    ]);
    expect(calls[0]!.attributes?.['mongodb.reply_truncated']).toBe(true);
    expect(src.stats.gaps).toBe(0);
  });

  it('keeps a PostgreSQL query whose result was larger than the copied prefix, as a truncated success', () => {
    const { src, calls, feed } = source();
    const t = tuple(40006, 5432);
    const msg = (type: string, body: Buffer) => {
      const head = Buffer.alloc(5);
      head.write(type, 0, 'latin1');
      head.writeInt32BE(body.length + 4, 1);
      return Buffer.concat([head, body]);
    };
    const cstr = (text: string) => Buffer.from(`${text}\0`);
    const result = (rows: number) =>
      Buffer.concat([
        msg('T', Buffer.concat([Buffer.from([0, 1]), cstr('v'), Buffer.alloc(18)])),
        ...Array.from({ length: rows }, () =>
          msg('D', Buffer.from([0, 1, 0, 0, 0, 40, ...Buffer.alloc(40, 97)])),
        ),
        msg('C', cstr(`SELECT ${rows}`)),
        msg('Z', Buffer.from('I')),
      ]);
    for (const [i, rows] of [100, 2, 100, 2].entries()) {
      const r = result(rows);
      feed(data(53, 4, t, 'egress', msg('Q', cstr(`SELECT v FROM t${i}`)), { role: 'client' }));
      feed(data(53, 4, t, 'ingress', r.subarray(0, 1024), { role: 'client', length: r.length }));
    }
    src.flush();
    expect(
      calls.map((c) => `${c.resource} ${c.status} ${c.attributes?.['db.response.truncated'] ?? ''}`),
    ).toEqual([
      'SELECT v FROM t0 00000 true',
      'SELECT v FROM t1 00000 ',
      'SELECT v FROM t2 00000 true',
      'SELECT v FROM t3 00000 ',
    ]);
    // The small results keep their command tags; a truncated one never saw its own.
    expect(calls.map((c) => c.attributes?.['db.command_tag'])).toEqual([
      undefined,
      'SELECT 2',
      undefined,
      'SELECT 2',
    ]);
  });

  it('fills a request larger than the copied prefix (a big INSERT, a big SET): its call is kept', () => {
    const { src, calls, feed } = source();
    const pgT = tuple(40007, 5432);
    const q = (text: string) => {
      const body = Buffer.from(`${text}\0`);
      const head = Buffer.alloc(5);
      head.write('Q', 0, 'latin1');
      head.writeInt32BE(body.length + 4, 1);
      return Buffer.concat([head, body]);
    };
    const done = Buffer.from('C\0\0\0\x0fINSERT 0 1\0Z\0\0\0\x05I', 'latin1');
    const big = q(`INSERT INTO t VALUES ('${'v'.repeat(20_000)}')`);
    // A small query first: a message cut at its first event is never recognised (detection sees a prefix).
    feed(data(54, 4, pgT, 'egress', q('SELECT 1'), { role: 'client' }));
    feed(
      data(54, 4, pgT, 'ingress', Buffer.from('C\0\0\0\x0dSELECT 1\0Z\0\0\0\x05I', 'latin1'), {
        role: 'client',
      }),
    );
    feed(data(54, 4, pgT, 'egress', big.subarray(0, 1024), { role: 'client', length: big.length }));
    feed(data(54, 4, pgT, 'ingress', done, { role: 'client' }));
    const redisT = tuple(40008, 6379);
    const set = Buffer.from(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$20000\r\n${'z'.repeat(20_000)}\r\n`);
    feed(data(55, 5, redisT, 'ingress', set.subarray(0, 1024), { role: 'server', length: set.length }));
    feed(data(55, 5, redisT, 'egress', '+OK\r\n', { role: 'server' }));
    src.flush();
    expect(
      calls.map((c) => `${c.protocol} ${c.role} ${c.method} ${c.resource.slice(0, 30)} ${c.status}`),
    ).toEqual([
      'postgres client SELECT SELECT 1 00000',
      "postgres client INSERT INSERT INTO t VALUES ('vvvvvvv 00000",
      'redis server SET big OK',
    ]);
    expect(calls[1]!.resource).not.toContain('\0');
    expect(src.stats.gaps).toBe(0);
  });

  it('a hole larger than maxFillBytes becomes a gap', () => {
    const { src, feed, keys } = source({ maxFillBytes: 1000 });
    const t = tuple(40003, 80);
    feed(data(80, 5, t, 'egress', 'GET /a HTTP/1.1\r\n\r\n', { role: 'client' }));
    const full = Buffer.from(response(5000), 'latin1');
    feed(data(80, 5, t, 'ingress', full.subarray(0, 256), { role: 'client', length: full.length }));
    feed(data(80, 5, t, 'egress', 'GET /b HTTP/1.1\r\n\r\n', { role: 'client' }));
    feed(data(80, 5, t, 'ingress', response(1), { role: 'client' }));
    expect(src.stats.gaps).toBe(1);
    expect(keys()).toEqual(['http client GET /a 200 80', 'http client GET /b 200 80']);
  });
});
