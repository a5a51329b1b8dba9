import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { loadPipelineConfig, type PipelineConfig, pipelineConfigSchema } from '../pipeline/pipelineConfig.ts';

/**
 * The sensor's configuration file (`understory sensor --config file.json`): the pipeline's keys
 * (sensor/pipeline/pipelineConfig.ts: remoteWriteUrl, otlpUrl, node, templating, redaction, red, sampling,
 * remoteWrite, otlp, identity, resources, logs) plus a `sensor` section holding the command's own capture
 * and process options under their flag names in camelCase (`dataCap`, `excludePid`, ...). Precedence:
 * command-line flag > UNDERSTORY_* variable > file > defaults. Sections merge key by key. Everything is
 * validated before anything starts; all problems are reported at once.
 */
const port = z.number().int().min(0).max(65535);
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
  /** false: no container logs even with a `logs` section. */
  logs: z.boolean().optional(),
  statsInterval: z.number().int().min(0).optional(),
  admin: z.boolean().optional(),
  adminHost: z.string().min(1).optional(),
  adminPort: port.optional(),
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
    fromEnv = loadPipelineConfig(undefined, env);
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
