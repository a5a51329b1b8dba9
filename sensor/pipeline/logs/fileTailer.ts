import {
  closeSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Follows log files by polling: reads what was appended since the last poll, line by line, and remembers
 * (dev, inode, offset) per path in a state file so a restart resumes where it stopped.
 *
 * - Rotation by rename (kubelet, logrotate): the open descriptor still reads the old file to its end, then
 *   the new file at the path is opened at offset 0. Truncation (copytruncate): size < offset -> offset 0.
 * - A last line without its newline is not delivered until the newline arrives (offsets only ever point
 *   just past a newline), so a restart neither skips nor splits it.
 * - Reading and committing are separate: the read position moves on at once, but the saved offset of a
 *   path moves only when `onLines`'s receipt says the lines were delivered (the collector acknowledged
 *   them), in read order. A receipt that says "not delivered" stops the commits of that path for the
 *   rest of the run, so a restart reads those lines again: at least once, nothing skipped. The receipt may
 *   commit less than the chunk (`commitOffset`): a CRI message whose `P` parts are read but whose `F` part
 *   is not, or a multi-line record still waiting for lines, has to be read again after a restart. Records
 *   emitted later (a timeout) commit through `addReceipt`; what is held when a file ends, through `onFileEnd`.
 * - A file rotated while the sensor was down is looked for by its saved (dev, inode) among the files of
 *   the same directory (kubelet's `0.log.<timestamp>`, logrotate's `.1`) and read to its end first.
 * - A new path holding a file another listed path follows or followed (logrotate's `extension` option
 *   renames `app.log` to `app.1.log`, which a `*.log` pattern lists too; a hard link) is not read from its
 *   start: it waits while the other path still holds the file, then starts where that path stopped.
 * - Bounds: at most `maxReadBytes` per file per poll; a line longer than `maxLineBytes` is cut (and the rest
 *   of it skipped).
 *
 * One poll at a time (`poll` awaits the previous one); runs on the event loop with small synchronous reads.
 */
/** Polls a stopped file's end is remembered for its renamed copy (see FileTailer.retired). */
const RETIRED_POLLS = 3;

/** Where the lines of one `onLines` call sit in their file. */
export interface LineChunk {
  dev: number;
  ino: number;
  /** Byte offset of each line's start. */
  starts: number[];
  /** Byte offset just past the last line's newline. */
  end: number;
  /**
   * Set while re-reading what a restart resumed from a held-back offset: the consumer's `marks` saved with
   * that offset (its lines already delivered, e.g. another CRI stream's lines past a held record's start).
   */
  replay?: Readonly<Record<string, number>>;
}

/** What became of delivered lines; without a receipt the chunk counts as delivered at once. */
export interface LinesReceipt {
  /** Resolves true once the lines are safe (acknowledged), false if they were given up. */
  delivered: Promise<boolean>;
  /** Commit only up to here (default `chunk.end`), e.g. the start of a message not complete yet. */
  commitOffset?: number;
  /**
   * Saved with the commit and handed back as `chunk.replay` when a restart re-reads from `commitOffset`:
   * what the consumer already delivered past it (opaque to the tailer: small numbers by name).
   */
  marks?: Record<string, number>;
}

export interface FileTailerOptions {
  /** The paths to follow now (called every poll: new pods appear, old ones go). */
  files: () => string[];
  /** Called on the event loop; `lines` and `chunk` belong to the callee afterwards. */
  /**
   * Several receipts (in line order, each with its `commitOffset`) let a large chunk commit batch by batch.
   */
  onLines: (
    path: string,
    lines: string[],
    chunk: LineChunk,
    // biome-ignore lint/suspicious/noConfusingVoidType: a callback that only collects lines returns nothing
  ) => LinesReceipt | readonly LinesReceipt[] | void;
  /**
   * Called when a file is left (read to its end before a rotation, a removal from the list, a recovery of a
   * file rotated while we were down) or truncated: records still held back (a multi-line record waiting for
   * more lines) must be emitted now, their receipts commit up to what was read of that file.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: nothing held, nothing to commit
  onFileEnd?: (path: string) => LinesReceipt | readonly LinesReceipt[] | void;
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
  /** The saved marks while re-reading past a restart's resume offset (see LineChunk.replay). */
  replay?: Record<string, number>;
}

