import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ContainerLogsOptions } from './logs/containerLogs.ts';
import { parseHostFileGlob } from './logs/hostFileGlob.ts';
import { compileMultiline } from './logs/multiline.ts';
import type { SensorPipelineOptions } from './sensorPipeline.ts';

/**
 * The pipeline's configuration as a user writes it: a JSON file (all keys optional, unknown keys refused)
 * with environment variables on top for what differs per node or deployment. Validated completely before
 * anything starts; every problem is reported at once with its path.
 *
 * Environment (strings; numbers parsed and validated like the file's; see ENV_KEYS): URLs, node name,
 * intervals, sampling, the k8s-watcher link (its token only from the environment or a file, never the
 * configuration file), /proc and cgroup roots. A problem in a value from the environment names the variable.
 */
const url = z.url({ protocol: /^https?$/ });
const positive = z.number().positive();
const count = z.number().int().positive();

const path = z.string().min(1).max(4096);

/** A zod check that runs a validator throwing `cannot ...` errors and reports its message. */
const validBy =
  <T>(validate: (v: T) => unknown) =>
  (v: T, ctx: z.RefinementCtx) => {
    try {
      validate(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  };

/** Joining multi-line records (logs/multiline.ts): patterns compiled and bounded here, at load. */
const multiline = z
  .strictObject({
    start: z.string().optional(),
    continuation: z.string().optional(),
    maxLines: count.max(100_000).optional(),
    maxBytes: count.max(16 * 1024 * 1024).optional(),
    flushMs: z.number().int().min(100).max(600_000).optional(),
  })
  .superRefine(validBy(compileMultiline));

export const pipelineConfigSchema = z.strictObject({
  remoteWriteUrl: url.optional(),
  otlpUrl: url.optional(),
  node: z.string().min(1).max(253).optional(),
  sensorLabels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.string().max(256)).optional(),
  templating: z
    .strictObject({
      rules: z
        .array(
          z.strictObject({
            pattern: z.string().min(1),
            replacement: z.string(),
            protocols: z
              .array(
                z.enum([
                  'http',
                  'http2',
                  'grpc',
                  'dns',
                  'postgres',
                  'mysql',
                  'redis',
                  'kafka',
                  'mongodb',
                  'amqp',
                  'nats',
                ]),
              )
              .optional(),
          }),
        )
        .optional(),
      maxPerWorkload: count.optional(),
      maxWorkloads: count.optional(),
      overflowValue: z.string().min(1).optional(),
      maxLength: count.optional(),
      maxSegments: count.optional(),
    })
    .optional(),
  redaction: z
    .strictObject({
      sensitiveHeaders: z.array(z.string().min(1)).optional(),
      sensitiveKeys: z.array(z.string().min(1)).optional(),
      valuePatterns: z.array(z.string().min(1)).optional(),
      replacement: z.string().optional(),
      maxBodyChars: count.optional(),
      maxHeaders: count.optional(),
      maxHeaderValueChars: count.optional(),
    })
    .optional(),
  red: z
    .strictObject({
      bucketsS: z.array(positive).min(1).optional(),
      maxSeries: count.optional(),
      maxSeriesPerWorkload: count.optional(),
      maxIdleSnapshots: count.optional(),
      maxLabelChars: count.optional(),
    })
    .optional(),
  sampling: z
    .strictObject({
      slowThresholdMs: positive.optional(),
      baselineFactor: positive.optional(),
      slowMinMs: z.number().min(0).optional(),
      baselineWarmup: count.optional(),
      baselineRate: z.number().min(0).max(1).optional(),
      ratePerSecond: positive.optional(),
      burst: count.optional(),
      forceHeader: z.string().min(1).optional(),
      forceWorkloads: z.array(z.string()).optional(),
      maxResources: count.optional(),
    })
    .optional(),
  remoteWrite: z
    .strictObject({
      intervalMs: z.number().int().min(1000).optional(),
      maxSeriesPerBody: count.optional(),
      maxQueueBodies: z.number().int().min(2).optional(),
      timeoutMs: count.optional(),
    })
    .optional(),
  otlp: z
    .strictObject({
      intervalMs: z.number().int().min(100).optional(),
      maxSpansPerBatch: count.optional(),
      maxQueueBodies: z.number().int().min(2).optional(),
      timeoutMs: count.optional(),
    })
    .optional(),
  identity: z
    .strictObject({
      watcherUrl: url.optional(),
      /** File holding the k8s-watcher bearer token (a mounted secret). */
      watcherTokenFile: path.optional(),
      readyTimeoutMs: z.number().int().min(0).max(600_000).optional(),
      watcherIdleTimeoutMs: z.number().int().min(1000).optional(),
      watcherBackoffMaxMs: z.number().int().min(100).optional(),
      processes: z
        .strictObject({ procRoot: path.optional(), maxPids: count.optional(), refreshMs: count.optional() })
        .optional(),
      dns: z
        .strictObject({
          maxEntries: count.optional(),
          minTtlS: z.number().min(0).optional(),
          maxTtlS: z.number().min(0).optional(),
          defaultTtlS: z.number().min(0).optional(),
        })
        .refine((d) => d.minTtlS === undefined || d.maxTtlS === undefined || d.minTtlS <= d.maxTtlS, {
          message: 'minTtlS must not exceed maxTtlS',
        })
        .optional(),
    })
    .optional(),
  resources: z
    .strictObject({
      /** Off when absent; needs remoteWriteUrl. */
      intervalMs: z.number().int().min(1000),
      procRoot: path.optional(),
      cgroupRoot: path.optional(),
      maxContainers: count.optional(),
      maxPids: count.optional(),
    })
    .optional(),
  logs: z
    .strictObject({
      /** kubelet's pod log directory. */
      root: path.default('/var/log/pods'),
      /** Where offsets persist (a hostPath that survives the sensor pod). */
      stateFile: path,
      fromStart: z.boolean().optional(),
      pollIntervalMs: z.number().int().min(100).optional(),
      maxUnackedRecords: count.optional(),
      /** Multi-line records of container logs (after CRI partial lines are joined). */
      multiline: multiline.optional(),
      /** Plain-text files (or glob patterns of them) to follow too (a plain host), each named as a service. */
      files: z
        .array(
          z.strictObject({
            path: path.superRefine(validBy(parseHostFileGlob)),
            service: z.string().min(1).max(256),
            maxFiles: count.max(10_000).optional(),
            multiline: multiline.optional(),
          }),
        )
        .max(256)
        .optional(),
      /** Host files followed at most, all patterns together. */
      maxHostFiles: count.max(10_000).optional(),
    })
    .optional(),
});

/** Environment variable -> configuration path, and how its text becomes a value. */
export const ENV_KEYS: [string, string[], 'string' | 'number' | 'list'][] = [
  ['UNDERSTORY_REMOTE_WRITE_URL', ['remoteWriteUrl'], 'string'],
  ['UNDERSTORY_OTLP_URL', ['otlpUrl'], 'string'],
  ['UNDERSTORY_NODE_NAME', ['node'], 'string'],
  ['UNDERSTORY_METRICS_INTERVAL_MS', ['remoteWrite', 'intervalMs'], 'number'],
  ['UNDERSTORY_TRACE_RATE', ['sampling', 'ratePerSecond'], 'number'],
  ['UNDERSTORY_TRACE_BASELINE_RATE', ['sampling', 'baselineRate'], 'number'],
  ['UNDERSTORY_SLOW_THRESHOLD_MS', ['sampling', 'slowThresholdMs'], 'number'],
  ['UNDERSTORY_FORCE_TRACE_WORKLOADS', ['sampling', 'forceWorkloads'], 'list'],
  ['UNDERSTORY_K8S_WATCHER_URL', ['identity', 'watcherUrl'], 'string'],
  ['UNDERSTORY_K8S_WATCHER_TOKEN_FILE', ['identity', 'watcherTokenFile'], 'string'],
  ['UNDERSTORY_PROC_ROOT', ['identity', 'processes', 'procRoot'], 'string'],
  ['UNDERSTORY_RESOURCES_INTERVAL_MS', ['resources', 'intervalMs'], 'number'],
  ['UNDERSTORY_CGROUP_ROOT', ['resources', 'cgroupRoot'], 'string'],
];

/** Read by `pipelineOptions` (never stored in the configuration): the k8s-watcher bearer token. */
export const WATCHER_TOKEN_ENV = 'UNDERSTORY_K8S_WATCHER_TOKEN';

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;

/** Reads `file` (when given), applies `env`, validates. Throws `cannot load pipeline configuration: ...`. */
export function loadPipelineConfig(
  file: string | undefined,
  env: Record<string, string | undefined> = process.env,
): PipelineConfig {
  let raw: Record<string, unknown> = {};
  if (file) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`cannot load pipeline configuration from ${file}: ${(err as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new Error(`cannot load pipeline configuration from ${file}: the file is not a JSON object`);
  }
  const cfg = structuredClone(raw) as Record<string, unknown>;
  const fromEnv = new Map<string, string>();
  for (const [name, keys, kind] of ENV_KEYS) {
    const text = env[name];
    if (!text) continue;
    let at = cfg;
    for (const k of keys.slice(0, -1)) {
      if (typeof at[k] !== 'object' || at[k] === null) at[k] = {};
      at = at[k] as Record<string, unknown>;
    }
    at[keys.at(-1)!] =
      kind === 'number'
        ? text.trim() === ''
          ? Number.NaN
          : Number(text)
        : kind === 'list'
          ? text
              .split(',')
              .map((v) => v.trim())
              .filter(Boolean)
          : text;
    fromEnv.set(keys.join('.'), name);
  }
  // The same /proc serves identity and resource metrics (a DaemonSet mounts the host's at one place).
  const procRoot = env.UNDERSTORY_PROC_ROOT;
  if (procRoot && typeof cfg.resources === 'object' && cfg.resources !== null)
    (cfg.resources as Record<string, unknown>).procRoot ??= procRoot;
  const parsed = pipelineConfigSchema.safeParse(cfg);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const at = i.path.join('.');
      const name = fromEnv.get(at);
      return `${at || '(root)'}${name ? ` (from ${name})` : ''}: ${i.message}`;
    });
    throw new Error(
      `cannot load pipeline configuration${file ? ` from ${file}` : ''}: ${problems.join('; ')}`,
    );
  }
  return parsed.data;
}

/**
 * The options `SensorPipeline` takes (it validates the rest: rules compile, buckets increase). Reads the
 * k8s-watcher token from `identity.watcherTokenFile`, else from UNDERSTORY_K8S_WATCHER_TOKEN.
 * `logs` is not a pipeline option: `containerLogsOptions` makes ContainerLogs's.
 */
export function pipelineOptions(
  cfg: PipelineConfig,
  env: Record<string, string | undefined> = process.env,
): SensorPipelineOptions {
  const { logs: _logs, identity, ...rest } = cfg;
  const sensorLabels = cfg.sensorLabels ?? (cfg.node ? { sensor: cfg.node } : {});
  const out = { ...rest, sensorLabels } as SensorPipelineOptions;
  if (identity) {
    const { watcherTokenFile, ...id } = identity;
    let watcherToken = env[WATCHER_TOKEN_ENV];
    if (watcherTokenFile) {
      try {
        watcherToken = readFileSync(watcherTokenFile, 'utf8').trim();
      } catch (err) {
        throw new Error(
          `cannot read the k8s-watcher token from ${watcherTokenFile}: ${(err as Error).message}`,
        );
      }
      if (!watcherToken)
        throw new Error(`cannot use the k8s-watcher token in ${watcherTokenFile}: the file is empty`);
    }
    out.identity = { ...id, ...(watcherToken ? { watcherToken } : {}) };
  }
  return out;
}

/** ContainerLogs's options from the `logs` section; undefined when logs are off (no section or no OTLP URL). */
export function containerLogsOptions(
  cfg: PipelineConfig,
): Omit<ContainerLogsOptions, 'registry'> | undefined {
  if (!cfg.logs || !cfg.otlpUrl) return undefined;
  const { files, ...logs } = cfg.logs;
  return {
    ...logs,
    ...(files ? { hostFiles: files } : {}),
    ...(cfg.node ? { host: cfg.node } : {}),
    otlpUrl: cfg.otlpUrl,
  };
}
