import type { Registry } from 'prom-client';
import type { Component, HealthStatus } from '../../../lib/component.ts';
import { logger } from '../../../lib/log.ts';
import { type LogRecordOut, OtlpLogExporter } from '../exporters/otlpLogExporter.ts';
import { CriAssembler, SEVERITY_NUMBER, severityOf } from './criLog.ts';
import { FileTailer } from './fileTailer.ts';
import { listPodLogFiles, type PodLogFile } from './podLogs.ts';

/**
 * Container logs of a node as OTLP logs: tails kubelet's CRI files under `root` (default /var/log/pods),
 * joins partial lines, reads the severity the message states, and exports records with the pod's identity as
 * resource attributes (`k8s.namespace.name`, `k8s.pod.name`, `k8s.pod.uid`, `k8s.container.name`,
 * `k8s.container.restart_count`; `service.name` = the container name until the k8s-watcher names workloads).
 * Offsets persist in `stateFile`. Polls every `pollIntervalMs`; one poll at a time.
 */
export interface ContainerLogsOptions {
  root: string;
  stateFile: string;
  otlpUrl: string;
  pollIntervalMs?: number;
  /** Files first seen at start-up: read from the start (false: only new lines). New files later: from the start. */
  fromStart?: boolean;
  registry?: Registry;
}

export class ContainerLogs implements Component {
  readonly name = 'container-logs';
  private readonly exporter: OtlpLogExporter;
  private readonly tailer: FileTailer;
  private readonly files = new Map<string, { meta: PodLogFile; cri: CriAssembler }>();
  private timer: NodeJS.Timeout | undefined;
  private lastError = '';
  private readonly log = logger('container-logs');

  constructor(private readonly o: ContainerLogsOptions) {
    this.exporter = new OtlpLogExporter({ url: o.otlpUrl, registry: o.registry });
    this.tailer = new FileTailer({
      stateFile: o.stateFile,
      fromStart: o.fromStart ?? false,
      files: () => this.currentFiles(),
      onLines: (path, lines) => this.onLines(path, lines),
    });
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
    this.tailer.close();
  }

  async health(): Promise<HealthStatus> {
    if (!this.timer) return { ok: false, detail: 'not started' };
    return this.lastError
      ? { ok: false, detail: this.lastError }
      : { ok: true, detail: `${this.files.size} files` };
  }

  private currentFiles(): string[] {
    const now = listPodLogFiles(this.o.root);
    const seen = new Set<string>();
    for (const meta of now) {
      seen.add(meta.path);
      if (!this.files.has(meta.path)) this.files.set(meta.path, { meta, cri: new CriAssembler() });
    }
    for (const path of this.files.keys()) if (!seen.has(path)) this.files.delete(path);
    return now.map((f) => f.path);
  }

  private onLines(path: string, lines: string[]): void {
    const f = this.files.get(path);
    if (!f) return;
    const m = f.meta;
    const resource = {
      'service.name': m.container,
      'k8s.namespace.name': m.namespace,
      'k8s.pod.name': m.pod,
      'k8s.pod.uid': m.podUid,
      'k8s.container.name': m.container,
      'k8s.container.restart_count': String(m.restartCount),
    };
    const out: LogRecordOut[] = [];
    for (const line of lines) {
      const r = f.cri.push(line);
      if (!r) continue;
      const sev = severityOf(r.message);
      out.push({
        resource,
        timeUnixNano: r.timeUnixNano,
        severityNumber: sev ? SEVERITY_NUMBER[sev] : 0,
        severityText: sev ?? '',
        body: r.message,
        attributes: {
          'log.iostream': r.stream,
          'log.file.path': path,
          ...(r.truncated ? { 'understory.truncated': 'true' } : {}),
        },
      });
    }
    this.exporter.export(out);
  }
}