interface Position {
  dev: number;
  ino: number;
  offset: number;
  marks?: Record<string, number>;
}

interface SavedState {
  [path: string]: Position;
}

/** A commit waiting for its receipt; `forget` drops the path's saved state (the file left the list). */
interface PendingCommit {
  position?: Position;
  forget?: boolean;
  state: 'waiting' | 'ok' | 'failed';
}

export class FileTailer {
  private readonly followed = new Map<string, Followed>();
  /** Committed positions: what the state file holds. */
  private saved: SavedState = {};
  private readonly commits = new Map<string, PendingCommit[]>();
  /** Paths whose commits stopped after a failed delivery. */
  private readonly blocked = new Set<string>();
  private readonly outstanding = new Set<Promise<unknown>>();
  private dirty = false;
  private running: Promise<void> = Promise.resolve();
  private firstPollDone = false;
  /** The paths of the current poll. */
  private listed: ReadonlySet<string> = new Set();
  /**
   * Files a path stopped following (rotated away or dropped from the list), by `dev:ino`: the offset it
   * read them to and the poll it stopped at. Kept RETIRED_POLLS polls: a renamed copy shows up in the same
   * poll or the next, and the file still exists then, so its inode cannot have been reused.
   */
  private readonly retired = new Map<string, { offset: number; poll: number }>();
  private polls = 0;
  private readonly maxRead: number;
  private readonly maxLine: number;
  readonly counts = {
    lines: 0,
    rotations: 0,
    truncations: 0,
    cutLines: 0,
    errors: 0,
    /** Lines read again from a file that was rotated while the sensor was down. */
    recoveredRotations: 0,
    /** New paths found to be a renamed copy of a file read under another path (started where it stopped). */
    renamedCopies: 0,
    failedDeliveries: 0,
  };

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

  /** Waits for the receipts handed out so far and saves what they committed. */
  async settle(): Promise<void> {
    while (this.outstanding.size > 0) await Promise.allSettled([...this.outstanding]);
    this.save();
  }

  close(): void {
    for (const f of this.followed.values()) closeSync(f.fd);
    this.followed.clear();
    this.save();
  }

