import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { containerLogsOptions, loadPipelineConfig, pipelineOptions } from './pipelineConfig.ts';
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

  it('configures identity, resources and logs; the watcher token comes from a file or the environment', async () => {
    const token = file('token', 'secret-from-file\n');
    const files = [
      { path: '/var/log/nginx/error.log', service: 'nginx' },
      {
        path: '/var/log/app/**/*.log',
        service: 'app',
        maxFiles: 20,
        multiline: { start: '^\\d{4}-', maxLines: 200, maxBytes: 32768, flushMs: 5000 },
      },
    ];
    const p = file(
      'full.json',
      JSON.stringify({
        otlpUrl: 'http://collector:4318',
        remoteWriteUrl: 'http://ingester:9091/api/v1/write',
        identity: { readyTimeoutMs: 0, dns: { maxEntries: 100, minTtlS: 60 } },
        resources: { intervalMs: 30000 },
        logs: {
          stateFile: '/var/lib/understory/log-offsets.json',
          multiline: {},
          maxHostFiles: 50,
          files,
        },
      }),
    );
    const env = {
      UNDERSTORY_K8S_WATCHER_URL: 'http://understory-k8s-watcher:9470',
      UNDERSTORY_K8S_WATCHER_TOKEN_FILE: token,
      UNDERSTORY_PROC_ROOT: '/host/proc',
      UNDERSTORY_CGROUP_ROOT: '/host/sys/fs/cgroup',
    };
    const cfg = loadPipelineConfig(p, env);
    expect(cfg.identity).toEqual({
      readyTimeoutMs: 0,
      dns: { maxEntries: 100, minTtlS: 60 },
      watcherUrl: 'http://understory-k8s-watcher:9470',
      watcherTokenFile: token,
      processes: { procRoot: '/host/proc' },
    });
    expect(cfg.resources).toEqual({
      intervalMs: 30000,
      procRoot: '/host/proc',
      cgroupRoot: '/host/sys/fs/cgroup',
    });
    const opts = pipelineOptions(cfg, {});
    expect(opts.identity?.watcherToken).toBe('secret-from-file');
    expect(JSON.stringify(cfg)).not.toContain('secret-from-file');
    expect(containerLogsOptions(cfg)).toEqual({
      root: '/var/log/pods',
      stateFile: '/var/lib/understory/log-offsets.json',
      multiline: {},
      maxHostFiles: 50,
      hostFiles: files,
      otlpUrl: 'http://collector:4318',
    });
    const fromEnv = pipelineOptions(
      loadPipelineConfig(undefined, { UNDERSTORY_K8S_WATCHER_URL: 'http://w:9470' }),
      {
        UNDERSTORY_K8S_WATCHER_TOKEN: 'tok',
      },
    );
    expect(fromEnv.identity).toEqual({ watcherUrl: 'http://w:9470', watcherToken: 'tok' });
    const pipeline = new SensorPipeline(opts);
    expect(pipeline.identity?.client).toBeDefined();
    expect(pipeline.resources).toBeDefined();
  });

  it.each([
    [
      { UNDERSTORY_K8S_WATCHER_URL: 'watcher:9470' },
      /identity\.watcherUrl \(from UNDERSTORY_K8S_WATCHER_URL\)/,
    ],
    [
      { UNDERSTORY_RESOURCES_INTERVAL_MS: '500' },
      /resources\.intervalMs \(from UNDERSTORY_RESOURCES_INTERVAL_MS\)/,
    ],
    [{ UNDERSTORY_TRACE_RATE: '-1' }, /sampling\.ratePerSecond \(from UNDERSTORY_TRACE_RATE\)/],
  ])('names the environment variable of a bad value: %o', (env, err) => {
    expect(() => loadPipelineConfig(undefined, env)).toThrow(err);
  });

  it.each([
    [
      'dns.json',
      '{"identity": {"dns": {"minTtlS": 10, "maxTtlS": 5}}}',
      /identity\.dns: minTtlS must not exceed maxTtlS/,
    ],
    ['token.json', '{"identity": {"watcherToken": "x"}}', /Unrecognized key.*watcherToken/],
    ['logs.json', '{"logs": {"root": "/var/log/pods"}}', /logs\.stateFile/],
    [
      'glob.json',
      '{"logs": {"stateFile": "/s", "files": [{"path": "var/log/*.log", "service": "x"}]}}',
      /logs\.files\.0\.path: cannot use log file pattern "var\/log\/\*\.log": not an absolute path/,
    ],
    [
      'braces.json',
      '{"logs": {"stateFile": "/s", "files": [{"path": "/var/log/{a,b}.log", "service": "x"}]}}',
      /logs\.files\.0\.path: .*not supported/,
    ],
    [
      'regex.json',
      '{"logs": {"stateFile": "/s", "files": [{"path": "/a.log", "service": "x", "multiline": {"start": "(at"}}]}}',
      /logs\.files\.0\.multiline: cannot use multiline rule: Invalid regular expression/,
    ],
    [
      'both.json',
      '{"logs": {"stateFile": "/s", "multiline": {"start": "^x", "continuation": "^y"}}}',
      /logs\.multiline: cannot use multiline rule: give either start or continuation/,
    ],
    [
      'limits.json',
      '{"logs": {"stateFile": "/s", "maxHostFiles": 0, "multiline": {"maxLines": 0, "flushMs": 5}}}',
      /logs\.multiline\.maxLines.*logs\.multiline\.flushMs.*logs\.maxHostFiles/,
    ],
  ])('%s is refused with a clear error', (name, text, err) => {
    expect(() => loadPipelineConfig(file(name, text), {})).toThrow(err);
  });

  it('reports an unreadable or empty token file', () => {
    const cfg = loadPipelineConfig(undefined, { UNDERSTORY_K8S_WATCHER_TOKEN_FILE: join(dir, 'nope') });
    expect(() => pipelineOptions(cfg, {})).toThrow(/cannot read the k8s-watcher token from .*nope: .*ENOENT/);
    const empty = loadPipelineConfig(undefined, { UNDERSTORY_K8S_WATCHER_TOKEN_FILE: file('empty', '\n') });
    expect(() => pipelineOptions(empty, {})).toThrow(/the file is empty/);
  });
});
