import { describe, expect, it } from 'vitest';
import { MAX_RANGE_MS, resolveRange, resolveTime, stepMs } from './timeRange.ts';

const anchor = Date.UTC(2026, 10, 25, 12, 0, 0);

describe('resolveTime', () => {
  it.each([
    ['now', anchor],
    ['now-15m', anchor - 15 * 60_000],
    ['now-6h', anchor - 6 * 3_600_000],
    ['now-7d', anchor - 7 * 86_400_000],
    ['now-2w', anchor - 14 * 86_400_000],
    ['1764072000000', 1764072000000],
    ['now+1h', null],
    ['yesterday', null],
    ['now-1y', null],
    ['12', null],
  ])('%s', (value, want) => {
    expect(resolveTime(value, anchor)).toBe(want);
  });
});

describe('resolveRange', () => {
  it('defaults to the last hour, relative', () => {
    const r = resolveRange(null, null, anchor);
    expect(r).toMatchObject({ from: 'now-1h', to: 'now', start: anchor - 3_600_000, end: anchor });
    expect(r.relative).toBe(true);
    expect(r.label).toBe('Last 1 hour');
    expect(r.invalid).toBeNull();
  });

  it('keeps an absolute range and labels it with times', () => {
    const r = resolveRange(String(anchor - 1_800_000), String(anchor), anchor + 999);
    expect(r.start).toBe(anchor - 1_800_000);
    expect(r.end).toBe(anchor);
    expect(r.relative).toBe(false);
    expect(r.label).toContain('–');
  });

  it('changes its key when the anchor moves (refresh), also for absolute ranges', () => {
    const a = resolveRange(String(anchor - 1000), String(anchor), anchor);
    const b = resolveRange(String(anchor - 1000), String(anchor), anchor + 1);
    expect(a.start).toBe(b.start);
    expect(a.key).not.toBe(b.key);
  });

  it.each([
    ['garbage', 'now', 'not valid'],
    ['now', 'now-1h', 'ends before it starts'],
    [String(anchor - MAX_RANGE_MS - 1), String(anchor), 'longer than 31 days'],
  ])('falls back to the last hour for %s..%s and says why', (from, to, why) => {
    const r = resolveRange(from, to, anchor);
    expect(r.invalid).toContain(why);
    expect(r.end - r.start).toBe(3_600_000);
  });
});

describe('stepMs', () => {
  it.each([
    [3_600_000, 30_000],
    [900_000, 10_000],
    [7 * 86_400_000, 7_200_000],
    [60_000, 1000],
  ])('range %d ms -> step %d ms', (span, want) => {
    expect(stepMs({ start: 0, end: span })).toBe(want);
  });
});
