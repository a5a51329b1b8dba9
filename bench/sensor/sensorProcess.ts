/**
 * The sensor as the benchmark runs it: SensorCapture alone in its own process (the `understory` CLI
 * also loads every other command's modules, which would inflate the RSS we report). Counts events like
 * `understory sensor` without --debug. Args: pids to capture. Prints "capture started" on stderr.
 *
 * SENSOR_ADDON=<path> loads another build of the addon (e.g. an older commit's, built by the benchmark)
 * instead of this checkout's, so two builds can be compared in one run; SENSOR_OPTIONS=<json>
 * adds SensorCapture options (e.g. `{"msgStartCap":256}`). SIGUSR2 prints one line
 * `programs <json>` with the kernel run count and time of every eBPF program so far.
 */
import { type CaptureOptions, SensorCapture } from '../../sensor/capture/index.ts';
import { loadNative } from '../../sensor/capture/native.ts';

// loadNative caches the module it loaded first: SensorCapture.start() then uses this build.
if (process.env.SENSOR_ADDON) loadNative(process.env.SENSOR_ADDON);

const pids = process.argv.slice(2).map(Number);
let events = 0;
const options = JSON.parse(process.env.SENSOR_OPTIONS ?? '{}') as Partial<CaptureOptions>;
const capture = new SensorCapture({
  includePids: pids,
  ...options,
  onBatch(batch) {
    for (const ev of batch) if (ev.kind === 'data') events++;
  },
});
await capture.start();
process.stderr.write('capture started\n');
process.on('SIGUSR2', () => {
  process.stderr.write(`programs ${JSON.stringify(capture.programStats())}\n`);
});
process.once('SIGTERM', () => {
  const s = capture.stats();
  process.stderr.write(`${JSON.stringify({ ...s, dataEvents: events })}\n`);
  void capture.shutdown().then(() => process.exit(0));
});
