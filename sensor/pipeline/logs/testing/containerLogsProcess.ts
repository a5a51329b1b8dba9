/**
 * ContainerLogs in a process of its own, so tests can kill it (SIGKILL: a crash) or stop it (SIGTERM: a
 * clean shutdown) and start it again on the same offsets file.
 *   argv: <pod log root> <offsets file> <collector URL>
 * Sends { started: true } over IPC once the first poll ran.
 */
import { ContainerLogs } from '../containerLogs.ts';

const [root, stateFile, otlpUrl] = process.argv.slice(2);
if (!root || !stateFile || !otlpUrl)
  throw new Error('usage: containerLogsProcess <root> <stateFile> <otlpUrl>');
const logs = new ContainerLogs({
  root,
  stateFile,
  otlpUrl,
  fromStart: true,
  pollIntervalMs: 100,
  // Small batches, so a kill lands between batches of one file.
  maxRecordsPerBatch: 40,
});
await logs.start();
// ContainerLogs's poll timer is unref'd (it must not keep a sensor alive by itself): hold this process open.
const keepAlive = setInterval(() => undefined, 1 << 30);
process.send?.({ started: true });
process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  void logs.shutdown().then(() => process.exit(0));
});
