/** Small shared pieces of the design system (styles in styles.css). */
import { type ReactNode, useState } from 'react';

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}...
    </div>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="alert alert-error" role="alert">
      {message}
    </div>
  );
}

export function EmptyState(props: { icon: string; title: string; children: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty">
      <div className="empty-icon" aria-hidden="true">
        {props.icon}
      </div>
      <h3>{props.title}</h3>
      <div className="empty-body">{props.children}</div>
      {props.action ? <div className="empty-action">{props.action}</div> : null}
    </div>
  );
}

/** A secret or command shown in full with a copy button. */
export function CopyBlock({ label, value, testId }: { label: string; value: string; testId?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopied(false);
    }
  };
  return (
    <div className="copyblock">
      <div className="copyblock-head">
        <span>{label}</span>
        <button type="button" className="btn btn-ghost btn-sm" onClick={copy}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <pre data-testid={testId}>
        <code>{value}</code>
      </pre>
    </div>
  );
}

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
/** "3 minutes ago" for recent times, the date for older ones, "never" for null. */
export function relativeTime(ms: number | null, now = Date.now()): string {
  if (ms === null) return 'never';
  const s = Math.round((ms - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 45) return 'just now';
  if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86_400) return rtf.format(Math.round(s / 3600), 'hour');
  if (abs < 30 * 86_400) return rtf.format(Math.round(s / 86_400), 'day');
  return new Date(ms).toLocaleDateString('en', { year: 'numeric', month: 'short', day: 'numeric' });
}

/** Lower-case DNS-label form of a display name, as the API wants for slugs. */
export function slugify(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
}

/** Placeholder rows shaped like the table that is loading, so the page does not jump when it arrives. */
export function TableSkeleton({ rows = 5, label }: { rows?: number; label: string }) {
  return (
    <div className="card skeleton" role="status" aria-label={label}>
      {Array.from({ length: rows }, (_, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: static placeholder rows
        <div key={i} className="skeleton-row">
          <span className="skeleton-bar" style={{ width: `${22 + ((i * 37) % 18)}%` }} />
          <span className="skeleton-bar" style={{ width: '12%' }} />
          <span className="skeleton-bar" style={{ width: '9%' }} />
          <span className="skeleton-bar" style={{ width: '9%' }} />
        </div>
      ))}
    </div>
  );
}
