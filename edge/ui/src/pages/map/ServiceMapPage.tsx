/**
 * The service map: workloads as nodes (with their RED), calls as edges (with the calls' RED), laid out by
 * dagre (mapLayout.ts) and drawn as SVG. A workload opens its service page (links: keyboard and ctrl-click
 * work); hovering or focusing a node fades everything not connected to it. The calls table below lists the
 * same edges for screen readers and exact reading. Namespace and external peers filter in the URL.
 * Pan and zoom (mouse, wheel, buttons, keyboard) and fit to view: useMapZoom.ts.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { formatDuration, formatPercent, formatRate } from '../../charts/format.ts';
import { clusterData } from '../../clusterApi.ts';
import { type DataContext, DataError, DataPage } from '../../DataPage.tsx';
import { linkClick, setSearchParams, useSearch, withSharedParams } from '../../router.ts';
import type { PageProps } from '../../Shell.tsx';
import { useTimeRange } from '../../timeRange.ts';
import { EmptyState, Spinner } from '../../ui.tsx';
import { useLoad } from '../../useLoad.ts';
import { ERROR_BAD, ERROR_WARN, NamespaceSelect, RedCells, RedHeaders } from '../services/redCells.tsx';
import { servicePath } from '../services/ServicesPage.tsx';
import { edgePath, layoutToFit, type MapNode, NODE_H, NODE_W } from './mapLayout.ts';
import { useMapZoom } from './useMapZoom.ts';
import './map.css';

/** The map's frame is as tall as the drawing at the width's scale, within these bounds. */
const FRAME_MIN_H = 380;
const FRAME_MAX_H = 680;

export function ServiceMapPage({ org }: PageProps) {
  return <DataPage org={org}>{(ctx) => <ServiceMap ctx={ctx} />}</DataPage>;
}

