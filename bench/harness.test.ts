import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { percentile, record } from './harness.ts';

describe('bench harness', () => {
  it('appends a row with the ratio to the baseline', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'bench-')), 'results.tsv');
    record({ benchmark: 'b', metric: 'rps', value: 97, unit: 'req/s', baseline: 100 }, file);
    record({ benchmark: 'b', metric: 'rss', value: 12.5, unit: 'MB' }, file);
    const rows = readFileSync(file, 'utf8')
      .split('\n')
      .filter((r) => r.length > 0);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^date\tcommit\tmachine/);
    const cols = rows[1]!.split('\t');
    expect(cols.slice(3, 9)).toEqual(['b', 'rps', '97', 'req/s', '100', '0.9700']);
    expect(rows[2]!.split('\t')[8]).toBe('');
  });

  it('computes nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile([], 50)).toBeNaN();
  });
});
