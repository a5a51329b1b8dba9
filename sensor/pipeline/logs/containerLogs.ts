import { hostname } from 'node:os';
import { Counter, Gauge, type Registry } from 'prom-client';
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
import { DEFAULT_MAX_HOST_FILES, type HostFileEntry, HostFiles } from './hostFiles.ts';
import {
  type CompiledMultiline,
  compileMultiline,
  MultilineAssembler,
  type MultilineRule,
} from './multiline.ts';
import { listPodLogFiles, type PodLogFile } from './podLogs.ts';

/**
 * Container logs of a node as OTLP logs: tails kubelet's CRI files under `root` (default /var/log/pods),
 * joins partial lines, reads the severity the message states, and exports records with the pod's identity as
 * resource attributes (`k8s.namespace.name`, `k8s.pod.name`, `k8s.pod.uid`, `k8s.container.name`,
 * `k8s.container.restart_count`; `service.name` = the container name until the k8s-watcher names workloads).
 * Offsets persist in `stateFile`, and only past lines the collector acknowledged (see FileTailer): a crash
 * or kill repeats at most the lines of the batch in flight, and loses none; a multi-line record (stack trace)
 * still waiting for its next lines holds its file's offset at its first line. While more than
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
   * Plain-text files to follow as well (a plain host: `/var/log/nginx/*.log` as service `nginx`): paths or
   * glob patterns (see hostFileGlob.ts), expanded at every poll. Each line (or multi-line record, with a
   * `multiline` rule) is a record stamped with the time it was read; same offsets, rotation and delivery rules.
   */
  hostFiles?: HostFileEntry[];
  /** Host files followed at most, all patterns together (default 500). */
  maxHostFiles?: number;
  /** Join multi-line records (stack traces) of container logs, per stream, after the CRI partial lines. */
  multiline?: MultilineRule;
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
  /** The paths of the current poll's list: a file that ends and is not among them is forgotten. */
  private listed = new Set<string>();
  private readonly hostFiles: HostFiles;
  private readonly podMultiline: CompiledMultiline | undefined;
  /** Of all multi-line assemblers (for metrics). */
  private readonly multilineCounts = { cutRecords: 0, droppedLines: 0 };
  /** Lines re-read after a restart and skipped because they had gone out before it. */
  readonly counts = { replaySkipped: 0 };
  private timer: NodeJS.Timeout | undefined;
  private lastError = '';
  private readonly batch: number;
  /** Polls skipped because the collector had not acknowledged enough yet. */
  paused = 0;
  private readonly log = logger('container-logs');

  /** Throws on a bad host file pattern or multi-line rule (`cannot use ...`). */
  constructor(private readonly o: ContainerLogsOptions) {
    this.batch = o.maxRecordsPerBatch ?? 1000;
    this.hostFiles = new HostFiles(o.hostFiles ?? [], o.maxHostFiles ?? DEFAULT_MAX_HOST_FILES, this.log);
    this.podMultiline = o.multiline && compileMultiline(o.multiline);
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
      onFileEnd: (path) => this.onFileEnd(path),
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
    this.flushMultiline((m) => m.flush());
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
    // Records still waiting for more lines go now, so a restart repeats nothing (offsets move past them).
    this.flushMultiline((m) => m.flushAll());
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
      'sensor_container_logs_renamed_copies_total',
      'Paths found to hold a file already read under another path (a rotation that keeps the extension)',
      () => c.renamedCopies,
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
    counter(
      'sensor_container_logs_replay_skipped_lines_total',
      'CRI lines re-read after a restart and skipped: they had gone out before it',
      () => this.counts.replaySkipped,
    );
    const m = this.multilineCounts;
    counter(
      'sensor_container_logs_multiline_cut_records_total',
      'Multi-line records cut at maxLines or maxBytes',
      () => m.cutRecords,
    );
    counter(
      'sensor_container_logs_multiline_dropped_lines_total',
      'Continuation lines dropped after their record was cut',
      () => m.droppedLines,
    );
    const hostFiles = this.hostFiles;
    new Gauge({
      name: 'sensor_container_logs_host_files_left_out',
      help: 'Files matched by logs.files patterns but not followed (maxFiles, maxHostFiles), at the last poll',
      labelNames: ['pattern'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [pattern, n] of hostFiles.cut) this.set({ pattern }, n);
      },
    });
  }

  private currentFiles(): string[] {
    const seen = new Set<string>();
    for (const meta of listPodLogFiles(this.o.root)) {
      seen.add(meta.path);
      if (!this.files.has(meta.path))
        this.files.set(meta.path, {
          lines: new CriAssembler(),
          multiline: this.assembler(this.podMultiline),
          resource: () => this.podResource(meta),
          cri: true,
          read: new Map(),
        });
    }
    const host = this.o.host ?? hostname();
    for (const { path, service, multiline } of this.hostFiles.list(seen, (p) => this.tailer.following(p))) {
      seen.add(path);
      if (!this.files.has(path)) {
        const resource = { 'service.name': service, 'host.name': host };
        this.files.set(path, {
          lines: new PlainLines(),
          multiline: this.assembler(multiline),
          resource: () => resource,
          cri: false,
        });
      }
    }
    // A file the tailer still has open is forgotten in onFileEnd, once its last lines were read.
    for (const path of this.files.keys())
      if (!seen.has(path) && !this.tailer.following(path)) this.files.delete(path);
    this.listed = seen;
    return [...seen];
  }

  private assembler(rule: CompiledMultiline | undefined): MultilineAssembler | undefined {
    return rule && new MultilineAssembler(rule, this.multilineCounts);
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
   * start of a record still incomplete: CRI `P` parts without their `F`, a multi-line record waiting for
   * more lines), so a kill repeats at most the bodies in flight and loses nothing held back.
   */
  private onLines(path: string, lines: string[], chunk: LineChunk): LinesReceipt[] | undefined {
    const f = this.files.get(path);
    if (!f) return undefined;
    const receipts: LinesReceipt[] = [];
    let out: CriRecord[] = [];
    for (let i = 0; i < lines.length; i++) {
      // Before line i is pushed: a record it completes must not be committed without its first parts.
      if (out.length >= this.batch) {
        receipts.push(this.ship(path, f, out, chunk.starts[i]!));
        out = [];
      }
      if (f.read) {
        // CRI: the two streams interleave in one file, and the offset is held at the oldest record still
        // pending in either; a restart re-reads from there and skips what the marks say went out.
        const stream = criStream(lines[i]!);
        if (stream !== undefined) {
          const at = chunk.starts[i]!;
          f.read.set(stream, at + 1);
          if (chunk.replay && at < (chunk.replay[stream] ?? 0)) {
            this.counts.replaySkipped++;
            continue;
          }
        }
      }
      const r = f.lines.push(lines[i]!, undefined, chunk.starts[i]);
      if (!r) continue;
      if (f.multiline) out.push(...f.multiline.push(r, r.fromOffset ?? chunk.starts[i]!));
      else out.push(r);
    }
    receipts.push(this.ship(path, f, out, chunk.end));
    return receipts;
  }

  /** The file is left or truncated: what its multi-line assembler holds goes now. */
  private onFileEnd(path: string): LinesReceipt | undefined {
    const f = this.files.get(path);
    if (!this.listed.has(path)) this.files.delete(path);
    const records = f?.multiline?.flushAll() ?? [];
    const receipt = f && records.length > 0 ? this.ship(path, f, records) : undefined;
    // The next lines at this path are another file's (rotation) or start again at 0 (truncation): the
    // marks of this one would skip them after a restart.
    f?.read?.clear();
    return receipt;
  }

  /** Emits the multi-line records `take` releases (timed out, or all); their commits follow the file's. */
  private flushMultiline(take: (m: MultilineAssembler) => CriRecord[]): void {
    for (const [path, f] of this.files) {
      const records = f.multiline ? take(f.multiline) : [];
      if (records.length > 0) this.tailer.addReceipt(path, this.ship(path, f, records));
    }
  }

  /** Exports `records`; the receipt commits up to `upTo` (default: what was read) but never past a held line. */
  private ship(path: string, f: Followed, records: CriRecord[], upTo?: number): LinesReceipt {
    const resource = f.resource();
    const delivered = this.exporter
      .export(records.map((r) => this.logRecord(path, f, resource, r)))
      // A body the collector refused for good (4xx) will never be accepted: committing it is right.
      .then((outcome) => outcome === 'sent' || outcome === 'rejected');
    const held = [f.lines.heldFrom(), f.multiline?.heldFrom(), upTo].filter((o) => o !== undefined);
    return {
      delivered,
      ...(held.length > 0 ? { commitOffset: Math.min(...held) } : {}),
      ...(f.read && f.read.size > 0 ? { marks: this.marks(f, f.read) } : {}),
    };
  }

  /**
   * Per CRI stream: every line of it starting before this offset went out with this receipt or an earlier
   * one (what was read of it, but not past its own pending record's first line).
   */
  private marks(f: Followed, read: Map<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [stream, upTo] of read) {
      const held = [f.lines.heldFrom(stream), f.multiline?.heldFrom(stream)].filter((o) => o !== undefined);
      out[stream] = Math.min(upTo, ...held);
    }
    return out;
  }

  private logRecord(path: string, f: Followed, resource: Record<string, string>, r: CriRecord): LogRecordOut {
    const sev = severityOf(r.message);
    return {
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
    };
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
  /** CRI files: per stream, just past the start of the last line read (for the restart marks). */
  read?: Map<string, number>;
  /** Joins multi-line records after `lines` (configured per host file entry; `multiline` for pods). */
  multiline: MultilineAssembler | undefined;
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

/** The stream field of a CRI line (`<time> <stream> <P|F> <message>`); undefined when it has none. */
function criStream(line: string): 'stdout' | 'stderr' | undefined {
  const a = line.indexOf(' ');
  if (a < 0) return undefined;
  if (line.startsWith('stdout ', a + 1)) return 'stdout';
  if (line.startsWith('stderr ', a + 1)) return 'stderr';
  return undefined;
}
