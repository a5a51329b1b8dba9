import { describe, expect, it } from 'vitest';
import { formatDuration, nsToMs, serviceColor } from './format.ts';
import type { SpanSummary } from './tracesApi.ts';
import { axisTicks, buildTraceTree, descendantCount, visibleRows } from './traceTree.ts';

const T0 = 1_764_100_000_000n * 1_000_000n; // epoch ns
const span = (id: string, parent: string, startMs: number, durMs: number, service = 'web'): SpanSummary => ({
  traceId: 'a'.repeat(32),
  spanId: id,
  parentSpanId: parent,
  timestamp: String(T0 + BigInt(Math.round(startMs * 1e6))),
  durationNs: String(Math.round(durMs * 1e6)),
  service,
  name: `op-${id}`,
  kind: 'SPAN_KIND_SERVER',
  status: id === 'c' ? 'STATUS_CODE_ERROR' : 'STATUS_CODE_UNSET',
});

describe('buildTraceTree', () => {
  it('nests by parent, orders children by start, measures from the first start to the last end', () => {
    const tree = buildTraceTree([
      span('c', 'a', 30, 5, 'db'),
      span('a', '', 0, 100),
      span('b', 'a', 10, 50, 'api'),
      span('d', 'b', 12, 200, 'api'),
    ]);
    expect(tree.roots.map((r) => r.span.spanId)).toEqual(['a']);
    const a = tree.byId.get('a')!;
    expect(a.children.map((c) => c.span.spanId)).toEqual(['b', 'c']);
    expect(tree.byId.get('d')!.depth).toBe(2);
    expect(tree.byId.get('c')!.offsetMs).toBeCloseTo(30, 6);
    expect(tree.durationMs).toBeCloseTo(212, 6);
    expect(tree.services).toEqual(['api', 'db', 'web']);
    expect(tree.errorCount).toBe(1);
    expect(descendantCount(a)).toBe(3);
    expect(visibleRows(tree, new Set()).map((n) => n.span.spanId)).toEqual(['a', 'b', 'd', 'c']);
    expect(visibleRows(tree, new Set(['b'])).map((n) => n.span.spanId)).toEqual(['a', 'b', 'c']);
    expect(visibleRows(tree, new Set(['a'])).map((n) => n.span.spanId)).toEqual(['a']);
  });

  it('keeps spans whose parent is missing as orphan roots after the real roots, and survives cycles', () => {
    const tree = buildTraceTree([
      span('x', 'gone', 1, 1),
      span('r', '', 5, 1),
      span('p', 'q', 0, 1),
      span('q', 'p', 0, 1),
    ]);
    const ids = visibleRows(tree, new Set()).map((n) => n.span.spanId);
    expect(ids.sort()).toEqual(['p', 'q', 'r', 'x']);
    expect(tree.roots[0]!.span.spanId).toBe('r');
    expect(tree.byId.get('x')!.orphan).toBe(true);
  });

  it('drops a duplicate span id and handles an empty trace', () => {
    expect(buildTraceTree([span('a', '', 0, 1), span('a', '', 0, 1)]).byId.size).toBe(1);
    const empty = buildTraceTree([]);
    expect(empty.roots).toEqual([]);
    expect(empty.durationMs).toBe(0);
  });
});

describe('formats', () => {
  it.each([
    [0, '0 ns'],
    [840, '840 ns'],
    [12_340, '12.3 µs'],
    [4_560_000, '4.56 ms'],
    [1_200_000_000, '1.2 s'],
    [125_000_000_000, '2m 05s'],
  ])('formatDuration(%d) = %s', (ns, text) => expect(formatDuration(ns)).toBe(text));

  it('converts ns strings to ms without losing the millisecond digits', () => {
    expect(nsToMs('1764100000123456789') - 1_764_100_000_123).toBeCloseTo(0.456789, 3);
    expect(nsToMs('500')).toBe(0.0005);
  });

  it('gives a service the same colour every time', () => {
    expect(serviceColor('checkout')).toBe(serviceColor('checkout'));
    expect(serviceColor('checkout')).toMatch(/^#[0-9a-f]{6}$/);
  });

  it('axis ticks are round steps', () => {
    expect(axisTicks(212)).toEqual([0, 50, 100, 150, 200]);
    expect(axisTicks(0)).toEqual([0]);
  });
});
