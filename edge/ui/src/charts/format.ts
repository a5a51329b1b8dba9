/**
 * Number formats of the data pages, shared by charts (axes, tooltips) and tables so a figure reads the same
 * everywhere. Null means "no data" and prints as an en dash.
 */
export type Unit = 'reqps' | 'ratio' | 'seconds' | 'count' | 'bytes' | 'cores' | 'none';

const DASH = '–';

/** Up to 3 significant digits, trailing zeros dropped (0.0123 -> "0.0123", 1234 -> "1.23k"). */
export function short(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [n, s] of units) if (a >= n) return `${trim((v / n).toPrecision(3))}${s}`;
  if (a >= 1) return trim(v.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2));
  return trim(v.toPrecision(2));
}

function trim(s: string): string {
  return s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s;
}

/** Requests per second: "12.3/s", small rates per minute ("0.5/min") because "0.008/s" reads badly. */
export function formatRate(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return DASH;
  if (v === 0) return '0/s';
  if (Math.abs(v) < 0.1) return `${short(v * 60)}/min`;
  return `${short(v)}/s`;
}

/** A 0..1 share as a percentage; tiny non-zero shares stay visible ("<0.01%"). */
export function formatPercent(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return DASH;
  if (v === 0) return '0%';
  const p = v * 100;
  if (Math.abs(p) < 0.01) return '<0.01%';
  return `${trim(p.toFixed(Math.abs(p) < 10 ? 2 : 1))}%`;
}

/** Seconds as µs / ms / s / min, three significant digits. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return DASH;
  const a = Math.abs(seconds);
  if (a === 0) return '0';
  // Thresholds just under each unit, so 0.99995 s reads "1 s", not "1.00e+3 ms".
  if (a < 0.0009995) return `${trim((seconds * 1e6).toPrecision(3))} µs`;
  if (a < 0.9995) return `${trim((seconds * 1e3).toPrecision(3))} ms`;
  if (a < 119.95) return `${trim(seconds.toPrecision(3))} s`;
  return `${trim((seconds / 60).toPrecision(3))} min`;
}

export function formatBytes(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = Math.abs(v);
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${v < 0 ? '-' : ''}${trim(n.toPrecision(3))} ${units[i]}`;
}

export function formatValue(v: number | null, unit: Unit): string {
  if (v === null || !Number.isFinite(v)) return DASH;
  switch (unit) {
    case 'reqps':
      return formatRate(v);
    case 'ratio':
      return formatPercent(v);
    case 'seconds':
      return formatDuration(v);
    case 'bytes':
      return formatBytes(v);
    case 'cores':
      return formatCores(v);
    case 'count':
      return Number.isInteger(v) ? v.toLocaleString('en') : short(v);
    default:
      return short(v);
  }
}

/** CPU in cores, the way Kubernetes writes requests and limits: `250m` under one core, `1.5 cores` above. */
export function formatCores(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return DASH;
  if (v === 0) return '0';
  if (Math.abs(v) < 1) {
    const m = v * 1000;
    return `${Math.abs(m) < 10 ? trim(m.toPrecision(2)) : Math.round(m)}m`;
  }
  return `${trim(v.toPrecision(3))} ${v === 1 ? 'core' : 'cores'}`;
}
