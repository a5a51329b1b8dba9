import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatCores,
  formatDuration,
  formatPercent,
  formatRate,
  formatValue,
  short,
} from './format.ts';

describe('number formats', () => {
  it.each([
    [0, '0'],
    [1, '1'],
    [12.345, '12.3'],
    [999, '999'],
    [1234, '1.23k'],
    [2_500_000, '2.5M'],
    [0.0123, '0.012'],
    [-1500, '-1.5k'],
  ])('short(%d) = %s', (v, want) => expect(short(v)).toBe(want));

  it.each([
    [null, '–'],
    [0, '0/s'],
    [12.5, '12.5/s'],
    [0.05, '3/min'],
    [1500, '1.5k/s'],
  ])('formatRate(%s) = %s', (v, want) => expect(formatRate(v)).toBe(want));

  it.each([
    [null, '–'],
    [0, '0%'],
    [0.0909, '9.09%'],
    [0.5, '50%'],
    [1, '100%'],
    [0.00000001, '<0.01%'],
  ])('formatPercent(%s) = %s', (v, want) => expect(formatPercent(v)).toBe(want));

  it.each([
    [null, '–'],
    [0.00005, '50 µs'],
    [0.1, '100 ms'],
    [0.75, '750 ms'],
    [1.5, '1.5 s'],
    [600, '10 min'],
    [0.99995, '1 s'],
    [0.0009999, '1 ms'],
    [119.99, '2 min'],
  ])('formatDuration(%s) = %s', (v, want) => expect(formatDuration(v)).toBe(want));

  it('formats bytes in binary units and values by unit', () => {
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(0)).toBe('0 B');
    expect(formatValue(1234, 'count')).toBe('1,234');
    expect(formatValue(0.25, 'ratio')).toBe('25%');
    expect(formatValue(Number.NaN, 'seconds')).toBe('–');
  });

  it.each([
    [0, '0'],
    [0.25, '250m'],
    [0.0012, '1.2m'],
    [0.999, '999m'],
    [1, '1 core'],
    [1.5, '1.5 cores'],
    [12.34, '12.3 cores'],
    [null, '–'],
  ])('formatCores(%s) = %s', (v, want) => expect(formatCores(v)).toBe(want));
});
