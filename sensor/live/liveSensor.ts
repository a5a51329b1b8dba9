import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { Counter, type Registry } from 'prom-client';
import type { Component, HealthStatus } from '../../lib/component.ts';
import { startAll } from '../../lib/component.ts';
import { type Logger, logger } from '../../lib/log.ts';
import { type CaptureOptions, type CaptureStats, SensorCapture } from '../capture/capture.ts';
import { type CaptureEvent, type EventBatch, monotonicToEpochNs } from '../capture/events.ts';
import { LoadShedder } from '../capture/loadShedder.ts';
import { registerCaptureMetrics, registerShedderMetrics } from '../capture/metrics.ts';
import { ContainerLogs } from '../pipeline/logs/containerLogs.ts';
import { containerLogsOptions, type PipelineConfig, pipelineOptions } from '../pipeline/pipelineConfig.ts';
import { SensorPipeline } from '../pipeline/sensorPipeline.ts';
import type { ApiCall, ProtocolName } from '../protocols/contract.ts';
import { protocolSpecs } from '../protocols/registry.ts';
import { registerLiveMetrics } from './liveMetrics.ts';
import { LiveSource } from './liveSource.ts';

/**
 * The whole sensor in one process: eBPF capture -> LiveSource -> ConnectionTracker (parsers, stitchers) ->
 * SensorPipeline (RED metrics by remote write, sampled spans by OTLP, node and container resource metrics
 * by remote write, workload names from the k8s-watcher), plus container logs (OTLP logs). The pipeline
 * configuration's `identity`, `resources` and `logs` sections drive the last three. `understory sensor`
 * builds one from its options; tests and the benchmark start the real CLI process.
 *
 * Threading: capture batches arrive on the event loop (the addon's reader thread hands them over through a
 * thread-safe function); parsing, aggregation and the exporters' queues all run there, synchronously per
 * batch. The exporters send from timers on the same loop.
 */
export interface LiveSensorOptions {
  capture: Omit<CaptureOptions, 'onBatch' | 'log'>;
  pipeline: PipelineConfig;
  /** Called with every batch before parsing (the --debug event printer). */
  onEvents?: (batch: Iterable<CaptureEvent>) => void;
  /** Called with the API calls of every batch (the --debug-calls printer, tests). */
  onCalls?: (calls: readonly ApiCall[]) => void;
  decodeAs?: ReadonlyMap<number, ProtocolName>;
  /** Tracker limits. */
  maxConnections?: number;
  /**
   * The cluster's ingest token (`Authorization: Bearer`) on remote write and OTLP; receivers beyond
   * loopback refuse requests without it. Never logged.
   */
  ingestToken?: string;
  /** `k8s.cluster.name` on every span and log resource, `k8s_cluster_name` on every series. */
  clusterName?: string;
  /**
   * CPU budget of the sensor in cores (its process plus its eBPF programs' estimated time on traced
   * calls): above it, whole connections are left out of the capture
   * and RED counts are scaled to estimate the whole traffic (capture/loadShedder.ts). 0 or absent: none.
   */
  cpuLimitCores?: number;
  /**
   * Load shedding (default true): with or without a CPU budget, ring-buffer drops shrink the share of
   * connections captured, so an overflowing ring leaves whole connections out (and RED counts are scaled)
   * instead of losing events of every busy connection at random. false: never (no CPU budget either).
   */
  loadShedding?: boolean;
  registry: Registry;
}

export class LiveSensor implements Component {
  readonly name = 'sensor';
  readonly capture: SensorCapture;
  readonly source: LiveSource;
  readonly pipeline: SensorPipeline;
  readonly logs: ContainerLogs | undefined;
  readonly shedder: LoadShedder | undefined;
  /** Under load shedding, what a call counts for in RED metrics: its process's ratio (LoadShedder.weightOf). */
  private readonly callWeight = (call: ApiCall) => this.shedder?.weightOf(call.pid) ?? 1;
  private readonly log: Logger = logger('sensor');
  private readonly pending: ApiCall[] = [];
  private started: Component[] = [];
  private finalCaptureStats: CaptureStats | undefined;

