import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { Counter, type Registry } from 'prom-client';
import type { Component, HealthStatus } from '../../../lib/component.ts';
import { logger } from '../../../lib/log.ts';
import {
  type LogRecordOut,
  OtlpLogExporter,
  type OtlpLogExporterOptions,
} from '../exporters/otlpLogExporter.ts';
import type { MetadataLookup } from '../identityResolver.ts';
import { CriAssembler, type CriRecord, SEVERITY_NUMBER, severityOf } from './criLog.ts';
import { FileTailer, type LineChunk, type LinesReceipt } from './fileTailer.ts';
import { listPodLogFiles, type PodLogFile } from './podLogs.ts';

/**
 * Container logs of a node as OTLP logs: tails kubelet's CRI files under `root` (default /var/log/pods),
 * joins partial lines, reads the severity the message states, and exports records with the pod's identity as
 * resource attributes (`k8s.namespace.name`, `k8s.pod.name`, `k8s.pod.uid`, `k8s.container.name`,
 * `k8s.container.restart_count`; `service.name` = the container name until the k8s-watcher names workloads).
 * Offsets persist in `stateFile`, and only past lines the collector acknowledged (see FileTailer): a crash
 * or kill repeats at most the lines of the batch in flight, and loses none. While more than
 * `maxUnackedRecords` records wait for the collector, polls read nothing (backpressure: the files are the
 * buffer, nothing is dropped from a full queue). Polls every `pollIntervalMs`; one poll at a time.
 */
export interface ContainerLogsOptions {
  root: string;
  stateFile: string;
  otlpUrl: string;
  pollIntervalMs?: number;
  /** Files first seen at start-up: read from the start (false: only new lines). New files later: from the start. */
  fromStart?: boolean;
  /**
   * Plain-text files to follow as well (a plain host: `/var/log/nginx/error.log` as service `nginx`). Each
   * line is a record stamped with the time it was read; same offsets, rotation and delivery rules.
   */
  hostFiles?: { path: string; service: string }[];
  /** `host.name` of host file records (default: the machine's hostname). */
  host?: string;
  /** Reading pauses while this many records wait for the collector's acknowledgement (default 20000). */
  maxUnackedRecords?: number;
  /**
   * The k8s-watcher copy (`SensorPipeline.identity.client`): names `service.name` by the pod's workload and
   * adds `k8s.<kind>.name` and `k8s.node.name`. Without it (or before the watcher knows the pod),
   * `service.name` is the container name.
   */
  metadata?: Pick<MetadataLookup, 'get'>;
  /** Passed to the exporter (tests use small batches). */
  maxRecordsPerBatch?: number;
  /** Passed to the exporter: the ingest token and resource attributes added to every record. */
  exporter?: Pick<OtlpLogExporterOptions, 'token' | 'resourceAttributes'>;
  registry?: Registry;
}

export class ContainerLogs implements Component {
  readonly name = 'container-logs';
  private readonly exporter: OtlpLogExporter;
  private readonly tailer: FileTailer;
  private readonly files = new Map<string, Followed>();
  private timer: NodeJS.Timeout | undefined;
  private lastError = '';
  private readonly batch: number;
  /** Polls skipped because the collector had not acknowledged enough yet. */
  paused = 0;
  private readonly log = logger('container-logs');

  constructor(private readonly o: ContainerLogsOptions) {
    this.batch = o.maxRecordsPerBatch ?? 1000;
    this.exporter = new OtlpLogExporter({
      url: o.otlpUrl,
      registry: o.registry,
      maxRecordsPerBatch: o.maxRecordsPerBatch,
      ...o.exporter,
    });
    this.tailer = new FileTailer({
      stateFile: o.stateFile,
      fromStart: o.fromStart ?? false,
      files: () => this.currentFiles(),
      onLines: (path, lines, chunk) => this.onLines(path, lines, chunk),
    });
    if (o.registry) this.registerMetrics(o.registry);
  }