  private async pollOnce(): Promise<void> {
    const paths = new Set(this.o.files());
    this.listed = paths;
    this.polls++;
    for (const [key, r] of this.retired) if (this.polls - r.poll > RETIRED_POLLS) this.retired.delete(key);
    for (const [path, f] of this.followed) {
      if (paths.has(path)) continue;
      await this.drainAll(path, f); // gone from the list: read what is left, then forget it
      this.retire(f);
      closeSync(f.fd);
      this.followed.delete(path);
      this.enqueue(path, { forget: true, state: 'ok' });
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
      if (s && !known && !this.firstPollDone) await this.recoverRotated(path, s);
      const fromStart = this.o.fromStart || this.firstPollDone || this.saved[path] !== undefined;
      let offset = known ? s.offset : fromStart ? 0 : st.size;
      if (!known) {
        const key = `${st.dev}:${st.ino}`;
        const retired = this.retired.get(key);
        if (retired !== undefined && retired.offset <= st.size) {
          offset = retired.offset; // a renamed copy of a file read up to here under its old path
          this.retired.delete(key);
          this.counts.renamedCopies++;
        } else if (this.heldElsewhere(path, st.dev, st.ino)) {
          closeSync(fd);
          return; // another path reads it (to its end, if it was rotated away): look again next poll
        }
      }
      f = { fd, dev: st.dev, ino: st.ino, offset, carry: Buffer.alloc(0), skipping: false };
      if (known && validMarks(s.marks)) f.replay = s.marks;
      this.followed.set(path, f);
      // Remember where a new file starts, so lines appended before a crash are not skipped after it.
      if (!known) this.enqueue(path, { position: { dev: st.dev, ino: st.ino, offset }, state: 'ok' });
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
      this.retire(f);
      closeSync(f.fd);
      this.followed.delete(path);
      // Committed in order: only after the old file's last lines were.
      this.enqueue(path, { position: { dev: now.dev, ino: now.ino, offset: 0 }, state: 'ok' });
      await this.follow(path);
    } else if (now.size < f.offset + f.carry.length) {
      this.counts.truncations++;
      this.fileEnd(path, f);
      f.replay = undefined;
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
    const starts: number[] = [];
    let start = 0;
    for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
      if (!f.skipping) {
        lines.push(data.toString('utf8', start, Math.min(nl, start + this.maxLine)));
        starts.push(f.offset + start);
      }
      f.skipping = false;
      start = nl + 1;
    }
    let rest = data.subarray(start);
    if (rest.length > this.maxLine) {
      // An over-long line: deliver its first part now, skip the rest up to its newline.
      if (!f.skipping) {
        lines.push(rest.toString('utf8', 0, this.maxLine));
        starts.push(f.offset + start);
      }
      this.counts.cutLines++;
      f.skipping = true;
      start += rest.length;
      rest = Buffer.alloc(0);
    }
    const end = f.offset + start;
    const chunk: LineChunk = { dev: f.dev, ino: f.ino, starts, end };
    if (f.replay) chunk.replay = f.replay;
    const answer = lines.length > 0 ? this.o.onLines(path, lines, chunk) : undefined;
    // Past every mark: nothing further was delivered before the restart.
    if (f.replay && Object.values(f.replay).every((m) => m <= end)) f.replay = undefined;
    this.counts.lines += lines.length;
    f.offset = end;
    f.carry = Buffer.from(rest);
    if (start > 0) {
      const receipts: readonly LinesReceipt[] = !answer ? [] : Array.isArray(answer) ? answer : [answer];
      if (receipts.length === 0)
        this.enqueue(path, { position: { dev: f.dev, ino: f.ino, offset: end }, state: 'ok' });
      this.track(path, f, receipts);
    }
    return n;
  }

  /**
   * A receipt for records of a followed path emitted outside `onLines` (a multi-line record flushed by its
   * timeout): commits at most up to what was read of the file, after the path's earlier commits.
   */
  addReceipt(path: string, receipt: LinesReceipt): void {
    const f = this.followed.get(path);
    if (f) this.track(path, f, [receipt]);
  }

  /** Whether `path` is open (it will get `onFileEnd` when it leaves the list). */
  following(path: string): boolean {
    return this.followed.has(path);
  }

  /** Queues one commit per receipt, in order, each applied once its lines are delivered. */
  private track(path: string, f: Followed, receipts: readonly LinesReceipt[]): void {
    for (const receipt of receipts) {
      const offset = Math.min(receipt.commitOffset ?? f.offset, f.offset);
      const position: Position = { dev: f.dev, ino: f.ino, offset };
      if (receipt.marks) position.marks = receipt.marks;
      const commit: PendingCommit = { position, state: 'waiting' };
      this.enqueue(path, commit);
      const p = receipt.delivered.then(
        (ok) => this.resolve(path, commit, ok),
        () => this.resolve(path, commit, false),
      );
      this.outstanding.add(p);
      void p.finally(() => this.outstanding.delete(p));
    }
  }

  private fileEnd(path: string, f: Followed): void {
    const answer = this.o.onFileEnd?.(path);
    if (answer) this.track(path, f, Array.isArray(answer) ? answer : [answer]);
  }

  private enqueue(path: string, commit: PendingCommit): void {
    if (this.blocked.has(path)) return; // nothing more is committed for it in this run
    let q = this.commits.get(path);
    if (!q) {
      q = [];
      this.commits.set(path, q);
    }
    q.push(commit);
    this.advance(path);
  }

