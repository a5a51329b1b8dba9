import { describe, expect, it } from 'vitest';
import { CriAssembler, parseCriLine, severityOf } from './criLog.ts';

describe('parseCriLine', () => {
  it.each([
    [
      '2026-11-25T18:50:00.123456789Z stdout F hello world',
      1795632600123456789n,
      'stdout',
      false,
      'hello world',
    ],
    ['2026-11-25T18:50:00.5Z stderr P part', 1795632600500000000n, 'stderr', true, 'part'],
    ['2026-11-25T19:50:00+01:00 stdout F no fraction', 1795632600000000000n, 'stdout', false, 'no fraction'],
    ['2026-11-25T18:50:00.000000001Z stdout F:tag1 tagged', 1795632600000000001n, 'stdout', false, 'tagged'],
    ['2026-11-25T18:50:00Z stdout F ', 1795632600000000000n, 'stdout', false, ''],
    ['2026-11-25T18:50:00Z stdout F  two spaces', 1795632600000000000n, 'stdout', false, ' two spaces'],
  ])('%s', (line, ns, stream, partial, message) => {
    expect(parseCriLine(line)).toEqual({ timeUnixNano: ns, stream, partial, message });
  });

  it.each([
    ['plain text'],
    ['2026-11-25T18:50:00Z stdin F x'],
    ['2026-11-25T18:50:00Z stdout X x'],
    ['2026-13-45T18:50:00Z stdout F x'],
  ])('refuses %s', (line) => {
    expect(parseCriLine(line)).toBeUndefined();
  });
});

describe('CriAssembler', () => {
  it('joins partial lines per stream and keeps the first time', () => {
    const a = new CriAssembler();
    expect(a.push('2026-11-25T18:50:00.1Z stdout P hel')).toBeUndefined();
    expect(a.push('2026-11-25T18:50:00.2Z stderr F oops')).toMatchObject({
      stream: 'stderr',
      message: 'oops',
    });
    expect(a.push('2026-11-25T18:50:00.3Z stdout P lo ')).toBeUndefined();
    expect(a.push('2026-11-25T18:50:00.4Z stdout F world')).toEqual({
      timeUnixNano: 1795632600100000000n,
      stream: 'stdout',
      message: 'hello world',
      truncated: false,
      fromOffset: 0,
    });
  });

  it('bounds records and counts non-CRI lines', () => {
    const a = new CriAssembler(5);
    expect(a.push('2026-11-25T18:50:00Z stdout F 0123456789')).toMatchObject({
      message: '01234',
      truncated: true,
    });
    const b = new CriAssembler();
    expect(b.push('not cri', () => 7n)).toEqual({
      timeUnixNano: 7n,
      stream: 'stdout',
      message: 'not cri',
      truncated: false,
      fromOffset: 0,
    });
    expect([a.invalid, b.invalid]).toEqual([0, 1]);
  });
});

describe('severityOf', () => {
  it.each([
    ['{"level":"error","msg":"x"}', 'ERROR'],
    ['{"severity": "WARNING"}', 'WARN'],
    ['time=1 level=debug msg=x', 'DEBUG'],
    ['ERROR something broke', 'ERROR'],
    ['2026-11-25 18:50:00 [WARN] disk', 'WARN'],
    ['2026-11-25 18:50:00,123 INFO main: started', 'INFO'],
    ['panic: runtime error', 'FATAL'],
    ['just a message about errors', undefined],
    ['', undefined],
    ['2026/11/25 18:52:00 [error] 12#12: upstream timed out', 'ERROR'],
    ['2026/11/25 18:52:00 [emerg] 1#1: bind() failed', 'FATAL'],
    ['[warn] disk almost full', 'WARN'],
    ['one two three four [info] comes too late to be a level', undefined],
    ['no error in this sentence', undefined],
  ])('%s -> %s', (message, want) => {
    expect(severityOf(message)).toBe(want);
  });
});
