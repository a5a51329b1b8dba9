import { hostname } from 'node:os';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Component, HealthStatus } from '../../lib/component.ts';
import { logger } from '../../lib/log.ts';
import type { ApiCall } from '../protocols/contract.ts';
import { OtlpExporter, type OtlpExporterOptions } from './exporters/otlpExporter.ts';
import { RemoteWriteExporter, type RemoteWriteExporterOptions } from './exporters/remoteWriteExporter.ts';
import type { Identify } from './identity.ts';
import { type IdentityOptions, IdentityResolver } from './identityResolver.ts';
import { RedAggregator, type RedAggregatorConfig } from './redAggregator.ts';
import { type RedactionConfig, Redactor } from './redaction.ts';
import { ResourceSampler, type ResourceSamplerOptions } from './resources/resourceSampler.ts';
import { ResourceTemplater, type ResourceTemplaterConfig } from './resourceTemplater.ts';
import { SpanBuilder } from './spanBuilder.ts';
import { TraceSampler, type TraceSamplerConfig } from './traceSampler.ts';

/**
 * API calls in, RED metrics and sampled spans out:
 *   identify -> template resource -> RED aggregator ----------------> remote-write exporter (interval)
 *                                 \-> trace sampler -> span builder (redaction) -> OTLP exporter (batches)
 * `consume` runs on the event loop, synchronously: it never waits on the network (exporters own bounded
 * queues) and never throws (a call that fails is counted and skipped).
 */
export interface SensorPipelineOptions {
  /** Metrics-ingester remote-write URL (…/api/v1/write); metrics are not exported when absent. */
  remoteWriteUrl?: string;
  /** Collector base URL (…:4318); spans are not exported when absent. */
  otlpUrl?: string;
  /** Labels on every series naming this sensor (the ingester removes `sensor`, `instance`, `node`). */
  sensorLabels?: Record<string, string>;
  node?: string;
  /** Replaces the built-in naming (then `identity` is ignored and DNS answers are not learnt). */
  identify?: Identify;
  /** The built-in naming: k8s-watcher URL and token, process table and DNS cache bounds. */
  identity?: IdentityOptions;
  /** Converts ApiCall times (the capture clock) to Unix epoch nanoseconds. */
  toEpochNs?: (ns: bigint) => bigint;
  templating?: Partial<ResourceTemplaterConfig>;
  redaction?: Partial<RedactionConfig>;
  red?: Partial<RedAggregatorConfig>;
  sampling?: Partial<TraceSamplerConfig>;
  remoteWrite?: Partial<Omit<RemoteWriteExporterOptions, 'url' | 'source' | 'registry'>>;
  otlp?: Partial<Omit<OtlpExporterOptions, 'url' | 'registry'>>;
  /**
   * Node and container resource metrics through remote write every `intervalMs` (off when absent), with
   * the workload labels of the k8s-watcher when `identity.watcherUrl` is set.
   */
  resources?: { intervalMs: number } & Partial<Omit<ResourceSamplerOptions, 'host' | 'metadata'>>;
  registry?: Registry;
}

const SEP = '\u0000';
const MAX_BASELINE_KEYS = 20_000;

export class SensorPipeline implements Component {
  readonly name = 'sensor-pipeline';
  readonly templater: ResourceTemplater;
  readonly aggregator: RedAggregator;
  readonly sampler: TraceSampler;
  private readonly spans: SpanBuilder;
  private readonly identify: Identify;
  /** The built-in naming; undefined when the caller passed its own `identify`. */
  readonly identity: IdentityResolver | undefined;
  readonly remoteWrite: RemoteWriteExporter | undefined;
  readonly otlp: OtlpExporter | undefined;
  /** Resource metrics (`resources` option): the sampler and its own remote-write sender. */
  readonly resources: ResourceSampler | undefined;
  readonly resourceExport: RemoteWriteExporter | undefined;
  private started = false;
  private readonly log = logger('sensor-pipeline');
  /** Calls processed and calls skipped (failed), read by the self-metrics when scraped. */
  readonly counts = { calls: 0, failed: 0 };

