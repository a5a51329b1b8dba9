import type { CaptureOptions } from '../capture/capture.ts';
import { SensorCapture } from '../capture/capture.ts';
import type { CaptureEvent, Direction, EventKind, Tuple } from '../capture/events.ts';
import type { Role } from '../protocols/contract.ts';

/** A plain copy of one event, safe to keep after the batch callback (unlike the lazy views). */
export interface RecordedEvent {
  kind: EventKind;
  tsNs: bigint;
  pid: number;
  tid: number;
  fd?: number;
  direction?: Direction;
  tuple?: Tuple;
  role?: Role;
  length?: number;
  data?: Buffer;
  tls?: boolean;
  /** Data: earlier bytes of the connection were left out (load shedding). */
  resync?: boolean;
  /** Data: calls of the thread left out (load shedding) since its previous event. */
  shedBefore?: number;
  comm?: string;
  childPid?: number;
}

/**
 * Runs the real sensor capture for a test and keeps copies of the events `keep` selects (e.g. those on
 * the test's ports), so assertions can run after the traffic. Everything else is only counted.
 */
export class CaptureRecorder {
  readonly events: RecordedEvent[] = [];
  seen = 0;
  /** Busy-waits this long per batch: a consumer that cannot keep up (overload tests). */
  consumerDelayMs = 0;
  readonly capture: SensorCapture;

  constructor(
    private readonly keep: (ev: CaptureEvent) => boolean,
    options: Partial<CaptureOptions> = {},
  ) {
    this.capture = new SensorCapture({
      // Only what this test process starts: other work on the machine can neither add noise nor fill the ring.
      includePids: [process.pid],
      ...options,
      onBatch: (batch) => {
        if (this.consumerDelayMs > 0) {
          const until = Date.now() + this.consumerDelayMs;
          while (Date.now() < until);
        }
        for (const ev of batch) {
          this.seen++;
          if (this.keep(ev)) this.events.push(copyEvent(ev));
        }
      },
    });
  }

  start(): Promise<void> {
    return this.capture.start();
  }

  stop(): Promise<void> {
    return this.capture.shutdown();
  }

  /** Waits (polling the recorded copies) until `pred` holds; fails with what was recorded otherwise. */
  async waitFor(what: string, pred: (events: RecordedEvent[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (pred(this.events)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`capture: ${what} not seen within ${timeoutMs} ms; recorded:\n${this.describe()}`);
  }

  describe(): string {
    return this.events
      .slice(-40)
      .map(
        (e) =>
          `${e.kind} pid=${e.pid} fd=${e.fd} ${e.direction ?? ''} ${e.tuple ? `${e.tuple.local.ip}:${e.tuple.local.port}>${e.tuple.remote.ip}:${e.tuple.remote.port}` : ''} role=${e.role ?? ''} len=${e.length ?? ''} tls=${e.tls ?? ''} ${e.data ? JSON.stringify(e.data.toString('latin1').slice(0, 60)) : ''}`,
      )
      .join('\n');
  }

  /** Concatenated captured bytes of data events matching `pred`, in capture order. */
  bytes(pred: (e: RecordedEvent) => boolean): string {
    return Buffer.concat(
      this.events.filter((e) => e.kind === 'data' && pred(e)).map((e) => e.data!),
    ).toString('latin1');
  }
}

export function copyEvent(ev: CaptureEvent): RecordedEvent {
  const base = { kind: ev.kind, tsNs: ev.tsNs, pid: ev.pid, tid: ev.tid };
  switch (ev.kind) {
    case 'data':
      return {
        ...base,
        fd: ev.fd,
        direction: ev.direction,
        tuple: ev.tuple,
        role: ev.role,
        length: ev.length,
        data: Buffer.from(ev.data),
        tls: ev.tls,
        resync: ev.resync,
        shedBefore: ev.shedBefore ?? 0,
      };
    case 'connect':
    case 'accept':
    case 'close':
      return { ...base, fd: ev.fd, tuple: ev.tuple, role: ev.role };
    default:
      return { ...base, comm: ev.comm, childPid: ev.childPid };
  }
}

/** True if the event's tuple has `port` on either end. */
export function onPort(ev: CaptureEvent, port: number): boolean {
  if (ev.kind === 'data' || ev.kind === 'connect' || ev.kind === 'accept' || ev.kind === 'close') {
    const t = ev.tuple;
    return t.local.port === port || t.remote.port === port;
  }
  return false;
}
