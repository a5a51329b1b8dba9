/**
 * The bands of the alert timeline: from transitions (alert_history rows) and the current alerts, when each alert
 * instance was pending or firing within a time range. Pure, so it is tested without a browser.
 */
import type { AlertHistoryRow, AlertView } from './monitorsApi.ts';

/** Labels every alert of a monitor carries: not what tells its instances apart. */
export const HIDDEN_LABELS = ['understory_monitor', 'alertname', 'alertgroup', 'severity'];

export interface Band {
  state: 'pending' | 'firing';
  start: number;
  end: number;
  open: boolean;
}

export function instanceName(labels: Record<string, string>): string {
  const parts = Object.entries(labels)
    .filter(([k]) => !HIDDEN_LABELS.includes(k))
    .map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(', ') : 'the monitor';
}

/** Bands per fingerprint from transitions (any order) clipped to the range. */
export function buildBands(
  history: AlertHistoryRow[],
  current: AlertView[],
  range: { start: number; end: number },
): { fingerprint: string; name: string; bands: Band[] }[] {
  const byFp = new Map<string, AlertHistoryRow[]>();
  for (const h of history) byFp.set(h.fingerprint, [...(byFp.get(h.fingerprint) ?? []), h]);
  for (const a of current) if (!byFp.has(a.fingerprint)) byFp.set(a.fingerprint, []);
  const out: { fingerprint: string; name: string; bands: Band[] }[] = [];
  for (const [fp, rows] of byFp) {
    rows.sort((a, b) => a.timestamp - b.timestamp);
    const now = current.find((a) => a.fingerprint === fp);
    const bands: Band[] = [];
    let state: string = rows[0]?.previous ?? now?.state ?? 'resolved';
    let since = range.start;
    if (rows.length === 0 && now) since = Math.max(range.start, now.activeSince);
    const close = (at: number, open: boolean) => {
      if ((state === 'pending' || state === 'firing') && at > since)
        bands.push({ state, start: Math.max(since, range.start), end: Math.min(at, range.end), open });
    };
    for (const r of rows) {
      close(r.timestamp, false);
      state = r.state;
      since = r.timestamp;
    }
    if (state === 'pending' || state === 'firing') close(range.end, true);
    const labels = rows.at(-1)?.labels ?? now?.labels ?? {};
    out.push({ fingerprint: fp, name: instanceName(labels), bands: bands.filter((b) => b.end > b.start) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
