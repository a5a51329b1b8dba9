/**
 * The one time-series chart of the UI, over uPlot: lines, areas or bars (a histogram), several series, a
 * tooltip with every series' value at the cursor, a legend that toggles series, drag across to select a time
 * range (zoom), and the loading, error and empty states drawn in the same frame so a page does not jump.
 * Timestamps are epoch milliseconds; values are in `unit` (charts/format.ts). The chart is rebuilt when
 * `timestamps` or `series` change identity: memoize them (useMemo) in the caller.
 */
import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatTime } from '../timeRange.ts';
import { ErrorNote } from '../ui.tsx';
import { formatValue, type Unit } from './format.ts';
import { seriesColor, withAlpha } from './palette.ts';
import { tooltipPlugin } from './tooltipPlugin.ts';

const COUNT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 1e5, 1e6, 1e7];
/** Byte ticks on binary units (100 MiB, not 95.4 MiB): 1, 2, 5, 10, 20, 50, 100, 200, 500 of each. */
const BYTE_INCRS = [1, 1024, 1024 ** 2, 1024 ** 3, 1024 ** 4].flatMap((u) =>
  [1, 2, 5, 10, 20, 50, 100, 200, 500].map((n) => n * u),
);

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color?: string;
}

export interface TimeSeriesChartProps {
  /** Epoch ms, ascending; every series has one value per timestamp (null = no sample). */
  timestamps: number[];
  series: ChartSeries[];
  unit?: Unit;
  kind?: 'line' | 'area' | 'bars';
  height?: number;
  /** The x scale: the selected time range, so a quiet end of the range shows as empty, not stretched. */
  range?: { start: number; end: number };
  loading?: boolean;
  error?: unknown;
  emptyText?: string;
  /** Called with epoch ms when the user drags across the chart. */
  onSelectRange?: (start: number, end: number) => void;
  /** Stack the series (bars of a histogram by kind): each drawn on top of the ones after it. */
  stacked?: boolean;
  /** Show the legend (default: with more than one series). */
  legend?: boolean;
  /** Accessible name of the chart. */
  title: string;
}

const AXIS = {
  stroke: '#5f6b7a',
  font: '12px ui-sans-serif, system-ui, sans-serif',
  grid: { stroke: '#eef1f4', width: 1 },
  ticks: { stroke: '#e2e6eb', width: 1, size: 4 },
};

/**
 * Cumulative columns for stacking: series i is drawn as the sum of series i..n-1, and uPlot paints in order,
 * so each series shows as its own band above the ones after it. The tooltip still shows each series' value.
 */
function stack(series: ChartSeries[]): (number | null)[][] {
  const out: (number | null)[][] = [];
  let below: (number | null)[] = [];
  for (let i = series.length - 1; i >= 0; i--) {
    const values = series[i]!.values;
    const sum = values.map((v, j) =>
      v === null && (below[j] ?? null) === null ? null : (v ?? 0) + (below[j] ?? 0),
    );
    out.unshift(sum);
    below = sum;
  }
  return out;
}

