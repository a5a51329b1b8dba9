import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { DataEvent, EventBatch, Tuple } from '../../sensor/capture/events.ts';
import { L, RECORD_PREFIX } from '../../sensor/capture/layout.ts';
import { encodeBatch } from '../../sensor/live/eventBatchWriter.ts';
import { LiveSource } from '../../sensor/live/liveSource.ts';
import type { ApiCall } from '../../sensor/protocols/contract.ts';
import { protocolSpecs } from '../../sensor/protocols/registry.ts';
import { ConnectionTracker } from '../../sensor/protocols/tracker/connectionTracker.ts';
import { record } from '../harness.ts';

/**
 * The live path's user-space cost per API call, without eBPF: capture batches shaped exactly like the
 * addon's (record prefix + capture.h records, ~256 KiB per batch) carrying the traffic of the sensor
 * benchmark's Node.js service (wrk's 51-byte GET on 32 keep-alive connections; Node's 1047-byte chunked
 * JSON answer written with one writev, of which the kernel copied the head plus 256 bytes), through
 * EventBatch decoding -> LiveSource -> ConnectionTracker -> HTTP/1.1 parser and stitcher.
 * Baseline, same run: the same messages fed whole to a ConnectionTracker, one message per read, as the
 * pcap replay does (no event decoding, no truncation). Also counted: scavenges (young-generation GCs)
 * per 10k calls, the allocation rate that costs V8's helper threads CPU in the real sensor.
 * Run: npm run bench live.bench   (BENCH_LIVE_CALLS, default 200k calls x 5 rounds)
 */
const CALLS = Number(process.env.BENCH_LIVE_CALLS ?? 200_000);
const ROUNDS = 5;
const CONNECTIONS = 32;
const PID = 4242;
const BATCH_BYTES = 256 * 1024;
const HEAD_CAPTURED = 256; // dataCap: what the kernel copies after a whole head in a vectored write

const body =
  `{"items":[${Array.from({ length: 14 }, (_, i) => `{"id":${i},"name":"item-${i}","price":${10 + i},"tags":["a","b"]}`).join(',')}]}`.slice(
    0,
    871,
  );
const request = Buffer.from('GET /api/items/42 HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n', 'latin1');
const responseHead =
  'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nDate: Thu, 26 Nov 2026 04:33:23 GMT\r\n' +
  'Connection: keep-alive\r\nKeep-Alive: timeout=60\r\nTransfer-Encoding: chunked\r\n\r\n';
const response = Buffer.from(`${responseHead}${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`, 'latin1');
const responseCaptured = responseHead.length + HEAD_CAPTURED;

const responsePrefix = response.subarray(0, responseCaptured);

/** The round's traffic as addon-shaped batches (~256 KiB each); timestamps start after `t0`. */
function batches(t0: bigint): EventBatch[] {
  const out: EventBatch[] = [];
  const perBatch = Math.floor(
    BATCH_BYTES / (2 * RECORD_PREFIX + 2 * L.dataSize + request.length + responseCaptured),
  );
  let ts = t0;
  for (let i = 0; i < CALLS; i += perBatch) {
    const events: DataEvent[] = [];
    for (let k = i; k < Math.min(CALLS, i + perBatch); k++) {
      const c = k % CONNECTIONS;
      const tuple: Tuple = {
        family: 4,
        transport: 'tcp',
        local: { ip: '127.0.0.1', port: 18080 },
        remote: { ip: '127.0.0.1', port: 40000 + c },
      };
      const base = {
        kind: 'data',
        pid: PID,
        tid: PID,
        fd: 20 + c,
        tuple,
        role: 'server',
        tls: false,
      } as const;
      ts += 20_000n;
      events.push({
        ...base,
        tsNs: ts,
        direction: 'ingress',
        length: request.length,
        data: request,
        truncated: false,
        unattributed: false,
        messageStart: true,
        resync: false,
        syscall: 'read',
      });
      ts += 30_000n;
      events.push({
        ...base,
        tsNs: ts,
        direction: 'egress',
        length: response.length,
        data: responsePrefix,
        truncated: true,
        unattributed: false,
        messageStart: true,
        resync: false,
        syscall: 'writev',
      });
    }
    out.push(encodeBatch(events));
  }
  return out;
}

