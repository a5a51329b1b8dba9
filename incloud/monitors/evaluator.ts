import type { Registry } from 'prom-client';
import type { Component, HealthStatus } from '../../lib/component.ts';
import { logger } from '../../lib/log.ts';
import type { MonitorSpec } from '../../lib/tunnel/monitors.ts';
import type { ClickhouseStore } from '../clickhouse/store.ts';
import { ClickhouseReader } from '../portal/clickhouseReader.ts';
import { defaultLimits, type PortalLimits } from '../portal/limits.ts';
import { historyRow, type Notified, readCurrent } from './alertHistory.ts';
import { AlertReceiver, type PostableAlert } from './alertReceiver.ts';
import { AlertTracker, fingerprint, type Transition } from './alertTracker.ts';
import { type MonitorConfig, MonitorConfigStore, type StoredTarget } from './configStore.ts';
import { MonitorMetrics } from './metrics.ts';
import { DEFAULT_NOTIFIER, isSilenced, Notifier, type NotifierOptions } from './notifier.ts';
import { notificationAlert, renderMessage } from './payloads.ts';
import { runSqlCondition, sqlEvaluationError, sqlTimeoutMs } from './sqlCondition.ts';
import type { TargetSecretKeys } from './targetSecrets.ts';
import {
  checkExpr,
  MONITOR_LABEL,
  reloadVmalert,
  renderRules,
  ruleExpr,
  vmalertAlerts,
  writeRulesFile,
} from './vmalertRules.ts';

export interface MonitorEvaluatorOptions {
  /** Config, SQL monitor data and alert history. Taken, not owned (shared with the other components). */
  store: ClickhouseStore;
  /**
   * vmalert evaluates the PromQL monitors; without it they are stored but not evaluated (health says so).
   * `datasourceUrl` (vmalert's VictoriaMetrics) checks each expression before it enters the rules file.
   */
  vmalert?: { url: string; rulesFile: string; datasourceUrl?: string };
  /** The Alertmanager-compatible receiver vmalert's -notifier.url points at. */
  receiver?: { host: string; port: number };
  /** How often definitions are re-read from ClickHouse (changes by the portal take effect within this). */
  syncIntervalMs?: number;
  /** How often due SQL monitors are looked for. */
  tickMs?: number;
  notifier?: Partial<NotifierOptions>;
  limits?: PortalLimits['clickhouse'];
  registry?: Registry;
  /**
   * Open the targets' sealed secrets (and seal them again after a key rotation). Without them, targets sealed
   * by the portal cannot be notified (reported in health, counted as failed notifications).
   */
  secrets?: TargetSecretKeys;
}

/**
 * The in-cluster monitors evaluator. PromQL monitors: renders vmalert's rules file from the definitions, reloads
 * vmalert, and takes its alerts on an Alertmanager-compatible receiver (firing/resolved) plus its alert list
 * (pending). SQL monitors: runs each compiled, bounded, read-only query on its own interval and applies `for`.
 * Both feed one AlertTracker; each transition is written to ClickHouse `alert_history` and, when it is a firing
 * or a firing->resolved one and no silence matches, notified once through the Notifier. Everything runs on the
 * event loop of this process; at most one evaluation per monitor runs at a time.
 */
export class MonitorEvaluator implements Component {
  readonly name = 'monitors';
  readonly tracker = new AlertTracker();
  readonly metrics: MonitorMetrics;
  readonly config: MonitorConfigStore;
  private readonly reader: ClickhouseReader;
  private readonly notifier: Notifier;
  private readonly receiver: AlertReceiver | undefined;
  private readonly log = logger('monitors');
  private current: MonitorConfig = { monitors: [], targets: [], unreadableTargets: [], silences: [] };
  /** The unreadable targets last logged, so each change is logged once rather than every sync. */
  private loggedUnreadable = '';
  /** Specs of monitors seen, kept after deletion so their last transitions still render. */
  private readonly known = new Map<string, MonitorSpec>();
  private readonly nextDue = new Map<string, number>();
  private readonly running = new Set<string>();
  private readonly evaluations = new Set<Promise<void>>();
  /** PromQL instances: when vmalert's last report said the alert ends unless it is reported again. */
  private readonly promEndsAt = new Map<string, number>();
  private readonly checked = new Map<string, { expr: string; error: string | undefined }>();
  private rules: string | undefined;
  private rulesDirty = true;
  private lastError: string | undefined;
  private vmalertError: string | undefined;
  private timers: NodeJS.Timeout[] = [];
  private history: Promise<void> = Promise.resolve();
  private syncing: Promise<void> | undefined;
  private started = false;
  private stopping = false;

