import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { monitorsPlan } from '../../incloud/monitors/upPlan.ts';
import { vmagentArgs } from '../../incloud/vmagent/vmagentConfig.ts';
import { sensorSpec, type UpSensorOptions } from './sensorPlan.ts';
import type { ProcessSpec } from './supervisor.ts';

const run = promisify(execFile);

/** The repository root (bin/, node_modules/ and wrangler.toml live there). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface UpOptions {
  dataDir: string;
  edgePort: number;
  edgeInspectorPort: number;
  vmPort: number;
  vmagentPort: number;
  adminPort: number;
  collectorPort: number;
  ingesterPort: number;
  watcherPort: number;
  /** VictoriaMetrics -retentionPeriod, e.g. `30d`. */
  metricsRetention: string;
  /**
   * The portal (inside the in-cluster process) dials this edge. Absent: the local edge that `up` runs itself
   * (`http://127.0.0.1:<edgePort>`); given: a remote edge, and no local edge is started.
   */
  remoteEdgeUrl?: string;
  /** Where the portal reads its install token (written by `up` before or after the start). */
  installTokenFile: string;
  /** Run after the local edge is healthy, each time it (re)starts: `up` bootstraps the local account there. */
  afterEdgeStart?: () => Promise<void>;
  /** The sensor, started last (it needs the receivers); absent when it cannot or should not run. */
  sensor?: UpSensorOptions;
}

/** Wrangler must never reach for the network here (metrics, banners, cf fetch): see ENVIRONMENT.md. */
export const WRANGLER_OFFLINE_ENV = {
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
};

/**
 * What `understory up` runs, in start order: the local edge first (unless a remote one is given), so the
 * portal in the in-cluster process finds it and its token; then storage, the in-cluster process, vmagent
 * (which scrapes them), vmalert, and the sensor (which sends to the in-cluster process's receivers).
 */
export function upPlan(o: UpOptions): ProcessSpec[] {
  const dataDir = resolve(o.dataDir);
  const wrangler = join(REPO_ROOT, 'node_modules', '.bin', 'wrangler');
  const edgeState = join(dataDir, 'edge');
  const vmUrl = `http://127.0.0.1:${o.vmPort}`;
  const portalEdgeUrl = o.remoteEdgeUrl ?? `http://127.0.0.1:${o.edgePort}`;
  // Monitors: the evaluator runs inside incloud (flags below), vmalert after it (incloud/monitors/upPlan.ts).
  const monitors = monitorsPlan({ dataDir, vmUrl, adminPort: o.adminPort });
  const vmagent = vmagentArgs({
    dataDir: join(dataDir, 'vmagent'),
    remoteWriteUrl: `${vmUrl}/api/v1/write`,
    listenAddr: `127.0.0.1:${o.vmagentPort}`,
    targets: [
      { job: 'incloud', url: `http://127.0.0.1:${o.adminPort}/metrics` },
      { job: 'victoria-metrics', url: `${vmUrl}/metrics` },
      { job: 'vmagent', url: `http://127.0.0.1:${o.vmagentPort}/metrics` },
      { job: 'vmalert', url: monitors.vmalertMetricsUrl },
      ...(o.sensor ? [{ job: 'sensor', url: `http://127.0.0.1:${o.sensor.adminPort}/metrics` }] : []),
    ],
  });
  const edge: ProcessSpec[] = o.remoteEdgeUrl ? [] : [localEdgeSpec(o, wrangler, edgeState)];
  return [
    ...edge,
    {
      name: 'victoria-metrics',
      command: 'victoria-metrics',
      args: [
        `-storageDataPath=${join(dataDir, 'victoria-metrics')}`,
        `-httpListenAddr=127.0.0.1:${o.vmPort}`,
        `-retentionPeriod=${o.metricsRetention}`,
      ],
      healthUrl: `http://127.0.0.1:${o.vmPort}/health`,
      url: `http://127.0.0.1:${o.vmPort}`,
    },
    {
      name: 'incloud',
      command: process.execPath,
      args: [
        join(REPO_ROOT, 'bin', 'understory.mjs'),
        'incloud',
        '--data-dir',
        dataDir,
        '--admin-port',
        String(o.adminPort),
        '--collector-port',
        String(o.collectorPort),
        '--ingester-port',
        String(o.ingesterPort),
        '--vm-url',
        vmUrl,
        '--watcher-port',
        String(o.watcherPort),
        '--edge-url',
        portalEdgeUrl,
        '--install-token-file',
        o.installTokenFile,
        ...monitors.incloudArgs,
      ],
      healthUrl: `http://127.0.0.1:${o.adminPort}/healthz`,
      url: `http://127.0.0.1:${o.adminPort}/healthz`,
      startTimeoutMs: 60_000,
      // Generates the monitors' target secrets key on the first run (incloud/monitors/upPlan.ts).
      prepare: monitors.prepareIncloud,
    },
    {
      name: 'vmagent',
      command: vmagent.command,
      args: vmagent.args,
      healthUrl: `http://127.0.0.1:${o.vmagentPort}/health`,
      url: `http://127.0.0.1:${o.vmagentPort}/targets`,
    },
    monitors.vmalert,
    ...(o.sensor ? [sensorSpec(o.sensor, o, dataDir, join(REPO_ROOT, 'bin', 'understory.mjs'))] : []),
  ];
}

function localEdgeSpec(o: UpOptions, wrangler: string, edgeState: string): ProcessSpec {
  return {
    name: 'edge',
    command: wrangler,
    args: [
      'dev',
      '--config',
      join(REPO_ROOT, 'wrangler.toml'),
      '--ip',
      '127.0.0.1',
      '--port',
      String(o.edgePort),
      '--inspector-port',
      String(o.edgeInspectorPort),
      '--persist-to',
      edgeState,
      '--show-interactive-dev-session=false',
    ],
    env: WRANGLER_OFFLINE_ENV,
    healthUrl: `http://127.0.0.1:${o.edgePort}/api/health`,
    url: `http://127.0.0.1:${o.edgePort}`,
    startTimeoutMs: 90_000,
    ready: o.afterEdgeStart,
    // The local D1 database gets the schema before the worker serves (idempotent: applied ones are skipped).
    prepare: async () => {
      await run(
        wrangler,
        [
          'd1',
          'migrations',
          'apply',
          'DB',
          '--local',
          '--config',
          join(REPO_ROOT, 'wrangler.toml'),
          '--persist-to',
          edgeState,
        ],
        { env: { ...process.env, ...WRANGLER_OFFLINE_ENV, CI: 'true' }, cwd: REPO_ROOT },
      );
    },
  };
}
