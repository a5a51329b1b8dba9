import { describe, expect, it } from 'vitest';
import type { CriRecord } from './criLog.ts';
import { compileMultiline, MultilineAssembler, type MultilineRule } from './multiline.ts';

const JAVA = [
  'Exception in thread "main" java.lang.IllegalStateException: outer',
  '\tat com.shop.Cart.checkout(Cart.java:42)',
  '\tat com.shop.Main.main(Main.java:7)',
  'Caused by: java.io.IOException: disk full',
  '\tat com.shop.Store.write(Store.java:9)',
  '\t... 2 more',
];
const NODE = [
  'Error: cannot charge card',
  '    at charge (/app/pay.js:10:11)',
  '    at async Promise.all (index 0)',
  '  [cause]: Error: timeout',
  '      at Timeout._onTimeout (/app/net.js:3:9)',
];

let t = 0;
const rec = (message: string, stream: 'stdout' | 'stderr' = 'stdout', truncated = false): CriRecord => ({
  timeUnixNano: BigInt(++t),
  stream,
  message,
  truncated,
});

/** Feeds lines at offsets 0, 10, 20, ... and returns the messages emitted. */
function feed(a: MultilineAssembler, lines: string[], stream: 'stdout' | 'stderr' = 'stdout'): string[] {
  return lines.flatMap((l, i) => a.push(rec(l, stream), i * 10, 0).map((r) => r.message));
}

describe('compileMultiline', () => {
  it.each<[MultilineRule, RegExp]>([
    [{ start: '^\\d', continuation: '^\\s' }, /either start or continuation, not both/],
    [{ start: '(' }, /cannot use multiline rule: Invalid regular expression/],
    [{ continuation: '' }, /1 to 256 characters/],
    [{ start: `^${'a'.repeat(300)}` }, /1 to 256 characters/],
    [{ maxLines: 0 }, /maxLines must be an integer >= 1/],
    [{ maxBytes: 1.5 }, /maxBytes must be an integer >= 1/],
    [{ flushMs: 10 }, /flushMs must be an integer >= 100/],
  ])('refuses %o', (rule, err) => {
    expect(() => compileMultiline(rule)).toThrow(err);
  });

  it('tests only the first 1024 characters of a line', () => {
    const c = compileMultiline({ start: 'START' });
    expect(c.startsRecord(`${'x'.repeat(1000)}START`)).toBe(true);
    expect(c.startsRecord(`${'x'.repeat(1030)}START`)).toBe(false);
  });
});

describe('MultilineAssembler', () => {
  it('joins Java and Node stack traces with the default rule, one record each', () => {
    const a = new MultilineAssembler(compileMultiline({}));
    const got = feed(a, [...JAVA, 'INFO next request', ...NODE, 'INFO done']);
    expect(got).toEqual([JAVA.join('\n'), 'INFO next request', NODE.join('\n')]);
    expect(a.heldFrom()).toBe((JAVA.length + NODE.length + 1) * 10); // 'INFO done' waits for more lines
    expect(a.flushAll().map((r) => r.message)).toEqual(['INFO done']);
    expect(a.heldFrom()).toBeUndefined();
  });

  it('starts records at lines matching `start`; the record keeps its first line time and stream', () => {
    const a = new MultilineAssembler(compileMultiline({ start: '^\\d{4}-\\d{2}-\\d{2} ' }));
    const first = rec('2026-11-25 18:50:00 ERROR boom', 'stderr');
    expect(a.push(first, 100)).toEqual([]);
    expect(a.push(rec('Traceback (most recent call last):', 'stderr'), 130)).toEqual([]);
    expect(a.push(rec('ValueError: bad', 'stderr'), 170)).toEqual([]);
    expect(a.heldFrom()).toBe(100);
    expect(a.push(rec('2026-11-25 18:50:01 INFO ok', 'stderr'), 190)).toEqual([
      {
        timeUnixNano: first.timeUnixNano,
        stream: 'stderr',
        message: '2026-11-25 18:50:00 ERROR boom\nTraceback (most recent call last):\nValueError: bad',
        truncated: false,
      },
    ]);
    expect(a.heldFrom()).toBe(190);
  });

  it('keeps a record per stream; a leading continuation starts a record of its own', () => {
    const a = new MultilineAssembler(compileMultiline({}));
    expect(feed(a, ['    orphan', '    frame'])).toEqual([]);
    expect(feed(a, ['Error: on stderr', '    at x'], 'stderr')).toEqual([]);
    expect(a.heldFrom()).toBe(0);
    expect(feed(a, ['next'])).toEqual(['    orphan\n    frame']);
    expect(a.flushAll().map((r) => [r.stream, r.message])).toEqual([
      ['stderr', 'Error: on stderr\n    at x'],
      ['stdout', 'next'],
    ]);
  });

  it('emits a record when no line arrived for flushMs', () => {
    const a = new MultilineAssembler(compileMultiline({ flushMs: 1000 }));
    a.push(rec('Error: quiet'), 0, 5000);
    a.push(rec('    at last'), 10, 5500);
    expect(a.flush(6499)).toEqual([]);
    expect(a.flush(6500).map((r) => r.message)).toEqual(['Error: quiet\n    at last']);
    expect(a.flush(99_999)).toEqual([]);
    expect(a.heldFrom()).toBeUndefined();
  });

  it('cuts at maxLines, flags the record and drops its further continuation lines', () => {
    const counts = { cutRecords: 0, droppedLines: 0 };
    const a = new MultilineAssembler(compileMultiline({ maxLines: 3 }), counts);
    const got = a.push(rec('Error: deep'), 0);
    for (let i = 1; i <= 5; i++) got.push(...a.push(rec(`    at f${i}`), i * 10));
    expect(got).toEqual([
      expect.objectContaining({ message: 'Error: deep\n    at f1\n    at f2', truncated: true }),
    ]);
    expect(a.heldFrom()).toBeUndefined(); // the dropped lines hold nothing back
    expect(counts).toEqual({ cutRecords: 1, droppedLines: 3 });
    expect(feed(a, ['next', 'after'])).toEqual(['next']);
  });

  it('cuts at maxBytes (UTF-8, the joining newlines counted) without splitting a character', () => {
    const a = new MultilineAssembler(compileMultiline({ start: '^Error', maxBytes: 13 }));
    expect(a.push(rec('Error: é'), 0)).toEqual([]); // 9 bytes
    const [cut] = a.push(rec('éé'), 10); // "\n" + 4 bytes would make 14: 3 bytes of room, 1.5 characters
    expect(cut).toMatchObject({ message: 'Error: é\né', truncated: true });
    const [alone] = new MultilineAssembler(compileMultiline({ maxBytes: 5 })).push(rec('éééé'), 0);
    expect(alone).toMatchObject({ message: 'éé', truncated: true });
  });

  it('keeps a record flagged when one of its lines came cut already', () => {
    const a = new MultilineAssembler(compileMultiline({}));
    a.push(rec('Error: x'), 0);
    a.push(rec('    at y', 'stdout', true), 10);
    expect(a.flushAll()).toEqual([expect.objectContaining({ truncated: true })]);
  });
});
