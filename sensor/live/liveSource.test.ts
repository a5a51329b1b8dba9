import { serialize } from 'bson';
import { describe, expect, it } from 'vitest';
import type { CaptureEvent, ConnectionEvent, DataEvent, Direction, Tuple } from '../capture/events.ts';
import type { ApiCall } from '../protocols/contract.ts';
import { batch, produceResponseV3, produceV3, record } from '../protocols/kafka/testWire.ts';
import { protocolSpecs } from '../protocols/registry.ts';
import { encodeBatch } from './eventBatchWriter.ts';
import { LiveSource } from './liveSource.ts';

/**
 * The eBPF source's bookkeeping on events shaped exactly like the capture's (the live tests beside this
 * file run the same code on real kernel events): keys, roles, truncation fill and gaps, close/exit cleanup,
 * bounds. `data` may be shorter than `length`, as when the kernel copied only a prefix.
 */
let clock = 1_000_000_000n;
const tick = () => (clock += 1_000_000n);

function tuple(lport: number, rport: number, transport: 'tcp' | 'udp' = 'tcp'): Tuple {
  return {
    family: 4,
    transport,
    local: { ip: '127.0.0.1', port: lport },
    remote: { ip: '127.0.0.1', port: rport },
  };
}

function data(
  pid: number,
  fd: number,
  t: Tuple,
  direction: Direction,
  text: string | Uint8Array,
  opts: {
    length?: number;
    role?: 'client' | 'server';
    tls?: boolean;
    unattributed?: boolean;
    resync?: boolean;
    shedBefore?: number;
  } = {},
): DataEvent {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  return {
    kind: 'data',
    tsNs: tick(),
    pid,
    tid: pid,
    fd,
    direction,
    tuple: t,
    role: opts.role ?? 'unknown',
    length: opts.length ?? bytes.length,
    data: bytes,
    truncated: (opts.length ?? bytes.length) > bytes.length,
    tls: opts.tls ?? false,
    unattributed: opts.unattributed ?? false,
    messageStart: true,
    resync: opts.resync ?? false,
    shedBefore: opts.shedBefore ?? 0,
    syscall: direction === 'egress' ? 'write' : 'read',
  };
}

function conn(kind: 'close' | 'accept' | 'connect', pid: number, fd: number, t: Tuple): ConnectionEvent {
  return { kind, tsNs: tick(), pid, tid: pid, fd, tuple: t, role: 'unknown', result: 0 };
}

/** `batched`: events go through a capture batch (the cursor walk of the real sensor), else as objects. */
function makeSource(opts: Partial<ConstructorParameters<typeof LiveSource>[0]>, batched: boolean) {
  const calls: ApiCall[] = [];
  const src = new LiveSource({ specs: protocolSpecs, onCall: (c) => calls.push(c), ...opts });
  const feed = (...events: CaptureEvent[]) => src.consume(batched ? encodeBatch(events) : events);
  const keys = () =>
    calls.map((c) => `${c.protocol} ${c.role} ${c.method} ${c.resource} ${c.status} ${c.pid}`);
  return { src, calls, feed, keys };
}

const body = (n: number) => 'x'.repeat(n);
const response = (n: number) => `HTTP/1.1 200 OK\r\nContent-Length: ${n}\r\n\r\n${body(n)}`;

