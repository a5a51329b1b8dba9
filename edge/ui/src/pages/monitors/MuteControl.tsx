/**
 * Mute a whole monitor for a while: a silence whose one matcher is the monitor's label (the evaluator sets it on
 * every alert of the monitor). Alerts still change state and are recorded in history as `silenced`; nobody is
 * notified until the silence ends. Unmute ends that silence.
 */
import type { ClusterRef } from '../../clusterApi.ts';
import type { Action } from '../../useAction.ts';
import { MONITOR_LABEL, monitorsApi, type Silence } from './monitorsApi.ts';

const DURATIONS = [
  { label: '30 minutes', ms: 30 * 60_000 },
  { label: '1 hour', ms: 3_600_000 },
  { label: '4 hours', ms: 4 * 3_600_000 },
  { label: '1 day', ms: 86_400_000 },
  { label: '1 week', ms: 7 * 86_400_000 },
];

export function MuteControl(props: {
  cluster: ClusterRef;
  monitorId: string;
  monitorName: string;
  mute: Silence | undefined;
  onChanged: () => unknown;
  /** The owner's action: its busy state disables this control, its error shows where the owner puts it. */
  action: Action;
}) {
  const { cluster, monitorId, monitorName, mute, onChanged, action } = props;
  const busy = action.busy;
  const act = (f: () => Promise<unknown>) =>
    action.run(async () => {
      await f();
      await onChanged();
    });
  if (mute) {
    return (
      <button
        type="button"
        className="btn btn-ghost btn-sm"
        disabled={busy}
        aria-label={`Unmute ${monitorName}`}
        onClick={() => act(() => monitorsApi.endSilence(cluster, mute.id))}
      >
        Unmute
      </button>
    );
  }
  return (
    <select
      className="inline-select mon-mute"
      aria-label={`Mute ${monitorName}`}
      value=""
      disabled={busy}
      onChange={(e) => {
        const ms = Number(e.target.value);
        if (!ms) return;
        const now = Date.now();
        void act(() =>
          monitorsApi.createSilence(cluster, {
            matchers: { [MONITOR_LABEL]: monitorId },
            startsAt: now,
            endsAt: now + ms,
            comment: `Muted from the monitors page for ${DURATIONS.find((d) => d.ms === ms)?.label}`,
          }),
        );
      }}
    >
      <option value="">Mute…</option>
      {DURATIONS.map((d) => (
        <option key={d.ms} value={d.ms}>
          for {d.label}
        </option>
      ))}
    </select>
  );
}
