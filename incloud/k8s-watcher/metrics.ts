import { Counter, Gauge, type Registry } from 'prom-client';

/** The watcher's own metrics (prom-client), registered on the process's admin registry when one is given. */
export class WatcherMetrics {
  readonly lists: Counter<'resource'>;
  readonly listErrors: Counter<'resource'>;
  readonly watchEvents: Counter<'resource' | 'type'>;
  readonly informerErrors: Counter<'resource'>;
  readonly invalidObjects: Counter<'resource'>;
  readonly cachedObjects: Gauge<'resource'>;
  readonly apiRequests: Counter<'path' | 'code'>;
  readonly watchClients: Gauge;
  readonly watchClientsDropped: Counter<'reason'>;
  readonly eventsWritten: Counter;
  readonly eventsDropped: Counter<'reason'>;

  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    this.lists = new Counter({
      name: 'k8s_watcher_lists_total',
      help: 'Completed full lists of a resource (start-up, 410 Gone, errors)',
      labelNames: ['resource'],
      registers,
    });
    this.listErrors = new Counter({
      name: 'k8s_watcher_list_errors_total',
      help: 'Failed list requests',
      labelNames: ['resource'],
      registers,
    });
    this.watchEvents = new Counter({
      name: 'k8s_watcher_watch_events_total',
      help: 'Watch events received by type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR)',
      labelNames: ['resource', 'type'],
      registers,
    });
    this.informerErrors = new Counter({
      name: 'k8s_watcher_informer_errors_total',
      help: 'Errors that stopped an informer and scheduled a restart with back-off',
      labelNames: ['resource'],
      registers,
    });
    this.invalidObjects = new Counter({
      name: 'k8s_watcher_objects_invalid_total',
      help: 'Objects that could not be stripped to a record (skipped)',
      labelNames: ['resource'],
      registers,
    });
    this.cachedObjects = new Gauge({
      name: 'k8s_watcher_cached_objects',
      help: 'Objects currently cached per resource',
      labelNames: ['resource'],
      registers,
    });
    this.apiRequests = new Counter({
      name: 'k8s_watcher_api_requests_total',
      help: 'Requests to the sensor API by path and status code',
      labelNames: ['path', 'code'],
      registers,
    });
    this.watchClients = new Gauge({
      name: 'k8s_watcher_watch_clients',
      help: 'Open sensor watch streams',
      registers,
    });
    this.watchClientsDropped = new Counter({
      name: 'k8s_watcher_watch_clients_dropped_total',
      help: 'Sensor watch streams closed by the watcher (slow reader, limit)',
      labelNames: ['reason'],
      registers,
    });
    this.eventsWritten = new Counter({
      name: 'k8s_watcher_events_written_total',
      help: 'Kubernetes events written to ClickHouse',
      registers,
    });
    this.eventsDropped = new Counter({
      name: 'k8s_watcher_events_dropped_total',
      help: 'Kubernetes events not written (queue full, write failed after retries)',
      labelNames: ['reason'],
      registers,
    });
  }
}
