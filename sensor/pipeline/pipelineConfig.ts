import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { SensorPipelineOptions } from './sensorPipeline.ts';

/**
 * The pipeline's configuration as a user writes it: a JSON file (all keys optional, unknown keys refused)
 * with environment variables on top for what differs per node or deployment. Validated completely before
 * anything starts; every problem is reported at once with its path.
 *
 * Environment (strings; numbers parsed and validated like the file's):
 *   UNDERSTORY_REMOTE_WRITE_URL, UNDERSTORY_OTLP_URL, UNDERSTORY_NODE_NAME,
 *   UNDERSTORY_METRICS_INTERVAL_MS, UNDERSTORY_TRACE_RATE (spans/s), UNDERSTORY_TRACE_BASELINE_RATE (0..1),
 *   UNDERSTORY_SLOW_THRESHOLD_MS, UNDERSTORY_FORCE_TRACE_WORKLOADS (comma-separated).
 */
const url = z.url({ protocol: /^https?$/ });
const positive = z.number().positive();
const count = z.number().int().positive();

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
});

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
  const cfg = structuredClone(raw) as Record<string, Record<string, unknown> | unknown>;
  const section = (name: string) => {
    const s = cfg[name];
    if (s === undefined) cfg[name] = {};
    return (typeof cfg[name] === 'object' && cfg[name] !== null ? cfg[name] : {}) as Record<string, unknown>;
  };
  const num = (v: string) => (v.trim() === '' ? Number.NaN : Number(v));
  if (env.UNDERSTORY_REMOTE_WRITE_URL) cfg.remoteWriteUrl = env.UNDERSTORY_REMOTE_WRITE_URL;
  if (env.UNDERSTORY_OTLP_URL) cfg.otlpUrl = env.UNDERSTORY_OTLP_URL;
  if (env.UNDERSTORY_NODE_NAME) cfg.node = env.UNDERSTORY_NODE_NAME;
  if (env.UNDERSTORY_METRICS_INTERVAL_MS)
    section('remoteWrite').intervalMs = num(env.UNDERSTORY_METRICS_INTERVAL_MS);
  if (env.UNDERSTORY_TRACE_RATE) section('sampling').ratePerSecond = num(env.UNDERSTORY_TRACE_RATE);
  if (env.UNDERSTORY_TRACE_BASELINE_RATE)
    section('sampling').baselineRate = num(env.UNDERSTORY_TRACE_BASELINE_RATE);
  if (env.UNDERSTORY_SLOW_THRESHOLD_MS)
    section('sampling').slowThresholdMs = num(env.UNDERSTORY_SLOW_THRESHOLD_MS);
  if (env.UNDERSTORY_FORCE_TRACE_WORKLOADS)
    section('sampling').forceWorkloads = env.UNDERSTORY_FORCE_TRACE_WORKLOADS.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const parsed = pipelineConfigSchema.safeParse(cfg);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(
      `cannot load pipeline configuration${file ? ` from ${file}` : ''}: ${problems.join('; ')}`,
    );
  }
  return parsed.data;
}

/** The options `SensorPipeline` takes (it validates the rest: rules compile, buckets increase). */
export function pipelineOptions(cfg: PipelineConfig): SensorPipelineOptions {
  const sensorLabels = cfg.sensorLabels ?? (cfg.node ? { sensor: cfg.node } : {});
  return { ...cfg, sensorLabels } as SensorPipelineOptions;
}
