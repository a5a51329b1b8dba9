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
import { buildBands } from './timelineBands.ts';

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
              {formatTime(t, span, t)}
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
