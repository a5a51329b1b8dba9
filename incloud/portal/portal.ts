import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import type { Component, HealthStatus } from '../../lib/component.ts';
import type { ClickhouseStore } from '../clickhouse/store.ts';
import type { TargetSecretKeys } from '../monitors/targetSecrets.ts';
import type { BackoffOptions } from './backoff.ts';
import { createQueryRouter } from './handlers.ts';
import { defaultLimits, type PortalLimits, validateLimits } from './limits.ts';
import { PortalMetrics } from './metrics.ts';
import type { QueryRouter } from './queryRouter.ts';
import { TunnelClient } from './tunnelClient.ts';

export interface PortalOptions {
  /** The edge's base URL; the tunnel is `<edgeUrl>/api/v1/tunnel/connect`. */
  edgeUrl: string;
  /** The cluster's install token (`ust_cit_...`), sent as a bearer token on the WebSocket upgrade. */
  installToken?: string;
  /**
   * Or a file holding it, read again before every connection attempt: a rotated token (a Kubernetes Secret
   * mount updated in place, `understory up` re-bootstrapping) is picked up without a restart, and a file that
   * does not exist yet is waited for.
   */
  installTokenFile?: string;
  /** Stable per replica; default: $HOSTNAME (the pod name in a cluster) or the host name and pid. */
  replicaId?: string;
  clusterId?: string | null;
  /** VictoriaMetrics base URL (Prometheus API and RED figures). */
  victoriaMetricsUrl?: string;
  /**
   * Logs, traces and events. Taken, not owned: in `understory incloud` it is the process's shared embedded
   * ClickHouse, which the portal must not close.
   */
  clickhouse?: ClickhouseStore;
  limits?: PortalLimits;
  /** The process's admin registry, for the portal's metrics on /metrics. */
  registry?: Registry;
  backoff?: BackoffOptions;
  /** Seal notification target secrets before storing them (incloud/monitors/targetSecrets.ts). */
  targetSecrets?: TargetSecretKeys;
}

/**
 * The portal component: answers queries from the edge over a tunnel it dials out to (no inbound port in the
 * cluster). Healthy while the tunnel is open; while it is down the portal keeps reconnecting and reports why.
 */
export class Portal implements Component {
  readonly name = 'portal';
  readonly router: QueryRouter;
  readonly tunnel: TunnelClient;
  readonly metrics: PortalMetrics;

  constructor(opts: PortalOptions) {
    const limits = validateLimits(opts.limits ?? defaultLimits());
    if (!opts.clickhouse && !opts.victoriaMetricsUrl)
      throw new Error('cannot create the portal: give it VictoriaMetrics, ClickHouse or both to answer from');
    this.router = createQueryRouter(
      {
        clickhouse: opts.clickhouse,
        victoriaMetricsUrl: opts.victoriaMetricsUrl,
        targetSecrets: opts.targetSecrets,
      },
      limits,
    );
    if (!opts.installToken && !opts.installTokenFile)
      throw new Error('cannot create the portal: give it the install token or a file holding it');
    this.metrics = new PortalMetrics(opts.registry);
    this.tunnel = new TunnelClient({
      edgeUrl: opts.edgeUrl,
      installToken: opts.installTokenFile ? tokenFileReader(opts.installTokenFile) : opts.installToken!,
      replicaId: opts.replicaId ?? process.env.HOSTNAME ?? `${hostname()}-${process.pid}`,
      clusterId: opts.clusterId ?? null,
      capabilities: this.router.kinds,
      serve: this.router.serve,
      limits,
      backoff: opts.backoff,
      metrics: this.metrics,
    });
  }

  async start(): Promise<void> {
    this.tunnel.start();
  }

  async shutdown(): Promise<void> {
    await this.tunnel.stop();
  }

  async health(): Promise<HealthStatus> {
    const t = this.tunnel;
    if (t.state === 'open')
      return {
        ok: true,
        detail: `tunnel open since ${new Date(t.openedAt).toISOString()}, ${t.requestsInFlight} in flight`,
      };
    return { ok: false, detail: `tunnel ${t.state}${t.lastError ? `: ${t.lastError}` : ''}` };
  }
}

/** Reads the token file each time; throws a readable reason while it is missing or empty. */
export function tokenFileReader(path: string): () => string {
  return () => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${code}`);
    }
    const token = text.trim();
    if (!token) throw new Error(`${path} is empty`);
    return token;
  };
}