describe.each([
  ['event objects', false],
  ['capture batches', true],
])('LiveSource, %s', (_name, batched) => {
  const source = (opts: Partial<ConstructorParameters<typeof LiveSource>[0]> = {}) =>
    makeSource(opts, batched);

  it('turns a server socket into calls with pid, role and endpoints', () => {
    const { src, calls, feed, keys } = source();
    const t = tuple(8080, 50000);
    feed(
      conn('accept', 10, 5, t),
      data(10, 5, t, 'ingress', 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n', { role: 'server' }),
      data(10, 5, t, 'egress', response(2), { role: 'server' }),
    );
    expect(keys()).toEqual(['http server GET /a 200 10']);
    expect(calls[0]!.server).toEqual({ ip: '127.0.0.1', port: 8080 });
    expect(calls[0]!.client).toEqual({ ip: '127.0.0.1', port: 50000 });
    feed(conn('close', 10, 5, t));
    expect(src.connections).toBe(0);
    expect(src.tracker.stats.connections).toBe(0);
  });

  it('an accept on a reused fd starts a new stream even when the close was lost', () => {
    const { src, calls, feed } = source();
    const first = tuple(8080, 51000);
    const second = tuple(8080, 51001);
    feed(
      conn('accept', 11, 6, first),
      data(11, 6, first, 'ingress', 'GET /first HTTP/1.1\r\n\r\n', { role: 'server' }),
    );
    // The close of the first connection and its response were lost (ring overflow).
    feed(
      conn('accept', 11, 6, second),
      data(11, 6, second, 'ingress', 'GET /second HTTP/1.1\r\n\r\n', { role: 'server' }),
      data(11, 6, second, 'egress', response(1), { role: 'server' }),
    );
    expect(calls.map((c) => `${c.resource} ${c.client?.port}`)).toEqual(['/second 51001']);
    expect(src.connections).toBe(1);
  });

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

  it('load shedding: counts per process the data events seen and those the kernel left out before them', () => {
    const { src, feed } = source();
    const a = tuple(8080, 52001);
    const b = tuple(5432, 52002);
    const ev = (pid: number, t: Tuple, shedBefore: number, text = 'x') =>
      data(pid, 9, t, 'ingress', text, { role: 'server', shedBefore });
    feed(ev(21, a, 5));
    expect(src.takeShedCounts().size).toBe(0); // not counting: nothing is shed
    src.countShedPerPid(true);
    feed(ev(21, a, 3), ev(21, a, 0), ev(22, b, 7));
    // A marker (empty, RESYNC) carries a count but no traffic: not seen.
    feed(data(23, 9, b, 'egress', '', { role: 'server', resync: true, shedBefore: 4 }));
    expect([...src.takeShedCounts()].sort()).toEqual([
      [21, { seen: 2, shed: 3 }],
      [22, { seen: 1, shed: 7 }],
      [23, { seen: 0, shed: 4 }],
    ]);
    // What was left out of a process none of whose events was seen waits for its next interval.
    feed(ev(21, a, 1));
    expect([...src.takeShedCounts()].sort()).toEqual([
      [21, { seen: 1, shed: 1 }],
      [23, { seen: 0, shed: 4 }],
    ]);
    feed(ev(23, b, 2));
    expect([...src.takeShedCounts()]).toEqual([[23, { seen: 1, shed: 6 }]]);
    src.countShedPerPid(false);
    feed(ev(21, a, 9));
    expect(src.takeShedCounts().size).toBe(0);
  });

  it('load shedding: a RESYNC marker drops what is held for the channel, without a call or a mis-pairing', () => {
    const { src, feed, keys } = source();
    const t = tuple(8080, 52000);
    const req = (path: string) =>
      data(12, 9, t, 'ingress', `GET ${path} HTTP/1.1\r\n\r\n`, { role: 'server' });
    const res = (opts = {}) => data(12, 9, t, 'egress', response(1), { role: 'server', ...opts });
    // TLS plaintext of the same fd is another channel: the marker of the plain one leaves it alone.
    const tlsReq = data(12, 9, t, 'ingress', 'GET /tls HTTP/1.1\r\n\r\n', { role: 'server', tls: true });
    feed(req('/kept'), res(), req('/cut-off'), tlsReq);
    expect(src.connections).toBe(2);
    // The kernel starts leaving the connection out: the response to /cut-off is never seen.
    feed(data(12, 9, t, 'egress', '', { role: 'server', resync: true }));
    expect(src.stats.resyncs).toBe(1);
    expect(src.stats.markers).toBe(1);
    expect(src.connections).toBe(1);
    // Captured again: the first event carries the flag too (its marker may be lost); here it is the
    // response to a request that was left out, which must not pair with anything.
    feed(res({ resync: true }), req('/after'), res());
    expect(keys()).toEqual(['http server GET /kept 200 12', 'http server GET /after 200 12']);
    expect(src.stats.resyncs).toBe(1); // nothing was held when the flagged response came
    feed(data(12, 9, t, 'egress', response(2), { role: 'server', tls: true }));
    expect(keys()).toContain('http server GET /tls 200 12');
  });

  it('keeps TLS plaintext apart from the same socket’s ciphertext', () => {
    const { src, feed, keys } = source();
    const t = tuple(443, 50001);
    const hello = new Uint8Array(200).fill(0x16);
    feed(data(40, 3, t, 'ingress', hello, { role: 'server' }));
    feed(data(40, 3, t, 'ingress', 'GET /secure HTTP/1.1\r\n\r\n', { role: 'server', tls: true }));
    feed(data(40, 3, t, 'egress', response(5), { role: 'server', tls: true }));
    feed(data(40, -1, tuple(0, 0), 'egress', 'lost', { tls: true, unattributed: true }));
    expect(keys()).toEqual(['http server GET /secure 200 40']);
    expect(src.connections).toBe(2);
    expect(src.stats.unattributed).toBe(1);
    feed(conn('close', 40, 3, t));
    expect(src.connections).toBe(0);
  });

  it('process exit forgets all its sockets and reports what was pending', () => {
    const { src, feed, keys } = source();
    for (let fd = 3; fd < 13; fd++) {
      const t = tuple(41000 + fd, 80);
      feed(data(50, fd, t, 'egress', `GET /p${fd} HTTP/1.1\r\n\r\n`, { role: 'client' }));
    }
    feed(data(51, 3, tuple(42000, 80), 'egress', 'GET /other HTTP/1.1\r\n\r\n', { role: 'client' }));
    expect(src.connections).toBe(11);
    feed({ kind: 'exit', tsNs: tick(), pid: 50, tid: 50, comm: 'x', parentPid: 0, childPid: 0, exitCode: 0 });
    expect(src.connections).toBe(1);
    expect(src.tracker.stats.connections).toBe(1);
    expect(keys()).toEqual([]); // requests without responses are errors, not calls
    expect(src.tracker.stats.stitchErrors).toBe(10);
  });

  it('UDP: one unconnected socket answering many peers gives one stream per peer', () => {
    const { src, feed, keys } = source();
    const query = (id: number) =>
      Buffer.concat([
        Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        Buffer.from([
          3,
          0x77,
          0x77,
          0x77,
          7,
          ...Buffer.from('example'),
          3,
          ...Buffer.from('com'),
          0,
          0,
          1,
          0,
          1,
        ]),
      ]);
    const answer = (id: number) => {
      const q = query(id);
      q[2] = 0x81;
      q[3] = 0x83; // NXDOMAIN
      return q;
    };
    for (const peer of [50010, 50011, 50012]) {
      const t = tuple(5353, peer, 'udp');
      feed(data(60, 4, t, 'ingress', query(peer), { role: 'server' }));
      feed(data(60, 4, t, 'egress', answer(peer), { role: 'server' }));
    }
    expect(keys()).toEqual(Array(3).fill('dns server A www.example.com NXDOMAIN 60'));
    expect(src.connections).toBe(3);
    feed(conn('close', 60, 4, tuple(5353, 0, 'udp')));
    expect(src.connections).toBe(0);
  });

  it('stays within maxConnections and expires idle connections', () => {
    const { src, feed } = source({ tracker: { maxConnections: 10, idleTimeoutNs: 5_000_000_000n } });
    for (let i = 0; i < 100; i++) {
      feed(data(70, 100 + i, tuple(43000 + i, 80), 'egress', 'GET / HTTP/1.1\r\n\r\n', { role: 'client' }));
    }
    expect(src.connections).toBe(10);
    expect(src.tracker.stats.connections).toBeLessThanOrEqual(10);
    expect(src.stats.connectionsEvicted).toBe(90);
    clock += 10_000_000_000n;
    feed(data(71, 3, tuple(44000, 80), 'egress', 'GET / HTTP/1.1\r\n\r\n', { role: 'client' }));
    expect(src.connections).toBe(1);
    // The new connection arrived first and evicted one before the sweep that ends the batch expired the rest.
    expect(src.stats.connectionsEvicted).toBe(91);
    expect(src.stats.connectionsExpired).toBe(9);
    expect(src.tracker.footprint().connections).toBe(1);
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

it('the batch writer encodes events that decode back to the same fields', () => {
  const t = tuple(8080, 50000);
  const events: CaptureEvent[] = [
    conn('accept', 10, 5, t),
    data(10, 5, t, 'ingress', 'GET /a HTTP/1.1\r\n\r\n', { role: 'server', length: 900 }),
    data(10, -1, tuple(0, 0), 'egress', 'x', { tls: true, unattributed: true }),
    data(10, 5, t, 'egress', '', { resync: true }),
    { kind: 'exit', tsNs: tick(), pid: 10, tid: 10, comm: 'node', parentPid: 0, childPid: 0, exitCode: 256 },
  ];
  // Every field the event types declare, read through the getters of the decoded views.
  const plain = (e: CaptureEvent) => {
    const out: Record<string, unknown> = {};
    const fields =
      e.kind === 'data'
        ? Object.keys(events[1]!)
        : e.kind === 'exit'
          ? Object.keys(events[4]!)
          : Object.keys(events[0]!);
    for (const k of fields) {
      const v = (e as unknown as Record<string, unknown>)[k];
      out[k] = v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v;
    }
    return out;
  };
  expect([...encodeBatch(events)].map(plain)).toEqual(events.map(plain));
});
