/**
 * A state timeline: one row per alert instance (label set), coloured bands where it was pending or firing
 * within the time range, built from the transitions in history (and the current state for bands still open).
 * Bands are positioned boxes (a percentage of the range), each with its times as a tooltip and a text
 * alternative for screen readers.
 */
import { useMemo } from 'react';
import { formatTime } from '../../timeRange.ts';
import type { AlertHistoryRow, AlertView } from './monitorsApi.ts';
import { formatSpan } from './parts.tsx';

/** Labels every alert of a monitor carries: not what tells its instances apart. */
export const HIDDEN_LABELS = ['understory_monitor', 'alertname', 'alertgroup', 'severity'];

interface Band {
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

export function AlertTimeline(props: {
  history: AlertHistoryRow[];
  current: AlertView[];
  range: { start: number; end: number };
}) {
  const { range } = props;
  const rows = useMemo(
    () => buildBands(props.history, props.current, range),
    [props.history, props.current, range],
  );
  const span = range.end - range.start;
  const pct = (t: number) => `${(((t - range.start) / span) * 100).toFixed(3)}%`;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => range.start + f * span);
  if (rows.length === 0)
    return (
      <p className="muted mon-timeline-empty">No alert in this time range: the condition did not hold.</p>
    );
  return (
    <div className="mon-timeline">
      <ul className="mon-tl-rows" aria-label="Alert timeline">
        {rows.map((r) => (
          <li className="mon-tl-row" key={r.fingerprint}>
            <div className="mon-tl-name mono" title={r.name}>
              {r.name}
            </div>
            <div className="mon-tl-track">
              {r.bands.map((b) => {
                const text = `${b.state} ${new Date(b.start).toLocaleString()} – ${
                  b.open ? 'now' : new Date(b.end).toLocaleString()
                } (${formatSpan(b.end - b.start)})`;
                return (
                  <span
                    key={`${b.state}-${b.start}`}
                    className={`mon-band mon-band-${b.state}`}
                    style={{ left: pct(b.start), width: `max(3px, ${pct(range.start + (b.end - b.start))})` }}
                    title={text}
                  >
                    <span className="sr-only">{text}</span>
                  </span>
                );
              })}
              {r.bands.length === 0 ? (
                <span className="sr-only">no pending or firing time in range</span>
              ) : null}
            </div>
          </li>
        ))}
      </ul>
      <div className="mon-tl-row mon-tl-axis" aria-hidden="true">
        <div className="mon-tl-name" />
        <div className="mon-tl-track">
          {ticks.map((t, i) => (
            <span
              key={t}
              className="mon-tl-tick"
              style={{ left: pct(t), transform: `translateX(${i === 0 ? '0' : i === 4 ? '-100%' : '-50%'})` }}
            >
              {formatTime(t, span)}
            </span>
          ))}
        </div>
      </div>
      <div className="mon-tl-legend muted" aria-hidden="true">
        <span className="mon-band-key mon-band-firing" /> firing{' '}
        <span className="mon-band-key mon-band-pending" /> pending
      </div>
    </div>
  );
}
