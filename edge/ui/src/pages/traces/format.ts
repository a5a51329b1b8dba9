/** Number and time formats of the traces and logs pages, and the stable colour of each service. */

/** A duration in nanoseconds, as short as its size allows: `840 ns`, `12.3 µs`, `4.56 ms`, `1.20 s`, `2m 05s`. */
export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns) || ns < 0) return '–';
  if (ns < 1_000) return `${Math.round(ns)} ns`;
  if (ns < 1_000_000) return `${trim(ns / 1_000)} µs`;
  if (ns < 1_000_000_000) return `${trim(ns / 1_000_000)} ms`;
  if (ns < 60_000_000_000) return `${trim(ns / 1_000_000_000)} s`;
  const s = Math.round(ns / 1_000_000_000);
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

/** Three significant digits, no trailing zeros past the point: 1.20 -> "1.2", 123.4 -> "123". */
function trim(v: number): string {
  return String(Number(v.toPrecision(3)));
}

/** Epoch ns as a decimal string -> epoch ms (a Number keeps ms exactly; the ns digits are dropped). */
export function nsToMs(ns: string): number {
  return Number(ns.length > 6 ? ns.slice(0, -6) : '0') + Number(ns.slice(-6)) / 1e6;
}

/** `Nov 25, 14:03:22.123` (local time), the date left out for today. */
export function formatTimestamp(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const time = `${d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' })}.${String(
    d.getMilliseconds(),
  ).padStart(3, '0')}`;
  if (new Date(now).toDateString() === d.toDateString()) return time;
  return `${d.toLocaleDateString('en', { month: 'short', day: 'numeric' })}, ${time}`;
}

// Distinct hues readable on white, both as a bar fill and as text; a service keeps its colour on every page.
const PALETTE = [
  '#2f6fdb',
  '#1f9d74',
  '#c2571a',
  '#8a4fd1',
  '#b5488f',
  '#0f8fa8',
  '#a58a00',
  '#5d6b7e',
  '#2b5d8a',
  '#3c8c2a',
  '#6c5ce7',
  '#b0672b',
];

export function serviceColor(service: string): string {
  // FNV-1a: cheap, stable across reloads and browsers.
  let h = 0x811c9dc5;
  for (let i = 0; i < service.length; i++) {
    h ^= service.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return PALETTE[(h >>> 0) % PALETTE.length]!;
}
