/** The Traces page: `/o/<org>/traces` searches, `/o/<org>/traces/<traceId>` shows one trace. */
import { DataPage } from '../../DataPage.tsx';
import type { PageProps } from '../../Shell.tsx';
import { TraceSearch } from './TraceSearch.tsx';
import { TraceView } from './TraceView.tsx';
import './traces.css';

export function TracesPage({ org, rest }: PageProps) {
  const traceId = rest[0];
  return (
    <DataPage org={org}>
      {(ctx) =>
        traceId ? (
          <TraceView orgId={org.id} orgSlug={org.slug} clusterId={ctx.ref.clusterId} traceId={traceId} />
        ) : (
          <TraceSearch cluster={ctx.ref} range={ctx.range} orgSlug={org.slug} />
        )
      }
    </DataPage>
  );
}
