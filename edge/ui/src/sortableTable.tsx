/**
 * Sorting for data tables: the sort is a query parameter (`<param>=key` or `-key` for descending) so a shared
 * link shows the same order. Headers are buttons (keyboard-usable) and the column carries `aria-sort`.
 */
import type { ReactNode } from 'react';
import { setSearchParams, useSearch } from './router.ts';

export interface Sort<K extends string> {
  key: K;
  desc: boolean;
}

/** `ascFirst`: columns (names, text) whose first click sorts ascending; numbers start descending. */
export function useSort<K extends string>(
  param: string,
  keys: readonly K[],
  fallback: Sort<K>,
  ascFirst: readonly K[] = [],
) {
  const search = useSearch();
  const raw = new URLSearchParams(search).get(param) ?? '';
  const key = raw.replace(/^-/, '') as K;
  const sort: Sort<K> = keys.includes(key) ? { key, desc: raw.startsWith('-') } : fallback;
  const setSort = (k: K) => {
    // A new numeric column starts descending (the biggest numbers are what people look for); again flips it.
    const desc = sort.key === k ? !sort.desc : !ascFirst.includes(k);
    setSearchParams({ [param]: `${desc ? '-' : ''}${k}` }, true);
  };
  return { sort, setSort };
}

/** Compares nulls last whatever the direction, numbers numerically, strings by locale. */
export function compareBy<T>(get: (row: T) => number | string | null, desc: boolean) {
  return (a: T, b: T): number => {
    const x = get(a);
    const y = get(b);
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return desc ? -c : c;
  };
}

export function SortHeader<K extends string>({
  k,
  sort,
  onSort,
  children,
  numeric,
}: {
  k: K;
  sort: Sort<K>;
  onSort: (k: K) => void;
  children: ReactNode;
  numeric?: boolean;
}) {
  const active = sort.key === k;
  return (
    <th
      scope="col"
      className={numeric ? 'num' : undefined}
      aria-sort={active ? (sort.desc ? 'descending' : 'ascending') : 'none'}
    >
      <button
        type="button"
        className={active ? 'th-sort th-sort-active' : 'th-sort'}
        onClick={() => onSort(k)}
      >
        {children}
        <span className="th-sort-icon" aria-hidden="true">
          {active ? (sort.desc ? '↓' : '↑') : '↕'}
        </span>
      </button>
    </th>
  );
}
