/**
 * The time-range control of the data pages: presets, a custom absolute range, refresh and auto-refresh.
 * State is in the URL (timeRange.ts); this component only edits it. Keyboard: the button opens a panel whose
 * first preset takes focus; Escape closes it and gives focus back to the button.
 */
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { AUTO_REFRESH, MAX_RANGE_MS, PRESETS, useTimeRange } from './timeRange.ts';

/** epoch ms -> the local `YYYY-MM-DDTHH:mm` a datetime-local input shows. */
function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function TimeRangePicker() {
  const { range, setRange, setAbsolute, refresh, autoRefresh, setAutoRefresh } = useTimeRange();
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [formError, setFormError] = useState<string | null>(null);
  const panelId = useId();
  const buttonRef = useRef<HTMLButtonElement>(null);
  const rootRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!autoRefresh || !range.relative) return;
    const ms = AUTO_REFRESH.find((a) => a.value === autoRefresh)?.ms ?? 60_000;
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') refresh();
    }, ms);
    return () => clearInterval(t);
  }, [autoRefresh, range.relative, refresh]);

  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (!rootRef.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    rootRef.current?.querySelector<HTMLButtonElement>('.tr-preset')?.focus();
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);

  const toggle = () => {
    if (!open) {
      setFrom(toLocalInput(range.start));
      setTo(toLocalInput(range.end));
      setFormError(null);
    }
    setOpen(!open);
  };
  const close = () => {
    setOpen(false);
    buttonRef.current?.focus();
  };
  const apply = (e: FormEvent) => {
    e.preventDefault();
    const start = new Date(from).getTime();
    const end = new Date(to).getTime();
    if (!Number.isFinite(start) || !Number.isFinite(end)) return setFormError('Enter both times.');
    if (end <= start) return setFormError('The end must be after the start.');
    if (end - start > MAX_RANGE_MS) return setFormError('A range can be at most 31 days.');
    setAbsolute(start, end);
    close();
  };

  return (
    <div className="time-range" ref={rootRef}>
      <button
        ref={buttonRef}
        type="button"
        className="btn btn-ghost tr-button"
        aria-haspopup="dialog"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={toggle}
        title={`${new Date(range.start).toLocaleString()} – ${new Date(range.end).toLocaleString()}`}
      >
        <span aria-hidden="true" className="tr-icon">
          ◷
        </span>
        <span className="sr-only">Time range: </span>
        <span data-testid="time-range-label">{range.label}</span>
        <span aria-hidden="true" className="tr-caret">
          ▾
        </span>
      </button>
      <button
        type="button"
        className="btn btn-ghost btn-icon"
        onClick={refresh}
        aria-label="Refresh"
        title="Refresh"
      >
        ⟳
      </button>
      <select
        className="tr-auto"
        aria-label="Auto-refresh"
        value={autoRefresh ?? ''}
        onChange={(e) => setAutoRefresh(e.target.value || null)}
        disabled={!range.relative}
        title={range.relative ? 'Auto-refresh' : 'Auto-refresh needs a range ending now'}
      >
        <option value="">Auto-refresh off</option>
        {AUTO_REFRESH.map((a) => (
          <option key={a.value} value={a.value}>
            {a.label}
          </option>
        ))}
      </select>
      {open ? (
        <div
          className="tr-panel card"
          id={panelId}
          role="dialog"
          aria-label="Choose a time range"
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.stopPropagation();
              close();
            }
          }}
        >
          <div className="tr-presets">
            <div className="tr-heading">Quick ranges</div>
            {PRESETS.map((p) => (
              <button
                key={p.from}
                type="button"
                className={
                  range.relative && range.from === p.from ? 'tr-preset tr-preset-active' : 'tr-preset'
                }
                onClick={() => {
                  setRange(p.from, 'now');
                  close();
                }}
              >
                {p.label}
              </button>
            ))}
          </div>
          <form className="tr-custom form" onSubmit={apply}>
            <div className="tr-heading">Absolute range</div>
            <label className="field">
              <span>From</span>
              <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} required />
            </label>
            <label className="field">
              <span>To</span>
              <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} required />
            </label>
            {formError ? (
              <div className="tr-error" role="alert">
                {formError}
              </div>
            ) : null}
            <button type="submit" className="btn btn-primary tr-apply">
              Apply range
            </button>
            <p className="muted tr-hint">
              Times are in your browser's time zone. Drag across a chart to zoom.
            </p>
          </form>
        </div>
      ) : null}
    </div>
  );
}
