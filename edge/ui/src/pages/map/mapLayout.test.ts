import { describe, expect, it } from 'vitest';
import type { ServiceEdge } from '../../clusterApi.ts';
import { edgePath, layoutMap, layoutToFit, type MapNode, NODE_W } from './mapLayout.ts';

const red = { requestRate: 1, errorRate: 0, p50: 0.01, p95: 0.1, p99: 0.2 };
const node = (workload: string, external = false): MapNode => ({
  namespace: 'shop',
  workload,
  external,
  ...red,
});
const edge = (from: string, to: string, protocol = 'http'): ServiceEdge => ({
  source: { namespace: 'shop', workload: from },
  target: to,
  protocol,
  ...red,
});

describe('layoutMap', () => {
  it('places callers left of the services they call, without overlapping nodes', () => {
    const nodes = ['frontend', 'checkout', 'payments', 'inventory']
      .map((w) => node(w))
      .concat(node('postgres', true));
    const edges = [
      edge('frontend', 'checkout'),
      edge('frontend', 'inventory'),
      edge('checkout', 'payments'),
      edge('checkout', 'postgres', 'postgres'),
      edge('checkout', 'postgres', 'http'),
    ];
    const out = layoutMap(nodes, edges);
    const at = new Map(out.nodes.map((n) => [n.id, n]));
    expect(at.get('frontend')!.x).toBeLessThan(at.get('checkout')!.x);
    expect(at.get('checkout')!.x).toBeLessThan(at.get('payments')!.x);
    for (const a of out.nodes)
      for (const b of out.nodes)
        if (a !== b) expect(Math.abs(a.x - b.x) >= NODE_W || Math.abs(a.y - b.y) >= 66).toBe(true);
    // Two protocols between the same pair are two edges, each with its own path and label.
    expect(out.edges).toHaveLength(5);
    for (const e of out.edges) expect(e.points.length).toBeGreaterThanOrEqual(2);
    expect(out.width).toBeGreaterThan(3 * NODE_W);
  });

  it('drops edges to nodes it does not know and survives cycles', () => {
    const out = layoutMap([node('a'), node('b')], [edge('a', 'b'), edge('b', 'a'), edge('a', 'ghost')]);
    expect(out.edges.map((e) => e.id).sort()).toEqual(['a->b|http', 'b->a|http']);
  });
});

describe('layoutToFit', () => {
  it('turns a long chain of calls top to bottom when left to right is too wide', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const nodes = names.map((w) => node(w));
    const edges = names.slice(1).map((w, i) => edge(names[i]!, w));
    const wide = layoutToFit(nodes, edges, 10_000);
    expect(wide.width).toBeGreaterThan(wide.height);
    const narrow = layoutToFit(nodes, edges, 800);
    expect(narrow.height).toBeGreaterThan(narrow.width);
    expect(narrow.width).toBeLessThanOrEqual(800);
  });
});

describe('edgePath', () => {
  it('draws a path through the points', () => {
    expect(edgePath([])).toBe('');
    expect(
      edgePath([
        { x: 0, y: 0 },
        { x: 10, y: 0 },
      ]),
    ).toBe('M0,0 L10,0');
    expect(
      edgePath([
        { x: 0, y: 0 },
        { x: 10, y: 0 },
        { x: 20, y: 10 },
      ]),
    ).toBe('M0,0 Q10,0 15,5 L20,10');
  });
});