  /** Validates the whole configuration: a bad rule, bucket list or URL fails here, before start. */
  constructor(o: SensorPipelineOptions = {}) {
    const registry = o.registry ?? new Registry();
    const registers = [registry];
    this.templater = new ResourceTemplater(o.templating);
    this.aggregator = new RedAggregator(o.red);
    this.sampler = new TraceSampler(o.sampling);
    this.spans = new SpanBuilder({
      redactor: new Redactor(o.redaction),
      node: o.node,
      toEpochNs: o.toEpochNs,
    });
    if (o.identify) this.identify = o.identify;
    else {
      this.identity = new IdentityResolver(o.identity);
      this.identify = this.identity.identify;
    }
    const labels = o.sensorLabels ?? {};
    if (o.remoteWriteUrl)
      this.remoteWrite = new RemoteWriteExporter({
        ...o.remoteWrite,
        url: o.remoteWriteUrl,
        source: () => this.aggregator.snapshot(labels),
        registry,
      });
    if (o.otlpUrl) this.otlp = new OtlpExporter({ ...o.otlp, url: o.otlpUrl, registry });
    if (o.resources && o.remoteWriteUrl) {
      const { intervalMs, ...sampler } = o.resources;
      const resources = new ResourceSampler({
        ...sampler,
        host: o.node ?? hostname(),
        metadata: this.identity?.client,
      });
      this.resources = resources;
      // No registry: the RED exporter already owns the sensor_remote_write_* self-metric names.
      this.resourceExport = new RemoteWriteExporter({
        ...o.remoteWrite,
        url: o.remoteWriteUrl,
        intervalMs,
        source: () => resources.series(labels),
      });
    }
    const agg = this.aggregator;
    const sampler = this.sampler;
    const templater = this.templater;
    if (this.identity) registerIdentityMetrics(this.identity, registers);
    // Counted in plain fields and read when scraped: prom-client's inc() allocates per call.
    const counts = this.counts;
    new Counter({
      name: 'sensor_pipeline_calls_total',
      help: 'API calls consumed',
      registers,
      collect() {
        this.reset();
        this.inc(counts.calls);
      },
    });
    new Counter({
      name: 'sensor_pipeline_calls_failed_total',
      help: 'API calls that could not be processed (skipped)',
      registers,
      collect() {
        this.reset();
        this.inc(counts.failed);
      },
    });
    new Gauge({
      name: 'sensor_red_series',
      help: 'RED histograms held in memory',
      registers,
      collect() {
        this.set(agg.size);
      },
    });
    new Counter({
      name: 'sensor_red_overflow_total',
      help: 'Calls folded into an overflow series (series caps)',
      registers,
      collect() {
        this.reset();
        this.inc(agg.counts.overflowed);
      },
    });
    new Counter({
      name: 'sensor_resource_overflow_total',
      help: 'Calls whose resource became the overflow value (per-workload template cap)',
      registers,
      collect() {
        this.reset();
        this.inc(templater.overflowed);
      },
    });
    new Counter({
      name: 'sensor_traces_sampled_total',
      help: 'API calls kept as spans, by reason',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(sampler.counts.kept)) this.inc({ reason }, n);
      },
    });
    new Counter({
      name: 'sensor_traces_rate_limited_total',
      help: 'API calls that would have been kept but the global rate limit refused, by reason',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(sampler.counts.limited)) this.inc({ reason }, n);
      },
    });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.remoteWrite?.start();
    this.otlp?.start();
    await this.identity?.start();
    this.resourceExport?.start();
  }

  /**
   * Caller keeps ownership of `calls`; nothing here holds on to the array. `weight`: how many calls each one
   * stands for in the RED metrics (> 1 while the capture sheds load; spans are not weighted), one factor
   * for all or per call.
   */
  consume(calls: readonly ApiCall[], weight: number | ((call: ApiCall) => number) = 1): void {
    for (const call of calls) {
      try {
        this.identity?.observe(call);
        const id = this.identify(call);
        const resource = this.templater.template(id.workload, call.protocol, call.resource);
        // Once per call for both stages (a BigInt difference is a heap allocation).
        const ns = Number(call.endNs - call.startNs);
        this.aggregator.observe(call, id, resource, ns, typeof weight === 'number' ? weight : weight(call));
        const key = this.baselineKey(id.workload, call, resource);
        const reason = this.sampler.decide(call, id.workload, key, ns / 1e6);
        if (reason && this.otlp) this.otlp.export(this.spans.build(call, id, resource, reason));
        this.counts.calls++;
      } catch (err) {
        this.counts.failed++;
        this.log.debug({ err: (err as Error).message }, 'cannot process an API call');
      }
    }
  }

  /**
   * The sampler's baseline key (workload, protocol, template) as one shared string per combination: the
   * parts are strings V8 has hashed before, where a key concatenated per call is flattened and hashed
   * again every time. Bounded like the sampler's own baselines (emptied past `maxKeys`).
   */
  private keys = new Map<string, Map<string, Map<string, string>>>();
  private keyCount = 0;

  private baselineKey(workload: string, call: ApiCall, resource: string): string {
    if (this.keyCount >= MAX_BASELINE_KEYS) {
      this.keys = new Map();
      this.keyCount = 0;
    }
    let byProtocol = this.keys.get(workload);
    if (byProtocol === undefined) {
      byProtocol = new Map();
      this.keys.set(workload, byProtocol);
    }
    let byResource = byProtocol.get(call.protocol);
    if (byResource === undefined) {
      byResource = new Map();
      byProtocol.set(call.protocol, byResource);
    }
    let key = byResource.get(resource);
    if (key === undefined) {
      key = workload + SEP + call.protocol + SEP + resource;
      byResource.set(resource, key);
      this.keyCount++;
    }
    return key;
  }

  /** A last metrics snapshot and the pending spans are sent (up to `graceMs` each). Safe twice. */
  async shutdown(graceMs = 3000): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await Promise.all([
      this.remoteWrite?.shutdown(graceMs),
      this.otlp?.shutdown(graceMs),
      this.resourceExport?.shutdown(graceMs),
      this.identity?.stop(),
    ]);
  }

  async health(): Promise<HealthStatus> {
    if (!this.started) return { ok: false, detail: 'not started' };
    const rw = this.remoteWrite?.queued ?? 0;
    const ot = this.otlp?.queued ?? 0;
    const watcher = this.identity?.watcherState();
    return {
      ok: true,
      detail: `${this.aggregator.size} RED series; queued bodies: metrics ${rw}, spans ${ot}${watcher ? `; ${watcher}` : ''}`,
    };
  }
}

