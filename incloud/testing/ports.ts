import { waitForHttp as waitForHttpWith } from '../../lib/net.ts';

export { freePort } from '../../lib/net.ts';

/** lib/net.ts `waitForHttp` with the positional form the test helpers here use. */
export function waitForHttp(
  url: string,
  timeoutMs: number,
  isAlive: () => boolean = () => true,
): Promise<void> {
  return waitForHttpWith(url, {
    timeoutMs,
    intervalMs: 100,
    abortReason: () => (isAlive() ? undefined : 'the process exited'),
  });
}
