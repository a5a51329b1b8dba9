import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Benchmark harness. These machines are noisy, so every figure is reported next to a baseline measured
 * in the same run, as a ratio. Each result is printed and appended as one row to bench/results.tsv with
 * the machine, date and commit, so figures can be compared across sessions.
 */
export interface BenchResult {
  /** e.g. `sensor-capture/node-http` */
  benchmark: string;
  /** e.g. `requests_per_second` */
  metric: string;
  value: number;
  unit: string;
  /** The same metric measured without the thing under test, in the same run. */
  baseline?: number;
  /** Free text: conditions (rate, connections, duration). */
  notes?: string;
}

export const RESULTS_FILE = join(dirname(fileURLToPath(import.meta.url)), 'results.tsv');
const HEADER = 'date\tcommit\tmachine\tbenchmark\tmetric\tvalue\tunit\tbaseline\tratio\tnotes\n';

export function machineDescription(): string {
  const c = cpus();
  return `${hostname()} ${c.length}x ${c[0]?.model.trim() ?? 'cpu'} ${Math.round(totalmem() / 2 ** 30)}GiB`;
}

export function currentCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8' }).trim().length > 0;
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return 'unknown';
  }
}

export function ratio(value: number, baseline: number | undefined): number | undefined {
  if (baseline === undefined || baseline === 0) return undefined;
  return value / baseline;
}

/** Prints one result and appends it to bench/results.tsv. */
export function record(result: BenchResult, file = RESULTS_FILE): void {
  const r = ratio(result.value, result.baseline);
  const line = [
    new Date().toISOString(),
    currentCommit(),
    machineDescription(),
    result.benchmark,
    result.metric,
    fmt(result.value),
    result.unit,
    result.baseline === undefined ? '' : fmt(result.baseline),
    r === undefined ? '' : r.toFixed(4),
    (result.notes ?? '').replace(/[\t\n]/g, ' '),
  ].join('\t');
  if (!existsSync(file)) writeFileSync(file, HEADER);
  appendFileSync(file, `${line}\n`);
  const vs =
    result.baseline === undefined ? '' : ` (baseline ${fmt(result.baseline)}, ratio ${r?.toFixed(3)})`;
  process.stdout.write(`${result.benchmark} ${result.metric}: ${fmt(result.value)} ${result.unit}${vs}\n`);
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(6);
}

/** Percentile of a numeric sample (nearest rank); sorts a copy. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
