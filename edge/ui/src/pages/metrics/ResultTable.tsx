/**
 * The instant values of a PromQL query as a table: one row per series (its labels, its value), sortable by
 * value, filterable by label text; a scalar or string result is one row. At most MAX_ROWS rows are shown.
 */
import { useMemo, useState } from 'react';
import { formatValue, type Unit } from '../../charts/format.ts';
import type { PromLabels, PromResult } from '../../clusterApi.ts';

const MAX_ROWS = 500;

interface Row {
  series: string;
  labels: PromLabels;
  value: number | null;
  raw: string;
}

function rows(result: PromResult, label: (l: PromLabels) => string): Row[] {
  if (result.resultType === 'vector') {
    return result.result.map((s) => ({
      series: label(s.metric),
      labels: s.metric,
      value: Number.isFinite(Number(s.value[1])) ? Number(s.value[1]) : null,
      raw: s.value[1],
    }));
  }
  if (result.resultType === 'matrix') {
    // A range-vector selector (`x[5m]`) asked as an instant query: its newest sample per series.
    return result.result.map((s) => {
      const last = s.values.at(-1)?.[1] ?? '';
      return {
        series: `${label(s.metric)} (${s.values.length} samples)`,
        labels: s.metric,
        value: Number.isFinite(Number(last)) ? Number(last) : null,
        raw: last,
      };
    });
  }
  const raw = result.result[1];
  return [
    { series: result.resultType, labels: {}, value: Number.isFinite(Number(raw)) ? Number(raw) : null, raw },
  ];
}

export function ResultTable({
  result,
  unit,
  label,
}: {
  result: PromResult;
  unit: Unit;
  label: (l: PromLabels) => string;
}) {
  const [filter, setFilter] = useState('');
  const [desc, setDesc] = useState(true);
  const all = useMemo(() => rows(result, label), [result, label]);
  const shown = useMemo(() => {
    const needle = filter.toLowerCase();
    return all
      .filter((r) => !needle || r.series.toLowerCase().includes(needle))
      .sort(
        (a, b) =>
          ((a.value ?? Number.NEGATIVE_INFINITY) - (b.value ?? Number.NEGATIVE_INFINITY)) * (desc ? -1 : 1),
      );
  }, [all, filter, desc]);

  return (
    <section className="section" aria-labelledby="result-h">
      <div className="section-head">
        <h2 id="result-h">
          Values at the end of the range <span className="muted count-note">{all.length} series</span>
        </h2>
        {all.length > 5 ? (
          <input
            type="search"
            className="table-filter"
            aria-label="Filter series"
            placeholder="Filter series"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
          />
        ) : null}
      </div>
      {all.length === 0 ? (
        <p className="muted">No series has a value at the end of the range.</p>
      ) : (
        <div className="card table-card">
          <table className="table data-table" aria-label="Query result">
            <thead>
              <tr>
                <th scope="col">Series</th>
                <th scope="col" className="num" aria-sort={desc ? 'descending' : 'ascending'}>
                  <button type="button" className="th-sort th-sort-active" onClick={() => setDesc(!desc)}>
                    Value
                    <span className="th-sort-icon" aria-hidden="true">
                      {desc ? '↓' : '↑'}
                    </span>
                  </button>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.slice(0, MAX_ROWS).map((r) => (
                <tr key={r.series} data-result-row>
                  <td className="cell-wrap mono">{r.series}</td>
                  <td className="num" title={r.raw}>
                    {r.value === null ? r.raw : formatValue(r.value, unit)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {shown.length > MAX_ROWS ? (
            <p className="muted table-note">
              Showing {MAX_ROWS} of {shown.length} series.
            </p>
          ) : null}
        </div>
      )}
    </section>
  );
}
