/**
 * Table pieces and tiles for RED figures, with the thresholds that colour them: shared by the services pages,
 * the service map and the peers table so every RED table reads the same.
 */

import { formatDuration, formatPercent, formatRate } from '../../charts/format.ts';
import type { RedFigures } from '../../clusterApi.ts';
import { type Sort, SortHeader } from '../../sortableTable.tsx';

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

/** The five RED cells of a row: rate, failed share, p50, p95, p99. */
export function RedCells({ f }: { f: RedFigures }) {
  return (
    <>
      <RateCell value={f.requestRate} />
      <ErrorRateCell value={f.errorRate} />
      <LatencyCell value={f.p50} />
      <LatencyCell value={f.p95} />
      <LatencyCell value={f.p99} />
    </>
  );
}

/** Plain headers matching RedCells; `rate` names the first column (Requests, Calls). */
export function RedHeaders({ rate = 'Requests' }: { rate?: string }) {
  return (
    <>
      {[rate, 'Errors', 'p50', 'p95', 'p99'].map((h) => (
        <th key={h} scope="col" className="num">
          {h}
        </th>
      ))}
    </>
  );
}

export type RedKey = 'requestRate' | 'errorRate' | 'p50' | 'p95' | 'p99';
export const RED_KEYS: readonly RedKey[] = ['requestRate', 'errorRate', 'p50', 'p95', 'p99'];

/**
 * Sortable headers for a table of RED rows: the first column (name) and the rate, an unlabelled trend column
 * (a sparkline), then errors and latencies.
 */
export function RedSortHeaders<K extends string>({
  nameKey,
  name,
  sort,
  onSort,
}: {
  nameKey: K;
  name: string;
  sort: Sort<K | RedKey>;
  onSort: (k: K | RedKey) => void;
}) {
  const h = (k: RedKey, label: string) => (
    <SortHeader k={k} sort={sort} onSort={onSort} numeric>
      {label}
    </SortHeader>
  );
  return (
    <tr>
      <SortHeader k={nameKey} sort={sort} onSort={onSort}>
        {name}
      </SortHeader>
      {h('requestRate', 'Requests')}
      <th scope="col">
        <span className="sr-only">Request trend</span>
      </th>
      {h('errorRate', 'Errors')}
      {h('p50', 'p50')}
      {h('p95', 'p95')}
      {h('p99', 'p99')}
    </tr>
  );
}

/** The namespace filter of a page (`ns` in the URL). */
export function NamespaceSelect({
  value,
  namespaces,
  onChange,
}: {
  value: string;
  namespaces: string[];
  onChange: (ns: string | null) => void;
}) {
  return (
    <label className="field-inline">
      <span className="sr-only">Namespace</span>
      <select aria-label="Namespace" value={value} onChange={(e) => onChange(e.target.value || null)}>
        <option value="">All namespaces</option>
        {namespaces.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
}
