import { describe, expect, it } from 'vitest';
import { alignMatrix, MAX_SERIES, seriesLabel } from './promSeries.ts';

describe('seriesLabel', () => {
  it('prints series the way Prometheus does, labels sorted', () => {
    expect(seriesLabel({ __name__: 'up', job: 'api', instance: 'a:1' })).toBe(
      'up{instance="a:1", job="api"}',
    );
    expect(seriesLabel({ job: 'api' })).toBe('{job="api"}');
    expect(seriesLabel({ __name__: 'up' })).toBe('up');
    expect(seriesLabel({})).toBe('{}');
  });
});

describe('alignMatrix', () => {
  it('puts every series on one grid with nulls for missing samples', () => {
    const out = alignMatrix(
      [
        {
          metric: { job: 'a' },
          values: [
            [100, '1'],
            [130, '4'],
          ],
        },
        {
          metric: { job: 'b' },
          values: [
            [110, '2'],
            [120, 'NaN'],
          ],
        },
      ],
      10_000,
    );
    expect(out.timestamps).toEqual([100_000, 110_000, 120_000, 130_000]);
    expect(out.series.map((s) => s.values)).toEqual([
      [1, null, null, 4],
      [null, 2, null, null],
    ]);
    expect(out.series[0]!.label).toBe('{job="a"}');
    expect(out.dropped).toBe(0);
  });

  it('answers an empty grid for an empty matrix and caps the number of series', () => {
    expect(alignMatrix([], 1000)).toEqual({ timestamps: [], series: [], dropped: 0 });
    const many = Array.from({ length: MAX_SERIES + 5 }, (_, i) => ({
      metric: { i: String(i) },
      values: [[1, '1']] as [number, string][],
    }));
    const out = alignMatrix(many, 1000);
    expect(out.series).toHaveLength(MAX_SERIES);
    expect(out.dropped).toBe(5);
  });
});
