import { EntryIndex, type IpOwner } from './entryIndex.ts';
import {
  type ChangeLine,
  type Entry,
  type ProcessEntry,
  SNAPSHOT_PATH,
  type Snapshot,
  WATCH_PATH,
  type WorkloadEntry,
} from './types.ts';

export interface MetadataClientOptions {
  /** Base URL of the k8s-watcher's sensor API, e.g. `http://understory-k8s-watcher:9470`. */
  url: string;
  token?: string;
  /**
   * This sensor's Kubernetes node name: the watcher then sends pods of other nodes without their containers
   * (only local pods' container ids name processes), a much smaller copy on a large cluster. Give it only
   * when it is the node's name as Kubernetes knows it (the chart's spec.nodeName): a wrong one would strip
   * the local pods too.
   */
  node?: string;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** No line (heartbeats included) for this long means a dead connection: reconnect. */
  idleTimeoutMs?: number;
  /**
   * Bounds of the copy (a watcher gone wrong must not exhaust the sensor's memory): entries kept (new keys
   * past it are dropped and counted in `limits.entriesDropped`), bytes of one snapshot (a bigger one is
   * refused, counted, and retried with back-off), bytes of one change line (skipped and counted).
   */
  maxEntries?: number;
  maxSnapshotBytes?: number;
  maxLineBytes?: number;
  /** Called after each applied change, also for the differences a re-sync brings. */
  onChange?: (key: string, value: Entry | undefined) => void;
  onError?: (err: Error) => void;
}

class GoneError extends Error {}

export const CLIENT_LIMITS = { maxEntries: 500_000, maxSnapshotBytes: 256 << 20, maxLineBytes: 1 << 20 };

/**
 * The sensor's copy of the watcher's metadata: a snapshot, then the change stream, reconnecting with
 * back-off. If the watcher restarted (new epoch) or its history no longer reaches our revision (410),
 * it takes a new snapshot and swaps it in whole, so lookups keep answering from the old copy meanwhile.
 *
 * Everything runs on the caller's event loop; lookups are synchronous map reads.
 */
export class K8sMetadataClient {
  private index = new EntryIndex();
  private epoch: string | undefined;
  private revision = 0;
  private stopped = true;
  /** Aborted by stop(): ends whatever request or back-off sleep the loop is in. */
  private stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private readyResolve!: () => void;
  private readonly readyPromise = new Promise<void>((r) => {
    this.readyResolve = r;
  });
  /** Snapshots taken (1 at start, +1 per watcher restart or expired history). */
  snapshots = 0;
  /** What the bounds refused (see MetadataClientOptions): counted, never thrown at callers. */
  readonly limits = { entriesDropped: 0, snapshotsRefused: 0, linesSkipped: 0 };
  private readonly max: typeof CLIENT_LIMITS;
  connected = false;
  lastError: string | undefined;

