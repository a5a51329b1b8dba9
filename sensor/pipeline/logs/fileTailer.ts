import {
  closeSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';

/**
 * Follows log files by polling: reads what was appended since the last poll, line by line, and remembers
 * (dev, inode, offset) per path in a state file so a restart resumes where it stopped.
 *
 * - Rotation by rename (kubelet, logrotate): the open descriptor still reads the old file to its end, then
 *   the new file at the path is opened at offset 0. Truncation (copytruncate): size < offset -> offset 0.
 * - A last line without its newline is not delivered until the newline arrives (offsets only ever point
 *   just past a newline), so a restart neither skips nor splits it.
 * - Offsets are saved after `onLines` resolved for the lines they cover: a crash between the two delivers
 *   those lines again (at least once); nothing is skipped.
 * - Bounds: at most `maxReadBytes` per file per poll; a line longer than `maxLineBytes` is cut (and the rest
 *   of it skipped).
 *
 * One poll at a time (`poll` awaits the previous one); runs on the event loop with small synchronous reads.
 */
export interface FileTailerOptions {
  /** The paths to follow now (called every poll: new pods appear, old ones go). */
  files: () => string[];
  onLines: (path: string, lines: string[]) => Promise<void> | void;
  stateFile: string;
  /**
   * Files present at the first poll and never seen before: read from the start (true) or only what is
   * appended from now on. Files that appear later are always read from the start (a new pod's first lines).
   */
  fromStart: boolean;
  maxReadBytes?: number;
  maxLineBytes?: number;
}

interface Followed {
  fd: number;
  dev: number;
  ino: number;
  /** Offset just past the last delivered newline. */
  offset: number;
  /** Bytes read past `offset` that do not end in a newline yet. */
  carry: Buffer;
  /** Skipping the rest of an over-long line. */
  skipping: boolean;
}

interface SavedState {
  [path: string]: { dev: number; ino: number; offset: number };
}

export class FileTailer {
  private readonly followed = new Map<string, Followed>();
  private saved: SavedState = {};
  private running: Promise<void> = Promise.resolve();
  private firstPollDone = false;
  private readonly maxRead: number;
  private readonly maxLine: number;
  readonly counts = { lines: 0, rotations: 0, truncations: 0, cutLines: 0, errors: 0 };

  constructor(private readonly o: FileTailerOptions) {
    this.maxRead = o.maxReadBytes ?? 256 * 1024;
    this.maxLine = o.maxLineBytes ?? 64 * 1024;
    try {
      this.saved = JSON.parse(readFileSync(o.stateFile, 'utf8')) as SavedState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new Error(`cannot read log offsets from ${o.stateFile}: ${(err as Error).message}`);
    }
  }

  /** One pass over all files. */
  poll(): Promise<void> {
    this.running = this.running.then(() => this.pollOnce());
    return this.running;
  }

  close(): void {
    for (const f of this.followed.values()) closeSync(f.fd);
    this.followed.clear();
  }

  private async pollOnce(): Promise<void> {
    const paths = new Set(this.o.files());
    for (const [path, f] of this.followed) {
      if (paths.has(path)) continue;
      await this.drainAll(path, f); // gone from the list: read what is left, then forget it
      closeSync(f.fd);
      this.followed.delete(path);
      delete this.saved[path];
    }
    for (const path of paths) {
      try {
        await this.follow(path);
      } catch (err) {
        this.counts.errors++;
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    this.firstPollDone = true;
    this.save();
  }

  private async follow(path: string): Promise<void> {
    let f = this.followed.get(path);
    if (!f) {
      const fd = openSync(path, 'r');
      const st = fstatSync(fd);
      const s = this.saved[path];
      const known = s && s.dev === st.dev && s.ino === st.ino && s.offset <= st.size;
      const fromStart = this.o.fromStart || this.firstPollDone || this.saved[path] !== undefined;
      const offset = known ? s.offset : fromStart ? 0 : st.size;
      f = { fd, dev: st.dev, ino: st.ino, offset, carry: Buffer.alloc(0), skipping: false };
      this.followed.set(path, f);
    }
    await this.drain(path, f);
    let now: { dev: number; ino: number; size: number };
    try {
      now = statSync(path);
    } catch {
      return; // renamed away and not recreated yet: keep the old descriptor
    }
    if (now.ino !== f.ino || now.dev !== f.dev) {
      this.counts.rotations++;
      await this.drainAll(path, f);
      closeSync(f.fd);
      this.followed.delete(path);
      this.saved[path] = { dev: now.dev, ino: now.ino, offset: 0 };
      await this.follow(path);
    } else if (now.size < f.offset + f.carry.length) {
      this.counts.truncations++;
      f.offset = 0;
      f.carry = Buffer.alloc(0);
      f.skipping = false;
      await this.drain(path, f);
    }
  }

  /** Reads from the descriptor (the file it was opened on, even if renamed) up to `maxReadBytes`. */
  private async drain(path: string, f: Followed): Promise<number> {
    const buf = Buffer.allocUnsafe(this.maxRead);
    const n = readSync(f.fd, buf, 0, this.maxRead, f.offset + f.carry.length);
    if (n === 0) return 0;
    const data = f.carry.length > 0 ? Buffer.concat([f.carry, buf.subarray(0, n)]) : buf.subarray(0, n);
    const lines: string[] = [];
    let start = 0;
    for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
      if (!f.skipping) lines.push(data.toString('utf8', start, Math.min(nl, start + this.maxLine)));
      f.skipping = false;
      start = nl + 1;
    }
    let rest = data.subarray(start);
    if (rest.length > this.maxLine) {
      // An over-long line: deliver its first part now, skip the rest up to its newline.
      if (!f.skipping) lines.push(rest.toString('utf8', 0, this.maxLine));
      this.counts.cutLines++;
      f.skipping = true;
      start += rest.length;
      rest = Buffer.alloc(0);
    }
    if (lines.length > 0) await this.o.onLines(path, lines);
    this.counts.lines += lines.length;
    f.offset += start;
    f.carry = Buffer.from(rest);
    this.saved[path] = { dev: f.dev, ino: f.ino, offset: f.offset };
    return n;
  }

  /** Reads a file that is being left (rotated or removed) to its end. */
  private async drainAll(path: string, f: Followed): Promise<void> {
    while ((await this.drain(path, f)) > 0);
  }

  /** Atomic: written to a temporary file, then renamed over the state file. */
  private save(): void {
    const tmp = `${this.o.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.saved));
    renameSync(tmp, this.o.stateFile);
  }
}
