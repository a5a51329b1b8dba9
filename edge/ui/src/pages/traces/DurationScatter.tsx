/**
 * The search results as points (uPlot): time across, duration up, failed spans in red. Slow
 * outliers and bursts of errors stand out before reading the table. Hovering names the span, a click opens its
 * trace, dragging across sets the time range. The table below carries the same data for keyboards and screen
 * readers, so the plot itself is one image.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatTime } from '../../timeRange.ts';
import { formatDuration, formatTimestamp, nsToMs } from './format.ts';
import { type SpanSummary, statusOf } from './tracesApi.ts';

const OK_COLOR = '#3a7bd5';
const ERROR_COLOR = '#c0392b';

const AXIS = {
  stroke: '#5f6b7a',
  font: '12px ui-sans-serif, system-ui, sans-serif',
  grid: { stroke: '#eef1f4', width: 1 },
  ticks: { stroke: '#e2e6eb', width: 1, size: 4 },
};

export function DurationScatter({
  spans,
  range,
  onOpen,
  onSelectRange,
}: {
  spans: SpanSummary[];
  range: { start: number; end: number };
  onOpen: (s: SpanSummary) => void;
  onSelectRange: (start: number, end: number) => void;
}) {
  const el = useRef<HTMLDivElement>(null);
  const [hover, setHover] = useState<SpanSummary | null>(null);
  const handlers = useRef({ onOpen, onSelectRange });
  handlers.current = { onOpen, onSelectRange };
  const sorted = useMemo(() => [...spans].sort((a, b) => nsToMs(a.timestamp) - nsToMs(b.timestamp)), [spans]);
  const { start, end } = range;

  useEffect(() => {
    const host = el.current;
    if (!host || sorted.length === 0) return;
    const xs = sorted.map((s) => nsToMs(s.timestamp));
    const dur = sorted.map((s) => Number(s.durationNs) / 1e6);
    const failed = sorted.map((s) => statusOf(s.status) === 'error');
    const point = (color: string) => ({
      stroke: color,
      fill: `${color}99`,
      width: 1,
      paths: () => null,
      points: { show: true, size: 7, stroke: color, fill: `${color}99` },
    });
    let dragged = false;
    const plot = new uPlot(
      {
        width: Math.max(200, host.clientWidth),
        height: 150,
        ms: 1,
        padding: [8, 12, 0, 0],
        legend: { show: false },
        scales: {
          x: { time: true, range: [start, end] },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
        },
        axes: [
          { ...AXIS, values: (_u, splits) => splits.map((v) => formatTime(v, end - start, v)) },
          {
            ...AXIS,
            size: 64,
            values: (_u, splits) => splits.map((v) => (v === 0 ? '0' : formatDuration(v * 1e6))),
          },
        ],
        series: [{}, { label: 'ok', ...point(OK_COLOR) }, { label: 'failed', ...point(ERROR_COLOR) }],
        cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 9 } },
        hooks: {
          setCursor: [
            (u) => {
              const i = u.cursor.idx;
              setHover(
                i === null || i === undefined || (u.cursor.left ?? -1) < 0 ? null : (sorted[i] ?? null),
              );
            },
          ],
          setSelect: [
            (u) => {
              if (u.select.width < 3) return;
              dragged = true;
              const a = u.posToVal(u.select.left, 'x');
              const b = u.posToVal(u.select.left + u.select.width, 'x');
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              handlers.current.onSelectRange(a, b);
            },
          ],
        },
      },
      [xs, dur.map((d, i) => (failed[i] ? null : d)), dur.map((d, i) => (failed[i] ? d : null))],
      host,
    );
    const click = () => {
      if (dragged) {
        dragged = false;
        return;
      }
      const i = plot.cursor.idx;
      const span = i === null || i === undefined ? undefined : sorted[i];
      if (span) handlers.current.onOpen(span);
    };
    plot.over.addEventListener('click', click);
    plot.over.addEventListener('mouseleave', () => setHover(null));
    const resize = new ResizeObserver(() => {
      const w = Math.max(200, host.clientWidth);
      if (w !== plot.width) plot.setSize({ width: w, height: 150 });
    });
    resize.observe(host);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [sorted, start, end]);

  return (
    <figure className="scatter card" aria-label="Span durations over time">
      <div
        ref={el}
        className="scatter-plot"
        role="img"
        aria-label="Each matching span as a point: time and duration"
      />
      <figcaption className="scatter-caption">
        {hover ? (
          <>
            <span className="strong">{hover.name}</span> · {hover.service} ·{' '}
            <span className={statusOf(hover.status) === 'error' ? 'text-danger' : undefined}>
              {formatDuration(Number(hover.durationNs))}
            </span>{' '}
            · {formatTimestamp(nsToMs(hover.timestamp))}{' '}
            <span className="muted">— click to open its trace</span>
          </>
        ) : (
          <span className="muted">
            <span className="scatter-key ok" /> ok or unset <span className="scatter-key failed" /> failed ·
            point at a span to name it, click to open it, drag across to zoom.
          </span>
        )}
      </figcaption>
    </figure>
  );
}