/** The element's content width, following resizes (0 until it is in the page). */
function useWidth(el: HTMLElement | null): number {
  const [width, setWidth] = useState(0);
  const last = useRef(0);
  useEffect(() => {
    if (!el) return;
    const measure = () => {
      // Round to 40 px so the layout is not recomputed for every pixel of a window drag.
      const w = Math.round(el.clientWidth / 40) * 40;
      if (w !== last.current) {
        last.current = w;
        setWidth(w);
      }
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [el]);
  return width;
}

function tone(errorRate: number | null): 'ok' | 'warn' | 'bad' {
  if (errorRate === null || errorRate < ERROR_WARN) return 'ok';
  return errorRate >= ERROR_BAD ? 'bad' : 'warn';
}

function ServiceMap({ ctx }: { ctx: DataContext }) {
  const { ref, range, org } = ctx;
  const search = useSearch();
  const params = new URLSearchParams(search);
  const ns = params.get('ns') ?? '';
  const hideExternal = params.get('external') === 'hide';
  const { setRange } = useTimeRange();
  const [focus, setFocus] = useState<string | null>(null);
  const [cardEl, setCardEl] = useState<HTMLDivElement | null>(null);
  const width = useWidth(cardEl);
  const { data, error, loading, reload } = useLoad(
    () => clusterData.serviceMap(ref, range),
    `${ref.clusterId}|${range.key}`,
  );
  const namespaces = useMemo(
    () => [...new Set((data?.nodes ?? []).filter((n) => !n.external).map((n) => n.namespace))].sort(),
    [data],
  );
  const graph = useMemo(() => {
    if (!data) return null;
    let edges = data.edges.filter((e) => !ns || e.source.namespace === ns);
    const byId = new Map<string, MapNode>(data.nodes.map((n) => [n.workload, n]));
    if (hideExternal) edges = edges.filter((e) => !byId.get(e.target)?.external);
    const used = new Set(edges.flatMap((e) => [e.source.workload, e.target]));
    const nodes = data.nodes.filter(
      (n) => used.has(n.workload) || (!n.external && (!ns || n.namespace === ns)),
    );
    return { layout: layoutToFit(nodes, edges, width - 24), edges };
  }, [data, ns, hideExternal, width]);
  const [svgEl, setSvgEl] = useState<SVGSVGElement | null>(null);
  const content = { width: graph?.layout.width ?? 0, height: graph?.layout.height ?? 0 };
  const atWidth = content.width > 0 ? Math.min(1, (width - 32) / content.width) : 1;
  const frame = {
    width,
    height: Math.round(Math.min(FRAME_MAX_H, Math.max(FRAME_MIN_H, content.height * atWidth + 48))),
  };
  const view = useMapZoom(svgEl, content, frame);

  if (error && !data) return <DataError error={error} onRetry={reload} />;
  if (loading && !data) return <Spinner label="Loading the service map" />;
  if (!graph || graph.layout.nodes.length === 0) {
    return (
      <EmptyState
        icon="⬡"
        title="No calls seen in this time range"
        action={
          range.from !== 'now-24h' ? (
            <button type="button" className="btn btn-secondary" onClick={() => setRange('now-24h', 'now')}>
              Look at the last 24 hours
            </button>
          ) : null
        }
      >
        <p>
          The map draws every workload the sensor saw answering or making calls, and the calls between them,
          to databases, queues and outside hosts.
        </p>
        <p className="muted">Send some traffic to your workloads; the map fills in within a minute.</p>
      </EmptyState>
    );
  }
  const { layout } = graph;
  const connected = (id: string) =>
    focus === null ||
    id === focus ||
    layout.edges.some(
      (e) => (e.source === focus && e.target === id) || (e.target === focus && e.source === id),
    );
  const href = (n: MapNode) => withSharedParams(servicePath(org.slug, n.namespace, n.workload), search);

  return (
    <>
      <div className="filters">
        <NamespaceSelect value={ns} namespaces={namespaces} onChange={(v) => setSearchParams({ ns: v })} />
        <label className="check">
          <input
            type="checkbox"
            checked={!hideExternal}
            onChange={(e) => setSearchParams({ external: e.target.checked ? null : 'hide' })}
          />
          Show external peers
        </label>
        <div className="map-legend" aria-hidden="true">
          <span className="legend-line legend-ok" /> healthy
          <span className="legend-line legend-warn" /> ≥ 1% errors
          <span className="legend-line legend-bad" /> ≥ 5% errors
          <span className="legend-node-ext" /> external
        </div>
      </div>
      <DataError error={error} onRetry={reload} />
      <div
        className="card map-card map-zoomable"
        ref={setCardEl}
        // An application region: it takes the arrow keys to pan (and + - 0 to zoom and fit), so it is a tab stop.
        // biome-ignore lint/a11y/noNoninteractiveTabindex: role application is interactive; biome does not know
        tabIndex={0}
        role="application"
        aria-label="Service map. Drag or use the arrow keys to move, + and - to zoom, 0 to fit."
        onKeyDown={view.onKeyDown}
      >
        <div className="map-controls">
          <button
            type="button"
            className="btn btn-secondary btn-icon"
            onClick={view.zoomIn}
            aria-label="Zoom in"
          >
            +
          </button>
          <button
            type="button"
            className="btn btn-secondary btn-icon"
            onClick={view.zoomOut}
            aria-label="Zoom out"
          >
            −
          </button>
          <button type="button" className="btn btn-secondary btn-sm" onClick={view.fit}>
            Fit to view
          </button>
          <span className="map-zoom" data-testid="map-zoom">
            {Math.round(view.transform.k * 100)}%
          </span>
        </div>
        <svg
          ref={setSvgEl}
          className="service-map"
          width="100%"
          height={frame.height}
          aria-labelledby="map-title"
        >
          <title id="map-title">Service map</title>
          <defs>
            {(['ok', 'warn', 'bad'] as const).map((t) => (
              <marker
                key={t}
                id={`arrow-${t}`}
                viewBox="0 0 10 10"
                refX="9"
                refY="5"
                markerUnits="userSpaceOnUse"
                markerWidth="9"
                markerHeight="9"
                orient="auto-start-reverse"
              >
                <path d="M0,0 L10,5 L0,10 z" className={`arrow arrow-${t}`} />
              </marker>
            ))}
          </defs>
          <g transform={view.transform.toString()} data-testid="map-view">
            {layout.edges.map((e) => {
              const t = tone(e.edge.errorRate);
              const lit = focus === null || e.source === focus || e.target === focus;
              const width = 1.25 + Math.min(4, Math.log10(1 + (e.edge.requestRate ?? 0)) * 2.5);
              return (
                <g key={e.id} className={lit ? 'map-edge' : 'map-edge map-dim'} data-edge={e.id}>
                  <title>
                    {`${e.source} → ${e.target} (${e.edge.protocol}): ${formatRate(e.edge.requestRate)}, ${formatPercent(e.edge.errorRate)} errors, p50 ${formatDuration(e.edge.p50)}, p95 ${formatDuration(e.edge.p95)}, p99 ${formatDuration(e.edge.p99)}`}
                  </title>
                  <path
                    d={edgePath(e.points)}
                    className={`edge-line edge-${t}`}
                    strokeWidth={width}
                    markerEnd={`url(#arrow-${t})`}
                  />
                  <g transform={`translate(${e.label.x}, ${e.label.y})`} className="edge-label">
                    <rect x={-84} y={-11} width={168} height={22} rx={11} />
                    <text textAnchor="middle" dy="4">
                      {formatRate(e.edge.requestRate)} · p95 {formatDuration(e.edge.p95)}
                      {(e.edge.errorRate ?? 0) > 0 ? ` · ${formatPercent(e.edge.errorRate)}` : ''}
                    </text>
                  </g>
                </g>
              );
            })}
            {layout.nodes.map(({ id, x, y, node }) => {
              const t = tone(node.errorRate);
              const body = (
                <>
                  <rect
                    x={-NODE_W / 2}
                    y={-NODE_H / 2}
                    width={NODE_W}
                    height={NODE_H}
                    rx={10}
                    className={node.external ? 'node-box node-external' : 'node-box'}
                  />
                  {!node.external ? (
                    <rect
                      x={-NODE_W / 2}
                      y={-NODE_H / 2}
                      width={5}
                      height={NODE_H}
                      rx={2}
                      className={`node-bar node-${t}`}
                    />
                  ) : null}
                  <text x={-NODE_W / 2 + 16} y={-8} className="node-name">
                    {id.length > 24 ? `${id.slice(0, 23)}…` : id}
                  </text>
                  <text x={-NODE_W / 2 + 16} y={14} className="node-figures">
                    {node.external
                      ? 'external'
                      : node.requestRate === null
                        ? `${node.namespace} · client only`
                        : `${formatRate(node.requestRate)} · ${formatPercent(node.errorRate)} · p95 ${formatDuration(node.p95)}`}
                  </text>
                </>
              );
              const label = node.external
                ? `${id}, external`
                : `${id}: ${formatRate(node.requestRate)}, ${formatPercent(node.errorRate)} errors, p95 ${formatDuration(node.p95)}`;
              return (
                <g
                  key={id}
                  transform={`translate(${x}, ${y})`}
                  className={connected(id) ? 'map-node' : 'map-node map-dim'}
                  data-node={id}
                >
                  {node.external ? (
                    <g>
                      <title>{label}</title>
                      {body}
                    </g>
                  ) : (
                    <a
                      href={href(node)}
                      onClick={linkClick}
                      aria-label={label}
                      onMouseEnter={() => setFocus(id)}
                      onMouseLeave={() => setFocus(null)}
                      onFocus={() => {
                        setFocus(id);
                        view.reveal(x, y);
                      }}
                      onBlur={() => setFocus(null)}
                    >
                      {body}
                    </a>
                  )}
                </g>
              );
            })}
          </g>
        </svg>
      </div>
      <section className="section" aria-labelledby="calls-h">
        <h2 id="calls-h">Calls</h2>
        <div className="card table-card">
          <table className="table data-table" aria-label="Calls">
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">Protocol</th>
                <RedHeaders rate="Calls" />
              </tr>
            </thead>
            <tbody>
              {[...graph.edges]
                .sort((a, b) => (b.requestRate ?? 0) - (a.requestRate ?? 0))
                .map((e) => (
                  <tr
                    key={`${e.source.workload}->${e.target}|${e.protocol}`}
                    data-call-row={`${e.source.workload}->${e.target}`}
                  >
                    <td>{e.source.workload}</td>
                    <td>{e.target}</td>
                    <td>
                      <span className="proto-chip">{e.protocol}</span>
                    </td>
                    <RedCells f={e} />
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
