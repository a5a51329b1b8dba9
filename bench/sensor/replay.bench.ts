import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../../sensor/pcap/captureFile.ts';
import { PacketDecoder } from '../../sensor/pcap/packetDecoder.ts';
import { replayCapture } from '../../sensor/pcap/pcapSource.ts';
import type { ApiCall } from '../../sensor/protocols/contract.ts';
import { protocolSpecs } from '../../sensor/protocols/registry.ts';
import { indexOfCrlfCrlf } from '../../sensor/protocols/tracker/bytes.ts';
import { ConnectionTracker } from '../../sensor/protocols/tracker/connectionTracker.ts';
import { record } from '../harness.ts';

/**
 * Replay throughput of the user-space protocol pipeline (tracker + parsers + stitchers), single thread.
 * 1. HTTP/1.1: a synthetic keep-alive conversation, fed one message per read (what the eBPF source hands
 *    over: one syscall, one buffer) and pipelined in ~50 KB reads. Baseline: a plain scan of the same bytes for
 *    CRLFCRLF, in the same run. Target: >= 300k calls/s per core.
 * 2. Every capture in ../shared/testdata, per protocol folder: calls/s and MB/s of capture bytes, baseline
 *    = reading and decoding the packets only.
 */
const CALLS = Number(process.env.BENCH_HTTP_CALLS ?? 300_000);

