/**
 * The sensor as the benchmark runs it: SensorCapture alone in its own process (the `understory` CLI
 * also loads every other command's modules, which would inflate the RSS we report). Counts events like
 * `understory sensor` without --debug. Args: pids to capture. Prints "capture started" on stderr.
 */
import { SensorCapture } from '../../sensor/capture/index.ts';

const pids = process.argv.slice(2).map(Number);
let events = 0;
const capture = new SensorCapture({
  includePids: pids,
  onBatch(batch) {
    for (const ev of batch) if (ev.kind === 'data') events++;
  },
});
await capture.start();
process.stderr.write('capture started\n');
process.once('SIGTERM', () => {
  const s = capture.stats();
  process.stderr.write(`${JSON.stringify({ ...s, dataEvents: events })}\n`);
  void capture.shutdown().then(() => process.exit(0));
});
