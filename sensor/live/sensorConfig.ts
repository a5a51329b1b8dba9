import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { loadPipelineConfig, type PipelineConfig, pipelineConfigSchema } from '../pipeline/pipelineConfig.ts';

/**
 * The sensor's configuration file (`understory sensor --config file.json`): the pipeline's keys
 * (sensor/pipeline/pipelineConfig.ts: remoteWriteUrl, otlpUrl, node, templating, redaction, red, sampling,
 * remoteWrite, otlp) plus a `sensor` section holding the command's own options under their flag names in
 * camelCase (`dataCap`, `podLogsDir`, ...). Precedence: command-line flag > UNDERSTORY_* variable > file >
 * default. Everything is validated before anything starts; all problems are reported at once.
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
  logs: z.boolean().optional(),
  podLogsDir: z.string().min(1).optional(),
  logsStateFile: z.string().min(1).optional(),
  logsFromStart: z.boolean().optional(),
  resourceInterval: z.number().int().min(0).optional(),
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
 * Reads and validates the file (when given) with the pipeline's environment variables applied over it;
 * `overrides` (from flags) go on top. Throws `cannot load sensor configuration ...: <every problem>`.
 */
export function loadSensorConfig(
  file: string | undefined,
  overrides: Partial<PipelineConfig>,
  env: Record<string, string | undefined> = process.env,
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
  const merged: Record<string, unknown> = { ...pipelineRaw };
  for (const [k, v] of Object.entries({ ...fromEnv, ...stripUndefined(overrides) })) {
    const before = merged[k];
    merged[k] =
      isPlainObject(before) && isPlainObject(v) ? { ...before, ...(v as Record<string, unknown>) } : v;
  }
  const pipeline = pipelineConfigSchema.safeParse(merged);
  // A bad variable also reaches the merged object through its flag: name it once.
  if (!pipeline.success)
    problems.push(...issues(pipeline.error.issues).filter((p) => !problems[0]?.includes(p)));
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
