import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSensorConfig } from './sensorConfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'understory-sensor-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, body: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
};

describe('loadSensorConfig', () => {
  it('file < environment < flags, section by section', () => {
    const p = file('ok.json', {
      otlpUrl: 'http://file:4318',
      remoteWriteUrl: 'http://file:9091/api/v1/write',
      sampling: { ratePerSecond: 5, baselineRate: 0.5 },
      sensor: { dataCap: 1024, pid: [1, 2], decodeAs: { '8080': 'http2' } },
    });
    const cfg = loadSensorConfig(
      p,
      { otlpUrl: 'http://flag:4318' },
      { UNDERSTORY_REMOTE_WRITE_URL: 'http://env:9091/api/v1/write', UNDERSTORY_TRACE_RATE: '7' },
    );
    expect(cfg.pipeline.otlpUrl).toBe('http://flag:4318');
    expect(cfg.pipeline.remoteWriteUrl).toBe('http://env:9091/api/v1/write');
    expect(cfg.pipeline.sampling).toEqual({ ratePerSecond: 7, baselineRate: 0.5 });
    expect(cfg.sensor).toEqual({ dataCap: 1024, pid: [1, 2], decodeAs: { '8080': 'http2' } });
  });

  it('defaults sit under the file, section by section', () => {
    const p = file('logs.json', { logs: { fromStart: true }, resources: { intervalMs: 5000 } });
    const cfg = loadSensorConfig(
      p,
      {},
      {},
      {
        logs: { root: '/var/log/pods', stateFile: '/state/offsets.json' },
        resources: { intervalMs: 15_000 },
      },
    );
    expect(cfg.pipeline.logs).toEqual({
      root: '/var/log/pods',
      stateFile: '/state/offsets.json',
      fromStart: true,
    });
    expect(cfg.pipeline.resources).toEqual({ intervalMs: 5000 });
  });

  it('no file: defaults and environment only', () => {
    expect(loadSensorConfig(undefined, {}, {})).toEqual({ pipeline: {}, sensor: {} });
  });

  it.each([
    ['not JSON', '{', /from .*bad-0\.json: .*JSON/],
    ['an array', '[]', /not a JSON object/],
    ['unknown pipeline key', { remoteWriteUrls: 'x' }, /Unrecognized key.*remoteWriteUrls/],
    ['bad URL', { otlpUrl: 'ftp://x' }, /otlpUrl: Invalid URL/],
    ['bad sensor option', { sensor: { dataCap: 5000 } }, /sensor\.dataCap: Too big/],
    ['unknown sensor option', { sensor: { ringSize: 1 } }, /sensor: Unrecognized key: "ringSize"/],
  ])('refuses %s with the path of the problem', (_name, body, message) => {
    const p = file(`bad-${['not JSON', 'an array'].indexOf(_name as string)}.json`, body);
    expect(() => loadSensorConfig(p, {}, {})).toThrow(message);
  });

  it('lists every problem at once, environment included', () => {
    const p = file('many.json', { otlpUrl: 'nope', sensor: { adminPort: 70000 } });
    let message = '';
    try {
      loadSensorConfig(p, {}, { UNDERSTORY_TRACE_BASELINE_RATE: '3' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^cannot load sensor configuration from /);
    expect(message).toContain('environment: sampling.baselineRate');
    expect(message).toContain('otlpUrl: Invalid URL');
    expect(message).toContain('sensor.adminPort');
  });
});
