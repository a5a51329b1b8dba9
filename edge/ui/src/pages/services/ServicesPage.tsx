/** Services: `/o/<org>/services` lists every workload with RED figures; `/services/<namespace>/<workload>` shows one. */
import { DataPage } from '../../DataPage.tsx';
import type { PageProps } from '../../Shell.tsx';
import { ServiceDetail } from './ServiceDetail.tsx';
import { ServicesList } from './ServicesList.tsx';

export function ServicesPage({ org, rest }: PageProps) {
  const [segment, workload] = rest;
  // servicePath writes a workload without a namespace (a plain-host process) as `-`.
  const namespace = segment === '-' ? '' : segment;
  return (
    <DataPage org={org}>
      {(ctx) =>
        namespace !== undefined && workload !== undefined ? (
          <ServiceDetail ctx={ctx} namespace={namespace} workload={workload} />
        ) : (
          <ServicesList ctx={ctx} />
        )
      }
    </DataPage>
  );
}

/** The path of a service's page (segments encoded; the caller adds the shared query parameters). */
export function servicePath(orgSlug: string, namespace: string, workload: string): string {
  return `/o/${orgSlug}/services/${encodeURIComponent(namespace || '-')}/${encodeURIComponent(workload)}`;
}
