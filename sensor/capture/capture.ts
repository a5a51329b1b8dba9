import { existsSync } from 'node:fs';
import type { Component, HealthStatus } from '../../lib/component.ts';
import { type Logger, logger } from '../../lib/log.ts';
import { CaptureError, classifyNativeError } from './errors.ts';
import { EventBatch } from './events.ts';
import { checkLayout } from './layout.ts';
import { loadNative, type NativeProgramStats, type NativeSession, type NativeStats } from './native.ts';
import { ProcessInfoCache } from './processInfo.ts';
import { TlsAttacher } from './tlsAttacher.ts';
import { ensureTracefs } from './tracefs.ts';

export interface CaptureOptions {
  /** Called on the JavaScript thread with each batch; events are valid only during the call. */
  onBatch: (batch: EventBatch) => void;
  /** Ring buffer size in bytes: a power of two, 64 KiB .. 1 GiB. Default 16 MiB. */
  ringBytes?: number;
  /** Bytes captured per data event, 0 .. 4096. Default 256. */
  dataCap?: number;
  /** Bytes captured for the first event of a message (direction change, UDP datagram). Default 1024. */
  msgStartCap?: number;
  /**
   * Wake the reader when this many bytes wait in the ring (else the poll timer). Default min(4 MiB, ring / 4):
   * a forced wake-up is an inter-processor interrupt that costs ~10 us on a VM, so it is kept for bursts.
   */
  wakeBytes?: number;
  /**
   * Poll timer of the reader thread, 1 .. 1000 ms. Default 50: every wake-up costs both threads a
   * context switch and the batch's fixed work, so fewer, larger batches cut the sensor's CPU per request
   * (whole-sensor bench against 15 ms: 0.90-0.94x saturated, 0.79-0.95x and 0.86-0.94x at a quarter and
   * half of it, three runs). Calls reach the pipeline at most this much later, far below the 5 s export
   * interval; bursts of traffic still wake the reader early (`wakeBytes`). A larger batch is a longer burst
   * of sensor CPU beside the application; the bench's latency and throughput deltas of that size (p99
   * +0.1-0.5 ms, throughput -1 % at half load) showed up with 15 ms too, i.e. within its spread.
   */
  pollMs?: number;
  /** Batch size handed to JavaScript, 16 KiB .. 16 MiB. Default 256 KiB. */
  batchBytes?: number;
  /** Batches queued to JavaScript before the reader stops reading (and the kernel starts dropping). */
  maxInFlight?: number;
  /**
   * Capture only these processes (and the processes they fork from now on). This process itself is
   * never captured; listing it captures only its children (what tests do).
   */
  includePids?: readonly number[];
  /** Never capture these processes (this process is always excluded). */
  excludePids?: readonly number[];
  /** Capture only these cgroup v2 ids / never these. */
  includeCgroups?: readonly bigint[];
  excludeCgroups?: readonly bigint[];
  /** Attach OpenSSL uprobes (needs CAP_SYS_ADMIN). Default true. */
  tls?: boolean;
  /** Extra binaries exporting SSL_read/SSL_write to probe (libssl and Node are found automatically). */
  tlsBinaries?: readonly string[];
  log?: Logger;
}

type Resolved = Required<Omit<CaptureOptions, 'log'>>;

