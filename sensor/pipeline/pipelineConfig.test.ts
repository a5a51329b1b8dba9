import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPipelineConfig, pipelineOptions } from './pipelineConfig.ts';
import { SensorPipeline } from './sensorPipeline.ts';

const dir = mkdtempSync(join(tmpdir(), 'understory-pipeline-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('loadPipelineConfig', () => {
  it('reads the file and lets the environment override it', () => {
    const p = file(
      'ok.json',
      JSON.stringify({ otlpUrl: 'http://collector:4318', sampling: { baselineRate: 0.5, burst: 10 } }),
    );
    const cfg = loadPipelineConfig(p, {
      UNDERSTORY_REMOTE_WRITE_URL: 'http://ingester:9091/api/v1/write',
      UNDERSTORY_TRACE_BASELINE_RATE: '0.05',
      UNDERSTORY_FORCE_TRACE_WORKLOADS: 'cart, shop,',
      UNDERSTORY_NODE_NAME: 'node-7',
    });
    expect(cfg).toEqual({
      otlpUrl: 'http://collector:4318',
      remoteWriteUrl: 'http://ingester:9091/api/v1/write',
      node: 'node-7',
      sampling: { baselineRate: 0.05, burst: 10, forceWorkloads: ['cart', 'shop'] },
    });
    const opts = pipelineOptions(cfg);
    expect(opts.sensorLabels).toEqual({ sensor: 'node-7' });
    expect(() => new SensorPipeline(opts)).not.toThrow();
  });

  it('works without a file', () => {
    expect(loadPipelineConfig(undefined, {})).toEqual({});
  });

  it.each([
    ['bad.json', '{ nope', /cannot load pipeline configuration from .*bad.json: .*JSON/],
    ['array.json', '[]', /is not a JSON object/],
    ['unknown.json', '{"remoteWriteURL": "http://x"}', /Unrecognized key.*remoteWriteURL/],
    ['url.json', '{"otlpUrl": "ftp://x"}', /otlpUrl: /],
    ['rate.json', '{"sampling": {"baselineRate": 2}}', /sampling.baselineRate: /],
    [
      'proto.json',
      '{"templating": {"rules": [{"pattern": "x", "replacement": "y", "protocols": ["smtp"]}]}}',
      /templating.rules.0.protocols.0/,
    ],
    ['queue.json', '{"remoteWrite": {"maxQueueBodies": 1}}', /remoteWrite.maxQueueBodies/],
  ])('%s is refused with a clear error', (name, text, err) => {
    expect(() => loadPipelineConfig(file(name, text), {})).toThrow(err);
  });

  it.each([
    [{ UNDERSTORY_TRACE_RATE: 'fast' }, /sampling.ratePerSecond/],
    [{ UNDERSTORY_METRICS_INTERVAL_MS: '10' }, /remoteWrite.intervalMs/],
    [{ UNDERSTORY_OTLP_URL: 'collector:4318' }, /otlpUrl/],
  ])('environment %o is refused', (env, err) => {
    expect(() => loadPipelineConfig(undefined, env)).toThrow(err);
  });

  it('reports a missing file', () => {
    expect(() => loadPipelineConfig(join(dir, 'missing.json'), {})).toThrow(
      /cannot load pipeline configuration from .*ENOENT/,
    );
  });
});