function cpuSeconds(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/**
 * The conversation as two streams (requests, responses) and the end offset of each message, encoded straight
 * into two buffers: 600k separate message arrays would leave ~120 MB of dead objects in the old generation,
 * and every scavenge during the measurement would pay for them.
 */
function httpConversation(n: number): {
  reqStream: Uint8Array;
  respStream: Uint8Array;
  reqEnds: Int32Array;
  respEnds: Int32Array;
  bytes: number;
} {
  const enc = new TextEncoder();
  const streams = { req: new Uint8Array(n * 256), resp: new Uint8Array(n * 192) };
  const reqEnds = new Int32Array(n);
  const respEnds = new Int32Array(n);
  let re = 0;
  let se = 0;
  const put = (which: 'req' | 'resp', at: number, text: string): number => {
    let out = streams[which];
    if (out.length - at < text.length * 3) {
      out = new Uint8Array(out.length * 2);
      out.set(streams[which].subarray(0, at));
      streams[which] = out;
    }
    return at + enc.encodeInto(text, out.subarray(at)).written;
  };
  for (let i = 0; i < n; i++) {
    re = put(
      'req',
      re,
      `GET /api/v1/orders/${i % 1000}?page=${i % 7} HTTP/1.1\r\nHost: orders.svc.cluster.local\r\n` +
        'User-Agent: Go-http-client/1.1\r\nAccept: application/json\r\nX-Request-Id: 8b0f6e2a-3c1d-4f5e\r\n' +
        'Accept-Encoding: gzip\r\n\r\n',
    );
    const body = `{"id":${i},"status":"shipped","items":3}`;
    se = put(
      'resp',
      se,
      `HTTP/1.1 ${i % 50 === 0 ? 500 : 200} OK\r\nContent-Type: application/json\r\n` +
        `Date: Wed, 25 Nov 2026 17:00:00 GMT\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    reqEnds[i] = re;
    respEnds[i] = se;
  }
  return {
    reqStream: streams.req.subarray(0, re),
    respStream: streams.resp.subarray(0, se),
    reqEnds,
    respEnds,
    bytes: re + se,
  };
}

function trackerFor(calls: { n: number }): ConnectionTracker {
  return new ConnectionTracker({ specs: protocolSpecs, onCall: (_c: ApiCall) => void calls.n++ });
}

const info = {
  local: { ip: '10.0.0.1', port: 40000 },
  remote: { ip: '10.0.0.2', port: 80 },
  transport: 'tcp' as const,
  role: 'client' as const,
};

function benchHttp(): void {
  const conv = httpConversation(CALLS);
  const { reqStream, respStream, reqEnds, respEnds } = conv;

  // Baseline: find every head end in the same bytes, nothing else.
  let heads = 0;
  const scan = cpuSeconds(() => {
    for (const buf of [reqStream, respStream]) {
      let at = 0;
      for (;;) {
        const i = indexOfCrlfCrlf(buf, at, buf.length);
        if (i < 0) break;
        heads++;
        at = i + 4;
      }
    }
  });
  if (heads !== 2 * CALLS) throw new Error(`baseline scan found ${heads} heads, expected ${2 * CALLS}`);
  const scanMBs = conv.bytes / 1e6 / scan;

  // Each read is a view into one big buffer, made when it is handed over (as the capture source does with
  // its ring-buffer batches).
  const replayPerMessage = (t: ConnectionTracker, key: string, n: number) => {
    let ts = 1n;
    for (let i = 0; i < n; i++) {
      t.onData(key, info, 'egress', reqStream.subarray(i === 0 ? 0 : reqEnds[i - 1], reqEnds[i]), ts++);
      t.onData(key, info, 'ingress', respStream.subarray(i === 0 ? 0 : respEnds[i - 1], respEnds[i]), ts++);
    }
    t.flush();
  };
  // Warm-up (JIT) on a separate tracker, so the figures below are steady state.
  replayPerMessage(trackerFor({ n: 0 }), 'w', Math.min(CALLS, 50_000));

  // One message per read, request then response (keep-alive, no pipelining).
  const perMessage = { n: 0 };
  const t1 = trackerFor(perMessage);
  const perMessageSecs = cpuSeconds(() => replayPerMessage(t1, 'c', CALLS));
  if (perMessage.n !== CALLS)
    throw new Error(`per-message replay produced ${perMessage.n} calls, expected ${CALLS}`);

  // Pipelined traffic in large reads: 256 requests per read, then their 256 responses (~50 KB each).
  const batch = 256;
  const reqBatches: Uint8Array[] = [];
  const respBatches: Uint8Array[] = [];
  for (let i = 0; i < CALLS; i += batch) {
    const last = Math.min(CALLS, i + batch) - 1;
    reqBatches.push(reqStream.subarray(i === 0 ? 0 : reqEnds[i - 1], reqEnds[last]));
    respBatches.push(respStream.subarray(i === 0 ? 0 : respEnds[i - 1], respEnds[last]));
  }
  const big = { n: 0 };
  const t2 = trackerFor(big);
  const bigSecs = cpuSeconds(() => {
    let t = 1n;
    for (let i = 0; i < reqBatches.length; i++) {
      t2.onData('c', info, 'egress', reqBatches[i]!, t++);
      t2.onData('c', info, 'ingress', respBatches[i]!, t++);
    }
    t2.flush();
  });
  if (big.n !== CALLS) throw new Error(`64 KiB replay produced ${big.n} calls, expected ${CALLS}`);

  const notes = `${CALLS} synthetic keep-alive calls, ${(conv.bytes / CALLS).toFixed(0)} B/call; baseline = CRLFCRLF scan of the same bytes`;
  record({
    benchmark: 'sensor-replay/http1-per-message-reads',
    metric: 'calls_per_cpu_second',
    value: Math.round(CALLS / perMessageSecs),
    unit: 'calls/s',
    notes: `${notes}; target >= 300000`,
  });
  record({
    benchmark: 'sensor-replay/http1-per-message-reads',
    metric: 'throughput',
    value: conv.bytes / 1e6 / perMessageSecs,
    unit: 'MB/s',
    baseline: scanMBs,
    notes,
  });
  record({
    benchmark: 'sensor-replay/http1-batched-reads',
    metric: 'calls_per_cpu_second',
    value: Math.round(CALLS / bigSecs),
    unit: 'calls/s',
    notes: `${notes}; target >= 300000`,
  });
  record({
    benchmark: 'sensor-replay/http1-batched-reads',
    metric: 'throughput',
    value: conv.bytes / 1e6 / bigSecs,
    unit: 'MB/s',
    baseline: scanMBs,
    notes,
  });
}

function benchCaptures(): void {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/testdata/pcaps');
  for (const folder of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    const files = readdirSync(join(root, folder.name)).map((f) => readFileSync(join(root, folder.name, f)));
    const bytes = files.reduce((n, f) => n + f.length, 0);
    let calls = 0;
    let rounds = 0;
    const secs = cpuSeconds(() => {
      const start = process.hrtime.bigint();
      while (rounds < 3 || process.hrtime.bigint() - start < 1_000_000_000n) {
        for (const f of files) calls += replayCapture(f, protocolSpecs).calls.length;
        rounds++;
      }
    });
    const decoder = new PacketDecoder();
    const baseSecs = cpuSeconds(() => {
      for (let i = 0; i < rounds; i++)
        for (const f of files) for (const p of readCapture(f)) decoder.decode(p.linkType, p.data, p.tsNs);
    });
    const notes = `${files.length} captures x ${rounds} rounds; baseline = read + decode packets only`;
    record({
      benchmark: `sensor-replay/captures-${folder.name}`,
      metric: 'calls_per_cpu_second',
      value: Math.round(calls / secs),
      unit: 'calls/s',
      notes,
    });
    record({
      benchmark: `sensor-replay/captures-${folder.name}`,
      metric: 'throughput',
      value: (bytes * rounds) / 1e6 / secs,
      unit: 'MB/s',
      baseline: (bytes * rounds) / 1e6 / baseSecs,
      notes,
    });
  }
}

benchHttp();
if (process.env.BENCH_SKIP_CAPTURES !== '1') benchCaptures();
