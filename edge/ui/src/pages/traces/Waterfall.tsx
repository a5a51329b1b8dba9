/**
 * The span waterfall: one row per span, indented by depth, with a bar placed on the trace's time axis.
 * A tree widget for assistive technology (role tree/treeitem, aria-level/expanded/selected) with one tab stop:
 * Up/Down move, Right expands or goes to the first child, Left collapses or goes to the parent, Home/End jump,
 * Enter or Space opens the span's detail, `*` expands everything.
 */
import { type KeyboardEvent, useEffect, useMemo, useRef, useState } from 'react';
import { formatDuration, serviceColor } from './format.ts';
import { statusOf, type TraceSpan } from './tracesApi.ts';
import { axisTicks, descendantCount, type SpanNode, type TraceTree, visibleRows } from './traceTree.ts';

const INDENT_PX = 14;

export function Waterfall({
  tree,
  selected,
  onSelect,
}: {
  tree: TraceTree<TraceSpan>;
  selected: string | null;
  onSelect: (spanId: string) => void;
}) {
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const [focused, setFocused] = useState<string | null>(selected ?? tree.roots[0]?.span.spanId ?? null);
  const rows = useMemo(() => visibleRows(tree, collapsed), [tree, collapsed]);
  const rowRefs = useRef(new Map<string, HTMLDivElement>());
  const total = tree.durationMs > 0 ? tree.durationMs : 1;
  const ticks = useMemo(() => axisTicks(tree.durationMs), [tree.durationMs]);

  // A selected span hidden under a collapsed ancestor (e.g. from a shared link) is revealed.
  useEffect(() => {
    if (!selected) return;
    const node = tree.byId.get(selected);
    if (!node) return;
    setCollapsed((c) => {
      let changed = false;
      const next = new Set(c);
      for (let p = node.parent; p; p = p.parent) if (next.delete(p.span.spanId)) changed = true;
      return changed ? next : c;
    });
    setFocused(selected);
    rowRefs.current.get(selected)?.scrollIntoView({ block: 'nearest' });
  }, [selected, tree]);

  const toggle = (id: string, open?: boolean) =>
    setCollapsed((c) => {
      const next = new Set(c);
      const isOpen = !next.has(id);
      if (open ?? !isOpen) next.delete(id);
      else next.add(id);
      return next;
    });

  const focusRow = (id: string | undefined) => {
    if (!id) return;
    setFocused(id);
    rowRefs.current.get(id)?.focus();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const index = rows.findIndex((r) => r.span.spanId === focused);
    const node = rows[index];
    if (!node) return;
    const id = node.span.spanId;
    const open = node.children.length > 0 && !collapsed.has(id);
    let handled = true;
    switch (e.key) {
      case 'ArrowDown':
        focusRow(rows[index + 1]?.span.spanId);
        break;
      case 'ArrowUp':
        focusRow(rows[index - 1]?.span.spanId);
        break;
      case 'Home':
        focusRow(rows[0]?.span.spanId);
        break;
      case 'End':
        focusRow(rows[rows.length - 1]?.span.spanId);
        break;
      case 'ArrowRight':
        if (node.children.length > 0 && !open) toggle(id, true);
        else if (open) focusRow(node.children[0]?.span.spanId);
        break;
      case 'ArrowLeft':
        if (open) toggle(id, false);
        else focusRow(node.parent?.span.spanId);
        break;
      case 'Enter':
      case ' ':
        onSelect(id);
        break;
      case '*':
        setCollapsed(new Set());
        break;
      default:
        handled = false;
    }
    if (handled) e.preventDefault();
  };

  return (
    <div className="wf card">
      <div className="wf-head" aria-hidden="true">
        <div className="wf-name-col">
          <span>Spans</span>
          <span className="wf-head-actions">
            <button type="button" className="link-btn" tabIndex={-1} onClick={() => setCollapsed(new Set())}>
              Expand
            </button>
            <button
              type="button"
              className="link-btn"
              tabIndex={-1}
              onClick={() =>
                setCollapsed(
                  new Set(tree.roots.filter((r) => r.children.length > 0).map((r) => r.span.spanId)),
                )
              }
            >
              Collapse
            </button>
          </span>
        </div>
        <div className="wf-axis">
          {ticks.map((t) => (
            <span key={t} className="wf-tick" style={{ left: `${(t / total) * 100}%` }}>
              {t === 0 ? '0' : formatDuration(t * 1e6)}
            </span>
          ))}
        </div>
      </div>
      <div className="wf-body" role="tree" aria-label="Spans of the trace" onKeyDown={onKeyDown}>
        {rows.map((node) => (
          <WaterfallRow
            key={node.span.spanId}
            node={node}
            totalMs={total}
            ticks={ticks}
            expanded={node.children.length > 0 ? !collapsed.has(node.span.spanId) : undefined}
            selected={node.span.spanId === selected}
            tabbable={node.span.spanId === (focused ?? rows[0]?.span.spanId)}
            rowRef={(el) => {
              if (el) rowRefs.current.set(node.span.spanId, el);
              else rowRefs.current.delete(node.span.spanId);
            }}
            onToggle={() => toggle(node.span.spanId)}
            onSelect={() => {
              setFocused(node.span.spanId);
              onSelect(node.span.spanId);
            }}
          />
        ))}
      </div>
    </div>
  );
}

