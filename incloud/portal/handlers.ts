import type { ClickhouseStore } from '../clickhouse/store.ts';
import { monitorHandlers } from '../monitors/handlers.ts';
import type { TargetSecretKeys } from '../monitors/targetSecrets.ts';
import { ClickhouseReader } from './clickhouseReader.ts';
import { eventsListHandler } from './events.ts';
import type { PortalLimits } from './limits.ts';
import { logsSearchHandler } from './logs/search.ts';
import { promHandler, VictoriaMetricsClient } from './prometheus.ts';
import { type QueryHandlers, QueryRouter } from './queryRouter.ts';
import { serviceMapHandler, serviceResourcesHandler, servicesListHandler } from './services.ts';
import { spanGetHandler, traceGetHandler, tracesSearchHandler } from './traces.ts';

export interface QueryBackends {
  /** Logs, traces and events; without it those kinds are not served (and not advertised). */
  clickhouse?: ClickhouseStore;
  /** VictoriaMetrics base URL; without it the Prometheus and RED kinds are not served. */
  victoriaMetricsUrl?: string;
  /** Seals notification target secrets; without it storing a target is refused (503). */
  targetSecrets?: TargetSecretKeys;
}

/** Every query kind the backends allow, bounded by `limits`. */
export function createQueryRouter(backends: QueryBackends, limits: PortalLimits): QueryRouter {
  const handlers: QueryHandlers = {};
  if (backends.clickhouse) {
    const reader = new ClickhouseReader(backends.clickhouse, limits.clickhouse);
    handlers['logs.search'] = logsSearchHandler(reader, limits.maxRangeMs);
    handlers['traces.search'] = tracesSearchHandler(reader, limits.maxRangeMs);
    handlers['traces.get'] = traceGetHandler(reader);
    handlers['traces.span'] = spanGetHandler(reader);
    handlers['events.list'] = eventsListHandler(reader, limits.maxRangeMs);
    const { victoriaMetricsUrl, clickhouse: store, targetSecrets: secrets } = backends;
    Object.assign(
      handlers,
      monitorHandlers({ store, reader, victoriaMetricsUrl, maxRangeMs: limits.maxRangeMs, secrets }),
    );
  }
  if (backends.victoriaMetricsUrl) {
    const vm = new VictoriaMetricsClient(backends.victoriaMetricsUrl);
    handlers.prom = promHandler(vm, limits.prometheus.maxResponseBytes);
    handlers['services.list'] = servicesListHandler(vm, limits.maxRangeMs);
    handlers['services.resources'] = serviceResourcesHandler(vm, limits.maxRangeMs);
    handlers['services.map'] = serviceMapHandler(vm, limits.maxRangeMs);
  }
  return new QueryRouter(handlers);
}
