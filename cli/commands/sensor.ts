import { type Command, InvalidArgumentError } from 'commander';
import { AdminServer } from '../../lib/adminServer.ts';
import { onShutdownSignal } from '../../lib/signals.ts';
import {
  CaptureError,
  type CaptureEvent,
  type DataEvent,
  registerCaptureMetrics,
  SensorCapture,
} from '../../sensor/capture/index.ts';
import { parsePort } from '../options.ts';

interface SensorOptions {
  debug: boolean;
  pid: number[];
  excludePid: number[];
  dataCap: number;
  msgStartCap: number;
  ringMb: number;
  tls: boolean;
  tlsBinary: string[];
  duration?: number;
  statsInterval: number;
  admin: boolean;
  adminHost: string;
  adminPort: number;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`not a non-negative integer: ${value}`);
  return n;
}

function collect(parse: (v: string) => number) {
  return (value: string, previous: number[]) => [...previous, parse(value)];
}

export function register(program: Command): void {
  program
    .command('sensor')
    .description(
      'run the eBPF sensor on this node: capture socket traffic (and TLS plaintext), connections and ' +
        'processes. Needs root or CAP_BPF + CAP_PERFMON (+ CAP_SYS_ADMIN for TLS uprobes and to mount tracefs)',
    )
    .option('--debug', 'print every captured event on stdout (one line each, payload preview)', false)
    .option(
      '--pid <pid>',
      'capture only this process and its new children (repeatable)',
      collect(positiveInt),
      [],
    )
    .option('--exclude-pid <pid>', 'never capture this process (repeatable)', collect(positiveInt), [])
    .option('--data-cap <bytes>', 'bytes captured per read/write (0..4096)', positiveInt, 256)
    .option(
      '--msg-start-cap <bytes>',
      'bytes captured at the start of a message (0..4096)',
      positiveInt,
      1024,
    )
    .option('--ring-mb <mib>', 'ring buffer size in MiB (power of two)', positiveInt, 16)
    .option('--no-tls', 'do not attach OpenSSL uprobes (no TLS plaintext)')
    .option(
      '--tls-binary <path>',
      'extra binary exporting SSL_read/SSL_write to probe (repeatable)',
      (v, p: string[]) => [...p, v],
      [],
    )
    .option(
      '--duration <seconds>',
      'stop after this many seconds (default: until SIGINT/SIGTERM)',
      positiveInt,
    )
    .option(
      '--stats-interval <seconds>',
      'print capture counters to stderr this often (0: never)',
      positiveInt,
      10,
    )
    .option('--admin-host <host>', 'address of the /healthz and /metrics endpoint', '127.0.0.1')
    .option(
      '--admin-port <port>',
      'port of the /healthz and /metrics endpoint (0: any free port)',
      parsePort,
      9465,
    )
    .option('--no-admin', 'do not serve /healthz and /metrics')
    .addHelpText(
      'after',
      '\nThe pipeline (protocol parsing, RED metrics, traces) is wired in by later components; for now the\n' +
        'sensor captures and counts, and --debug shows what it sees. Exit status 2: bad options, missing\n' +
        'privileges or kernel support (the message says which).',
    )
    .action(async (opts: SensorOptions) => {
      const counts = new Map<string, number>();
      const out = process.stdout;
      // `understory sensor --debug | head`: a closed pipe ends the debug output, not the process with a trace.
      out.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') opts.debug = false;
      });
      let capture: SensorCapture;
      try {
        capture = new SensorCapture({
          includePids: opts.pid,
          excludePids: opts.excludePid,
          dataCap: opts.dataCap,
          msgStartCap: opts.msgStartCap,
          ringBytes: opts.ringMb * 1024 * 1024,
          tls: opts.tls,
          tlsBinaries: opts.tlsBinary,
          onBatch(batch) {
            for (const ev of batch) {
              counts.set(ev.kind, (counts.get(ev.kind) ?? 0) + 1);
              if (opts.debug) out.write(`${formatEvent(ev)}\n`);
            }
          },
        });
        await capture.start();
      } catch (err) {
        if (err instanceof CaptureError) {
          process.stderr.write(`understory sensor: ${err.message}\n`);
          if (err.detail && process.env.UNDERSTORY_LOG_LEVEL === 'debug')
            process.stderr.write(`${err.detail}\n`);
          process.exitCode = 2;
          return;
        }
        throw err;
      }
      let admin: AdminServer | undefined;
      if (opts.admin) {
        const running = capture;
        admin = new AdminServer(() => [running], opts.adminHost, opts.adminPort, 'sensor');
        registerCaptureMetrics(admin.registry, () => running.stats());
        try {
          const port = await admin.listen();
          process.stderr.write(`sensor: /healthz and /metrics on http://${opts.adminHost}:${port}\n`);
        } catch (err) {
          process.stderr.write(`understory sensor: cannot serve /metrics: ${(err as Error).message}\n`);
          await capture.shutdown();
          process.exitCode = 2;
          return;
        }
      }
      const report = () => {
        const s = capture.stats();
        const kinds = [...counts].map(([k, v]) => `${k}=${v}`).join(' ');
        process.stderr.write(
          `sensor: events=${s.events} drops=${s.drops} batches=${s.batches} tls_binaries=${s.tlsBinaries} ${kinds}\n`,
        );
      };
      const timer = opts.statsInterval > 0 ? setInterval(report, opts.statsInterval * 1000) : undefined;
      const stop = async () => {
        if (timer) clearInterval(timer);
        report(); // the counters go with the session
        await admin?.close();
        await capture.shutdown();
      };
      if (opts.duration !== undefined) {
        await new Promise((r) => setTimeout(r, opts.duration! * 1000));
        await stop();
        return;
      }
      await onShutdownSignal(stop);
    });
}

/** One line per event for --debug: time, kind, pid/tid, fd, tuple, direction, length and a payload preview. */
export function formatEvent(ev: CaptureEvent): string {
  const head = `${ev.tsNs} ${ev.kind} pid=${ev.pid} tid=${ev.tid}`;
  switch (ev.kind) {
    case 'data': {
      const t = ev.tuple;
      const flags = [ev.tls ? 'tls' : '', ev.truncated ? 'truncated' : '', ev.messageStart ? 'start' : '']
        .filter(Boolean)
        .join(',');
      return `${head} fd=${ev.fd} ${ev.syscall} ${ev.direction} ${t.transport} ${t.local.ip}:${t.local.port} ${
        ev.direction === 'egress' ? '->' : '<-'
      } ${t.remote.ip}:${t.remote.port} role=${ev.role} len=${ev.length}${flags ? ` [${flags}]` : ''} ${preview(ev)}`;
    }
    case 'connect':
    case 'accept':
    case 'close': {
      const t = ev.tuple;
      return `${head} fd=${ev.fd} ${t.transport} ${t.local.ip}:${t.local.port} ${t.remote.ip}:${t.remote.port} role=${ev.role} result=${ev.result}`;
    }
    default:
      return `${head} comm=${ev.comm}${ev.kind === 'fork' ? ` parent=${ev.parentPid} child=${ev.childPid}` : ''}${
        ev.kind === 'exit' ? ` status=${ev.exitCode}` : ''
      }`;
  }
}

/** Printable ASCII as is, everything else as '.', at most 80 characters. */
function preview(ev: DataEvent): string {
  const d = ev.data;
  let s = '';
  for (let i = 0; i < Math.min(d.length, 80); i++) {
    const c = d[i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
  }
  return JSON.stringify(s);
}