  private resolve(path: string, commit: PendingCommit, ok: boolean): void {
    commit.state = ok ? 'ok' : 'failed';
    if (!ok) this.counts.failedDeliveries++;
    this.advance(path);
    this.save();
  }

  /** Applies the path's settled commits in read order, up to the first one still waiting. */
  private advance(path: string): void {
    const q = this.commits.get(path);
    if (!q) return;
    while (q.length > 0 && !this.blocked.has(path)) {
      const head = q[0]!;
      if (head.state === 'waiting') break;
      if (head.state === 'failed') {
        this.blocked.add(path);
        q.length = 0;
        break;
      }
      q.shift();
      if (head.forget) delete this.saved[path];
      else if (head.position) this.saved[path] = head.position;
      this.dirty = true;
    }
    if (q.length === 0) this.commits.delete(path);
  }

  /**
   * The file at `path` is not the one the saved offset belongs to: it was rotated while we were down.
   * Kubelet and logrotate keep the rotated file beside it for a while; finish it from the saved offset.
   */
  private async recoverRotated(path: string, s: Position): Promise<void> {
    const dir = dirname(path);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const candidate = join(dir, name);
      if (candidate === path) continue;
      let st: { dev: number; ino: number; size: number; isFile(): boolean };
      try {
        st = statSync(candidate);
      } catch {
        continue;
      }
      if (!st.isFile() || st.dev !== s.dev || st.ino !== s.ino || st.size < s.offset) continue;
      // Compressed rotations (`.gz`) have a new inode, so an inode match is the plain text file.
      const fd = openSync(candidate, 'r');
      try {
        const f: Followed = {
          fd,
          dev: s.dev,
          ino: s.ino,
          offset: s.offset,
          carry: Buffer.alloc(0),
          skipping: false,
          ...(validMarks(s.marks) ? { replay: s.marks } : {}),
        };
        const before = this.counts.lines;
        await this.drainAll(path, f);
        this.counts.recoveredRotations += this.counts.lines - before;
        this.retire(f);
      } finally {
        closeSync(fd);
      }
      return;
    }
  }

  /**
   * `f` was read to its end (its descriptor still open): a renamed copy of it listed now or next poll
   * starts there. Not a deleted file (no name left): its inode may be reused by a new file at once.
   */
  private retire(f: Followed): void {
    let names = 0;
    try {
      names = fstatSync(f.fd).nlink;
    } catch {
      return;
    }
    if (names > 0) this.retired.set(`${f.dev}:${f.ino}`, { offset: f.offset, poll: this.polls });
  }

  /**
   * Does another listed path hold this file: follow it now, or (first poll) have it as its saved
   * position, which that path resumes or, rotated while we were down, recovers to its end?
   */
  private heldElsewhere(path: string, dev: number, ino: number): boolean {
    for (const [other, f] of this.followed) if (other !== path && f.dev === dev && f.ino === ino) return true;
    if (this.firstPollDone) return false;
    for (const other of this.listed) {
      const s = this.saved[other];
      if (other !== path && s && s.dev === dev && s.ino === ino && !this.followed.has(other)) return true;
    }
    return false;
  }

  /** Reads a file that is being left (rotated or removed) to its end. */
  private async drainAll(path: string, f: Followed): Promise<void> {
    while ((await this.drain(path, f)) > 0);
    this.fileEnd(path, f);
  }

  /** Atomic: written to a temporary file, then renamed over the state file. Only when commits moved. */
  private save(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const tmp = `${this.o.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.saved));
    renameSync(tmp, this.o.stateFile);
  }
}

/** Marks read back from the state file: an object of offsets (anything else is ignored, not trusted). */
function validMarks(m: unknown): m is Record<string, number> {
  return (
    typeof m === 'object' &&
    m !== null &&
    !Array.isArray(m) &&
    Object.values(m).every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)
  );
}