  /** Validates everything (pipeline rules, URLs, capture options) before anything starts. */
  constructor(private readonly o: LiveSensorOptions) {
    const offset = monotonicToEpochNs();
    const pipe = pipelineOptions(o.pipeline);
    const token = o.ingestToken ? { token: o.ingestToken } : {};
    const cluster = o.clusterName ? { resourceAttributes: { 'k8s.cluster.name': o.clusterName } } : {};
    this.pipeline = new SensorPipeline({
      ...pipe,
      node: pipe.node ?? hostname(),
      // A node name set explicitly (the chart's spec.nodeName) is Kubernetes's: the watcher copy can be
      // scoped to it. The host name may differ from it, so it never scopes the copy.
      identity: pipe.identity && pipe.node ? { watcherNode: pipe.node, ...pipe.identity } : pipe.identity,
      sensorLabels: o.clusterName
        ? { ...pipe.sensorLabels, k8s_cluster_name: o.clusterName }
        : pipe.sensorLabels,
      remoteWrite: { ...pipe.remoteWrite, ...token },
      otlp: { ...pipe.otlp, ...token, ...cluster },
      toEpochNs: (ns) => ns + offset,
      registry: o.registry,
    });
    this.source = new LiveSource({
      specs: protocolSpecs,
      onCall: (c) => this.pending.push(c),
      tracker: { decodeAs: o.decodeAs, ...(o.maxConnections ? { maxConnections: o.maxConnections } : {}) },
    });
    this.capture = new SensorCapture({ ...o.capture, onBatch: (b) => this.onBatch(b) });
    registerCaptureMetrics(o.registry, () => this.capture.stats());
    registerLiveMetrics(o.registry, this.source);
    if (o.loadShedding !== false) {
      const shedder = new LoadShedder({
        cpuLimitCores: o.cpuLimitCores ?? 0,
        apply: (lots, salt) => {
          this.capture.setShed(lots, salt);
          this.source.countShedPerPid(lots > 0);
        },
        counters: () => this.capture.stats(),
        // What was captured: markers say a connection is being left out, they carry no traffic.
        dataEvents: () => this.source.stats.dataEvents - this.source.stats.markers,
        pidCounts: () => this.source.takeShedCounts(),
      });
      this.shedder = shedder;
      registerShedderMetrics(o.registry, shedder, o.cpuLimitCores ?? 0);
    }
    const watcher = this.pipeline.identity?.client;
    if (watcher) {
      new Counter({
        name: 'sensor_identity_watcher_refused_total',
        help: 'What the bounds of the k8s-watcher copy refused: entries (past maxEntries), snapshots (too big), lines (too long)',
        labelNames: ['what'],
        registers: [o.registry],
        collect() {
          const l = watcher.limits;
          this.reset();
          this.inc({ what: 'entries' }, l.entriesDropped);
          this.inc({ what: 'snapshots' }, l.snapshotsRefused);
          this.inc({ what: 'lines' }, l.linesSkipped);
        },
      });
    }
    const logs = containerLogsOptions(o.pipeline);
    const hostFiles = logs?.hostFiles?.length ?? 0;
    if (logs && (existsSync(logs.root) || hostFiles > 0)) {
      // A plain host has no pod log directory but may follow `logs.files`; the directory is looked at
      // again on every poll (it may appear later), so keeping its path costs nothing.
      if (!existsSync(logs.root))
        this.log.info({ root: logs.root, files: hostFiles }, 'no pod log directory here: only logs.files');
      // The watcher copy names each pod's workload on its log records.
      this.logs = new ContainerLogs({
        ...logs,
        metadata: this.pipeline.identity?.client,
        exporter: { ...token, ...cluster },
        registry: o.registry,
      });
    } else if (logs)
      this.log.info({ root: logs.root }, 'no pod log directory and no logs.files: logs are off');
  }

  async start(): Promise<void> {
    const components: Component[] = [this.pipeline, this.capture];
    if (this.logs) components.push(this.logs);
    await startAll(components);
    this.started = components;
    this.shedder?.start();
  }

  /** JavaScript thread, one capture batch: events are valid only during this call. */
  private onBatch(batch: EventBatch): void {
    this.o.onEvents?.(batch);
    this.source.consume(batch);
    this.deliver();
  }

  /** The calls the tracker completed go to the pipeline, each weighted by its process's shed ratio. */
  private deliver(): void {
    if (this.pending.length === 0) return;
    const calls = this.pending.splice(0);
    this.o.onCalls?.(calls);
    this.pipeline.consume(calls, this.shedder ? this.callWeight : 1);
  }

  /** The capture's counters; after shutdown, the last ones read before the capture stopped. */
  captureStats(): CaptureStats {
    return this.finalCaptureStats ?? this.capture.stats();
  }

  /** Capture first (no new events), then what the tracker holds, then the exporters' last sends. */
  async shutdown(): Promise<void> {
    const started = this.started;
    this.started = [];
    if (started.length === 0) return;
    const errors: string[] = [];
    const stop = async (c: Component | undefined) => {
      try {
        await c?.shutdown();
      } catch (err) {
        errors.push(`${c?.name}: ${(err as Error).message}`);
      }
    };
    this.shedder?.stop();
    this.finalCaptureStats = this.capture.stats();
    await stop(this.capture);
    this.source.flush();
    this.deliver(); // weighted as before the shedder stopped: these calls were captured under its share
    await Promise.all([stop(this.logs), stop(this.pipeline)]);
    if (errors.length > 0) throw new Error(`cannot shut down the sensor cleanly: ${errors.join('; ')}`);
  }

  async health(): Promise<HealthStatus> {
    const parts = await Promise.all(
      [this.capture, this.pipeline, this.logs].filter((c) => c !== undefined).map((c) => c.health()),
    );
    const bad = parts.filter((p) => !p.ok);
    return bad.length > 0
      ? { ok: false, detail: bad.map((p) => p.detail).join('; ') }
      : {
          ok: true,
          detail: `${this.source.connections} connections; ${parts.map((p) => p.detail).join('; ')}`,
        };
  }
}
