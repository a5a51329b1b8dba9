import { Counter, Gauge, type Registry } from 'prom-client';
import type { CaptureStats } from './capture.ts';
import type { LoadShedder } from './loadShedder.ts';

/**
 * Exposes the capture counters as Prometheus metrics (scraped from the sensor's /metrics). Values are
 * read from `stats()` at scrape time; counters advance by the difference since the last scrape.
 */
const COUNTERS: [keyof CaptureStats, string, string, scale?: number][] = [
  ['events', 'understory_sensor_capture_events_total', 'Records the eBPF program wrote to the ring buffer.'],
  ['drops', 'understory_sensor_capture_drops_total', 'Records lost because the ring buffer was full.'],
  ['droppedBytes', 'understory_sensor_capture_dropped_bytes_total', 'Payload bytes of the lost records.'],
  [
    'truncated',
    'understory_sensor_capture_truncated_total',
    'Data events whose payload was cut at the capture cap.',
  ],
  [
    'tlsCiphertextSkipped',
    'understory_sensor_capture_tls_ciphertext_skipped_total',
    'Socket events skipped because TLS plaintext covers them.',
  ],
  [
    'tlsUnattributed',
    'understory_sensor_capture_tls_unattributed_total',
    'TLS plaintext events without a known socket.',
  ],
  [
    'wakeups',
    'understory_sensor_capture_wakeups_total',
    'Forced wake-ups of the reader (backlog over the threshold).',
  ],
  [
    'shed',
    'understory_sensor_capture_shed_total',
    'Data events not captured because load shedding left their connection out.',
  ],
  ['batches', 'understory_sensor_capture_batches_total', 'Batches handed to JavaScript.'],
  [
    'readerStalls',
    'understory_sensor_capture_reader_stalls_total',
    'Polls skipped because JavaScript was behind.',
  ],
  ['pollErrors', 'understory_sensor_capture_poll_errors_total', 'Ring buffer poll errors.'],
  ['consumerErrors', 'understory_sensor_capture_consumer_errors_total', 'Batches whose consumer threw.'],
  [
    'kernelNs',
    'understory_sensor_capture_kernel_seconds_total',
    "Estimated time of the sensor's eBPF programs on the observed applications' calls (sampled; beyond the hooks' fixed cost).",
    1e-9,
  ],
];

export function registerCaptureMetrics(registry: Registry, stats: () => CaptureStats): void {
  const last = new Map<string, number>();
  for (const [key, name, help, scale = 1] of COUNTERS) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const now = Number(stats()[key] ?? 0);
        const delta = now - (last.get(name) ?? 0);
        if (delta > 0) this.inc(delta * scale);
        last.set(name, now);
      },
    });
  }
  new Gauge({
    name: 'understory_sensor_capture_tls_binaries',
    help: 'Binaries with OpenSSL uprobes attached.',
    registers: [registry],
    collect() {
      this.set(stats().tlsBinaries ?? 0);
    },
  });
}

/** The load shedder's state: the share of connections captured and the budget it keeps to. */
export function registerShedderMetrics(
  registry: Registry,
  shedder: LoadShedder,
  cpuLimitCores: number,
): void {
  new Gauge({
    name: 'understory_sensor_capture_keep_ratio',
    help: 'Fraction of connections captured (1: all; below 1 the sensor sheds load to stay in its CPU budget and RED counts are estimates)',
    registers: [registry],
    collect() {
      this.set(shedder.keep);
    },
  });
  new Gauge({
    name: 'understory_sensor_cpu_limit_cores',
    help: "CPU budget of the sensor: its process plus its eBPF programs' time on traced calls (load shedding above it; 0: none, only ring drops shed)",
    registers: [registry],
    collect() {
      this.set(cpuLimitCores);
    },
  });
}
