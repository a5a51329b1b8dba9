import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureRecorder } from '../testing/captureRecorder.ts';
import { startNodeScript } from '../testing/servers.ts';

// Pid filters changed while capturing. The kernel caches each thread's "captured or not" verdict (per
// filter generation), so a thread already judged "not captured" must change its mind when user space
// includes its process later, and stop again when it is excluded.

/** One process talking to itself over loopback TCP: "tick-N" every 20 ms until killed. */
const TICKER = `
const net = require('node:net');
const srv = net.createServer((s) => s.on('data', () => {}));
srv.listen(0, '127.0.0.1', () => {
  const c = net.connect(srv.address().port, '127.0.0.1', () => {
    let n = 0;
    setInterval(() => c.write('tick-' + n++), 20);
    console.log('READY ' + srv.address().port);
  });
});`;

let ticker: Awaited<ReturnType<typeof startNodeScript>>;
const recorder = new CaptureRecorder((ev) => ev.kind === 'data' && ev.pid === ticker?.pid);

beforeAll(async () => {
  // Started before the capture, so not one of the test process's captured children.
  ticker = await startNodeScript(TICKER);
  await recorder.start();
});

afterAll(async () => {
  await recorder.stop();
  await ticker?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ticks = () => recorder.events.filter((e) => e.data?.toString().startsWith('tick-')).length;

describe('pid filters changed while capturing', () => {
  it('an uncaptured process is captured once included and no longer once excluded', async () => {
    // Its thread makes socket calls under the capture and is judged "not captured".
    await sleep(400);
    expect(ticks(), recorder.describe()).toBe(0);

    recorder.capture.setPidFilter(ticker.pid, 'include');
    await recorder.waitFor('ticks after the include', () => ticks() >= 5);
    const sample = recorder.events.find((e) => e.data?.toString().startsWith('tick-'))!;
    expect(sample.tuple?.transport).toBe('tcp');
    expect(sample.tuple?.remote.ip).toBe('127.0.0.1');

    recorder.capture.setPidFilter(ticker.pid, 'exclude');
    await sleep(200); // batches already in the ring still arrive
    const atExclude = ticks();
    await sleep(400);
    expect(ticks()).toBe(atExclude);
  });
});