  constructor(private readonly opts: MonitorEvaluatorOptions) {
    this.metrics = new MonitorMetrics(opts.registry);
    this.config = new MonitorConfigStore(opts.store, opts.secrets);
    this.reader = new ClickhouseReader(opts.store, opts.limits ?? defaultLimits().clickhouse);
    this.notifier = new Notifier({ ...DEFAULT_NOTIFIER, ...opts.notifier, metrics: this.metrics });
    if (opts.receiver)
      this.receiver = new AlertReceiver(
        opts.receiver.host,
        opts.receiver.port,
        (alerts, at) => this.onVmalertAlerts(alerts, at),
        () => this.metrics.alertsInvalid.inc(),
      );
  }

  /** The receiver's port (after start), for vmalert's -notifier.url. */
  get receiverPort(): number {
    return this.receiver?.port ?? 0;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.restoreState();
    await this.sync();
    await this.receiver?.listen();
    this.timers.push(
      setInterval(() => {
        if (this.syncing || this.stopping) return;
        this.syncing = this.sync().finally(() => {
          this.syncing = undefined;
        });
      }, this.syncMs()),
    );
    this.timers.push(setInterval(() => this.tick(), this.opts.tickMs ?? 500));
  }

  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.syncing;
    await Promise.allSettled([...this.evaluations]);
    await this.receiver?.close();
    await this.notifier.shutdown();
    await this.history;
  }

  async health(): Promise<HealthStatus> {
    const n = this.current.monitors.length;
    const invalid = this.invalidMonitors.map((i) => i.id);
    const unreadable = this.current.unreadableTargets;
    const vm =
      (unreadable.length > 0
        ? `; cannot notify target(s) ${unreadable.map((u) => u.id).join(', ')}: ${unreadable[0]!.error}`
        : '') +
      (this.opts.vmalert ? '' : '; no vmalert: PromQL monitors are not evaluated') +
      (invalid.length > 0 ? `; PromQL refused by VictoriaMetrics: ${invalid.join(', ')}` : '') +
      (this.vmalertError ? `; ${this.vmalertError}` : '');
    if (this.lastError) return { ok: false, detail: `${n} monitors; ${this.lastError}${vm}` };
    return { ok: this.started, detail: `${n} monitors, ${this.tracker.list().length} active alerts${vm}` };
  }

  /**
   * Re-reads definitions; rewrites and reloads vmalert's rules when PromQL monitors changed. A ClickHouse
   * failure makes the component unhealthy; a vmalert or VictoriaMetrics failure is only reported (and retried
   * next sync): SQL monitors keep running, and `up` starts vmalert after this process is healthy.
   */
  async sync(): Promise<void> {
    let next: MonitorConfig;
    try {
      const loaded = await this.config.load();
      next = loaded;
      this.lastError = undefined;
      this.watchTargetSecrets(loaded.storedTargets, loaded.unreadableTargets);
      // After a key rotation (or rows from before encryption): seal again; the next sync reads the new rows.
      if (MonitorConfigStore.staleCount(loaded.storedTargets, this.opts.secrets) > 0) {
        const resealed = await this.config.resealStale();
        if (resealed > 0)
          this.log.info({ resealed }, 'notification target secrets sealed with the current key');
      }
    } catch (err) {
      if (this.stopping) return;
      this.lastError = `cannot load monitors: ${(err as Error).message}`;
      this.log.warn({ err }, 'cannot load monitors');
      return;
    }
    const at = Date.now();
    const enabled = new Set(next.monitors.filter((m) => m.enabled).map((m) => m.id));
    // Alerts of monitors that are gone or disabled resolve (also ones restored from history at start-up).
    const active = new Set(this.tracker.list().map((a) => a.monitorId));
    for (const id of active) if (!enabled.has(id)) this.apply(this.tracker.forget(id, at));
    for (const m of next.monitors) this.known.set(m.id, m);
    this.current = next;
    if (!this.opts.vmalert) return;
    try {
      const rules = renderRules(await this.validPromql(next.monitors));
      if (rules !== this.rules) this.rulesDirty = true;
      this.rules = rules;
      if (this.rulesDirty) await this.reloadRules(rules);
      await this.reconcileVmalert(at);
      this.vmalertError = undefined;
    } catch (err) {
      if (this.stopping) return;
      this.vmalertError = `cannot update vmalert: ${(err as Error).message}`;
      this.log.warn({ err: (err as Error).message }, 'cannot update vmalert');
    }
  }

  /** Gauges and logs the targets' secret states; an unreadable target is logged once per change, as an error. */
  private watchTargetSecrets(stored: StoredTarget[], unreadable: MonitorConfig['unreadableTargets']): void {
    const stale = MonitorConfigStore.staleCount(stored, this.opts.secrets);
    this.metrics.targetSecrets.set({ state: 'unreadable' }, unreadable.length);
    this.metrics.targetSecrets.set({ state: 'stale' }, stale);
    this.metrics.targetSecrets.set({ state: 'current' }, stored.length - stale - unreadable.length);
    const key = unreadable.map((u) => u.error).join('\n');
    if (key !== this.loggedUnreadable && unreadable.length > 0)
      for (const u of unreadable) this.log.error({ target: u.id }, u.error);
    this.loggedUnreadable = key;
  }

  /** Monitors whose PromQL VictoriaMetrics refuses are left out of the rules file (and reported in health). */
  private async validPromql(monitors: MonitorSpec[]): Promise<MonitorSpec[]> {
    const vmUrl = this.opts.vmalert?.datasourceUrl;
    if (!vmUrl) return monitors;
    const out: MonitorSpec[] = [];
    for (const m of monitors) {
      if (m.condition.type !== 'promql' || !m.enabled) {
        out.push(m);
        continue;
      }
      const expr = ruleExpr(m.condition);
      let verdict = this.checked.get(m.id);
      if (verdict?.expr !== expr) {
        verdict = { expr, error: await checkExpr(vmUrl, expr) };
        this.checked.set(m.id, verdict);
        if (verdict.error) this.log.warn({ monitor: m.id, error: verdict.error }, 'PromQL monitor left out');
      }
      if (!verdict.error) out.push(m);
    }
    return out;
  }

  /** Monitors left out of vmalert's rules because their expression does not parse. */
  get invalidMonitors(): { id: string; error: string }[] {
    const live = new Set(this.current.monitors.map((m) => m.id));
    return [...this.checked]
      .filter(([id, v]) => v.error && live.has(id))
      .map(([id, v]) => ({ id, error: v.error! }));
  }

  private async reloadRules(rules: string): Promise<void> {
    const vm = this.opts.vmalert!;
    try {
      await writeRulesFile(vm.rulesFile, rules);
      await reloadVmalert(vm.url);
      this.rulesDirty = false;
      this.metrics.ruleReloads.inc({ result: 'ok' });
    } catch (err) {
      // Before vmalert runs (start-up order) the file is written and the reload fails: retried next sync.
      this.metrics.ruleReloads.inc({ result: 'error' });
      throw err;
    }
  }

  /** Pending alerts from vmalert's list; pending ones it no longer lists and stale firing ones end. */
  private async reconcileVmalert(at: number): Promise<void> {
    const listed = new Set<string>();
    for (const a of await vmalertAlerts(this.opts.vmalert!.url)) {
      const id = a.labels[MONITOR_LABEL];
      if (!id || !this.isLivePromql(id)) continue;
      const labels = stripVmalertLabels(a.labels);
      listed.add(fingerprint(id, labels));
      if (a.state === 'pending')
        this.apply(this.tracker.reported(id, labels, 'pending', Number(a.value), at, Date.parse(a.activeAt)));
    }
    for (const alert of this.tracker.list()) {
      const m = this.known.get(alert.monitorId);
      if (m?.condition.type !== 'promql') continue;
      const ends = this.promEndsAt.get(alert.fingerprint);
      const stale = alert.state === 'firing' && ends !== undefined && at > ends + 2 * this.syncMs();
      const gone = alert.state === 'pending' && !listed.has(alert.fingerprint);
      if (stale || gone)
        this.apply(this.tracker.reported(alert.monitorId, alert.labels, 'resolved', alert.value, at, 0));
    }
  }

  /**
   * Whether vmalert's report about `id` still counts: a push evaluated before a monitor was deleted, disabled or
   * changed to SQL may arrive after the sync that ended its alerts, and must not start them again.
   */
  private isLivePromql(id: string): boolean {
    return this.current.monitors.some((m) => m.id === id && m.enabled && m.condition.type === 'promql');
  }

  private syncMs(): number {
    return this.opts.syncIntervalMs ?? 5000;
  }

  /** vmalert's pushes: endsAt in the future means firing, in the past resolved (Alertmanager's rule). */
  private onVmalertAlerts(alerts: PostableAlert[], receivedAt: number): void {
    for (const a of alerts) {
      const id = a.labels[MONITOR_LABEL];
      if (!id || !this.isLivePromql(id)) {
        this.metrics.alertsReceived.inc({ state: 'unknown_monitor' });
        continue;
      }
      const labels = stripVmalertLabels(a.labels);
      const endsAt = a.endsAt ? Date.parse(a.endsAt) : Number.POSITIVE_INFINITY;
      const state = endsAt <= receivedAt ? 'resolved' : 'firing';
      this.metrics.alertsReceived.inc({ state });
      const value = Number(a.annotations.value);
      const startsAt = a.startsAt ? Date.parse(a.startsAt) : receivedAt;
      if (state === 'firing') this.promEndsAt.set(fingerprint(id, labels), endsAt);
      else this.promEndsAt.delete(fingerprint(id, labels));
      this.apply(this.tracker.reported(id, labels, state, value, receivedAt, startsAt));
    }
  }

  private tick(): void {
    const now = Date.now();
    for (const m of this.current.monitors) {
      if (!m.enabled || m.condition.type !== 'sql' || this.running.has(m.id)) continue;
      if ((this.nextDue.get(m.id) ?? 0) > now) continue;
      this.nextDue.set(m.id, now + m.intervalSeconds * 1000);
      this.running.add(m.id);
      const p = this.evaluateSql(m, now).finally(() => {
        this.running.delete(m.id);
        this.evaluations.delete(p);
      });
      this.evaluations.add(p);
    }
  }

  /** One evaluation of a SQL monitor at `at`; errors are counted and logged, the next interval tries again. */
  async evaluateSql(m: MonitorSpec, at: number): Promise<void> {
    if (m.condition.type !== 'sql') return;
    const c = m.condition;
    try {
      const values = await runSqlCondition(this.reader, c, at, {
        timeoutMs: sqlTimeoutMs(m.intervalSeconds),
      });
      const seen = new Set<string>();
      const out: Transition[] = [];
      for (const { group, value, holds } of values) {
        if (!holds) continue;
        const labels = { ...m.labels, severity: m.severity, [MONITOR_LABEL]: m.id };
        if (c.groupBy !== undefined) Object.assign(labels, { [c.groupBy]: group });
        seen.add(fingerprint(m.id, labels));
        out.push(...this.tracker.active(m.id, labels, value, at, m.forSeconds * 1000));
      }
      out.push(...this.tracker.sweep(m.id, seen, at));
      this.apply(out);
      this.metrics.evaluations.inc({ type: 'sql', outcome: 'ok' });
    } catch (err) {
      this.metrics.evaluations.inc({ type: 'sql', outcome: 'error' });
      this.log.warn({ monitor: m.id, err: sqlEvaluationError(err) }, 'cannot evaluate SQL monitor');
    }
  }

  /** Records and notifies transitions, in order. History inserts are chained so rows keep their order. */
  private apply(transitions: Transition[]): void {
    for (const t of transitions) {
      this.metrics.transitions.inc({ to: t.to });
      const m = this.known.get(t.monitorId);
      if (!m) {
        // A monitor deleted while the evaluator was down: its restored alerts end in history, unnotified.
        this.record(
          historyRow({
            transition: t,
            monitorName: t.monitorId,
            severity: '',
            message: '',
            notified: 'none',
          }),
        );
        continue;
      }
      const message = renderMessage(m, t);
      const notify = t.to === 'firing' || (t.to === 'resolved' && t.from === 'firing');
      let notified: Notified = 'none';
      if (notify && isSilenced(this.current.silences, t.labels, t.at)) {
        notified = 'silenced';
        this.metrics.notifications.inc({ outcome: 'silenced' });
      } else if (notify) {
        for (const targetId of m.targets) {
          const target = this.current.targets.find((x) => x.id === targetId);
          if (!target) {
            const unreadable = this.current.unreadableTargets.find((x) => x.id === targetId);
            if (unreadable) {
              this.metrics.notifications.inc({ outcome: 'failed' });
              this.log.error({ monitor: m.id, target: targetId }, `cannot notify: ${unreadable.error}`);
            }
            continue;
          }
          this.notifier.enqueue(m, target, notificationAlert(m, t));
          notified = 'sent';
        }
      }
      this.record(
        historyRow({ transition: t, monitorName: m.name, severity: m.severity, message, notified }),
      );
    }
    const list = this.tracker.list();
    this.metrics.activeAlerts.set({ state: 'pending' }, list.filter((a) => a.state === 'pending').length);
    this.metrics.activeAlerts.set({ state: 'firing' }, list.filter((a) => a.state === 'firing').length);
  }

  /** History inserts are chained so rows keep their order; a failed insert is logged, not retried. */
  private record(row: Record<string, unknown>): void {
    this.history = this.history
      .then(() => this.opts.store.insert('alert_history', [row]))
      .catch((err) => this.log.error({ err }, 'cannot record alert transition'));
  }

  /** Picks up pending/firing instances from history, so a restart neither forgets nor re-notifies them. */
  private async restoreState(): Promise<void> {
    const grace = Date.now() + 4 * this.syncMs();
    for (const a of await readCurrent(this.reader)) {
      this.tracker.restore(a.fingerprint, a);
      this.promEndsAt.set(a.fingerprint, grace);
    }
  }

  /** Resolves once every recorded transition so far is in ClickHouse (tests, shutdown). */
  async flushHistory(): Promise<void> {
    await this.history;
  }
}

/** vmalert adds alertname/alertgroup; the identity and the user's view are the rule's own labels. */
function stripVmalertLabels(labels: Record<string, string>): Record<string, string> {
  const { alertname: _n, alertgroup: _g, ...rest } = labels;
  return rest;
}