export interface CaptureStats extends NativeStats {
  /** Batches whose consumer threw (the error is logged; capture goes on). */
  consumerErrors: number;
  /** Binaries with TLS uprobes attached. */
  tlsBinaries: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** Validates options; throws CaptureError('invalid-config') naming the bad value. */
export function resolveOptions(o: CaptureOptions): Resolved {
  const r: Resolved = {
    onBatch: o.onBatch,
    ringBytes: o.ringBytes ?? 16 * MiB,
    dataCap: o.dataCap ?? 256,
    msgStartCap: o.msgStartCap ?? 1024,
    wakeBytes: o.wakeBytes ?? Math.min(4 * MiB, (o.ringBytes ?? 16 * MiB) / 4),
    pollMs: o.pollMs ?? 50,
    batchBytes: o.batchBytes ?? 256 * KiB,
    maxInFlight: o.maxInFlight ?? 8,
    includePids: o.includePids ?? [],
    excludePids: o.excludePids ?? [],
    includeCgroups: o.includeCgroups ?? [],
    excludeCgroups: o.excludeCgroups ?? [],
    tls: o.tls ?? true,
    tlsBinaries: o.tlsBinaries ?? [],
  };
  const bad = (what: string, v: unknown, want: string) => {
    throw new CaptureError('invalid-config', `cannot configure capture: ${what} is ${v}, want ${want}`);
  };
  if (typeof r.onBatch !== 'function') bad('onBatch', typeof r.onBatch, 'a function');
  const int = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!int(r.ringBytes, 64 * KiB, 1024 * MiB) || (r.ringBytes & (r.ringBytes - 1)) !== 0) {
    bad('ringBytes', r.ringBytes, 'a power of two from 64 KiB to 1 GiB');
  }
  if (!int(r.dataCap, 0, 4096)) bad('dataCap', r.dataCap, '0..4096');
  if (!int(r.msgStartCap, 0, 4096)) bad('msgStartCap', r.msgStartCap, '0..4096');
  if (!int(r.wakeBytes, 1, r.ringBytes)) bad('wakeBytes', r.wakeBytes, `1..ringBytes (${r.ringBytes})`);
  if (!int(r.pollMs, 1, 1000)) bad('pollMs', r.pollMs, '1..1000');
  if (!int(r.batchBytes, 16 * KiB, 16 * MiB)) bad('batchBytes', r.batchBytes, '16 KiB..16 MiB');
  if (!int(r.maxInFlight, 1, 1024)) bad('maxInFlight', r.maxInFlight, '1..1024');
  for (const p of [...r.includePids, ...r.excludePids]) if (!int(p, 1, 2 ** 31)) bad('a pid', p, '> 0');
  return r;
}

/**
 * The sensor's capture component: loads the eBPF program, attaches it, and hands batches of events to
 * `onBatch`. Also keeps process metadata current and attaches TLS uprobes as processes appear.
 * start() fails with a typed CaptureError; after it resolves nothing here throws.
 */
export class SensorCapture implements Component {
  readonly name = 'sensor-capture';
  readonly processes = new ProcessInfoCache();
  private readonly opts: Resolved;
  private readonly log: Logger;
  private session: NativeSession | undefined;
  private tls: TlsAttacher | undefined;
  private running = false;
  private consumerErrors = 0;

  constructor(options: CaptureOptions) {
    this.opts = resolveOptions(options);
    this.log = options.log ?? logger('sensor-capture');
  }

  async start(): Promise<void> {
    if (this.session) throw new CaptureError('invalid-config', 'cannot start capture: already started');
    if (!existsSync('/sys/kernel/btf/vmlinux')) {
      throw new CaptureError(
        'btf-missing',
        'cannot load the eBPF sensor: this kernel has no BTF (/sys/kernel/btf/vmlinux); it needs a kernel ' +
          'built with CONFIG_DEBUG_INFO_BTF=y (most distributions since 2020)',
      );
    }
    const native = loadNative();
    checkLayout(native.layout);
    const o = this.opts;
    const session = new native.CaptureSession({
      ringBytes: o.ringBytes,
      batchBytes: o.batchBytes,
      pollMs: o.pollMs,
      maxInFlight: o.maxInFlight,
    });
    try {
      session.load();
      this.session = session;
      this.applyFilters(session);
      ensureTracefs();
      session.attach();
      session.start((buffer, records) => this.deliver(buffer, records));
    } catch (err) {
      session.close();
      this.session = undefined;
      throw err instanceof CaptureError ? err : classifyNativeError(err);
    }
    this.running = true;
    if (o.tls) {
      this.tls = new TlsAttacher(session, this.log, o.tlsBinaries);
      this.tls.start();
    }
    this.log.info({ ringBytes: o.ringBytes, dataCap: o.dataCap, tls: o.tls }, 'capture started');
  }

