/**
 * A small reader of Prometheus' PromQL test scripts (promqltest format, ../shared/testdata/promql): the float
 * series of their `load` blocks as VictoriaMetrics import lines shifted to `baseS`, and their `eval instant`
 * queries with absolute times. Only what an equality test between two query paths needs: expected values are
 * not read, native histograms and anything after the first `clear` are skipped.
 */

const UNIT_S: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** `1h5m`, `50m`, `10s`, `0` in seconds; undefined if not a duration. */
export function durationSeconds(text: string): number | undefined {
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_S[p[2]!]!, 0);
}

/** Values of one series in promqltest notation (`0+10x10`, `1x3`, `_`, `_x2`, `stale`, `5`); null = no sample. */
export function expandValues(tokens: readonly string[]): (number | null)[] | undefined {
  const out: (number | null)[] = [];
  for (const t of tokens) {
    if (t === '_' || t === 'stale') {
      out.push(null);
      continue;
    }
    const gap = /^_x(\d+)$/.exec(t);
    if (gap) {
      for (let i = 0; i < Number(gap[1]); i++) out.push(null);
      continue;
    }
    const num = '[-+]?(?:\\d+(?:\\.\\d+)?(?:e[-+]?\\d+)?|Inf|NaN)';
    const series = new RegExp(`^(${num})(?:([-+])(${num}))?x(\\d+)$`).exec(t);
    if (series) {
      const start = Number(series[1]);
      const step = series[3] ? Number(series[3]) * (series[2] === '-' ? -1 : 1) : 0;
      for (let i = 0; i <= Number(series[4]); i++) out.push(start + i * step);
      continue;
    }
    if (new RegExp(`^${num}$`).test(t)) {
      out.push(Number(t));
      continue;
    }
    return undefined;
  }
  return out;
}

export interface ScriptQueries {
  importLines: string[];
  evals: { timeS: number; expr: string }[];
}

export function readScript(text: string, baseS: number, maxEvals: number): ScriptQueries {
  const importLines: string[] = [];
  const evals: { timeS: number; expr: string }[] = [];
  let intervalS: number | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === 'clear') break;
    if (line.startsWith('#') || line === '') {
      if (line === '') intervalS = undefined;
      continue;
    }
    const load = /^load\s+(\S+)/.exec(line);
    if (load) {
      intervalS = durationSeconds(load[1]!);
      continue;
    }
    const ev = /^eval(?:_ordered)?\s+instant\s+at\s+(\S+)\s+(.+)$/.exec(line);
    if (ev) {
      intervalS = undefined;
      const at = durationSeconds(ev[1]!);
      if (at !== undefined && evals.length < maxEvals) evals.push({ timeS: baseS + at, expr: ev[2]! });
      continue;
    }
    if (intervalS === undefined || raw === line || line.includes('{{')) continue; // not an indented series line
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(.+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = { __name__: m[1]! };
    for (const l of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replaceAll('\\"', '"').replaceAll('\\\\', '\\');
    const values = expandValues(m[3]!.split(/\s+/));
    if (!values) continue;
    const timestamps: number[] = [];
    const present: number[] = [];
    values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      timestamps.push((baseS + i * intervalS!) * 1000);
      present.push(v);
    });
    if (present.length > 0) importLines.push(JSON.stringify({ metric: labels, values: present, timestamps }));
  }
  return { importLines, evals };
}
