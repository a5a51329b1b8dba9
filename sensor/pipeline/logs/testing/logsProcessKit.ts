import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** Test side of containerLogsProcess.ts: start it, stop it, and kill what is left after the tests. */
const script = fileURLToPath(new URL('./containerLogsProcess.ts', import.meta.url));
export const logsProcesses = new Set<ChildProcess>();

/** Forks ContainerLogs (args as containerLogsProcess.ts takes them) and waits until its first poll ran. */
export async function startLogsProcess(args: string[]): Promise<ChildProcess> {
  const child = fork(script, args, {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  logsProcesses.add(child);
  child.on('exit', () => logsProcesses.delete(child));
  const started = once(child, 'message') as Promise<[{ started?: boolean }]>;
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`the sensor process exited before it started (code ${code})`);
  });
  const [msg] = await Promise.race([started, exited]);
  if (!msg.started) throw new Error(`unexpected message from the sensor process: ${JSON.stringify(msg)}`);
  return child;
}

/** Stops it with `signal`; a sensor that quit on its own before would be a bug, not a restart. */
export async function stopLogsProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null) throw new Error(`the sensor process had exited already (${child.exitCode})`);
  const exited = once(child, 'exit');
  child.kill(signal);
  const [code, sig] = (await exited) as [number | null, string | null];
  if (signal === 'SIGTERM' ? code !== 0 : sig !== signal)
    throw new Error(`the sensor process ended with code ${code}, signal ${sig} after ${signal}`);
}
