import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The portal's own metrics (prom-client), registered on the process's admin registry when one is given. */
export class PortalMetrics {
  readonly connects: Counter<'result'>;
  readonly connected: Gauge;
  readonly badMessages: Counter;
  readonly requests: Counter<'kind' | 'outcome'>;
  readonly requestSeconds: Histogram<'kind'>;
  readonly inFlight: Gauge;
  readonly responseBytes: Counter;

  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    this.connects = new Counter({
      name: 'portal_tunnel_connects_total',
      help: 'Tunnel connection attempts by result (open, failed)',
      labelNames: ['result'],
      registers,
    });
    this.connected = new Gauge({
      name: 'portal_tunnel_connected',
      help: '1 while the tunnel to the edge is open',
      registers,
    });
    this.badMessages = new Counter({
      name: 'portal_tunnel_messages_invalid_total',
      help: 'Messages from the edge that could not be decoded or were unexpected (ignored)',
      registers,
    });
    this.requests = new Counter({
      name: 'portal_requests_total',
      help: 'Requests served by kind and outcome (ok or an error code)',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'portal_request_duration_seconds',
      help: 'Time from receiving a request to its last message',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'portal_requests_in_flight',
      help: 'Requests being served',
      registers,
    });
    this.responseBytes = new Counter({
      name: 'portal_response_bytes_total',
      help: 'Response body bytes sent through the tunnel',
      registers,
    });
  }
}
