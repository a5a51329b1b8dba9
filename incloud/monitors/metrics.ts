import { Counter, Gauge, type Registry } from 'prom-client';

/** The evaluator's own metrics (on the process's admin /metrics). */
export class MonitorMetrics {
  readonly evaluations: Counter<'type' | 'outcome'>;
  readonly transitions: Counter<'to'>;
  readonly notifications: Counter<'outcome'>;
  readonly notificationAttempts: Counter<'result'>;
  readonly alertsReceived: Counter<'state'>;
  readonly alertsInvalid: Counter;
  readonly ruleReloads: Counter<'result'>;
  readonly activeAlerts: Gauge<'state'>;
  readonly targetSecrets: Gauge<'state'>;

  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    this.evaluations = new Counter({
      name: 'monitors_evaluations_total',
      help: 'SQL monitor evaluations by outcome (ok, error)',
      labelNames: ['type', 'outcome'],
      registers,
    });
    this.transitions = new Counter({
      name: 'monitors_transitions_total',
      help: 'Alert state transitions by new state',
      labelNames: ['to'],
      registers,
    });
    this.notifications = new Counter({
      name: 'monitors_notifications_total',
      help: 'Notifications by outcome (delivered, failed, dropped, silenced)',
      labelNames: ['outcome'],
      registers,
    });
    this.notificationAttempts = new Counter({
      name: 'monitors_notification_attempts_total',
      help: 'HTTP attempts to deliver notifications by result (ok, retry, permanent)',
      labelNames: ['result'],
      registers,
    });
    this.alertsReceived = new Counter({
      name: 'monitors_vmalert_alerts_received_total',
      help: 'Alerts received from vmalert on /api/v2/alerts by state',
      labelNames: ['state'],
      registers,
    });
    this.alertsInvalid = new Counter({
      name: 'monitors_vmalert_alerts_invalid_total',
      help: 'Requests to /api/v2/alerts refused as malformed',
      registers,
    });
    this.ruleReloads = new Counter({
      name: 'monitors_rule_reloads_total',
      help: 'vmalert rule file writes and reloads by result',
      labelNames: ['result'],
      registers,
    });
    this.activeAlerts = new Gauge({
      name: 'monitors_active_alerts',
      help: 'Alert instances currently pending or firing',
      labelNames: ['state'],
      registers,
    });
    this.targetSecrets = new Gauge({
      name: 'monitors_target_secrets',
      help:
        'Notification targets by the state of their stored secrets: current (sealed with the current key), ' +
        'stale (in clear or sealed with an older key; re-sealed on the next sync), unreadable (no matching key)',
      labelNames: ['state'],
      registers,
    });
  }
}
