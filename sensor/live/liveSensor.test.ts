import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { LiveSensor } from './liveSensor.ts';

/** What the sensor builds from its configuration, before anything starts (no eBPF is loaded here). */
const dir = mkdtempSync(join(tmpdir(), 'understory-live-sensor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sensor(logs: { root: string; files?: { path: string; service: string }[] }) {
  return new LiveSensor({
    capture: {},
    pipeline: { otlpUrl: 'http://127.0.0.1:4318', logs: { ...logs, stateFile: join(dir, 'offsets.json') } },
    registry: new Registry(),
  });
}

describe('LiveSensor container logs', () => {
  it('follows logs.files on a host without a pod log directory', () => {
    const file = join(dir, 'app.log');
    writeFileSync(file, 'hello\n');
    const missing = join(dir, 'no-such-pods-dir');
    expect(sensor({ root: missing, files: [{ path: file, service: 'app' }] }).logs).toBeDefined();
  });

  it('is off with neither a pod log directory nor logs.files', () => {
    expect(sensor({ root: join(dir, 'no-such-pods-dir') }).logs).toBeUndefined();
  });

  it('tails the pod log directory when it exists', () => {
    expect(sensor({ root: dir }).logs).toBeDefined();
  });
});

describe('LiveSensor self-metrics', () => {
  it('counts what the bounds of the k8s-watcher copy refused', async () => {
    const registry = new Registry();
    new LiveSensor({
      capture: {},
      pipeline: { identity: { watcherUrl: 'http://127.0.0.1:1' } },
      registry,
    });
    const text = await registry.metrics();
    expect(text).toContain('sensor_identity_watcher_refused_total{what="entries"} 0');
    expect(text).toContain('sensor_identity_watcher_refused_total{what="lines"} 0');
  });
});

describe('LiveSensor k8s-watcher copy', () => {
  it('is scoped to the node only when its name was given (the host name may not be the node name)', async () => {
    const asked: string[] = [];
    const server = createServer((req, res) => {
      asked.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"epoch":"e","rev":0,"entries":[]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const watcherUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const node of ['node-a', undefined]) {
        const s = new LiveSensor({
          capture: {},
          pipeline: { node, identity: { watcherUrl } },
          registry: new Registry(),
        });
        const client = s.pipeline.identity!.client!;
        client.start();
        await client.ready();
        await client.stop();
      }
    } finally {
      server.close();
    }
    const snapshots = asked.filter((u) => u.startsWith('/v1/snapshot'));
    expect(snapshots).toEqual(['/v1/snapshot?node=node-a', '/v1/snapshot']);
  });
});

describe('LiveSensor load shedding', () => {
  it('hands the shedder threshold and salt to the capture (a rotation changes the kernel salt)', () => {
    const s = new LiveSensor({ capture: {}, pipeline: {}, cpuLimitCores: 0.5, registry: new Registry() });
    const calls: unknown[][] = [];
    s.capture.setShed = (...args: unknown[]) => {
      calls.push(args);
    };
    // The shedder's own apply, as its rotation calls it.
    (s.shedder as unknown as { o: { apply: (lots: number, salt?: number) => void } }).o.apply(40_000, 7);
    expect(calls).toEqual([[40_000, 7]]);
  });

  it('sheds on ring drops without a CPU budget; loadShedding false: never', () => {
    const on = new LiveSensor({ capture: {}, pipeline: {}, registry: new Registry() });
    expect(on.shedder).toBeDefined();
    expect((on.shedder as unknown as { o: { cpuLimitCores: number } }).o.cpuLimitCores).toBe(0);
    const off = new LiveSensor({
      capture: {},
      pipeline: {},
      cpuLimitCores: 0.5,
      loadShedding: false,
      registry: new Registry(),
    });
    expect(off.shedder).toBeUndefined();
  });

  it('counts per process while the kernel sheds, and weights each call by its process', () => {
    const s = new LiveSensor({ capture: {}, pipeline: {}, cpuLimitCores: 0.5, registry: new Registry() });
    s.capture.setShed = () => undefined;
    const o = (s.shedder as unknown as { o: { apply: (lots: number) => void; pidCounts: () => unknown } }).o;
    const counting = () => (s.source as unknown as { shedCounts?: unknown }).shedCounts !== undefined;
    o.apply(40_000);
    expect(counting()).toBe(true);
    expect(o.pidCounts()).toBeInstanceOf(Map);
    o.apply(0);
    expect(counting()).toBe(false);
    (s.shedder as unknown as { pidWeights: Map<number, number> }).pidWeights = new Map([[31, 5]]);
    const weight = (s as unknown as { callWeight: (c: { pid?: number }) => number }).callWeight;
    expect(weight({ pid: 31 })).toBe(5);
    expect(weight({ pid: 32 })).toBe(s.shedder!.weight);
    // At shutdown the shedder stops before the tracker's last calls are delivered: they keep their weight.
    s.shedder!.stop();
    expect(weight({ pid: 31 })).toBe(5);
  });
});
