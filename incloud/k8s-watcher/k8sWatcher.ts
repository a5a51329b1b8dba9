import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Component, HealthStatus } from '../../lib/component.ts';
import { type Logger, logger } from '../../lib/log.ts';
import type { ClickhouseStore } from '../clickhouse/store.ts';
import { ClusterModel } from './clusterModel.ts';
import { EntryLog } from './entryLog.ts';
import { DEFAULT_EVENT_SINK_OPTIONS, type EventSinkOptions, K8sEventSink } from './eventSink.ts';
import { WatcherMetrics } from './metrics.ts';
import { DEFAULT_PLAIN_HOST_OPTIONS, type PlainHostOptions, PlainHostScanner } from './plainHost.ts';
import type { InformerOptions, ResourceInformer } from './resourceInformer.ts';
import { WATCHED_RESOURCES } from './resources.ts';
import { DEFAULT_SENSOR_API_OPTIONS, SensorApi, type SensorApiOptions } from './sensorApi.ts';

export interface K8sWatcherOptions {
  /** `cluster`: list and watch the Kubernetes API; `plain-host`: local processes and containers. */
  mode: 'cluster' | 'plain-host';
  /** Cluster mode: a loaded KubeConfig (tests), else `kubeconfigPath`, else in-cluster service account. */
  kubeConfig?: KubeConfig;
  kubeconfigPath?: string;
  api: Pick<SensorApiOptions, 'host' | 'port' | 'token'> & Partial<SensorApiOptions>;
  /** Where Kubernetes events go; without a store events are watched but not kept. */
  store?: ClickhouseStore;
  events?: Partial<EventSinkOptions>;
  informer?: Partial<InformerOptions>;
  /** Resource names to watch (default: all of WATCHED_RESOURCES). */
  resources?: string[];
  plainHost?: Partial<PlainHostOptions>;
  /** Change history kept for sensors that reconnect (entries). */
  historyLimit?: number;
  registry?: Registry;
}

/**
 * The k8s-watcher component: informers -> cluster model -> entry log -> sensor API, plus Kubernetes
 * events -> ClickHouse. `start()` lists everything once before the API serves, so the first snapshot a
 * sensor takes is complete; after that list/watch failures are retried with back-off and show in health().
 */
export class K8sWatcher implements Component {
  readonly name = 'k8s-watcher';
  readonly entries: EntryLog;
  readonly metrics: WatcherMetrics;
  readonly informers: ResourceInformer[] = [];
  model: ClusterModel | undefined;
  events: K8sEventSink | undefined;
  plainHost: PlainHostScanner | undefined;
  private api: SensorApi | undefined;
  private readonly log: Logger = logger('k8s-watcher');
  port = 0;
  private started = false;

  constructor(private readonly opts: K8sWatcherOptions) {
    this.entries = new EntryLog(opts.historyLimit);
    this.metrics = new WatcherMetrics(opts.registry);
  }

  async start(): Promise<void> {
    const api = new SensorApi(
      this.entries,
      { ...DEFAULT_SENSOR_API_OPTIONS, ...this.opts.api },
      this.metrics,
      this.log,
    );
    try {
      if (this.opts.mode === 'plain-host') {
        this.plainHost = new PlainHostScanner(this.entries, {
          ...DEFAULT_PLAIN_HOST_OPTIONS,
          ...this.opts.plainHost,
        });
        await this.plainHost.start();
      } else {
        await this.startInformers();
      }
      this.port = await api.listen();
    } catch (err) {
      // Nothing may keep running after a failed start: informers would watch for nobody.
      await this.shutdown();
      throw new Error(`cannot start k8s-watcher: ${(err as Error).message}`, { cause: err });
    }
    this.api = api;
    this.started = true;
    this.log.info(
      { mode: this.opts.mode, port: this.port, entries: this.entries.size },
      'k8s-watcher serving',
    );
  }

  private async startInformers(): Promise<void> {
    // Loaded on demand: client-node takes seconds to import, and plain-host mode never needs it.
    const { DEFAULT_INFORMER_OPTIONS, ResourceInformer, loadKubeConfig } = await import(
      './resourceInformer.ts'
    );
    const kc = this.opts.kubeConfig ?? loadKubeConfig(this.opts.kubeconfigPath);
    if (this.opts.store) {
      this.events = new K8sEventSink(this.opts.store, this.metrics, this.log, {
        ...DEFAULT_EVENT_SINK_OPTIONS,
        ...this.opts.events,
      });
      this.events.start();
    }
    const sink = this.events;
    this.model = new ClusterModel(this.entries, (e, workload) => sink?.add(e, workload));
    const names = this.opts.resources ?? WATCHED_RESOURCES.map((r) => r.resource);
    const informerOpts = { ...DEFAULT_INFORMER_OPTIONS, ...this.opts.informer };
    for (const r of WATCHED_RESOURCES) {
      if (!names.includes(r.resource)) continue;
      this.informers.push(new ResourceInformer(kc, r, this.model, this.metrics, this.log, informerOpts));
    }
    // Owners first (see WATCHED_RESOURCES), but all lists run concurrently.
    await Promise.all(this.informers.map((i) => i.start()));
  }

  async shutdown(): Promise<void> {
    this.started = false;
    await Promise.all(this.informers.map((i) => i.stop()));
    await this.plainHost?.shutdown();
    await this.api?.close();
    this.api = undefined;
    await this.events?.shutdown();
  }

  async health(): Promise<HealthStatus> {
    if (!this.started) return { ok: false, detail: 'not started' };
    const problems: string[] = [];
    for (const i of this.informers) {
      if (!i.synced)
        problems.push(`${i.resource.resource}: not listed yet${i.lastError ? ` (${i.lastError})` : ''}`);
    }
    if (this.plainHost?.lastError) problems.push(this.plainHost.lastError);
    if (this.events?.lastError) problems.push(`events: ${this.events.lastError}`);
    if (problems.length > 0) return { ok: false, detail: problems.join('; ') };
    return {
      ok: true,
      detail: `${this.opts.mode}: ${this.entries.size} entries, rev ${this.entries.rev}, ${this.api?.watchClients ?? 0} sensors`,
    };
  }
}