function cpuSeconds(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

let scavenges = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    if ((e as { detail?: { kind?: number } }).detail?.kind === 1) scavenges++;
}).observe({ entryTypes: ['gc'] });
const flushGcEntries = () => new Promise((r) => setTimeout(r, 50)); // entries arrive after a tick
// A full collection before each measured part, so its scavenges count only what it allocated itself.
setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;

async function main(): Promise<void> {
  let calls = 0;
  const onCall = (_c: ApiCall) => void calls++;
  const source = new LiveSource({ specs: protocolSpecs, onCall });
  const tracker = new ConnectionTracker({ specs: protocolSpecs, onCall });
  const info = Array.from({ length: CONNECTIONS }, (_, c) => ({
    local: { ip: '127.0.0.1', port: 18080 },
    remote: { ip: '127.0.0.1', port: 40000 + c },
    transport: 'tcp' as const,
    role: 'server' as const,
  }));
  const keys = info.map((_, c) => `c${c}`);
  let live = 0;
  let replay = 0;
  let liveGc = 0;
  let replayGc = 0;
  let ts = 1_000_000_000n;
  for (let round = 0; round <= ROUNDS; round++) {
    const input = batches(ts); // built outside the measurement
    ts += BigInt(CALLS) * 50_000n + 1_000_000n;
    fullGc();
    await flushGcEntries();
    const g0 = scavenges;
    const c0 = calls;
    const secs = cpuSeconds(() => {
      for (const b of input) source.consume(b);
    });
    await flushGcEntries();
    if (calls - c0 < CALLS - CONNECTIONS)
      throw new Error(`live path made ${calls - c0} calls of ${CALLS} in round ${round}`);
    const liveScavenges = scavenges - g0;
    fullGc();
    await flushGcEntries();
    const g1 = scavenges;
    const c1 = calls;
    let rts = ts;
    const rsecs = cpuSeconds(() => {
      for (let i = 0; i < CALLS; i++) {
        const c = i % CONNECTIONS;
        rts += 20_000n;
        tracker.onData(keys[c]!, info[c]!, 'ingress', request, rts);
        rts += 30_000n;
        tracker.onData(keys[c]!, info[c]!, 'egress', response, rts);
      }
    });
    await flushGcEntries();
    if (calls - c1 < CALLS - CONNECTIONS)
      throw new Error(`replay made ${calls - c1} calls of ${CALLS} in round ${round}`);
    if (round === 0) continue; // warm-up (JIT)
    live += secs;
    replay += rsecs;
    liveGc += liveScavenges;
    replayGc += scavenges - g1;
  }
  const n = CALLS * ROUNDS;
  const notes = `${CALLS} calls x ${ROUNDS} rounds on ${CONNECTIONS} keep-alive connections, Node's chunked 1047-byte answer with ${HEAD_CAPTURED} bytes captured after its head; baseline = the same messages fed whole to the tracker (pcap replay path)`;
  record({
    benchmark: 'sensor-live/node-http-events',
    metric: 'cpu_us_per_call',
    value: (live / n) * 1e6,
    unit: 'us',
    baseline: (replay / n) * 1e6,
    notes: `${notes}; EventBatch -> LiveSource -> tracker -> HTTP/1.1, single thread`,
  });
  record({
    benchmark: 'sensor-live/node-http-events',
    metric: 'scavenges_per_10k_calls',
    value: (liveGc / n) * 1e4,
    unit: 'gcs',
    baseline: (replayGc / n) * 1e4,
    notes: `${notes}; young-generation collections during the measurement (allocation rate)`,
  });
}

await main();