function registerIdentityMetrics(identity: IdentityResolver, registers: Registry[]): void {
  new Counter({
    name: 'sensor_identity_workloads_total',
    help: 'API calls by where their workload name came from (k8s: the k8s-watcher; host: local names)',
    labelNames: ['source'],
    registers,
    collect() {
      this.reset();
      for (const [source, n] of Object.entries(identity.counts.workload)) this.inc({ source }, n);
    },
  });
  new Counter({
    name: 'sensor_identity_peers_total',
    help: 'API calls by where their peer name came from (k8s, dns, address)',
    labelNames: ['source'],
    registers,
    collect() {
      this.reset();
      for (const [source, n] of Object.entries(identity.counts.peer)) this.inc({ source }, n);
    },
  });
  new Gauge({
    name: 'sensor_dns_peer_names',
    help: 'Addresses with a DNS name learnt from captured answers',
    registers,
    collect() {
      this.set(identity.dnsNames.size);
    },
  });
  new Gauge({
    name: 'sensor_k8s_metadata_entries',
    help: 'Entries in the copy of the k8s-watcher metadata (0 without a watcher)',
    registers,
    collect() {
      this.set(identity.client?.size ?? 0);
    },
  });
  new Gauge({
    name: 'sensor_k8s_metadata_connected',
    help: '1 while the k8s-watcher change stream is followed',
    registers,
    collect() {
      this.set(identity.client?.connected ? 1 : 0);
    },
  });
}
