/**
 * A trace's spans as the waterfall shows them: a tree by parent span id, children in start order, and the
 * visible rows for a set of collapsed spans. Spans whose parent is not in the trace (not sampled, still in
 * flight, or dropped) become extra roots marked `orphan`, so no span is hidden.
 */
import { nsToMs } from './format.ts';
import type { SpanSummary } from './tracesApi.ts';

export interface SpanNode<S extends SpanSummary = SpanSummary> {
  span: S;
  children: SpanNode<S>[];
  depth: number;
  /** Milliseconds from the trace's first start. */
  offsetMs: number;
  durationMs: number;
  orphan: boolean;
  parent: SpanNode<S> | null;
}

export interface TraceTree<S extends SpanSummary = SpanSummary> {
  roots: SpanNode<S>[];
  /** Every node by span id. */
  byId: Map<string, SpanNode<S>>;
  startMs: number;
  /** From the first start to the last end. */
  durationMs: number;
  services: string[];
  errorCount: number;
}

export function buildTraceTree<S extends SpanSummary>(spans: readonly S[]): TraceTree<S> {
  const byId = new Map<string, SpanNode<S>>();
  let startMs = Number.POSITIVE_INFINITY;
  let endMs = Number.NEGATIVE_INFINITY;
  for (const span of spans) {
    if (byId.has(span.spanId)) continue; // a duplicate row (a retried export): keep the first
    const start = nsToMs(span.timestamp);
    const durationMs = Number(span.durationNs) / 1e6;
    startMs = Math.min(startMs, start);
    endMs = Math.max(endMs, start + durationMs);
    byId.set(span.spanId, {
      span,
      children: [],
      depth: 0,
      offsetMs: start,
      durationMs,
      orphan: false,
      parent: null,
    });
  }
  if (byId.size === 0) startMs = endMs = 0;
  const roots: SpanNode<S>[] = [];
  for (const node of byId.values()) {
    node.offsetMs -= startMs;
    const parentId = node.span.parentSpanId;
    const parent = parentId ? byId.get(parentId) : undefined;
    if (parent && parent !== node && !isAncestor(node, parent)) {
      node.parent = parent;
      parent.children.push(node);
    } else {
      node.orphan = Boolean(parentId);
      roots.push(node);
    }
  }
  const byStart = (a: SpanNode<S>, b: SpanNode<S>) => a.offsetMs - b.offsetMs;
  roots.sort((a, b) => Number(a.orphan) - Number(b.orphan) || byStart(a, b));
  const stack = roots.map((r) => ({ node: r, depth: 0 }));
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    node.depth = depth;
    node.children.sort(byStart);
    for (const c of node.children) stack.push({ node: c, depth: depth + 1 });
  }
  const services = [...new Set([...byId.values()].map((n) => n.span.service))].sort();
  const errorCount = [...byId.values()].filter((n) => /error/i.test(n.span.status)).length;
  return { roots, byId, startMs, durationMs: Math.max(0, endMs - startMs), services, errorCount };
}

/** True when the parent chain of `candidate` reaches `node`: linking them would make a cycle. */
function isAncestor<S extends SpanSummary>(node: SpanNode<S>, candidate: SpanNode<S>): boolean {
  for (let p: SpanNode<S> | null = candidate; p; p = p.parent) if (p === node) return true;
  return false;
}

/** The rows the waterfall shows: depth-first, skipping the descendants of collapsed spans. */
export function visibleRows<S extends SpanSummary>(
  tree: TraceTree<S>,
  collapsed: ReadonlySet<string>,
): SpanNode<S>[] {
  const out: SpanNode<S>[] = [];
  const walk = (n: SpanNode<S>) => {
    out.push(n);
    if (collapsed.has(n.span.spanId)) return;
    for (const c of n.children) walk(c);
  };
  for (const r of tree.roots) walk(r);
  return out;
}

/** Number of spans under a node (all depths). */
export function descendantCount(node: SpanNode): number {
  let n = 0;
  const stack = [...node.children];
  while (stack.length > 0) {
    const c = stack.pop()!;
    n++;
    stack.push(...c.children);
  }
  return n;
}

/** Tick positions for a time axis of `totalMs`: about `count` round steps (1, 2, 5 x 10^n ms). */
export function axisTicks(totalMs: number, count = 5): number[] {
  if (!(totalMs > 0)) return [0];
  const raw = totalMs / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const ticks: number[] = [];
  for (let t = 0; t <= totalMs + 1e-9; t += step) ticks.push(t);
  return ticks;
}
