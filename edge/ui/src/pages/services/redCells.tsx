/** Table cells and tiles for RED figures, with the thresholds that colour them, shared by the services pages. */
import { formatDuration, formatPercent, formatRate } from '../../charts/format.ts';

/** Error share from which a figure is shown as a warning / as failing. */
export const ERROR_WARN = 0.01;
export const ERROR_BAD = 0.05;

export function errorClass(rate: number | null): string {
  if (rate === null || rate < ERROR_WARN) return 'fig';
  return rate >= ERROR_BAD ? 'fig fig-bad' : 'fig fig-warn';
}

export function ErrorRateCell({ value }: { value: number | null }) {
  return (
    <td className="num">
      <span className={errorClass(value)}>{formatPercent(value)}</span>
    </td>
  );
}

export function RateCell({ value }: { value: number | null }) {
  return <td className="num">{formatRate(value)}</td>;
}

export function LatencyCell({ value }: { value: number | null }) {
  return <td className="num">{formatDuration(value)}</td>;
}

export function Tile({
  label,
  value,
  tone,
  hint,
}: {
  label: string;
  value: string;
  tone?: string;
  hint?: string;
}) {
  return (
    <div className={`tile${tone ? ` tile-${tone}` : ''}`}>
      <div className="tile-label">{label}</div>
      <div className="tile-value">{value}</div>
      {hint ? <div className="tile-hint">{hint}</div> : null}
    </div>
  );
}
