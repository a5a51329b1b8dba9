import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureRecorder, type RecordedEvent } from '../testing/captureRecorder.ts';

// Load shedding in the kernel (capture.h shed_lots, data.bpf.h shed_now) with the real eBPF program: a
// child process talks to itself over loopback TCP on command while the test changes the threshold.

/** stdin commands: `one` opens a connection and exchanges ~a1~/~r1~ on it, `again N` exchanges ~aN~/~rN~
 * on the same connection, `many N tag` runs N connections of one exchange each (~p<tag><i>~/~q<tag><i>~)
 * and prints their client ports. */
const PEER = `
const net = require('node:net');
const readline = require('node:readline');
let kept;
const exchange = (c, ask, answer) => new Promise((resolve) => {
  c.once('data', () => resolve());
  c.write(ask);
});
const srv = net.createServer((s) => s.on('data', (b) => {
  const m = /^~([a-z])([a-z]*\\d+)~$/.exec(b.toString());
  if (m) s.write('~' + (m[1] === 'a' ? 'r' : 'q') + m[2] + '~');
}));
srv.listen(0, '127.0.0.1', () => console.log('port ' + srv.address().port));
const open = () => new Promise((resolve) => { const c = net.connect(srv.address().port, '127.0.0.1', () => resolve(c)); });
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const [cmd, arg] = line.split(' ');
  if (cmd === 'one') { kept = await open(); await exchange(kept, '~a1~'); console.log('ok'); }
  else if (cmd === 'again') { await exchange(kept, '~a' + arg + '~'); console.log('ok'); }
  else if (cmd === 'many') {
    const tag = line.split(' ')[2] ?? '';
    const ports = [];
    await Promise.all(Array.from({ length: Number(arg) }, async (_, i) => {
      const c = await open();
      ports[i] = c.localPort;
      await exchange(c, '~p' + tag + i + '~');
      c.end();
    }));
    console.log('ports ' + JSON.stringify(ports));
  } else if (cmd === 'end') { kept?.destroy(); srv.close(); process.exit(0); }
});`;

/** The kernel's lot of a connection (data.bpf.h shed_now): the same at both ends. */
function lot(a: number, b: number, salt: number): number {
  const pair = (a < b ? (a << 16) | b : (b << 16) | a) >>> 0;
  return Number((BigInt((pair ^ salt) >>> 0) * 2654435761n) & 0xffffffffn) >>> 16;
}

describe('capture load shedding', () => {
  let child: ChildProcessWithoutNullStreams;
  let port = 0;
  const replies: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  const command = (line: string) =>
    new Promise<string>((resolve) => {
      waiters.push(resolve);
      child.stdin.write(`${line}\n`);
    });
  const recorder = new CaptureRecorder((ev) => ev.kind === 'data' && ev.pid === child?.pid);
  const shed = (lots: number, salt?: number) => recorder.capture.setShed(lots, salt);
  const on = (e: RecordedEvent, p: number) => e.tuple!.local.port === p || e.tuple!.remote.port === p;
  const settle = () => new Promise((r) => setTimeout(r, 300)); // > the reader's 50 ms poll

  beforeAll(async () => {
    await recorder.start();
    child = spawn(process.execPath, ['-e', PEER]);
    child.stderr.pipe(process.stderr);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      replies.push(line);
      waiters.shift()?.(line);
    });
    const first = await new Promise<string>((resolve) => waiters.push(resolve));
    port = Number(first.split(' ')[1]);
  }, 30_000);

  afterAll(async () => {
    child?.stdin.write('end\n');
    await recorder.stop();
  });

  it('a captured connection left out: not copied, counted, one RESYNC marker per end, flagged on return', async () => {
    const onServer = () => recorder.events.filter((e) => on(e, port));
    const texts = () =>
      onServer().map((e) => `${e.role} ${e.direction} ${e.data!.toString() || `(${e.length})`} ${e.resync}`);
    expect(await command('one')).toBe('ok');
    await recorder.waitFor('~r1~ read by the client', () => texts().includes('client ingress ~r1~ false'));
    const before = recorder.capture.stats().shed;
    shed(65_536);
    expect(await command('again 2')).toBe('ok');
    await settle();
    // client write, server read, server write, client read: at least these four were left out
    expect(recorder.capture.stats().shed - before).toBeGreaterThanOrEqual(4);
    shed(0);
    expect(await command('again 3')).toBe('ok');
    await recorder.waitFor('~r3~ read by the client', () => texts().includes('client ingress ~r3~ false'));
    // The four calls left out are reported per thread with the child's next events (shed_before).
    const childShed = recorder.events
      .filter((e) => e.kind === 'data' && e.pid === child.pid)
      .reduce((n, e) => n + (e.shedBefore ?? 0), 0);
    expect(childShed).toBe(4);
    expect(texts()).toEqual([
      'client egress ~a1~ false',
      'server ingress ~a1~ false',
      'server egress ~r1~ false',
      'client ingress ~r1~ false',
      // An empty marker per end when its shedding began: what user space holds for it is stale.
      'client egress (0) true',
      'server ingress (0) true',
      // The first event of each end after it is captured again carries the flag too.
      'client egress ~a3~ true',
      'server ingress ~a3~ true',
      'server egress ~r3~ false',
      'client ingress ~r3~ false',
    ]);
  });

  it("estimates the programs' own time on the traced calls (kernelNs)", async () => {
    const before = recorder.capture.stats().kernelNs;
    // 64 connections: >= 256 traced data calls over at most a few CPUs, one in 16 per CPU timed.
    const line = await command('many 64 k');
    expect(line).toMatch(/^ports /);
    await settle();
    const timed = recorder.capture.stats().kernelNs - before;
    expect(timed).toBeGreaterThan(0);
    // Each timed call counts 16 times: the estimate moves in steps of 16 clock readings' differences.
    expect(Number.isInteger(timed / 16)).toBe(true);
  });

  it.each([
    ['no salt', 0, 'u'],
    ['a salt', 0x9e3779b9, 's'],
  ])(
    'half the lots, %s: each connection is captured whole or not at all, by the hash of its port pair',
    async (_name, salt, tag) => {
      shed(32_768, salt);
      const line = await command(`many 64 ${tag}`);
      await settle();
      shed(0, 0);
      const ports = JSON.parse(line.replace(/^ports /, '')) as number[];
      expect(ports).toHaveLength(64);
      let kept = 0;
      for (const [i, clientPort] of ports.entries()) {
        // Markers included: a connection left out from its start leaves no trace at all.
        const seen = recorder.events
          .filter(
            (e) => on(e, clientPort) && on(e, port) && (e.length === 0 || e.data!.includes(`${tag}${i}~`)),
          )
          .map((e) => `${e.role} ${e.direction} ${e.data!.toString()}`)
          .sort();
        const captured = lot(clientPort, port, salt) >= 32_768;
        expect(seen, `connection ${i} from port ${clientPort}`).toEqual(
          captured
            ? [
                `client egress ~p${tag}${i}~`,
                `client ingress ~q${tag}${i}~`,
                `server egress ~q${tag}${i}~`,
                `server ingress ~p${tag}${i}~`,
              ]
            : [],
        );
        if (captured) kept++;
      }
      // Ephemeral ports spread over the lots: neither all nor none of 64 connections (p < 1e-18).
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(64);
    },
  );
});
