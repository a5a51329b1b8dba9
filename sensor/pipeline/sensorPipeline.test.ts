import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtobuf } from '../../incloud/collector/otlpSchema.ts';
import { decodeRemoteWrite, type RemoteSeries } from '../../incloud/ingester/remoteWrite.ts';
import type { ApiCall } from '../protocols/contract.ts';
import { apiCall } from '../testing/apiCall.ts';
import { HostIdentity, peerOf } from './identity.ts';
import { SensorPipeline } from './sensorPipeline.ts';

// The whole pipeline against two small HTTP receivers that decode with the ingester's and the collector's own
// decoders (the real receivers are exercised in exporters/*.test.ts).
const received = { series: [] as RemoteSeries[], spans: [] as Record<string, unknown>[] };
let server: Server;
let base = '';
const proc = mkdtempSync(join(tmpdir(), 'understory-proc-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/api/v1/write') received.series.push(...decodeRemoteWrite(body, 1 << 24));
      else received.spans.push(decodeProtobuf('traces', body));
      res.writeHead(req.url === '/api/v1/write' ? 204 : 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  mkdirSync(join(proc, '4242'));
  writeFileSync(join(proc, '4242', 'comm'), 'checkout\n');
});
afterAll(() => {
  server.close();
  rmSync(proc, { recursive: true, force: true });
});

const call = (over: Partial<ApiCall>): ApiCall =>
  apiCall({
    startNs: 1_700_000_000_000_000_000n,
    endNs: 1_700_000_000_010_000_000n,
    pid: 4242,
    client: { ip: '10.1.1.1', port: 51234 },
    server: { ip: '10.1.1.2', port: 8080 },
    ...over,
  });

describe('SensorPipeline', () => {
  it('turns API calls into RED series and sampled spans', async () => {
    const registry = new Registry();
    const p = new SensorPipeline({
      remoteWriteUrl: `${base}/api/v1/write`,
      otlpUrl: base,
      sensorLabels: { sensor: 'node-1' },
      identify: new HostIdentity(proc).identify,
      sampling: { baselineRate: 0 },
      remoteWrite: { intervalMs: 3_600_000 },
      otlp: { intervalMs: 3_600_000 },
      registry,
    });
    await p.start();
    p.consume([
      call({}),
      call({ resource: '/orders/2' }),
      call({ resource: '/orders/3', status: '500', error: true }),
    ]);
    p.consume([{ ...call({}), protocol: 'nope' as never }]); // bad input: counted, nothing thrown
    await p.shutdown();
    const count = received.series.filter(
      (s) => s.labels.__name__ === 'http_server_request_duration_seconds_count',
    );
    expect(
      count.map((s) => [
        s.labels.workload,
        s.labels.peer,
        s.labels.resource,
        s.labels.status,
        s.samples[0]!.value,
      ]),
    ).toEqual([
      ['checkout', '10.1.1.1', '/orders/{id}', '200', 2],
      ['checkout', '10.1.1.1', '/orders/{id}', '500', 1],
    ]);
    expect(count[0]!.labels.sensor).toBe('node-1');
    const spans = JSON.stringify(received.spans);
    expect(received.spans).toHaveLength(1);
    expect(spans).toContain('"GET /orders/{id}"');
    expect(spans).toContain('understory.sample.reason');
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/sensor_pipeline_calls_total 3/);
    expect(metrics).toMatch(/sensor_pipeline_calls_failed_total 1/);
    expect(metrics).toMatch(/sensor_traces_sampled_total\{reason="error"\} 1/);
    expect(metrics).toMatch(/sensor_red_series 2/);
    await p.shutdown(); // twice is fine
  });

  it('keeps a call slow against its own resource baseline (workload, protocol, template), not another one', () => {
    const p = new SensorPipeline({
      identify: () => ({ workload: 'w', namespace: '', peer: 'p' }),
      sampling: { baselineRate: 0, baselineWarmup: 5, slowMinMs: 1 },
    });
    const at = (resource: string, ms: number, protocol: ApiCall['protocol'] = 'http') =>
      call({ resource, protocol, startNs: 0n, endNs: BigInt(ms * 1e6), error: false, status: '200' });
    // /a/1 and /a/2 share the template /a/{id}: one baseline of 2 ms.
    p.consume(Array.from({ length: 10 }, (_, i) => at(`/a/${i}`, 2)));
    p.consume([at('/b', 50)]); // no baseline for /b yet
    p.consume([at('/a/99', 50, 'http2')]); // same template, other protocol: no baseline either
    expect(p.sampler.counts.kept.slow).toBe(0);
    p.consume([at('/a/77', 50)]);
    expect(p.sampler.counts.kept.slow).toBe(1);
  });

  it('fails fast on bad configuration', () => {
    expect(() => new SensorPipeline({ remoteWriteUrl: 'nope' })).toThrow(/cannot configure remote write/);
    expect(() => new SensorPipeline({ templating: { rules: [{ pattern: '[', replacement: '' }] } })).toThrow(
      /cannot compile/,
    );
    expect(() => new SensorPipeline({ sampling: { baselineRate: -1 } })).toThrow(/baselineRate/);
  });
});

describe('identity on a plain host', () => {
  it.each<[Partial<ApiCall>, string, string]>([
    [{ pid: 4242, role: 'server' }, 'checkout', '10.1.1.1'],
    [{ pid: 4242, role: 'client' }, 'checkout', '10.1.1.2:8080'],
    [{ pid: 999999, role: 'client' }, 'unknown', '10.1.1.2:8080'],
    [{ pid: undefined, role: 'server', client: undefined }, 'unknown', 'unknown'],
  ])('%o', (over, workload, peer) => {
    const id = new HostIdentity(proc).identify(call(over));
    expect([id.workload, id.peer]).toEqual([workload, peer]);
    expect(peerOf(call(over))).toBe(peer);
  });
});
