import type { QueryParams } from '../../lib/tunnel/index.ts';
import {
  type MonitorSpec,
  monitorInput,
  type SilenceSpec,
  type SqlDryRunResult,
  type TargetSpec,
  type TargetView,
} from '../../lib/tunnel/monitors.ts';
import type { ClickhouseStore } from '../clickhouse/store.ts';
import type { ClickhouseReader } from '../portal/clickhouseReader.ts';
import { jsonAnswer, type QueryAnswer, type QueryContext, QueryError } from '../portal/query.ts';
import type { QueryHandlers } from '../portal/queryRouter.ts';
import { checkRange } from '../portal/timeRange.ts';
import { lastTransitionAt, readCurrent, readHistory, readNewestTransitions } from './alertHistory.ts';
import { MonitorConfigStore, type StoredTarget } from './configStore.ts';
import {
  compileCondition,
  type GroupValue,
  MAX_GROUPS,
  runSqlCondition,
  SqlConditionError,
  sqlEvaluationError,
  sqlTimeoutMs,
} from './sqlCondition.ts';
import { TargetSecretError, type TargetSecretKeys } from './targetSecrets.ts';
import { TEMPLATES, TemplateError, templateList } from './templates.ts';
import { sendTestNotification } from './testNotification.ts';

export interface MonitorBackends {
  /** Writes definitions (not read-only: this is the one place the portal changes anything). */
  store: ClickhouseStore;
  /** Reads alert state and history with the portal's bounds. */
  reader: ClickhouseReader;
  /** When set, a PromQL monitor's query is checked by VictoriaMetrics before it is stored. */
  victoriaMetricsUrl?: string;
  maxRangeMs: number;
  /** Seal target secrets before they are stored; without them `targets.put` is refused (503). */
  secrets?: TargetSecretKeys;
}

/**
 * A target as any API shows it: the URL's host and the header names, never the URL or header values. Built from
 * the stored row's clear part, so listing needs no key (rows from before encryption: from their clear URL).
 */
export function targetView(t: StoredTarget | TargetSpec): TargetView {
  const stored = t as StoredTarget;
  return {
    id: t.id,
    name: t.name,
    type: t.type,
    host: stored.host ?? new URL(t.url ?? '').host,
    headerNames: stored.headerNames ?? Object.keys(t.headers ?? {}),
  };
}

/**
 * The portal's monitor kinds (lib/tunnel/monitors.ts). The edge has already checked the caller's role (viewer to
 * read, editor to change); the evaluator picks changes up from ClickHouse on its next sync.
 */
