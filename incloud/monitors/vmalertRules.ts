import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { MonitorSpec } from '../../lib/tunnel/monitors.ts';

/** The label that ties a vmalert alert back to its monitor. */
export const MONITOR_LABEL = 'understory_monitor';

/**
 * vmalert's rules file for the enabled PromQL monitors: one group per monitor (its own interval), one alerting
 * rule `(<query>) <op> <threshold>`. Written as JSON, which is YAML, so every string is escaped by
 * JSON.stringify and no user text can change the file's structure. The only annotation is the value; the
 * message template is rendered by the evaluator, so no user text reaches vmalert's Go templating (label values
 * with `{{` are refused by the schema).
 */
export function renderRules(monitors: readonly MonitorSpec[]): string {
  const groups = monitors
    .filter((m) => m.enabled && m.condition.type === 'promql')
    .map((m) => {
      const c = m.condition as Extract<MonitorSpec['condition'], { type: 'promql' }>;
      return {
        name: m.id,
        interval: `${m.intervalSeconds}s`,
        rules: [
          {
            alert: m.id,
            expr: ruleExpr(c),
            for: `${m.forSeconds}s`,
            labels: { ...m.labels, severity: m.severity, [MONITOR_LABEL]: m.id },
            annotations: { value: '{{ $value }}' },
          },
        ],
      };
    });
  return `${JSON.stringify({ groups }, null, 2)}\n`;
}

export function ruleExpr(c: { query: string; op: string; threshold: number }): string {
  return `(${c.query}) ${c.op} ${c.threshold}`;
}

/**
 * Asks VictoriaMetrics (the same MetricsQL parser vmalert uses) whether `expr` parses: one bad expression
 * would make vmalert refuse the whole rules file and stop every monitor from being updated. Resolves to the
 * error text, or undefined when the expression is fine; throws when VictoriaMetrics cannot be asked.
 */
export async function checkExpr(
  vmUrl: string,
  expr: string,
  timeoutMs = 10_000,
): Promise<string | undefined> {
  const url = new URL('/api/v1/query', vmUrl);
  url.searchParams.set('query', expr);
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (res.status === 400 || res.status === 422) {
    try {
      return (JSON.parse(text) as { error?: string }).error ?? `HTTP ${res.status}`;
    } catch {
      return `HTTP ${res.status}`;
    }
  }
  if (!res.ok) throw new Error(`cannot check PromQL with VictoriaMetrics: HTTP ${res.status}`);
  return undefined;
}

/** Replaces the file atomically (write + rename), so vmalert never reads half a file. */
export async function writeRulesFile(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, content, { mode: 0o644 });
  await rename(tmp, path);
}

/** Asks vmalert to re-read its rule files (`/-/reload`); throws when it cannot. */
export async function reloadVmalert(vmalertUrl: string, timeoutMs = 5000): Promise<void> {
  const res = await fetch(new URL('/-/reload', vmalertUrl), { signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`cannot reload vmalert: HTTP ${res.status}`);
}

export interface VmalertAlert {
  state: 'pending' | 'firing';
  labels: Record<string, string>;
  value: string;
  activeAt: string;
}

/** The alerts vmalert currently holds (`/api/v1/alerts`): the only place pending PromQL alerts are visible. */
export async function vmalertAlerts(vmalertUrl: string, timeoutMs = 5000): Promise<VmalertAlert[]> {
  const res = await fetch(new URL('/api/v1/alerts', vmalertUrl), { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`cannot list vmalert alerts: HTTP ${res.status}`);
  const body = (await res.json()) as { data?: { alerts?: VmalertAlert[] | null } };
  return body.data?.alerts ?? [];
}