  constructor(private readonly opts: MetadataClientOptions) {
    this.max = {
      maxEntries: opts.maxEntries ?? CLIENT_LIMITS.maxEntries,
      maxSnapshotBytes: opts.maxSnapshotBytes ?? CLIENT_LIMITS.maxSnapshotBytes,
      maxLineBytes: opts.maxLineBytes ?? CLIENT_LIMITS.maxLineBytes,
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopping = new AbortController();
    this.loop = this.run();
  }

  /** Resolves once the first snapshot is in. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    await this.loop;
  }

  get rev(): number {
    return this.revision;
  }

  get size(): number {
    return this.index.size;
  }

  lookupIp(ip: string): IpOwner | undefined {
    return this.index.lookupIp(ip);
  }

  lookupContainer(id: string): Entry | undefined {
    return this.index.lookupContainer(id);
  }

  lookupPid(pid: number): ProcessEntry | undefined {
    return this.index.lookupPid(pid);
  }

  workload(namespace: string, kind: string, name: string): WorkloadEntry | undefined {
    return this.index.workload(namespace, kind, name);
  }

  get(key: string): Entry | undefined {
    return this.index.get(key);
  }

  private async run(): Promise<void> {
    const initial = this.opts.backoffInitialMs ?? 250;
    const max = this.opts.backoffMaxMs ?? 10_000;
    let backoff = initial;
    while (!this.stopped) {
      try {
        if (this.epoch === undefined) await this.resync();
        const progressed = await this.follow();
        if (progressed) backoff = initial;
      } catch (err) {
        this.connected = false;
        if (this.stopped) break;
        if (err instanceof GoneError) {
          this.epoch = undefined;
          continue;
        }
        this.lastError = (err as Error).message;
        this.opts.onError?.(err as Error);
      }
      if (this.stopped) break;
      await sleep(Math.round(backoff / 2 + Math.random() * (backoff / 2)), this.stopping.signal);
      backoff = Math.min(backoff * 2, max);
    }
  }

  private headers(): Record<string, string> {
    return this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {};
  }

  private async resync(): Promise<void> {
    const signal = AbortSignal.any([
      this.stopping.signal,
      AbortSignal.timeout(this.opts.idleTimeoutMs ?? 45_000),
    ]);
    const url = new URL(SNAPSHOT_PATH, this.opts.url);
    if (this.opts.node) url.searchParams.set('node', this.opts.node);
    const res = await fetch(url, { headers: this.headers(), signal });
    if (res.status !== 200) throw new Error(`cannot take snapshot: HTTP ${res.status}: ${await res.text()}`);
    const snap = JSON.parse(await this.boundedText(res)) as Snapshot;
    const next = new EntryIndex();
    for (const { key, value } of snap.entries) {
      if (next.size >= this.max.maxEntries) {
        this.limits.entriesDropped++;
        continue;
      }
      next.put(key, value);
    }
    const previous = this.index;
    this.index = next;
    this.epoch = snap.epoch;
    this.revision = snap.rev;
    this.snapshots++;
    this.readyResolve();
    this.announceDifferences(previous, next);
  }

  /** The body as text, refused (and counted) past maxSnapshotBytes without reading the rest. */
  private async boundedText(res: Response): Promise<string> {
    const limit = this.max.maxSnapshotBytes;
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    const refuse = async () => {
      this.limits.snapshotsRefused++;
      await res.body?.cancel().catch(() => undefined);
      return new Error(`cannot take snapshot: larger than ${limit} bytes (maxSnapshotBytes)`);
    };
    if (declared > limit) throw await refuse();
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      if (bytes > limit) throw await refuse();
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private announceDifferences(previous: EntryIndex, next: EntryIndex): void {
    const onChange = this.opts.onChange;
    if (!onChange) return;
    for (const [key] of previous.all()) if (!next.get(key)) onChange(key, undefined);
    for (const [key, value] of next.all()) {
      const old = previous.get(key);
      if (!old || JSON.stringify(old) !== JSON.stringify(value)) onChange(key, value);
    }
  }

  /** Follows the change stream until it ends; true if it delivered anything. */
  private async follow(): Promise<boolean> {
    const abort = new AbortController();
    const signal = AbortSignal.any([this.stopping.signal, abort.signal]);
    const idleMs = this.opts.idleTimeoutMs ?? 45_000;
    let idle = setTimeout(() => abort.abort(), idleMs);
    const url = new URL(WATCH_PATH, this.opts.url);
    url.searchParams.set('epoch', this.epoch ?? '');
    url.searchParams.set('since', String(this.revision));
    if (this.opts.node) url.searchParams.set('node', this.opts.node);
    let progressed = false;
    try {
      const res = await fetch(url, { headers: this.headers(), signal });
      if (res.status === 410) {
        await res.body?.cancel();
        throw new GoneError('watch history gone');
      }
      if (res.status !== 200 || !res.body)
        throw new Error(`cannot watch: HTTP ${res.status}: ${await res.text()}`);
      this.connected = true;
      const decoder = new TextDecoder();
      let buffered = '';
      let skipping = false;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        clearTimeout(idle);
        idle = setTimeout(() => abort.abort(), idleMs);
        buffered += decoder.decode(chunk, { stream: true });
        // Walk the lines by index and cut the buffer once: a chunk can hold hundreds of lines.
        let start = 0;
        let nl = buffered.indexOf('\n');
        if (skipping) {
          if (nl < 0) {
            buffered = '';
            continue;
          }
          skipping = false;
          start = nl + 1;
          nl = buffered.indexOf('\n', start);
        }
        while (nl >= 0) {
          if (nl > start) {
            this.apply(JSON.parse(buffered.slice(start, nl)) as ChangeLine);
            progressed = true;
          }
          start = nl + 1;
          nl = buffered.indexOf('\n', start);
        }
        buffered = buffered.slice(start);
        if (buffered.length > this.max.maxLineBytes) {
          // No end of line within the bound: drop what is buffered and the rest of that line.
          this.limits.linesSkipped++;
          buffered = '';
          skipping = true;
        }
      }
      return progressed;
    } catch (err) {
      if (err instanceof GoneError) throw err;
      if (abort.signal.aborted && !this.stopped)
        throw new Error('cannot follow watch: stream idle, reconnecting');
      throw err;
    } finally {
      clearTimeout(idle);
      this.connected = false;
    }
  }

  private apply(line: ChangeLine): void {
    if (line.heartbeat || line.key === undefined) return;
    if (line.rev <= this.revision) return;
    this.revision = line.rev;
    if (line.value === undefined) this.index.delete(line.key);
    else if (this.index.size >= this.max.maxEntries && !this.index.get(line.key)) {
      this.limits.entriesDropped++;
      return;
    } else this.index.put(line.key, line.value);
    this.opts.onChange?.(line.key, line.value);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
