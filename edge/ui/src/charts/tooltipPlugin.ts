/**
 * uPlot plugin: a tooltip following the cursor with the time and every visible series' value there, largest
 * first (the one the eye looks for), at most 12 rows. It lives inside uPlot's `over` element, so it is
 * removed with the chart.
 */
import type uPlot from 'uplot';
import { formatTime } from '../timeRange.ts';
import { formatValue, type Unit } from './format.ts';

const MAX_ROWS = 12;

/**
 * `values`: each series' own values (the drawn data may be stacked), indexed like the timestamps; `colors`:
 * each series' colour (uPlot keeps strokes as functions after init).
 */
export function tooltipPlugin(
  unit: Unit,
  spanMs: number,
  values?: (number | null)[][],
  colors: string[] = [],
): uPlot.Plugin {
  let tip: HTMLDivElement;
  const hide = () => {
    tip.style.display = 'none';
  };
  return {
    hooks: {
      init: (u) => {
        tip = document.createElement('div');
        tip.className = 'chart-tooltip';
        tip.setAttribute('aria-hidden', 'true');
        hide();
        u.over.appendChild(tip);
        u.over.addEventListener('mouseleave', hide);
      },
      setCursor: (u) => {
        const idx = u.cursor.idx;
        const left = u.cursor.left ?? -1;
        if (idx === null || idx === undefined || left < 0) return hide();
        const rows: { label: string; color: string; value: number }[] = [];
        for (let i = 1; i < u.series.length; i++) {
          const s = u.series[i]!;
          const v = values ? values[i - 1]?.[idx] : u.data[i]?.[idx];
          if (!s.show || v === null || v === undefined) continue;
          rows.push({ label: String(s.label ?? ''), color: colors[i - 1] ?? '#888', value: v });
        }
        if (rows.length === 0) return hide();
        rows.sort((a, b) => b.value - a.value);
        tip.replaceChildren();
        const head = document.createElement('div');
        head.className = 'chart-tooltip-time';
        head.textContent = formatTime(u.data[0][idx]!, spanMs);
        tip.appendChild(head);
        for (const r of rows.slice(0, MAX_ROWS)) {
          const row = document.createElement('div');
          row.className = 'chart-tooltip-row';
          const swatch = document.createElement('span');
          swatch.className = 'chart-swatch';
          swatch.style.background = r.color;
          const label = document.createElement('span');
          label.className = 'chart-tooltip-label';
          label.textContent = r.label;
          const value = document.createElement('span');
          value.className = 'chart-tooltip-value';
          value.textContent = formatValue(r.value, unit);
          row.append(swatch, label, value);
          tip.appendChild(row);
        }
        if (rows.length > MAX_ROWS) {
          const more = document.createElement('div');
          more.className = 'chart-tooltip-more';
          more.textContent = `+${rows.length - MAX_ROWS} more`;
          tip.appendChild(more);
        }
        tip.style.display = 'block';
        // Flip to the left of the cursor in the right half so the tooltip stays inside the chart.
        const w = u.over.clientWidth;
        const flip = left > w / 2;
        tip.style.left = flip ? '' : `${left + 14}px`;
        tip.style.right = flip ? `${w - left + 14}px` : '';
        tip.style.top = `${Math.max(0, (u.cursor.top ?? 0) - 10)}px`;
      },
    },
  };
}
