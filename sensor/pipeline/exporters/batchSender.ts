import { logger } from '../../../lib/log.ts';

/**
 * The delivery half shared by the exporters: a bounded in-memory FIFO of encoded bodies and one send loop
 * (one body in flight keeps the receiver's order). Failures are retried with exponential backoff and full
 * jitter (so a fleet of sensors does not retry in step); a permanent failure (HTTP 4xx other than 429) drops
 * the body. When the queue is full the OLDEST body is dropped: newer data is worth more (RED values are
 * cumulative, so a newer snapshot supersedes an older one). Every drop is counted by reason.
 *
 * The sender owns each body once `push` returns; the caller must not modify it. Called on the event loop.
 */
export interface Body {
  bytes: Uint8Array;
  /** Items it carries (samples, spans), for the counters. */
  items: number;
}

export interface BatchSenderOptions {
  name: string;
  /** Delivers one body; throws `PermanentSendError` for input the receiver will never accept. */
  send: (body: Body) => Promise<void>;
  maxQueueBodies: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  onSent?: (body: Body) => void;
  onDropped?: (body: Body, reason: 'queue_full' | 'rejected' | 'shutdown') => void;
  onError?: (err: Error) => void;
  random?: () => number;
}

export class PermanentSendError extends Error {}

export class BatchSender {
  private readonly queue: Body[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private backoffMs = 0;
  private inFlight: Body | undefined;
  lastError = '';
  private readonly log;

  constructor(private readonly o: BatchSenderOptions) {
    if (o.maxQueueBodies < 2) throw new Error(`cannot configure ${o.name}: maxQueueBodies must be >= 2`);
    this.log = logger(o.name);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** True while the last attempt failed and the sender is backing off. */
  get retrying(): boolean {
    return this.backoffMs > 0;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  push(body: Body): void {
    if (this.queue.length >= this.o.maxQueueBodies) {
      // The oldest body not in flight (the one being sent stays; its outcome is counted by the loop).
      const i = this.queue[0] === this.inFlight && this.queue.length > 1 ? 1 : 0;
      const [dropped] = this.queue.splice(i, 1);
      if (dropped) this.o.onDropped?.(dropped, 'queue_full');
    }
    this.queue.push(body);
    this.wake?.();
  }

  /** Waits until the queue is empty, a retry is pending, or `timeoutMs` passes. True when empty. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 && Date.now() < deadline) await sleep(10);
    return this.queue.length === 0;
  }

  /** Stops the loop after the body in flight; what is still queued is dropped and counted. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loop;
    for (const b of this.queue.splice(0)) this.o.onDropped?.(b, 'shutdown');
  }

  private async run(): Promise<void> {
    while (this.running) {
      const body = this.queue[0];
      if (!body) {
        await new Promise<void>((r) => {
          this.wake = r;
        });
        this.wake = undefined;
        continue;
      }
      this.inFlight = body;
      try {
        await this.o.send(body);
        this.remove(body);
        this.o.onSent?.(body);
        this.backoffMs = 0;
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        this.lastError = e.message;
        this.o.onError?.(e);
        if (err instanceof PermanentSendError) {
          this.remove(body);
          this.o.onDropped?.(body, 'rejected');
          this.log.warn({ err: e.message }, 'receiver refused a body; dropped');
          continue;
        }
        if (this.backoffMs === 0) this.log.warn({ err: e.message }, 'cannot send; retrying with backoff');
        this.backoffMs = Math.min(Math.max(this.backoffMs * 2, this.o.initialBackoffMs), this.o.maxBackoffMs);
        const jittered = (this.o.random ?? Math.random)() * this.backoffMs;
        await new Promise<void>((r) => {
          const t = setTimeout(r, jittered);
          this.wake = () => {
            if (!this.running) {
              clearTimeout(t);
              r();
            }
          };
        });
        this.wake = undefined;
      } finally {
        this.inFlight = undefined;
      }
    }
  }

  private remove(body: Body): void {
    const i = this.queue.indexOf(body);
    if (i >= 0) this.queue.splice(i, 1);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
