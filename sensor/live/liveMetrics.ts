import { Counter, Gauge, type Registry } from 'prom-client';
import type { LiveSource } from './liveSource.ts';

/**
 * The eBPF source's and the connection tracker's counters as Prometheus metrics, read at scrape time.
 * Counters are set to the running totals (prom-client counters reset and re-added in `collect`).
 */
export function registerLiveMetrics(registry: Registry, source: LiveSource): void {
  const registers = [registry];
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const s = source.stats;
  const t = () => source.tracker.stats;
  counter(
    'sensor_live_truncated_events_total',
    'Data events whose payload the kernel cut',
    () => s.truncatedEvents,
  );
  counter(
    'sensor_live_missing_bytes_total',
    'Bytes reported by the kernel but not copied',
    () => s.missingBytes,
  );
  counter(
    'sensor_live_filled_bytes_total',
    'Missing bytes handed to body-skipping parsers as zeros',
    () => s.filledBytes,
  );
  counter('sensor_live_gaps_total', 'Truncations that restarted a connection (parser resync)', () => s.gaps);
  counter(
    'sensor_live_shed_resyncs_total',
    'Connections dropped because load shedding left some of their bytes out',
    () => s.resyncs,
  );
  counter('sensor_live_unattributed_total', 'TLS plaintext without a socket (dropped)', () => s.unattributed);
  counter(
    'sensor_live_connections_evicted_total',
    'Connections evicted at the connection cap',
    () => s.connectionsEvicted,
  );
  counter('sensor_live_connections_expired_total', 'Idle connections expired', () => s.connectionsExpired);
  counter(
    'sensor_tracker_connections_unknown_total',
    'Connections no protocol claimed',
    () => t().connectionsUnknown,
  );
  counter(
    'sensor_tracker_frames_invalid_total',
    'Parser resynchronisations on invalid bytes',
    () => t().framesInvalid,
  );
  counter(
    'sensor_tracker_bytes_dropped_total',
    'Bytes skipped by resynchronisation or overflow',
    () => t().bytesDropped,
  );
  counter(
    'sensor_tracker_buffer_overflows_total',
    'Partial frames dropped at the per-direction buffer cap',
    () => t().bufferOverflows,
  );
  counter('sensor_tracker_stitch_errors_total', 'Frames that found no peer', () => t().stitchErrors);
  new Counter({
    name: 'sensor_tracker_calls_total',
    help: 'API calls stitched, by protocol',
    labelNames: ['protocol'],
    registers,
    collect() {
      this.reset();
      for (const [protocol, n] of Object.entries(t().callsByProtocol)) this.inc({ protocol }, n);
    },
  });
  new Gauge({
    name: 'sensor_live_connections',
    help: 'Connections tracked right now',
    registers,
    collect() {
      this.set(source.connections);
    },
  });
  new Gauge({
    name: 'sensor_tracker_buffered_bytes',
    help: 'Bytes held by the tracker (partial frames, detection) right now',
    registers,
    collect() {
      this.set(source.tracker.footprint().bufferedBytes);
    },
  });
}
