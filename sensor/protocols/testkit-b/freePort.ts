import { createServer } from 'node:net';

/** A TCP port that was free a moment ago (the OS picks it), for servers that need a port on the command line. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (addr === null || typeof addr === 'string') throw new Error('cannot find a free port');
  return addr.port;
}

/** Polls `probe` until it resolves true or `timeoutMs` passes; throws `message` on timeout. */
export async function waitFor(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  message: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(message);
}