  private applyFilters(s: NativeSession): void {
    const o = this.opts;
    // This process stays excluded even when included: then only the processes it forks are captured.
    for (const p of o.includePids) s.setFilter('pid', p, p === process.pid ? 3 : 1);
    for (const p of o.excludePids) s.setFilter('pid', p, 2);
    for (const c of o.includeCgroups) s.setFilter('cgroup', c, 1);
    for (const c of o.excludeCgroups) s.setFilter('cgroup', c, 2);
    s.setConfig({
      dataCap: o.dataCap,
      msgStartCap: o.msgStartCap,
      wakeBytes: o.wakeBytes,
      pidIncludeOnly: o.includePids.length > 0 ? 1 : 0,
      cgroupIncludeOnly: o.includeCgroups.length > 0 ? 1 : 0,
      cgroupFilters: o.includeCgroups.length + o.excludeCgroups.length > 0 ? 1 : 0,
    });
  }

  /** JavaScript thread: one batch from the addon. Process bookkeeping first, then the consumer. */
  private deliver(buffer: ArrayBuffer, records: number): void {
    const batch = new EventBatch(buffer, records);
    batch.forEachProcessChange((kind, pid) => {
      this.processes.forget(pid);
      if (kind === 'exec') this.tls?.onExec(pid);
    });
    try {
      this.opts.onBatch(batch);
    } catch (err) {
      this.consumerErrors++;
      if (this.consumerErrors <= 10 || this.consumerErrors % 1000 === 0) {
        this.log.error({ err, consumerErrors: this.consumerErrors }, 'capture consumer failed on a batch');
      }
    }
  }

  /** Adds or removes a pid from the capture filters while running (`include` applies only in include mode). */
  setPidFilter(pid: number, mode: 'include' | 'exclude' | 'none'): void {
    this.session?.setFilter('pid', pid, mode === 'include' ? 1 : mode === 'exclude' ? 2 : 0);
  }

  /**
   * Load shedding: connections whose 16-bit lot (a hash of their port pair and `salt`) is below `lots`
   * (0..65536) are left out; 0: none. A new salt changes which connections those are.
   */
  setShed(lots: number, salt?: number): void {
    this.session?.setShed(lots, salt);
  }

  stats(): CaptureStats {
    const base = this.session?.stats() ?? ({} as NativeStats);
    return {
      ...base,
      consumerErrors: this.consumerErrors,
      tlsBinaries: [...(this.tls?.binaries.values() ?? [])].filter((b) => b.probes > 0).length,
    };
  }

  /** Kernel run count and time per eBPF program (non-zero only with sysctl kernel.bpf_stats_enabled=1). */
  programStats(): NativeProgramStats[] {
    return this.session?.programStats() ?? [];
  }

  /** Binaries probed for TLS, with the number of probes (0 and an error when it failed). */
  tlsBinaries(): { path: string; probes: number; error?: string }[] {
    return [...(this.tls?.binaries.values() ?? [])];
  }

  async health(): Promise<HealthStatus> {
    if (!this.running) return { ok: false, detail: 'not running' };
    const s = this.stats();
    return { ok: s.pollErrors === 0, detail: `events ${s.events}, drops ${s.drops}` };
  }

  /** Stops reading, detaches and unloads. Batches already queued are still delivered. Safe to call twice. */
  async shutdown(): Promise<void> {
    this.running = false;
    this.tls?.stop();
    this.tls = undefined;
    const s = this.session;
    this.session = undefined;
    s?.stop();
    s?.close();
  }
}
