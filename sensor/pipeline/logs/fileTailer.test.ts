import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileTailer } from './fileTailer.ts';

const root = mkdtempSync(join(tmpdir(), 'understory-tailer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;
const tick = () => new Promise((r) => setImmediate(r));

function setup(opts: { fromStart?: boolean; maxReadBytes?: number; maxLineBytes?: number } = {}) {
  const dir = join(root, String(seq++));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const log = join(dir, '0.log');
  const got: string[] = [];
  const make = () =>
    new FileTailer({
      files: () => [log],
      onLines: (_p, lines) => {
        got.push(...lines);
      },
      stateFile: join(dir, 'offsets.json'),
      fromStart: opts.fromStart ?? true,
      maxReadBytes: opts.maxReadBytes,
      maxLineBytes: opts.maxLineBytes,
    });
  return { dir, log, got, make };
}

describe('FileTailer', () => {
  it('delivers complete lines only, and the rest when its newline arrives', async () => {
    const { log, got, make } = setup();
    writeFileSync(log, 'one\ntwo\nthr');
    const t = make();
    await t.poll();
    expect(got).toEqual(['one', 'two']);
    appendFileSync(log, 'ee\n');
    await t.poll();
    expect(got).toEqual(['one', 'two', 'three']);
    t.close();
  });

  it('resumes after a restart without losing or repeating lines', async () => {
    const { log, got, make } = setup();
    writeFileSync(log, 'a\nb\npart');
    let t = make();
    await t.poll();
    t.close();
    appendFileSync(log, 'ial\nc\n');
    t = make();
    await t.poll();
    expect(got).toEqual(['a', 'b', 'partial', 'c']);
    t.close();
  });

  it('follows a rename rotation: the old file to its end, then the new one from the start', async () => {
    const { log, got, make } = setup({ maxReadBytes: 4 });
    writeFileSync(log, '1\n');
    const t = make();
    await t.poll();
    appendFileSync(log, '2\n3\n4\n5\n');
    renameSync(log, `${log}.20261125`);
    writeFileSync(log, '6\n');
    for (let i = 0; i < 5; i++) await t.poll();
    expect(got).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(t.counts.rotations).toBe(1);
    t.close();
  });

  describe("a rotation that keeps the extension (logrotate's `extension`), with a `*.log` pattern", () => {
    /** Every `*.log` of the directory, as a `*.log` host file pattern lists them (sorted). */
    function globbed(dir: string) {
      const got: string[] = [];
      const make = () =>
        new FileTailer({
          files: () =>
            readdirSync(dir)
              .filter((n) => n.endsWith('.log'))
              .sort()
              .map((n) => join(dir, n)),
          onLines: (_p, lines) => {
            got.push(...lines);
          },
          stateFile: join(dir, 'offsets.json'),
          fromStart: true,
        });
      return { got, make };
    }

    /** A new directory whose `app.log` holds `text`, followed through `*.log` after a first poll. */
    async function following(text: string) {
      const { dir } = setup();
      const app = join(dir, 'app.log');
      writeFileSync(app, text);
      const { got, make } = globbed(dir);
      const t = make();
      await t.poll();
      return { dir, app, got, t };
    }

    // `app.1.log` sorts before `app.log` (the copy is seen while the old path still holds the file);
    // `app.log.old.log` after it (the old path has let go of it by then).
    it.each([['app.1.log'], ['app.log.old.log']])(
      'renamed to %s: every line once, the copy not read again from its start',
      async (rotated) => {
        const { dir, app, got, t } = await following('a\nb\n');
        appendFileSync(app, 'c\n');
        renameSync(app, join(dir, rotated));
        writeFileSync(app, 'd\n');
        await t.poll();
        await t.poll();
        appendFileSync(join(dir, rotated), 'late\n'); // the application had not reopened yet
        appendFileSync(app, 'e\n');
        await t.poll();
        expect([...got].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'late']);
        expect(t.counts.renamedCopies).toBe(1);
        t.close();
      },
    );

    it('a deleted file is not remembered: its inode may come back as a new file at once', async () => {
      const { dir, app, got, t } = await following('a\n');
      rmSync(app);
      await t.poll();
      const retired = (t as unknown as { retired: Map<string, unknown> }).retired;
      expect(retired.size).toBe(0);
      writeFileSync(join(dir, 'new.log'), 'b\n'); // whatever inode it gets, read from its start
      await t.poll();
      expect(got).toEqual(['a', 'b']);
      t.close();
    });

    it('renamed while the sensor was down: the copy is read from the saved offset, once', async () => {
      const { dir, app, got: before, t: first } = await following('a\n');
      first.close();
      expect(before).toEqual(['a']);
      appendFileSync(app, 'b\n');
      renameSync(app, join(dir, 'app.1.log'));
      writeFileSync(app, 'c\n');
      const second = globbed(dir);
      const t = second.make();
      await t.poll();
      await t.poll();
      expect([...second.got].sort()).toEqual(['b', 'c']);
      t.close();
    });
  });

  it('starts over after a truncation (copytruncate)', async () => {
    const { log, got, make } = setup();
    writeFileSync(log, 'old line 1\nold line 2\n');
    const t = make();
    await t.poll();
    truncateSync(log, 0);
    appendFileSync(log, 'new\n');
    await t.poll();
    expect(got).toEqual(['old line 1', 'old line 2', 'new']);
    expect(t.counts.truncations).toBe(1);
    t.close();
  });

  it('reads only appended lines of files it never saw when fromStart is false', async () => {
    const { log, got, make } = setup({ fromStart: false });
    writeFileSync(log, 'history\n');
    const t = make();
    await t.poll();
    appendFileSync(log, 'fresh\n');
    await t.poll();
    expect(got).toEqual(['fresh']);
    t.close();
  });

  it('reads files that appear after the first poll from their start, even when fromStart is false', async () => {
    const dir = join(root, String(seq++));
    mkdirSync(dir);
    const files = [join(dir, 'a.log')];
    writeFileSync(files[0]!, 'old\n');
    const got: string[] = [];
    const t = new FileTailer({
      files: () => files,
      onLines: (_p, l) => void got.push(...l),
      stateFile: join(dir, 's.json'),
      fromStart: false,
    });
    await t.poll();
    writeFileSync(join(dir, 'b.log'), 'first line of a new pod\n');
    files.push(join(dir, 'b.log'));
    await t.poll();
    expect(got).toEqual(['first line of a new pod']);
    t.close();
  });

  it('cuts over-long lines and skips their rest', async () => {
    const { log, got, make } = setup({ maxLineBytes: 4, maxReadBytes: 6 });
    writeFileSync(log, 'abcdefghijklmnop\nok\n');
    const t = make();
    for (let i = 0; i < 6; i++) await t.poll();
    expect(got).toEqual(['abcd', 'ok']);
    t.close();
  });

  it('refuses an unreadable state file', () => {
    const { dir } = setup();
    writeFileSync(join(dir, 'offsets.json'), '{');
    expect(
      () =>
        new FileTailer({
          files: () => [],
          onLines: () => {},
          stateFile: join(dir, 'offsets.json'),
          fromStart: true,
        }),
    ).toThrow(/cannot read log offsets/);
  });

  it('commits offsets only past delivered lines, in read order; a failed delivery stops the commits', async () => {
    const dir = join(root, String(seq++));
    mkdirSync(dir);
    const log = join(dir, '0.log');
    const stateFile = join(dir, 'offsets.json');
    const settle: ((ok: boolean) => void)[] = [];
    const got: string[][] = [];
    const make = () =>
      new FileTailer({
        files: () => [log],
        stateFile,
        fromStart: true,
        onLines: (_p, lines, chunk) => {
          got.push(lines);
          // one receipt per line; the second one commits only up to its own start
          return lines.map((_, i) => ({
            delivered: new Promise<boolean>((r) => settle.push(r)),
            commitOffset: i === 1 ? chunk.starts[1] : (chunk.starts[i + 1] ?? chunk.end),
          }));
        },
      });
    const saved = () => {
      const t = make();
      t.close();
      // a fresh tailer on the same state file reads from the committed offset
      return readFileSync(stateFile, 'utf8');
    };
    writeFileSync(log, 'aa\nbb\ncc\n');
    const t = make();
    await t.poll();
    expect(got).toEqual([['aa', 'bb', 'cc']]);
    const offset = () => (JSON.parse(saved()) as Record<string, { offset: number }>)[log]?.offset;
    expect(offset()).toBe(0);
    settle[1]!(true); // the second is acknowledged first: nothing moves while the first waits
    await tick();
    expect(offset()).toBe(0);
    settle[0]!(true);
    await tick();
    expect(offset()).toBe(3); // 'aa\n'; the second receipt's own offset is 3 as well
    settle[2]!(false);
    await t.settle();
    appendFileSync(log, 'dd\n');
    await t.poll();
    settle[3]?.(true);
    await t.settle();
    expect(offset()).toBe(3); // blocked after the failure: a restart reads 'bb', 'cc', 'dd' again
    t.close();
    got.length = 0;
    const again = new FileTailer({
      files: () => [log],
      stateFile,
      fromStart: true,
      onLines: (_p, l) => void got.push(l),
    });
    await again.poll();
    again.close();
    expect(got).toEqual([['bb', 'cc', 'dd']]);
  });

  it('commits what onFileEnd and addReceipt hand back in read order, never past what was read', async () => {
    const dir = join(root, String(seq++));
    mkdirSync(dir);
    const log = join(dir, '0.log');
    const stateFile = join(dir, 'offsets.json');
    const ended: string[] = [];
    let endDelivered!: (ok: boolean) => void;
    const t = new FileTailer({
      files: () => [log],
      stateFile,
      fromStart: true,
      // The last line of each chunk is held back, like a multi-line record waiting for more lines.
      onLines: (_p, _lines, chunk) => ({
        delivered: Promise.resolve(true),
        commitOffset: chunk.starts.at(-1),
      }),
      onFileEnd: (path) => {
        ended.push(path);
        return { delivered: new Promise<boolean>((r) => (endDelivered = r)) };
      },
    });
    const saved = () =>
      (JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, { ino: number; offset: number }>)[log]!;
    writeFileSync(log, 'a\nb\n');
    await t.poll();
    await tick();
    const old = saved();
    expect(old.offset).toBe(2); // held at 'b'
    renameSync(log, `${log}.1`);
    writeFileSync(log, 'c\nd\n');
    await t.poll();
    await tick();
    expect(ended).toEqual([log]);
    expect(saved()).toEqual(old); // the old file's held line is not delivered yet: nothing moves
    endDelivered(true);
    await t.settle();
    expect(saved().ino).not.toBe(old.ino);
    expect(saved().offset).toBe(2); // the new file, held at 'd'
    t.addReceipt(log, { delivered: Promise.resolve(true), commitOffset: 1000 });
    await t.settle();
    expect(saved().offset).toBe(4); // up to what was read, not past it
    t.close();
  });
});
