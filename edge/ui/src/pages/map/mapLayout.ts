/**
 * Lays out the service map with dagre (left to right: callers before the services they call): node boxes,
 * edge paths through dagre's points and the spot for each edge's label. Pure: no DOM, testable in Node.
 */
import { Graph, layout } from '@dagrejs/dagre';
import type { ServiceEdge, ServiceNode } from '../../clusterApi.ts';

export type MapNode = ServiceNode & { external: boolean };

export const NODE_W = 210;
export const NODE_H = 66;
const LABEL_W = 168;
const LABEL_H = 22;

export interface PlacedNode {
  id: string;
  x: number;
  y: number;
  node: MapNode;
}
export interface PlacedEdge {
  id: string;
  source: string;
  target: string;
  points: { x: number; y: number }[];
  label: { x: number; y: number };
  edge: ServiceEdge;
}
export interface MapLayout {
  width: number;
  height: number;
  nodes: PlacedNode[];
  edges: PlacedEdge[];
}

/** Node id: the workload name, as the portal keys map nodes (external peers by their own name). */
export const nodeId = (n: { workload: string }) => n.workload;
export const edgeId = (e: ServiceEdge) => `${e.source.workload}->${e.target}|${e.protocol}`;

export function layoutMap(nodes: MapNode[], edges: ServiceEdge[], rankdir: 'LR' | 'TB' = 'LR'): MapLayout {
  const g = new Graph<
    object,
    { width: number; height: number; x?: number; y?: number },
    Record<string, unknown>
  >({
    multigraph: true,
  });
  // Edge labels take a rank of their own between two nodes, so the rank gap itself can stay small.
  g.setGraph({
    rankdir,
    nodesep: 28,
    ranksep: rankdir === 'LR' ? 40 : 24,
    edgesep: 20,
    marginx: 16,
    marginy: 16,
  });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set<string>();
  for (const n of nodes) {
    ids.add(nodeId(n));
    g.setNode(nodeId(n), { width: NODE_W, height: NODE_H });
  }
  const kept = edges.filter((e) => ids.has(e.source.workload) && ids.has(e.target));
  for (const e of kept) {
    g.setEdge(
      e.source.workload,
      e.target,
      { width: LABEL_W, height: LABEL_H, labelpos: 'c', weight: 1 + Math.log1p(e.requestRate ?? 0) },
      edgeId(e),
    );
  }
  layout(g);
  const graph = g.graph() as { width?: number; height?: number };
  const byId = new Map(nodes.map((n) => [nodeId(n), n]));
  return {
    width: Math.ceil(graph.width ?? 0),
    height: Math.ceil(graph.height ?? 0),
    nodes: g.nodes().map((id) => {
      const p = g.node(id);
      return { id, x: p.x ?? 0, y: p.y ?? 0, node: byId.get(id)! };
    }),
    edges: kept.map((e) => {
      const lbl = g.edge(e.source.workload, e.target, edgeId(e)) as {
        points?: { x: number; y: number }[];
        x?: number;
        y?: number;
      };
      return {
        id: edgeId(e),
        source: e.source.workload,
        target: e.target,
        points: lbl.points ?? [],
        label: { x: lbl.x ?? 0, y: lbl.y ?? 0 },
        edge: e,
      };
    }),
  };
}

/** A smooth SVG path through dagre's points (quadratic curves through the midpoints). */
export function edgePath(points: { x: number; y: number }[]): string {
  if (points.length === 0) return '';
  const [first, ...rest] = points;
  if (rest.length === 0) return `M${first!.x},${first!.y}`;
  let d = `M${first!.x},${first!.y}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const p = rest[i]!;
    const q = rest[i + 1]!;
    d += ` Q${p.x},${p.y} ${(p.x + q.x) / 2},${(p.y + q.y) / 2}`;
  }
  const last = rest[rest.length - 1]!;
  return `${d} L${last.x},${last.y}`;
}

/**
 * Left to right reads best (calls flow like text), but a long chain of calls gets wider than the screen; then
 * top to bottom is used if it needs less shrinking to fit `availableWidth`.
 */
export function layoutToFit(nodes: MapNode[], edges: ServiceEdge[], availableWidth: number): MapLayout {
  const lr = layoutMap(nodes, edges, 'LR');
  if (availableWidth <= 0 || lr.width <= availableWidth) return lr;
  const tb = layoutMap(nodes, edges, 'TB');
  return Math.min(1, availableWidth / tb.width) > Math.min(1, availableWidth / lr.width) ? tb : lr;
}
