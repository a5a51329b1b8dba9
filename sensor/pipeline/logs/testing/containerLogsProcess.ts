/**
 * ContainerLogs in a process of its own, so tests can kill it (SIGKILL: a crash) or stop it (SIGTERM: a
 * clean shutdown) and start it again on the same offsets file.
 *   argv: <pod log root> <offsets file> <collector URL> [JSON of more ContainerLogsOptions]
 * Sends { started: true } over IPC once the first poll ran.
 */
import { ContainerLogs, type ContainerLogsOptions } from '../containerLogs.ts';

const [root, stateFile, otlpUrl, extra] = process.argv.slice(2);
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
  ...(extra ? (JSON.parse(extra) as Partial<ContainerLogsOptions>) : {}),
});
await logs.start();
// ContainerLogs's poll timer is unref'd (it must not keep a sensor alive by itself): hold this process open.
const keepAlive = setInterval(() => undefined, 1 << 30);
// Before `started`: until a handler is installed the kernel's default ends the process, and the test may
// send SIGTERM as soon as it reads the message.
process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  void logs.shutdown().then(() => process.exit(0));
});
process.send?.({ started: true });
