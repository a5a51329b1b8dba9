import { describe, expect, it } from 'vitest';
import { lineKey, severityLevel } from './logsApi.ts';
import { advanceCursor } from './useLiveTail.ts';

const row = (ms: number, body: string, extraNs = 0) => ({
  timestamp: String(BigInt(ms) * 1_000_000n + BigInt(extraNs)),
  service: 'web',
  severity: 'INFO',
  body,
  traceId: '',
  spanId: '',
  attributes: {},
  resource: { 'k8s.pod.name': 'web-1' },
});

describe('live tail cursor', () => {
  it('moves to the last line and remembers every line of that millisecond', () => {
    const c = advanceCursor({ ms: 1000, keys: new Set() }, [
      row(1500, 'a'),
      row(2000, 'b'),
      row(2000, 'c', 5),
    ]);
    expect(c.ms).toBe(2000);
    expect([...c.keys]).toEqual([lineKey(row(2000, 'b')), lineKey(row(2000, 'c', 5))]);
  });

  it('keeps the lines already seen when the millisecond does not change, and stays put without lines', () => {
    const first = advanceCursor({ ms: 0, keys: new Set() }, [row(2000, 'b')]);
    const second = advanceCursor(first, [row(2000, 'c')]);
    expect(second.ms).toBe(2000);
    expect(second.keys.size).toBe(2);
    expect(advanceCursor(second, [])).toBe(second);
  });

  it('never moves back', () => {
    expect(advanceCursor({ ms: 5000, keys: new Set() }, [row(4000, 'late')]).ms).toBe(5000);
  });
});

describe('severity levels', () => {
  it.each([
    ['ERROR', 'error'],
    ['err', 'error'],
    ['Warning', 'warn'],
    ['Information', 'info'],
    ['DEBUG', 'debug'],
    ['trace', 'trace'],
    ['CRITICAL', 'fatal'],
    ['', 'unknown'],
    ['verbose', 'unknown'],
  ])('%s -> %s', (text, level) => expect(severityLevel(text)).toBe(level));
});
