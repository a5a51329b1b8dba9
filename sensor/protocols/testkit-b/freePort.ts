export { freePort } from '../../../lib/net.ts';

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
