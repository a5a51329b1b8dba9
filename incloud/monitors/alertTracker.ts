import { createHash } from 'node:crypto';
import type { AlertState, AlertView } from '../../lib/tunnel/monitors.ts';

/** One change of one alert instance; the only thing history and notifications are made from. */
export interface Transition {
  monitorId: string;
  fingerprint: string;
  labels: Record<string, string>;
  from: AlertState | 'inactive';
  to: AlertState;
  value: number;
  /** Epoch ms of the change. */
  at: number;
  activeSince: number;
}

interface Instance {
  monitorId: string;
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  value: number;
  activeSince: number;
  firingSince: number | null;
}

/** Labels vmalert adds on its own; they must not change an alert's identity. */
const IGNORED_LABELS = new Set(['alertgroup', 'alertname']);

/** A stable id of one alert instance: its monitor and its sorted label set. */
export function fingerprint(monitorId: string, labels: Record<string, string>): string {
  const pairs = Object.entries(labels)
    .filter(([k]) => !IGNORED_LABELS.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([monitorId, pairs]))
    .digest('hex')
    .slice(0, 16);
}

/**
 * The alert state machine: inactive -> pending -> firing -> resolved (and pending -> resolved when the condition
 * stops holding before `for` elapsed). Every method returns the transitions it caused and nothing else, so a
 * repeated observation (vmalert resends a firing alert on every evaluation) yields none: that is what makes a
 * notification happen exactly once per transition. Called from the evaluator's single event loop only.
 */
export class AlertTracker {
  private readonly instances = new Map<string, Instance>();

  /**
   * An evaluation found the condition true for `labels` (SQL monitors; `for` handled here).
   * `forMs` 0 fires at once (no pending step).
   */
  active(monitorId: string, labels: Record<string, string>, value: number, at: number, forMs: number) {
    const fp = fingerprint(monitorId, labels);
    const out: Transition[] = [];
    let inst = this.instances.get(fp);
    if (!inst) {
      inst = { monitorId, labels, state: 'pending', value, activeSince: at, firingSince: null };
      this.instances.set(fp, inst);
      if (forMs > 0) out.push(this.transition(fp, inst, 'inactive', 'pending', at));
    }
    inst.value = value;
    if (inst.state === 'pending' && at - inst.activeSince >= forMs) {
      inst.state = 'firing';
      inst.firingSince = at;
      out.push(this.transition(fp, inst, forMs > 0 ? 'pending' : 'inactive', 'firing', at));
    }
    return out;
  }

  /** An evaluation of `monitorId` finished; instances not seen in it are no longer active. */
  sweep(monitorId: string, seen: ReadonlySet<string>, at: number): Transition[] {
    const out: Transition[] = [];
    for (const [fp, inst] of this.instances)
      if (inst.monitorId === monitorId && !seen.has(fp)) out.push(this.resolve(fp, inst, at));
    return out;
  }

  /** A state reported by vmalert (PromQL monitors: vmalert applies `for` itself). Idempotent. */
  reported(
    monitorId: string,
    labels: Record<string, string>,
    to: AlertState,
    value: number,
    at: number,
    activeSince: number,
  ): Transition[] {
    const fp = fingerprint(monitorId, labels);
    const inst = this.instances.get(fp);
    if (to === 'resolved') return inst ? [this.resolve(fp, inst, at)] : [];
    if (!inst) {
      const created: Instance = {
        monitorId,
        labels,
        state: to,
        value,
        activeSince,
        firingSince: to === 'firing' ? at : null,
      };
      this.instances.set(fp, created);
      return [this.transition(fp, created, 'inactive', to, at)];
    }
    inst.value = value;
    if (inst.state === 'pending' && to === 'firing') {
      inst.state = 'firing';
      inst.firingSince = at;
      return [this.transition(fp, inst, 'pending', 'firing', at)];
    }
    return [];
  }

  /** Every instance of a monitor that was deleted or disabled becomes resolved. */
  forget(monitorId: string, at: number): Transition[] {
    return this.sweep(monitorId, new Set(), at);
  }

  /** Restores an instance from history at start-up, without a transition (it was recorded before). */
  restore(fp: string, inst: Omit<Instance, 'value'> & { value: number }): void {
    this.instances.set(fp, { ...inst });
  }

  /** Instances of `monitorId` (or all) whose state is `state`. */
  list(): AlertView[] {
    return [...this.instances].map(([fp, i]) => ({
      monitorId: i.monitorId,
      fingerprint: fp,
      state: i.state,
      labels: i.labels,
      value: i.value,
      activeSince: i.activeSince,
      firingSince: i.firingSince,
    }));
  }

  private resolve(fp: string, inst: Instance, at: number): Transition {
    this.instances.delete(fp);
    return this.transition(fp, inst, inst.state, 'resolved', at);
  }

  private transition(
    fp: string,
    inst: Instance,
    from: Transition['from'],
    to: AlertState,
    at: number,
  ): Transition {
    return {
      monitorId: inst.monitorId,
      fingerprint: fp,
      labels: inst.labels,
      from,
      to,
      value: inst.value,
      at,
      activeSince: inst.activeSince,
    };
  }
}