  async start(): Promise<void> {
    if (this.timer) return;
    this.exporter.start();
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.o.pollIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** One pass now (also run by the timer). Errors are logged and reported by health(), never thrown. */
  async poll(): Promise<void> {
    if (this.exporter.unacked >= (this.o.maxUnackedRecords ?? 20_000)) {
      this.paused++;
      this.exporter.flush();
      return;
    }
    try {
      await this.tailer.poll();
      this.lastError = '';
    } catch (err) {
      this.lastError = (err as Error).message;
      this.log.warn({ err: this.lastError }, 'cannot read container logs');
    }
    this.exporter.flush();
  }

  drain(timeoutMs: number): Promise<boolean> {
    return this.exporter.drain(timeoutMs);
  }

  async shutdown(): Promise<void> {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.poll();
    await this.exporter.shutdown();
    // The exporter settled every body (sent or dropped): commit what was acknowledged, then close.
    await this.tailer.settle();
    this.tailer.close();
  }

  async health(): Promise<HealthStatus> {
    if (!this.timer) return { ok: false, detail: 'not started' };
    return this.lastError
      ? { ok: false, detail: this.lastError }
      : { ok: true, detail: `${this.files.size} files` };
  }

  private registerMetrics(registry: Registry): void {
    const tailer = this.tailer;
    const counter = (name: string, help: string, value: () => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(value());
        },
      });
    const c = tailer.counts;
    counter('sensor_container_logs_lines_total', 'Log lines read from pod log files', () => c.lines);
    counter('sensor_container_logs_rotations_total', 'Rename rotations followed', () => c.rotations);
    counter(
      'sensor_container_logs_truncations_total',
      'Truncated files read again from 0',
      () => c.truncations,
    );
    counter('sensor_container_logs_cut_lines_total', 'Lines longer than 64 KiB, cut', () => c.cutLines);
    counter(
      'sensor_container_logs_recovered_lines_total',
      'Lines read from files rotated while the sensor was down',
      () => c.recoveredRotations,
    );
    counter(
      'sensor_container_logs_failed_deliveries_total',
      'Batches given up (shutdown, full queue): their file commits no further this run',
      () => c.failedDeliveries,
    );
    counter(
      'sensor_container_logs_paused_polls_total',
      'Polls skipped while the collector lags',
      () => this.paused,
    );
  }

  private currentFiles(): string[] {
    const now = listPodLogFiles(this.o.root);
    const seen = new Set<string>();
    for (const meta of now) {
      seen.add(meta.path);
      if (!this.files.has(meta.path))
        this.files.set(meta.path, {
          lines: new CriAssembler(),
          resource: () => this.podResource(meta),
          cri: true,
        });
    }
    for (const { path, service } of this.o.hostFiles ?? []) {
      if (!existsSync(path)) continue; // not created yet (or rotated away): looked for again next poll
      seen.add(path);
      if (!this.files.has(path)) {
        const resource = { 'service.name': service, 'host.name': this.o.host ?? hostname() };
        this.files.set(path, { lines: new PlainLines(), resource: () => resource, cri: false });
      }
    }
    for (const path of this.files.keys()) if (!seen.has(path)) this.files.delete(path);
    return [...seen];
  }

  private podResource(m: PodLogFile): Record<string, string> {
    const resource: Record<string, string> = {
      'service.name': m.container,
      'k8s.namespace.name': m.namespace,
      'k8s.pod.name': m.pod,
      'k8s.pod.uid': m.podUid,
      'k8s.container.name': m.container,
      'k8s.container.restart_count': String(m.restartCount),
    };
    const pod = this.o.metadata?.get(`pod/${m.podUid}`);
    if (pod?.type === 'pod') {
      resource['service.name'] = pod.workload.name;
      const kind = WORKLOAD_ATTRIBUTE[pod.workload.kind];
      if (kind) resource[kind] = pod.workload.name;
      if (pod.node) resource['k8s.node.name'] = pod.node;
    }
    return resource;
  }

  /**
   * One receipt per `maxRecordsPerBatch` records, each committing up to the end of its last line (or the
   * start of a message still waiting for its `F` line), so a kill repeats at most the bodies in flight.
   */
  private onLines(path: string, lines: string[], chunk: LineChunk): LinesReceipt[] | undefined {
    const f = this.files.get(path);
    if (!f) return undefined;
    const resource = f.resource();
    const receipts: LinesReceipt[] = [];
    let out: LogRecordOut[] = [];
    const ship = (upTo: number) => {
      const delivered = this.exporter
        .export(out)
        // A body the collector refused for good (4xx) will never be accepted: committing it is right.
        .then((outcome) => outcome === 'sent' || outcome === 'rejected');
      const held = f.lines.heldFrom();
      receipts.push({ delivered, commitOffset: held === undefined ? upTo : Math.min(held, upTo) });
      out = [];
    };
    for (let i = 0; i < lines.length; i++) {
      // Before line i is pushed: a message it completes must not be committed without its first parts.
      if (out.length >= this.batch) ship(chunk.starts[i]!);
      const r = f.lines.push(lines[i]!, undefined, chunk.starts[i]);
      if (!r) continue;
      const sev = severityOf(r.message);
      out.push({
        resource,
        timeUnixNano: r.timeUnixNano,
        severityNumber: sev ? SEVERITY_NUMBER[sev] : 0,
        severityText: sev ?? '',
        body: r.message,
        attributes: {
          ...(f.cri ? { 'log.iostream': r.stream } : {}),
          'log.file.path': path,
          ...(r.truncated ? { 'understory.truncated': 'true' } : {}),
        },
      });
    }
    ship(chunk.end);
    return receipts;
  }
}

/** OpenTelemetry's k8s resource attribute per workload kind. */
const WORKLOAD_ATTRIBUTE: Record<string, string> = {
  Deployment: 'k8s.deployment.name',
  ReplicaSet: 'k8s.replicaset.name',
  StatefulSet: 'k8s.statefulset.name',
  DaemonSet: 'k8s.daemonset.name',
  Job: 'k8s.job.name',
  CronJob: 'k8s.cronjob.name',
};

/** A file being followed: how its lines become records and which resource they carry. */
interface Followed {
  lines: Pick<CriAssembler, 'push' | 'heldFrom'>;
  resource: () => Record<string, string>;
  /** CRI (pod logs: `log.iostream` known) or plain text. */
  cri: boolean;
}

/** Plain text lines: one record each, stamped with the time it was read (the line carries no time we trust). */
class PlainLines {
  push(line: string): CriRecord {
    return {
      timeUnixNano: BigInt(Date.now()) * 1_000_000n,
      stream: 'stdout',
      message: line,
      truncated: false,
    };
  }

  heldFrom(): number | undefined {
    return undefined;
  }
}
