/**
 * A small trend line for tables (uPlot, no axes, no cursor): one series over the selected range, drawn as an
 * area. Nulls are gaps. The latest value is in the table cell beside it, so the sparkline carries no text.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import { withAlpha } from './palette.ts';

export function Sparkline({
  timestamps,
  values,
  color = '#1f7a5a',
  width = 120,
  height = 28,
  range,
  label,
}: {
  timestamps: number[];
  values: (number | null)[];
  color?: string;
  width?: number;
  height?: number;
  range?: { start: number; end: number };
  /** Accessible description, e.g. "request rate trend". */
  label: string;
}) {
  const el = useRef<HTMLDivElement>(null);
  const start = range?.start;
  const end = range?.end;
  useEffect(() => {
    const host = el.current;
    if (!host || timestamps.length === 0) return;
    const plot = new uPlot(
      {
        width,
        height,
        ms: 1,
        padding: [2, 0, 2, 0],
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        axes: [{ show: false }, { show: false }],
        scales: {
          x: { time: true, ...(start !== undefined && end !== undefined ? { range: [start, end] } : {}) },
          y: { range: (_u, _min, max) => [0, max > 0 ? max : 1] },
        },
        series: [
          {},
          {
            stroke: color,
            width: 1.25,
            fill: withAlpha(color, 0.15),
            points: { show: false },
            spanGaps: false,
          },
        ],
      },
      [timestamps, values],
      host,
    );
    return () => plot.destroy();
  }, [timestamps, values, color, width, height, start, end]);
  if (timestamps.length === 0 || values.every((v) => v === null)) {
    return (
      <span
        className="sparkline sparkline-empty"
        style={{ width, height }}
        role="img"
        aria-label={`${label}: no data`}
      />
    );
  }
  return <div ref={el} className="sparkline" style={{ width, height }} role="img" aria-label={label} />;
}
