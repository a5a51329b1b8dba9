import { describe, expect, it } from 'vitest';
import {
  cumulativeBuckets,
  EXP_HISTOGRAM_SCALE,
  ExpHistogramTotals,
  readExpBuckets,
} from './otlpExpHistogram.ts';

const num = (v: unknown) => Number(v);
const point = (p: Record<string, unknown>) => readExpBuckets(p, num);

describe('exponential histogram -> classic buckets', () => {
  it.each([
    // [what, data point, cumulative buckets]
    [
      'scale 0, zero bucket, (4, 8]',
      { scale: 0, zeroCount: 1, positive: { offset: 1, bucketCounts: [0, 2] }, count: 3 },
      [
        ['0', 1],
        ['8', 3],
        ['+Inf', 3],
      ],
    ],
    [
      'scale 2 kept',
      { scale: 2, positive: { offset: 0, bucketCounts: [1, 1] }, count: 2 },
      [
        [String(2 ** 0.25), 1],
        [String(2 ** 0.5), 2],
        ['+Inf', 2],
      ],
    ],
    [
      'scale 4 brought down to 2',
      { scale: 4, positive: { offset: 0, bucketCounts: [1, 1, 1, 1, 5] }, count: 9 },
      [
        [String(2 ** 0.25), 4],
        [String(2 ** 0.5), 9],
        ['+Inf', 9],
      ],
    ],
    [
      'negative offsets floor',
      { scale: 3, positive: { offset: -3, bucketCounts: [2] }, count: 2 },
      [
        [String(2 ** -0.25), 2],
        ['+Inf', 2],
      ],
    ],
    [
      'negative values, most negative first',
      { scale: 0, zeroCount: 1, negative: { offset: 0, bucketCounts: [1, 3] }, count: 5 },
      [
        ['-2', 3],
        ['-1', 4],
        ['0', 5],
        ['+Inf', 5],
      ],
    ],
    ['empty', { scale: 5, count: 0 }, [['+Inf', 0]]],
  ])('%s', (_what, p, want) => {
    expect(cumulativeBuckets(point(p))).toEqual(want);
  });

  it('keeps le values on one grid whatever the point scale', () => {
    const grid = (s: number) => String(2 ** (s / 2 ** EXP_HISTOGRAM_SCALE));
    // The same value (~3.0) at scales 8, 2 and -1: every boundary is a power of 2^(1/4).
    for (const scale of [8, 2, -1]) {
      const idx = Math.floor(Math.log2(3) * 2 ** scale);
      const les = cumulativeBuckets(point({ scale, positive: { offset: idx, bucketCounts: [1] }, count: 1 }));
      const le = les[0]![0];
      const onGrid = Array.from({ length: 40 }, (_, k) => grid(k)).includes(le);
      expect({ scale, le, onGrid }).toEqual({ scale, le, onGrid: true });
    }
  });

  it('merges delta points bucket by bucket, across a change of scale', () => {
    const totals = new ExpHistogramTotals();
    totals.add('h', point({ scale: 2, positive: { offset: 4, bucketCounts: [1] }, count: 1, sum: 2.1 }));
    const merged = totals.add(
      'h',
      point({ scale: 0, positive: { offset: 0, bucketCounts: [0, 2] }, count: 2, sum: 5 }),
    );
    // The first point's bucket (2^(5/4)] lands in (2, 4] at scale 0, beside the new ones.
    expect(cumulativeBuckets(merged)).toEqual([
      ['4', 3],
      ['+Inf', 3],
    ]);
    expect(merged.sum).toBeCloseTo(7.1);
  });

  it('rejects scales and offsets out of range', () => {
    expect(() => point({ scale: 99 })).toThrow(/outside -10..20/);
    expect(() => point({ scale: 0, positive: { offset: 2 ** 40, bucketCounts: [1] } })).toThrow(
      /out of range/,
    );
  });
});
