import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyHostProc,
  loadSensorConfig,
  pipelineOverrides,
  sensorEnvironmentNames,
  startWarnings,
  unknownEnvironment,
} from './sensorConfig.ts';

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

describe('the command-line side of the configuration', () => {
  it('flags become pipeline keys, a section only when one of its flags is set', () => {
    expect(pipelineOverrides({})).toEqual({});
    expect(
      pipelineOverrides({
        nodeName: 'n1',
        k8sWatcherUrl: 'http://w:9470',
        traceRate: 5,
        podLogsDir: '/logs',
        resourcesIntervalMs: 0,
      }),
    ).toEqual({
      node: 'n1',
      identity: { watcherUrl: 'http://w:9470' },
      sampling: { ratePerSecond: 5 },
      logs: { root: '/logs' },
    });
  });

  it('UNDERSTORY_RESOURCES_INTERVAL_MS=0 means off, as the flag does; other small values are refused', () => {
    expect(loadSensorConfig(undefined, {}, { UNDERSTORY_RESOURCES_INTERVAL_MS: '0' }).pipeline).toEqual({});
    expect(() => loadSensorConfig(undefined, {}, { UNDERSTORY_RESOURCES_INTERVAL_MS: '10' })).toThrow(
      /resources\.intervalMs \(from UNDERSTORY_RESOURCES_INTERVAL_MS\)/,
    );
  });

  it("the host's /proc serves process naming and resource metrics, over UNDERSTORY_PROC_ROOT", () => {
    const { pipeline } = loadSensorConfig(
      undefined,
      {},
      { UNDERSTORY_PROC_ROOT: '/proc', UNDERSTORY_RESOURCES_INTERVAL_MS: '5000' },
    );
    applyHostProc(pipeline, '/host/proc');
    expect(pipeline.identity?.processes?.procRoot).toBe('/host/proc');
    expect(pipeline.resources).toEqual({ intervalMs: 5000, procRoot: '/host/proc' });
    const none = { identity: { watcherUrl: 'http://w:1' } };
    applyHostProc(none, undefined);
    expect(none).toEqual({ identity: { watcherUrl: 'http://w:1' } });
  });

  it('knows the variables it reads and names the others', () => {
    const known = sensorEnvironmentNames(['UNDERSTORY_DATA_CAP']);
    for (const n of [
      'UNDERSTORY_DATA_CAP',
      'UNDERSTORY_REMOTE_WRITE_URL',
      'UNDERSTORY_INGEST_TOKEN',
      'UNDERSTORY_K8S_WATCHER_TOKEN',
      'UNDERSTORY_PROC_ROOT',
      'UNDERSTORY_LOG_LEVEL',
    ])
      expect(known.has(n), n).toBe(true);
    expect(
      unknownEnvironment(
        { UNDERSTORY_DATA_CAP: '1', UNDERSTORY_DATACAP: '1', HOME: '/', UNDERSTORY_A: '' },
        known,
      ),
    ).toEqual(['UNDERSTORY_A', 'UNDERSTORY_DATACAP']);
  });

  it('warns about ignored variables and remote receivers without a token, never showing a token', () => {
    const remote = { remoteWriteUrl: 'http://ingester:9091/api/v1/write', otlpUrl: 'http://127.0.0.1:4318' };
    expect(startWarnings(remote, undefined, [])).toEqual([
      expect.stringMatching(/^no ingest token .*http:\/\/ingester:9091\/api\/v1\/write will refuse/),
    ]);
    expect(startWarnings(remote, 'secret-value', [])).toEqual([]);
    expect(startWarnings({ otlpUrl: 'http://localhost:4318' }, undefined, ['UNDERSTORY_X'])).toEqual([
      'ignoring UNDERSTORY_X: not settings of the sensor (see --help)',
    ]);
  });
});
