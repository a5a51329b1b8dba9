import { serialize } from 'bson';
import type { ApiCall } from '../../sensor/protocols/contract.ts';
import { protocolSpecs } from '../../sensor/protocols/registry.ts';
import { ConnectionTracker } from '../../sensor/protocols/tracker/connectionTracker.ts';
import { record } from '../harness.ts';

/**
 * Throughput of the part-B parsers and stitchers through the real tracker, single thread: a synthetic
 * conversation per protocol (one message per read, as the eBPF source hands them over), N calls each.
 * Baseline, in the same run: summing every byte of the same reads (the cost of merely touching the data).
 */
const N = Number(process.env.BENCH_CALLS ?? 100_000);
const enc = new TextEncoder();
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const le32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255];
const u8 = (...parts: (number[] | Uint8Array | string)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...enc.encode(p)] : [...p])));

interface Conversation {
  port: number;
  /** Reads in order: [egress?, bytes]. */
  reads: { egress: boolean; data: Uint8Array }[];
  calls: number;
}

function conversation(
  port: number,
  first: Uint8Array[],
  pair: (i: number) => Uint8Array[][],
  calls: number,
): Conversation {
  const reads: Conversation['reads'] = first.map((data) => ({ egress: true, data }));
  for (let i = 0; i < N; i++) {
    const [out, back] = pair(i);
    for (const data of out!) reads.push({ egress: true, data });
    for (const data of back ?? []) reads.push({ egress: false, data });
  }
  return { port, reads, calls };
}

const pgMsg = (tag: string, body: Uint8Array) => u8([tag.charCodeAt(0)], be32(body.length + 4), body);
const pgResp = u8(
  pgMsg('T', u8([0, 1], 'id\0', be32(0), [0, 0], be32(23), [0, 4], be32(0xffffffff), [0, 0])),
  pgMsg('D', u8([0, 1], be32(1), '7')),
  pgMsg('C', u8('SELECT 1\0')),
  pgMsg('Z', u8('I')),
);
const myPkt = (seq: number, body: Uint8Array) =>
  u8([body.length & 255, (body.length >> 8) & 255, body.length >> 16, seq], body);
const myResp = u8(
  myPkt(1, u8([1])),
  myPkt(2, u8([3], 'def', [0, 0, 0, 2], 'id', [2], 'id', [0x0c, 0x3f, 0], le32(11), [3, 0, 0, 0, 0, 0])),
  myPkt(3, u8([0xfe, 0, 0, 2, 0])),
  myPkt(4, u8([1], '7')),
  myPkt(5, u8([0xfe, 0, 0, 2, 0])),
);
const kafkaProduce = (corr: number) => {
  const body = u8(
    [0, 0, 0, 2],
    be32(corr),
    [0, 3],
    'app',
    [0, 1],
    be32(1000),
    be32(1),
    [0, 6],
    'orders',
    be32(1),
    be32(0),
    be32(0),
  );
  return u8(be32(body.length), body);
};
const kafkaResp = (corr: number) => {
  const body = u8(
    be32(corr),
    be32(1),
    [0, 6],
    'orders',
    be32(1),
    be32(0),
    [0, 0],
    be32(0),
    be32(0),
    be32(0),
    be32(0),
    be32(0),
  );
  return u8(be32(body.length), body);
};
const findDoc = serialize({ find: 'orders', filter: { status: 'shipped' }, limit: 10, $db: 'shop' });
const replyDoc = serialize({
  cursor: { id: 0n, ns: 'shop.orders', firstBatch: [{ _id: 1, status: 'shipped' }] },
  ok: 1,
});
const opMsg = (id: number, to: number, doc: Uint8Array) =>
  u8(le32(21 + doc.length), le32(id), le32(to), le32(2013), le32(0), [0], doc);
const amqpFrame = (type: number, payload: Uint8Array) =>
  u8([type, 0, 1], be32(payload.length), payload, [0xce]);
const amqpPublish = u8(
  amqpFrame(1, u8([0, 60, 0, 40, 0, 0, 6], 'orders', [3], 'new', [0])),
  amqpFrame(2, u8([0, 60, 0, 0], be32(0), be32(16), [0, 0])),
  amqpFrame(3, u8('{"id":1,"qty":2}')),
);

const conversations: Record<string, Conversation> = {
  postgres: conversation(
    5432,
    [],
    () => [[pgMsg('Q', u8('select id from orders where id = 7\0'))], [pgResp]],
    N,
  ),
  mysql: conversation(
    3306,
    [],
    () => [[myPkt(0, u8([3], 'select id from orders where id = 7'))], [myResp]],
    N,
  ),
  redis: conversation(
    6379,
    [],
    (i) => [
      [u8('*2\r\n$3\r\nGET\r\n$', String(`order:${i % 1000}`.length), `\r\norder:${i % 1000}\r\n`)],
      [u8('$7\r\nshipped\r\n')],
    ],
    N,
  ),
  kafka: conversation(9092, [], (i) => [[kafkaProduce(i)], [kafkaResp(i)]], N),
  mongodb: conversation(
    27017,
    [],
    (i) => [[opMsg(i + 1, 0, findDoc)], [opMsg(1_000_000 + i, i + 1, replyDoc)]],
    N,
  ),
  amqp: conversation(5672, [u8('AMQP', [0, 0, 9, 1])], () => [[amqpPublish]], N),
  nats: conversation(
    4222,
    [u8('CONNECT {"verbose":false}\r\n')],
    (i) => [[u8(`PUB orders.${i % 100} 16\r\n{"id":1,"qty":2}\r\n`)]],
    N,
  ),
};

function cpuSeconds(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

function replay(conv: Conversation): number {
  let calls = 0;
  const tracker = new ConnectionTracker({ specs: protocolSpecs, onCall: (_c: ApiCall) => void calls++ });
  const info = {
    local: { ip: '10.0.0.1', port: 40000 },
    remote: { ip: '10.0.0.2', port: conv.port },
    transport: 'tcp' as const,
    role: 'client' as const,
  };
  let ts = 1n;
  for (const r of conv.reads) tracker.onData('c', info, r.egress ? 'egress' : 'ingress', r.data, ts++);
  tracker.flush();
  return calls;
}

for (const [name, conv] of Object.entries(conversations)) {
  const bytes = conv.reads.reduce((n, r) => n + r.data.length, 0);
  let sum = 0;
  const base = cpuSeconds(() => {
    for (const r of conv.reads) for (let i = 0; i < r.data.length; i++) sum = (sum + r.data[i]!) | 0;
  });
  replay({ ...conv, reads: conv.reads.slice(0, Math.min(conv.reads.length, 20_000)) }); // JIT warm-up
  let calls = 0;
  const secs = cpuSeconds(() => {
    calls = replay(conv);
  });
  if (calls !== conv.calls)
    throw new Error(`${name}: ${calls} calls, expected ${conv.calls} (checksum ${sum})`);
  const notes = `${N} calls, one message per read, all registered specs, same-run baseline = summing the bytes`;
  record({
    benchmark: `sensor-protocols/${name}`,
    metric: 'calls_per_cpu_second',
    value: calls / secs,
    unit: 'calls/s',
    notes,
  });
  record({
    benchmark: `sensor-protocols/${name}`,
    metric: 'throughput',
    value: bytes / 1e6 / secs,
    unit: 'MB/s',
    baseline: bytes / 1e6 / base,
    notes,
  });
}