export function TimeSeriesChart(props: TimeSeriesChartProps) {
  const {
    timestamps,
    series,
    unit = 'none',
    kind = 'line',
    height = 220,
    range,
    loading,
    error,
    emptyText = 'No data in this time range.',
    onSelectRange,
    title,
    stacked = false,
  } = props;
  const el = useRef<HTMLDivElement>(null);
  const selectRef = useRef(onSelectRange);
  selectRef.current = onSelectRange;
  const hasData = useMemo(
    () => timestamps.length > 0 && series.some((s) => s.values.some((v) => v !== null)),
    [timestamps, series],
  );
  const showLegend = props.legend ?? series.length > 1;
  // Primitives, so a caller's new-but-equal range object does not rebuild the chart.
  const rangeStart = range?.start;
  const rangeEnd = range?.end;

  useEffect(() => {
    const host = el.current;
    if (!host || !hasData) return;
    const fixed = rangeStart !== undefined && rangeEnd !== undefined ? [rangeStart, rangeEnd] : null;
    const span = fixed ? fixed[1]! - fixed[0]! : (timestamps.at(-1) ?? 0) - (timestamps[0] ?? 0);
    // uPlot turns a series' stroke into a function after init: keep the colours for the legend and tooltip.
    const colors = series.map((x, i) => x.color ?? seriesColor(i));
    const opts: uPlot.Options = {
      width: Math.max(120, host.clientWidth),
      height,
      ms: 1,
      padding: [8, 20, 0, 0],
      scales: {
        x: { time: true, ...(fixed ? { range: [fixed[0]!, fixed[1]!] as uPlot.Range.MinMax } : {}) },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        { ...AXIS, values: (_u, splits) => splits.map((v) => formatTime(v, span, v)) },
        {
          ...AXIS,
          size: 64,
          values: (_u, splits) => splits.map((v) => formatValue(v, unit)),
          // Counts are whole: no 0.5 ticks. Bytes tick on binary units.
          ...(unit === 'count' ? { incrs: COUNT_INCRS } : unit === 'bytes' ? { incrs: BYTE_INCRS } : {}),
        },
      ],
      series: [
        { value: (_u, v) => (v === null ? '' : formatTime(v, span)) },
        ...series.map((s, i) => {
          const color = colors[i]!;
          return {
            label: s.label,
            stroke: color,
            width: kind === 'bars' ? 0 : 1.75,
            fill: kind === 'line' ? undefined : withAlpha(color, kind === 'bars' ? 0.75 : 0.14),
            points: { show: false },
            spanGaps: false,
            value: (_u: uPlot, v: number | null) => formatValue(v, unit),
            ...(kind === 'bars' ? { paths: uPlot.paths.bars!({ size: [0.85, 64], align: 1 }) } : {}),
          };
        }),
      ],
      legend: {
        show: showLegend,
        live: false,
        // Filled swatches (line series have no fill of their own). uPlot replaces its default markers with
        // this object as a whole, so every field is given.
        markers: {
          show: true,
          width: 2,
          dash: 'solid',
          stroke: (_u, i) => colors[i - 1] ?? '#888',
          fill: (_u, i) => colors[i - 1] ?? '#888',
        },
      },
      cursor: {
        drag: { x: Boolean(selectRef.current), y: false, setScale: false },
        points: { size: 7 },
      },
      plugins: [
        tooltipPlugin(
          unit,
          span,
          series.map((x) => x.values),
        ),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 3 || !selectRef.current) return;
            const start = u.posToVal(u.select.left, 'x');
            const end = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            selectRef.current(start, end);
          },
        ],
      },
    };
    const data: uPlot.AlignedData = [timestamps, ...(stacked ? stack(series) : series.map((s) => s.values))];
    const plot = new uPlot(opts, data, host);
    const resize = new ResizeObserver(() => {
      const w = Math.max(120, host.clientWidth);
      if (w !== plot.width) plot.setSize({ width: w, height });
    });
    resize.observe(host);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [timestamps, series, unit, kind, height, rangeStart, rangeEnd, hasData, showLegend, stacked]);

  const busy = loading && (hasData || !error);
  return (
    <figure className="chart" aria-label={title} aria-busy={loading ? true : undefined}>
      {error ? (
        <div className="chart-state" style={{ minHeight: height }}>
          <ErrorNote error={error} />
        </div>
      ) : !hasData && !loading ? (
        <div className="chart-state chart-empty" style={{ minHeight: height }}>
          {emptyText}
        </div>
      ) : !hasData ? (
        <div className="chart-state" style={{ minHeight: height }}>
          <span className="spinner" aria-hidden="true" />
        </div>
      ) : null}
      <div ref={el} className={hasData && !error ? 'chart-plot' : 'chart-plot chart-plot-hidden'} />
      {busy && hasData ? <div className="chart-busy" role="status" aria-label="Updating" /> : null}
    </figure>
  );
}
