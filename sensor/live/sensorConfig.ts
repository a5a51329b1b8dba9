import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { INGEST_TOKEN_ENV } from '../../incloud/ingester/bearerAuth.ts';
import {
  ENV_KEYS,
  loadPipelineConfig,
  type PipelineConfig,
  pipelineConfigSchema,
  WATCHER_TOKEN_ENV,
} from '../pipeline/pipelineConfig.ts';

/**
 * The sensor's configuration file (`understory sensor --config file.json`): the pipeline's keys
 * (sensor/pipeline/pipelineConfig.ts: remoteWriteUrl, otlpUrl, node, templating, redaction, red, sampling,
 * remoteWrite, otlp, identity, resources, logs) plus a `sensor` section holding the command's own capture
 * and process options under their flag names in camelCase (`dataCap`, `excludePid`, ...). Precedence:
 * command-line flag > UNDERSTORY_* variable > file > defaults. Sections merge key by key. Everything is
 * validated before anything starts; all problems are reported at once.
 */
const port = z.number().int().min(0).max(65535);
const path = z.string().min(1).max(4096);
const pidList = z.array(z.number().int().positive());

export const sensorSectionSchema = z.strictObject({
  pid: pidList.optional(),
  excludePid: pidList.optional(),
  dataCap: z.number().int().min(0).max(4096).optional(),
  msgStartCap: z.number().int().min(0).max(4096).optional(),
  ringMb: z.number().int().positive().optional(),
  tls: z.boolean().optional(),
  tlsBinary: z.array(z.string().min(1)).optional(),
  decodeAs: z.record(z.string().regex(/^\d{1,5}$/), z.string()).optional(),
  maxConnections: z.number().int().positive().optional(),
  /** CPU budget of the sensor in cores, its eBPF programs' time included (load shedding above it); 0: off. */
  cpuLimit: z.number().min(0).max(1024).optional(),
  /** false: never leave connections out (ring drops then lose events at random); see --no-load-shedding. */
  loadShedding: z.boolean().optional(),
  /** false: no container logs even with a `logs` section. */
  logs: z.boolean().optional(),
  statsInterval: z.number().int().min(0).optional(),
  admin: z.boolean().optional(),
  adminHost: z.string().min(1).optional(),
  adminPort: port.optional(),
  /** `k8s.cluster.name` on spans and logs, `k8s_cluster_name` on every series. */
  clusterName: z.string().min(1).max(256).optional(),
  /** The host's /proc when it is mounted elsewhere (a container: /host/proc). */
  hostProc: path.optional(),
  /** File holding the cluster ingest token (the token itself never goes in this file). */
  ingestTokenFile: path.optional(),
});

export type SensorSection = z.infer<typeof sensorSectionSchema>;

export interface SensorFileConfig {
  pipeline: PipelineConfig;
  sensor: SensorSection;
}

/**
 * Reads and validates the file (when given) over `defaults`, with the pipeline's environment variables
 * applied over it and `overrides` (from flags) on top. Throws `cannot load sensor configuration ...:
 * <every problem>`.
 */
