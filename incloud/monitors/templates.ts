import type { MonitorInput } from '../../lib/tunnel/monitors.ts';
import { promString, RED_METRICS } from '../portal/redQueries.ts';

/**
 * Ready-made monitors a user turns on in one click (`monitors.fromTemplate`): the UI lists them with their
 * parameters, the user fills in the workload, the portal builds and stores the monitor. PromQL ones are built on
 * the sensor's RED histograms (the same names and error matcher as the services page, redQueries.ts); the others
 * are SQL monitors over Kubernetes events and logs.
 */
export interface TemplateParam {
  name: string;
  description: string;
  required: boolean;
  default?: string;
}

export interface MonitorTemplate {
  id: string;
  name: string;
  description: string;
  params: TemplateParam[];
  build(p: Record<string, string>): MonitorInput;
}

export class TemplateError extends Error {}

/** Values put into PromQL (quoted) or into a logs filter (quoted): names only, no quotes or spaces. */
const NAME = /^[A-Za-z0-9_.:/@-]{1,256}$/;

function name(p: Record<string, string>, key: string): string {
  const v = p[key];
  if (v === undefined || !NAME.test(v))
    throw new TemplateError(`cannot build the monitor: ${key} must be a name (A-Z a-z 0-9 _ . : / @ -)`);
  return v;
}

function number(p: Record<string, string>, key: string, fallback: number): number {
  if (p[key] === undefined) return fallback;
  const v = Number(p[key]);
  if (!Number.isFinite(v)) throw new TemplateError(`cannot build the monitor: ${key} must be a number`);
  return v;
}

const names = (suffix: string) => RED_METRICS.server.map((n) => `${n}${suffix}`).join('|');

function selector(suffix: string, where: Record<string, string>, extra?: string): string {
  const m = [`__name__=~${JSON.stringify(names(suffix))}`];
  for (const [k, v] of Object.entries(where)) m.push(`${k}=${promString(v)}`);
  if (extra) m.push(extra);
  return `{${m.join(', ')}}`;
}

const workloadParams: TemplateParam[] = [
  { name: 'namespace', description: 'Namespace of the workload', required: true },
  { name: 'workload', description: 'Workload (Deployment, StatefulSet...) name', required: true },
];

export const TEMPLATES: MonitorTemplate[] = [
  {
    id: 'workload-error-rate',
    name: 'Error rate of a workload',
    description: 'Share of failed requests a workload served over 5 minutes is above the threshold.',
    params: [
      ...workloadParams,
      { name: 'threshold', description: 'Failed share, 0..1', required: false, default: '0.05' },
    ],
    build(p) {
      const where = { namespace: name(p, 'namespace'), workload: name(p, 'workload') };
      const rate = (extra?: string) => `sum(rate(${selector('_count', where, extra)}[5m]))`;
      return {
        name: `Error rate of ${where.namespace}/${where.workload}`,
        severity: 'critical',
        condition: {
          type: 'promql',
          query: `${rate(RED_METRICS.errorMatcher)} / ${rate()}`,
          op: '>',
          threshold: number(p, 'threshold', 0.05),
        },
        intervalSeconds: 60,
        forSeconds: 300,
        labels: { namespace: where.namespace, workload: where.workload },
        message: '{{labels.workload}}: {{value}} of requests fail (threshold {{threshold}})',
      };
    },
  },
  {
    id: 'resource-p99-latency',
    name: 'p99 latency of a resource',
    description: "99th percentile latency of one of a workload's resources (route, method) over 5 minutes.",
    params: [
      ...workloadParams,
      { name: 'resource', description: 'The resource as the services page shows it', required: true },
      { name: 'threshold', description: 'Seconds', required: false, default: '1' },
    ],
    build(p) {
      const where = {
        namespace: name(p, 'namespace'),
        workload: name(p, 'workload'),
        resource: name(p, 'resource'),
      };
      return {
        name: `p99 latency of ${where.workload} ${where.resource}`,
        severity: 'warning',
        condition: {
          type: 'promql',
          query: `histogram_quantile(0.99, sum by (le) (rate(${selector('_bucket', where)}[5m])))`,
          op: '>',
          threshold: number(p, 'threshold', 1),
        },
        intervalSeconds: 60,
        forSeconds: 300,
        labels: where,
        message: '{{labels.workload}} {{labels.resource}}: p99 {{value}}s (threshold {{threshold}}s)',
      };
    },
  },
  eventTemplate(
    'pod-restarts',
    'Pod restarts',
    'A container keeps crashing: BackOff events in the last 10 minutes.',
    'BackOff',
  ),
  eventTemplate(
    'failed-scheduling',
    'Failed scheduling',
    'A pod cannot be scheduled: FailedScheduling events in the last 10 minutes.',
    'FailedScheduling',
  ),
  {
    id: 'error-log-burst',
    name: 'Error log burst',
    description: 'More error logs than the threshold from one service in 5 minutes.',
    params: [
      { name: 'service', description: 'Only this service (default: every service)', required: false },
      { name: 'threshold', description: 'Error lines in 5 minutes', required: false, default: '100' },
    ],
    build(p) {
      const only = p.service === undefined ? '' : ` service:"${name(p, 'service')}"`;
      return {
        name: p.service === undefined ? 'Error log burst' : `Error log burst in ${p.service}`,
        severity: 'warning',
        condition: {
          type: 'sql',
          source: 'logs',
          filter: `severity:error${only}`,
          aggregate: 'count',
          windowSeconds: 300,
          groupBy: 'service',
          op: '>',
          threshold: number(p, 'threshold', 100),
        },
        intervalSeconds: 60,
        forSeconds: 0,
        message: '{{labels.service}}: {{value}} error lines in 5 minutes',
      };
    },
  },
];

function eventTemplate(id: string, title: string, description: string, reason: string): MonitorTemplate {
  return {
    id,
    name: title,
    description,
    params: [{ name: 'namespace', description: 'Only this namespace (default: all)', required: false }],
    build(p) {
      const ns = p.namespace === undefined ? '' : ` namespace:"${name(p, 'namespace')}"`;
      return {
        name: p.namespace === undefined ? title : `${title} in ${p.namespace}`,
        severity: 'warning',
        condition: {
          type: 'sql',
          source: 'events',
          filter: `attr.reason:${reason}${ns}`,
          aggregate: 'count',
          windowSeconds: 600,
          groupBy: 'name',
          op: '>=',
          threshold: 1,
        },
        intervalSeconds: 60,
        forSeconds: 0,
        message: `{{labels.name}}: ${reason} events in the last 10 minutes`,
      };
    },
  };
}

/** The templates as the API lists them (without the builder). */
export function templateList() {
  return TEMPLATES.map(({ build: _b, ...t }) => t);
}
