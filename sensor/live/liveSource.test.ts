import { describe, expect, it } from 'vitest';
import type { CaptureEvent, Tuple } from '../capture/events.ts';
import {
  advanceClock,
  conn,
  data,
  FEEDS,
  makeSource,
  response,
  tick,
  tuple,
} from '../testing/liveSourceEvents.ts';
import { encodeBatch } from './eventBatchWriter.ts';
import type { LiveSource } from './liveSource.ts';

/**
 * The eBPF source's bookkeeping on events shaped exactly like the capture's (the live tests beside this
 * file run the same code on real kernel events): keys, roles, close/exit cleanup, load shedding, bounds.
 * Truncation fill and gaps: liveSource.fill.test.ts.
 */
describe.each(FEEDS)('LiveSource, %s', (_name, batched) => {
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
    advanceClock(10_000_000_000n);
    feed(data(71, 3, tuple(44000, 80), 'egress', 'GET / HTTP/1.1\r\n\r\n', { role: 'client' }));
    expect(src.connections).toBe(1);
    // The new connection arrived first and evicted one before the sweep that ends the batch expired the rest.
    expect(src.stats.connectionsEvicted).toBe(91);
    expect(src.stats.connectionsExpired).toBe(9);
    expect(src.tracker.footprint().connections).toBe(1);
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