export function monitorHandlers(b: MonitorBackends): QueryHandlers {
  const config = new MonitorConfigStore(b.store, b.secrets);

  const putMonitor = async (input: unknown, ctx: QueryContext): Promise<QueryAnswer> => {
    const parsed = monitorInput.safeParse(input);
    if (!parsed.success)
      throw new QueryError('bad_request', `cannot store monitor: ${parsed.error.issues[0]?.message}`);
    const spec: MonitorSpec = { ...parsed.data, id: parsed.data.id ?? MonitorConfigStore.newId('monitor') };
    await checkMonitor(spec, config, b, ctx);
    await config.put('monitor', spec);
    return jsonAnswer({ monitor: spec });
  };

  return {
    'monitors.list': async (_p, ctx) => {
      const [monitors, alerts, newest] = await Promise.all([
        config.list('monitor'),
        readCurrent(b.reader, ctx),
        readNewestTransitions(b.reader, ctx),
      ]);
      return jsonAnswer({
        monitors: monitors.map((m) => {
          const own = alerts.filter((a) => a.monitorId === m.id);
          return {
            ...m,
            alerts: {
              pending: own.filter((a) => a.state === 'pending').length,
              firing: own.filter((a) => a.state === 'firing').length,
            },
            lastTransitionAt: lastTransitionAt(own, newest.get(m.id)),
          };
        }),
      });
    },
    'monitors.get': async (p: QueryParams<'monitors.get'>, ctx) => {
      const monitor = await config.get('monitor', p.id);
      if (!monitor) throw new QueryError('not_found', `no monitor ${p.id}`);
      const [current, newest] = await Promise.all([
        readCurrent(b.reader, ctx),
        readNewestTransitions(b.reader, ctx),
      ]);
      const alerts = current.filter((a) => a.monitorId === p.id);
      // Beside the monitor, not in it: `monitor` stays exactly what a PUT takes back.
      return jsonAnswer({ monitor, alerts, lastTransitionAt: lastTransitionAt(alerts, newest.get(p.id)) });
    },
    'monitors.put': async (p: QueryParams<'monitors.put'>, ctx) => putMonitor(p.monitor, ctx),
    'monitors.delete': async (p: QueryParams<'monitors.delete'>) => {
      if (!(await config.delete('monitor', p.id))) throw new QueryError('not_found', `no monitor ${p.id}`);
      return jsonAnswer({ deleted: p.id });
    },
    'monitors.dryRun': async (p: QueryParams<'monitors.dryRun'>, ctx) => {
      const at = Date.now();
      const started = performance.now();
      let groups: GroupValue[];
      try {
        groups = await runSqlCondition(b.reader, p.condition, at, {
          timeoutMs: Math.min(ctx.timeoutMs, sqlTimeoutMs(p.intervalSeconds)),
          signal: ctx.signal,
        });
      } catch (err) {
        // The words the evaluator would log; the code of a limit (timeout, too_large) is kept.
        const code =
          err instanceof QueryError
            ? err.code
            : err instanceof SqlConditionError
              ? 'bad_request'
              : 'internal';
        throw new QueryError(code, sqlEvaluationError(err));
      }
      const result: SqlDryRunResult = {
        at,
        windowSeconds: p.condition.windowSeconds,
        groups,
        holds: groups.some((g) => g.holds),
        truncated: groups.length >= MAX_GROUPS,
        durationMs: Math.round(performance.now() - started),
      };
      return jsonAnswer({ result });
    },
    'monitors.templates': async () => jsonAnswer({ templates: templateList() }),
    'monitors.fromTemplate': async (p: QueryParams<'monitors.fromTemplate'>, ctx) => {
      const template = TEMPLATES.find((t) => t.id === p.template);
      if (!template) throw new QueryError('not_found', `no monitor template ${p.template}`);
      let input: ReturnType<typeof template.build>;
      try {
        input = template.build(p.params);
      } catch (err) {
        if (err instanceof TemplateError || err instanceof Error)
          throw new QueryError('bad_request', err.message);
        throw err;
      }
      return putMonitor({ ...input, targets: p.targets }, ctx);
    },
    'alerts.list': async (_p, ctx) => jsonAnswer({ alerts: await readCurrent(b.reader, ctx) }),
    'alerts.history': async (p: QueryParams<'alerts.history'>, ctx) => {
      checkRange(p, b.maxRangeMs);
      return jsonAnswer({ history: await readHistory(b.reader, p, ctx) });
    },
    'targets.list': async () => jsonAnswer({ targets: (await config.list('target')).map(targetView) }),
    'targets.put': async (p: QueryParams<'targets.put'>) => {
      const spec: TargetSpec = { ...p.target, id: p.target.id ?? MonitorConfigStore.newId('target') };
      try {
        await config.put('target', spec);
      } catch (err) {
        // The portal's configuration, not the caller's input: 503 with the reason.
        if (err instanceof TargetSecretError) throw new QueryError('unavailable', err.message);
        throw err;
      }
      return jsonAnswer({ target: targetView(spec) });
    },
    'targets.delete': async (p: QueryParams<'targets.delete'>) => {
      const users = (await config.list('monitor')).filter((m) => m.targets.includes(p.id)).map((m) => m.id);
      if (users.length > 0)
        throw new QueryError('bad_request', `cannot delete target ${p.id}: used by ${users.join(', ')}`);
      if (!(await config.delete('target', p.id))) throw new QueryError('not_found', `no target ${p.id}`);
      return jsonAnswer({ deleted: p.id });
    },
    'targets.test': async (p: QueryParams<'targets.test'>, ctx) => {
      const stored = await config.get('target', p.id);
      if (!stored) throw new QueryError('not_found', `no target ${p.id}`);
      const opened = config.openTargets([stored]);
      const target = opened.targets[0];
      // A key problem is the cluster's configuration, not the caller's input (as for targets.put).
      if (!target)
        throw new QueryError('unavailable', opened.unreadableTargets[0]?.error ?? 'cannot open target');
      return jsonAnswer({ result: await sendTestNotification(target, p.requestedBy, ctx.signal) });
    },
    'silences.list': async () => jsonAnswer({ silences: await config.list('silence') }),
    'silences.put': async (p: QueryParams<'silences.put'>) => {
      const spec: SilenceSpec = { ...p.silence, id: p.silence.id ?? MonitorConfigStore.newId('silence') };
      await config.put('silence', spec);
      return jsonAnswer({ silence: spec });
    },
    'silences.delete': async (p: QueryParams<'silences.delete'>) => {
      if (!(await config.delete('silence', p.id))) throw new QueryError('not_found', `no silence ${p.id}`);
      return jsonAnswer({ deleted: p.id });
    },
  };
}

/** Refuses a monitor that could never run: unknown targets, a bad filter, a query VictoriaMetrics rejects. */
async function checkMonitor(
  m: MonitorSpec,
  config: MonitorConfigStore,
  b: MonitorBackends,
  ctx: QueryContext,
): Promise<void> {
  const targets = new Set((await config.list('target')).map((t) => t.id));
  const missing = m.targets.filter((t) => !targets.has(t));
  if (missing.length > 0)
    throw new QueryError('bad_request', `cannot store monitor: no notification target ${missing.join(', ')}`);
  if (m.condition.type === 'sql') {
    try {
      compileCondition(m.condition, Date.now());
    } catch (err) {
      if (err instanceof SqlConditionError || err instanceof Error)
        throw new QueryError('bad_request', `cannot store monitor: ${err.message}`);
    }
    return;
  }
  if (!b.victoriaMetricsUrl) return;
  const url = new URL('/api/v1/query', b.victoriaMetricsUrl);
  url.searchParams.set('query', m.condition.query);
  const res = await fetch(url, { signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]) });
  if (res.status === 400 || res.status === 422) {
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    throw new QueryError(
      'bad_request',
      `cannot store monitor: VictoriaMetrics refused the query: ${body.error ?? ''}`,
    );
  }
  await res.arrayBuffer().catch(() => undefined);
}
