/**
 * A service's peers from the service map: who calls it (incoming edges, whose target is this workload) and
 * what it calls (outgoing edges: other workloads, databases, queues, external hosts), with the calls' RED.
 */
import { useMemo } from 'react';
import { clusterData, type ServiceEdge } from '../../clusterApi.ts';
import { type DataContext, DataError } from '../../DataPage.tsx';
import { linkClick, useSearch, withSharedParams } from '../../router.ts';
import { Spinner } from '../../ui.tsx';
import { useLoad } from '../../useLoad.ts';
import { RedCells, RedHeaders } from './redCells.tsx';
import { servicePath } from './ServicesPage.tsx';

interface PeerRow {
  direction: 'in' | 'out';
  peer: string;
  namespace: string | null;
  edge: ServiceEdge;
}

export function ServicePeers({
  ctx,
  namespace,
  workload,
}: {
  ctx: DataContext;
  namespace: string;
  workload: string;
}) {
  const { ref, range, org } = ctx;
  const search = useSearch();
  const map = useLoad(() => clusterData.serviceMap(ref, range), `${ref.clusterId}|${range.key}`);
  const rows = useMemo<PeerRow[]>(() => {
    if (!map.data) return [];
    const known = new Map(map.data.nodes.filter((n) => !n.external).map((n) => [n.workload, n.namespace]));
    const out: PeerRow[] = [];
    for (const e of map.data.edges) {
      if (e.source.workload === workload && e.source.namespace === namespace)
        out.push({ direction: 'out', peer: e.target, namespace: known.get(e.target) ?? null, edge: e });
      else if (e.target === workload)
        out.push({ direction: 'in', peer: e.source.workload, namespace: e.source.namespace, edge: e });
    }
    return out.sort(
      (a, b) =>
        a.direction.localeCompare(b.direction) || (b.edge.requestRate ?? 0) - (a.edge.requestRate ?? 0),
    );
  }, [map.data, namespace, workload]);

  return (
    <section className="section" aria-labelledby="peers-h">
      <div className="section-head">
        <h2 id="peers-h">Peers</h2>
        <a
          href={withSharedParams(`/o/${org.slug}/map`, search)}
          onClick={linkClick}
          className="btn btn-ghost btn-sm"
        >
          Open the service map
        </a>
      </div>
      <DataError error={map.error} onRetry={map.reload} />
      {map.loading && !map.data ? <Spinner label="Loading peers" /> : null}
      {map.data && rows.length === 0 ? (
        <p className="muted">No calls to or from other services were seen in this time range.</p>
      ) : null}
      {rows.length > 0 ? (
        <div className="card table-card">
          <table className="table data-table" aria-label="Peers">
            <thead>
              <tr>
                <th scope="col">Direction</th>
                <th scope="col">Peer</th>
                <th scope="col">Protocol</th>
                <RedHeaders rate="Calls" />
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.direction}|${r.peer}|${r.edge.protocol}`} data-peer-row={r.peer}>
                  <td>
                    <span className={`dir-chip dir-${r.direction}`}>
                      {r.direction === 'in' ? '← calls this' : '→ called'}
                    </span>
                  </td>
                  <td>
                    {r.namespace !== null ? (
                      <a
                        href={withSharedParams(servicePath(org.slug, r.namespace, r.peer), search)}
                        onClick={linkClick}
                      >
                        {r.peer}
                      </a>
                    ) : (
                      <span>
                        {r.peer} <span className="ns-chip">external</span>
                      </span>
                    )}
                  </td>
                  <td>
                    <span className="proto-chip">{r.edge.protocol}</span>
                  </td>
                  <RedCells f={r.edge} />
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
