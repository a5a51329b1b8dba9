import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * A bounded FIFO of remote-write bodies on disk: what the ingester has flushed but VictoriaMetrics has not yet
 * accepted. One file per body (`<sequence>.rw`, written to a temp name and renamed, so a crash never leaves a
 * half body under a real name); it survives a restart of the ingester and an outage of VictoriaMetrics.
 * When `maxBytes` would be exceeded the OLDEST bodies are dropped (the newest state matters most for
 * cumulative series) and reported to the caller so it can count them.
 * Synchronous file I/O on small files, called only from the event loop.
 */
export interface QueueItem {
  name: string;
  bytes: number;
  samples: number;
}

export class DiskQueue {
  private readonly items: QueueItem[] = [];
  private nextSeq = 0;
  totalBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir).sort()) {
      const m = /^(\d{16})-(\d+)\.rw$/.exec(f);
      if (!m) {
        if (f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
        continue;
      }
      const bytes = statSync(join(dir, f)).size;
      this.items.push({ name: f, bytes, samples: Number(m[2]) });
      this.totalBytes += bytes;
      this.nextSeq = Number(m[1]) + 1;
    }
  }

  get length(): number {
    return this.items.length;
  }

  /** Appends a body; returns the items dropped to stay under `maxBytes` (oldest first). */
  push(body: Buffer, samples: number): QueueItem[] {
    const dropped: QueueItem[] = [];
    while (this.items.length > 0 && this.totalBytes + body.length > this.maxBytes) {
      const old = this.items.shift()!;
      rmSync(join(this.dir, old.name), { force: true });
      this.totalBytes -= old.bytes;
      dropped.push(old);
    }
    const name = `${String(this.nextSeq++).padStart(16, '0')}-${samples}.rw`;
    // Synced before the rename: a body under its real name is complete even after a power cut. One fsync per
    // body per report interval is cheap.
    const fd = openSync(join(this.dir, `${name}.tmp`), 'w');
    try {
      writeSync(fd, body);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(join(this.dir, `${name}.tmp`), join(this.dir, name));
    this.items.push({ name, bytes: body.length, samples });
    this.totalBytes += body.length;
    return dropped;
  }

  /**
   * The oldest body, left in the queue until `remove()`. A body whose file vanished or cannot be read is
   * taken out of the queue and returned in `lost` so the caller counts it.
   */
  peek(): { item: QueueItem; body: Buffer } | { lost: QueueItem } | undefined {
    const item = this.items[0];
    if (!item) return undefined;
    try {
      return { item, body: readFileSync(join(this.dir, item.name)) };
    } catch {
      this.items.shift();
      this.totalBytes -= item.bytes;
      return { lost: item };
    }
  }

  /** Removes `item` if it is still queued (it may have been dropped for space meanwhile). */
  remove(item: QueueItem): void {
    const i = this.items.indexOf(item);
    if (i < 0) return;
    this.items.splice(i, 1);
    rmSync(join(this.dir, item.name), { force: true });
    this.totalBytes -= item.bytes;
  }
}
