/** Small pieces shared by the monitors views: state and severity badges, label chips, live polling. */
import { useEffect } from 'react';
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