export function loadSensorConfig(
  file: string | undefined,
  overrides: Partial<PipelineConfig>,
  env: Record<string, string | undefined> = process.env,
  defaults: Partial<PipelineConfig> = {},
): SensorFileConfig {
  const where = file ? ` from ${file}` : '';
  let raw: Record<string, unknown> = {};
  if (file) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`cannot load sensor configuration${where}: ${(err as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new Error(`cannot load sensor configuration${where}: the file is not a JSON object`);
  }
  const { sensor: sensorRaw, ...pipelineRaw } = raw;
  const problems: string[] = [];
  let fromEnv: PipelineConfig = {};
  try {
    // UNDERSTORY_RESOURCES_INTERVAL_MS=0 means "off" (as its flag does); the command removes the section.
    const zeroOff = env.UNDERSTORY_RESOURCES_INTERVAL_MS?.trim() === '0';
    fromEnv = loadPipelineConfig(
      undefined,
      zeroOff ? { ...env, UNDERSTORY_RESOURCES_INTERVAL_MS: undefined } : env,
    );
  } catch (err) {
    problems.push((err as Error).message.replace(/^cannot load pipeline configuration: /, 'environment: '));
  }
  const merged: Record<string, unknown> = { ...defaults };
  for (const layer of [pipelineRaw, fromEnv, stripUndefined(overrides)]) {
    for (const [k, v] of Object.entries(layer)) {
      const before = merged[k];
      merged[k] =
        isPlainObject(before) && isPlainObject(v) ? { ...before, ...(v as Record<string, unknown>) } : v;
    }
  }
  const pipeline = pipelineConfigSchema.safeParse(merged);
  // A bad variable also reaches the merged object through its flag: name it once.
  if (!pipeline.success) {
    const envProblem = problems[0] ?? '';
    problems.push(
      ...issues(pipeline.error.issues).filter((p) => {
        const path = p.slice(0, p.indexOf(': '));
        return !envProblem.includes(`${path}: `) && !envProblem.includes(`${path} (from `);
      }),
    );
  }
  const sensor = sensorSectionSchema.safeParse(sensorRaw ?? {});
  if (!sensor.success) problems.push(...issues(sensor.error.issues, 'sensor'));
  if (problems.length > 0 || !pipeline.success || !sensor.success)
    throw new Error(`cannot load sensor configuration${where}: ${[...new Set(problems)].join('; ')}`);
  return { pipeline: pipeline.data, sensor: sensor.data };
}

function issues(list: readonly { path: PropertyKey[]; message: string }[], prefix?: string): string[] {
  return list.map((i) => {
    const path = [...(prefix ? [prefix] : []), ...i.path.map(String)].join('.');
    return `${path || '(root)'}: ${i.message}`;
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Variables read by every `understory` command (lib/log.ts). */
const GLOBAL_ENV = ['UNDERSTORY_LOG_LEVEL'];

/**
 * Every UNDERSTORY_* name `understory sensor` reads: its flags' (`flagEnv`), the pipeline's (ENV_KEYS), the
 * two token variables and the global ones. The Helm chart contract test holds the chart to this list.
 */
export function sensorEnvironmentNames(flagEnv: readonly string[]): Set<string> {
  return new Set([
    ...flagEnv,
    ...ENV_KEYS.map(([name]) => name),
    WATCHER_TOKEN_ENV,
    INGEST_TOKEN_ENV,
    ...GLOBAL_ENV,
  ]);
}

/** UNDERSTORY_* variables set in `env` that the sensor does not read (a typo, or a setting of another command). */
export function unknownEnvironment(
  env: Record<string, string | undefined>,
  known: ReadonlySet<string>,
): string[] {
  return Object.keys(env)
    .filter((n) => n.startsWith('UNDERSTORY_') && !known.has(n))
    .sort();
}

/**
 * `hostProc` becomes the /proc root of both process naming and resource metrics: in a container the host's
 * /proc is mounted elsewhere (the chart: /host/proc) and, with hostPID, its pids are the ones the eBPF
 * program reports. It overrides `procRoot` from the file and UNDERSTORY_PROC_ROOT. Mutates `pipeline`.
 */
export function applyHostProc(pipeline: PipelineConfig, hostProc: string | undefined): void {
  if (!hostProc) return;
  const identity = pipeline.identity ?? {};
  pipeline.identity = { ...identity, processes: { ...identity.processes, procRoot: hostProc } };
  if (pipeline.resources) pipeline.resources = { ...pipeline.resources, procRoot: hostProc };
}

/**
 * What `understory sensor` says at start about settings that will not do what the user expects: variables
 * it ignores, and receivers beyond loopback (which require the ingest token) with no token to send.
 */
export function startWarnings(
  pipeline: PipelineConfig,
  ingestToken: string | undefined,
  ignoredEnv: readonly string[],
): string[] {
  const out: string[] = [];
  if (ignoredEnv.length > 0)
    out.push(`ignoring ${ignoredEnv.join(', ')}: not settings of the sensor (see --help)`);
  const remote = [pipeline.remoteWriteUrl, pipeline.otlpUrl].filter(
    (u): u is string => u !== undefined && !isLoopbackUrl(u),
  );
  if (!ingestToken && remote.length > 0)
    out.push(
      `no ingest token (--ingest-token-file or ${INGEST_TOKEN_ENV}): ${remote.join(' and ')} will refuse ` +
        'the data (HTTP 401) unless it runs without one',
    );
  return out;
}

function isLoopbackUrl(u: string): boolean {
  const host = new URL(u).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The command's flags that set pipeline keys (each also an UNDERSTORY_* variable). */
export interface PipelineFlags {
  remoteWriteUrl?: string;
  otlpUrl?: string;
  nodeName?: string;
  k8sWatcherUrl?: string;
  k8sWatcherTokenFile?: string;
  metricsIntervalMs?: number;
  traceRate?: number;
  traceBaselineRate?: number;
  slowThresholdMs?: number;
  forceTraceWorkloads?: string[];
  podLogsDir?: string;
  logsStateFile?: string;
  logsFromStart?: boolean;
  resourcesIntervalMs?: number;
}

/** The pipeline keys the flags set (`loadSensorConfig`'s `overrides`); a section only when a flag of it is set. */
export function pipelineOverrides(f: PipelineFlags): Partial<PipelineConfig> {
  const section = <T extends object>(o: T) => {
    const defined = stripUndefined(o);
    return Object.keys(defined).length > 0 ? defined : undefined;
  };
  return stripUndefined({
    remoteWriteUrl: f.remoteWriteUrl,
    otlpUrl: f.otlpUrl,
    node: f.nodeName,
    identity: section({ watcherUrl: f.k8sWatcherUrl, watcherTokenFile: f.k8sWatcherTokenFile }),
    // 0 turns resource metrics off (the caller removes the section).
    resources: f.resourcesIntervalMs ? { intervalMs: f.resourcesIntervalMs } : undefined,
    logs: section({
      root: f.podLogsDir,
      stateFile: f.logsStateFile,
      fromStart: f.logsFromStart || undefined,
    }) as PipelineConfig['logs'],
    remoteWrite: section({ intervalMs: f.metricsIntervalMs }),
    sampling: section({
      ratePerSecond: f.traceRate,
      baselineRate: f.traceBaselineRate,
      slowThresholdMs: f.slowThresholdMs,
      forceWorkloads: f.forceTraceWorkloads,
    }),
  });
}
