/**
 * Runs `stop` once on the first SIGINT/SIGTERM; a second signal runs `forceStop` (synchronous, e.g. SIGKILL
 * to children) and exits at once: the user insists.
 * Resolves when `stop` has finished.
 */
export function onShutdownSignal(stop: () => Promise<void>, forceStop?: () => void): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (sig: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`received ${sig} again: exiting now\n`);
        forceStop?.();
        process.exit(130);
      }
      stopping = true;
      stop().then(resolve, (err: unknown) => {
        process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
