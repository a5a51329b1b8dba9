/** Small pieces shared by the monitors views: state and severity badges, label chips, live polling. */
import { useEffect } from 'react';
import { relativeTime } from '../../ui.tsx';
import type { MonitorState, Severity } from './monitorsApi.ts';

const STATE_TEXT: Record<MonitorState | 'resolved' | 'muted', string> = {
  firing: 'Firing',
  pending: 'Pending',
  ok: 'OK',
  disabled: 'Disabled',
  resolved: 'Resolved',
  muted: 'Muted',
};

export function StateBadge({ state }: { state: MonitorState | 'resolved' | 'muted' }) {
  return (
    <span className={`mon-state mon-state-${state}`} data-state={state}>
      <span className="mon-state-dot" aria-hidden="true" />
      {STATE_TEXT[state]}
    </span>
  );
}

/** A clock time today, or the date and time: when a state began. */
function stamp(ms: number, now: number): string {
  const d = new Date(ms);
  const time = d.toLocaleTimeString('en', { hour: '2-digit', minute: '2-digit', hour12: false });
  if (d.toDateString() === new Date(now).toDateString()) return time;
  return `${d.toLocaleDateString('en', { month: 'short', day: 'numeric' })}, ${time}`;
}

/**
 * "Firing since 10:42 (3 minutes ago)": since when a monitor is in its state (the API's `lastTransitionAt`,
 * from the cluster's alert history). Disabled monitors are not evaluated: no time.
 */
export function StateSince(props: {
  state: MonitorState;
  at: number | null;
  now: number;
  stacked?: boolean;
}) {
  const { state, at, now, stacked } = props;
  if (state === 'disabled') return <span className="muted">not evaluated</span>;
  if (at === null)
    return (
      <span className="mon-since" data-state-since="">
        <span className={`mon-to mon-to-${state}`}>{STATE_TEXT[state]}</span>
        <span className="muted">, no change in 30 days</span>
      </span>
    );
  return (
    <span className="mon-since" data-state-since={at} title={new Date(at).toLocaleString()}>
      <span className={`mon-to mon-to-${state}`}>{STATE_TEXT[state]}</span> since {stamp(at, now)}{' '}
      <span className={stacked ? 'muted mon-since-rel' : 'muted'}>({relativeTime(at, now)})</span>
    </span>
  );
}

export function SeverityBadge({ severity }: { severity: Severity | string }) {
  return <span className={`mon-sev mon-sev-${severity}`}>{severity}</span>;
}

/** `name=value` chips; the monitor's own label is left out (it is the row itself). */
export function LabelChips({ labels, skip = [] }: { labels: Record<string, string>; skip?: string[] }) {
  const entries = Object.entries(labels).filter(([k]) => !skip.includes(k));
  if (entries.length === 0) return <span className="muted">-</span>;
  return (
    <span className="mon-labels">
      {entries.map(([k, v]) => (
        <span key={k} className="mon-label">
          <span className="mon-label-k">{k}</span>=<span className="mon-label-v">{v}</span>
        </span>
      ))}
    </span>
  );
}

/**
 * Calls `tick` every `ms` while the tab is visible: alert state changes in the cluster on its own, so the
 * monitors views read it again without a page refresh (the cluster evaluates every few seconds).
 */
export function usePolling(tick: () => unknown, ms: number): void {
  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') void tick();
    }, ms);
    return () => clearInterval(t);
  }, [tick, ms]);
}

/** "3m 20s" style duration between two times. */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? ` ${s % 60}s` : ''}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? ` ${m % 60}m` : ''}`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Formats a monitor's value: whole numbers as they are, others to 4 significant digits. */
export function formatAlertValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Number(v.toPrecision(4)).toString();
}