function WaterfallRow({
  node,
  totalMs,
  ticks,
  expanded,
  selected,
  tabbable,
  rowRef,
  onToggle,
  onSelect,
}: {
  node: SpanNode<TraceSpan>;
  totalMs: number;
  ticks: number[];
  expanded: boolean | undefined;
  selected: boolean;
  tabbable: boolean;
  rowRef: (el: HTMLDivElement | null) => void;
  onToggle: () => void;
  onSelect: () => void;
}) {
  const { span } = node;
  const color = serviceColor(span.service);
  const failed = statusOf(span.status) === 'error';
  const left = (node.offsetMs / totalMs) * 100;
  // At least a sliver, so a 3 µs span in a 2 s trace is still visible and clickable.
  const width = Math.max((node.durationMs / totalMs) * 100, 0.25);
  // The duration label goes after the bar, before it when the bar ends near the right edge, or inside a wide bar.
  const labelAt = left + width <= 80 ? 'after' : left >= 20 ? 'before' : 'inside';
  const hidden = expanded === false ? descendantCount(node) : 0;
  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: the tree (role=tree) handles the keys of all rows
    <div
      ref={rowRef}
      role="treeitem"
      aria-level={node.depth + 1}
      aria-expanded={expanded}
      aria-selected={selected}
      tabIndex={tabbable ? 0 : -1}
      className={`wf-row${selected ? ' selected' : ''}${failed ? ' failed' : ''}`}
      data-span-id={span.spanId}
      onClick={onSelect}
    >
      <div className="wf-name-col" style={{ paddingLeft: 8 + node.depth * INDENT_PX }}>
        {expanded === undefined ? (
          <span className="wf-toggle-space" />
        ) : (
          <button
            type="button"
            className="wf-toggle"
            tabIndex={-1}
            aria-label={expanded ? 'Collapse' : 'Expand'}
            onClick={(e) => {
              e.stopPropagation();
              onToggle();
            }}
          >
            {expanded ? '▾' : '▸'}
          </button>
        )}
        <span className="svc-swatch" style={{ background: color }} aria-hidden="true" />
        <span className="wf-service" style={{ color }}>
          {span.service || 'unknown'}
        </span>
        <span className="wf-op" title={span.name}>
          {span.name}
        </span>
        {failed ? (
          <span className="wf-err" title="Failed">
            !
          </span>
        ) : null}
        {node.orphan ? (
          <span className="wf-note" title="Its parent span is not in this trace">
            orphan
          </span>
        ) : null}
        {hidden > 0 ? <span className="wf-note">+{hidden}</span> : null}
      </div>
      <div className="wf-track">
        {ticks.map((t) => (
          <span key={t} className="wf-grid" style={{ left: `${(t / totalMs) * 100}%` }} />
        ))}
        <span
          className="wf-bar"
          style={{ left: `${left}%`, width: `${width}%`, background: failed ? 'var(--danger)' : color }}
        />
        <span
          className={`wf-dur ${labelAt}`}
          style={
            labelAt === 'before'
              ? { right: `${100 - left}%` }
              : { left: `${labelAt === 'after' ? left + width : left}%` }
          }
        >
          {formatDuration(node.durationMs * 1e6)}
        </span>
      </div>
    </div>
  );
}
