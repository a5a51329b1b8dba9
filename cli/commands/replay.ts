import { readFileSync, statSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { CaptureFormatError, MAX_CAPTURE_BYTES, readCapture } from '../../sensor/pcap/captureFile.ts';
import { PcapSource } from '../../sensor/pcap/pcapSource.ts';
import type { ApiCall, ProtocolName } from '../../sensor/protocols/contract.ts';
import { implementedProtocols, protocolSpecs } from '../../sensor/protocols/registry.ts';

/**
 * `understory replay <file>`: reads a pcap/pcapng capture (gzip'd or not), runs it through the sensor's
 * protocol pipeline and prints one JSON object per API call (JSON Lines), or counts per protocol.
 */
export function register(program: Command): void {
  program
    .command('replay')
    .description(
      "decode API calls from a packet capture (pcap or pcapng, optionally gzip-compressed) with the sensor's " +
        'protocol parsers; prints one JSON object per call (JSON Lines) on stdout',
    )
    .argument('<file>', 'capture file (.pcap, .pcapng, .pcap.gz, ...)')
    .option('--summary', 'print the number of calls and errors per protocol instead of the calls')
    .option(
      '--decode-as <port=protocol>',
      `treat TCP/UDP traffic on <port> as <protocol> without detection, like tshark's decode-as; repeatable. ` +
        `Protocols: ${[...implementedProtocols()].filter((p) => p !== 'grpc').join(', ')}`,
      collectDecodeAs,
    )
    .addHelpText(
      'after',
      '\nOutput fields: protocol, role, method, resource, status, error, start_ns, duration_ns, client, server,\n' +
        'req_bytes, resp_bytes, attributes. Times are capture times in nanoseconds since the epoch.\n' +
        'Exit code 1 when the file cannot be read or is not a capture.\n\n' +
        'Examples:\n  understory replay traffic.pcapng\n  understory replay --summary traffic.pcap.gz\n' +
        '  understory replay --decode-as 8080=http2 --decode-as 6380=redis capture.pcap',
    )
    .action(async (file: string, opts: { summary?: boolean; decodeAs?: Map<number, ProtocolName> }) => {
      process.exitCode = await replay(file, { summary: opts.summary, decodeAs: opts.decodeAs ?? new Map() });
    });
}

function collectDecodeAs(
  value: string,
  previous: Map<number, ProtocolName> | undefined,
): Map<number, ProtocolName> {
  const m = /^(\d{1,5})=([a-z0-9]+)$/.exec(value);
  if (m === null) throw new InvalidArgumentError(`expected <port>=<protocol>, got ${value}`);
  const port = Number(m[1]);
  if (port < 1 || port > 65535) throw new InvalidArgumentError(`not a port: ${m[1]}`);
  const proto = m[2] as ProtocolName;
  if (!protocolSpecs.some((s) => s.protocol === proto)) {
    throw new InvalidArgumentError(
      `unknown protocol ${m[2]}; known: ${protocolSpecs.map((s) => s.protocol).join(', ')}`,
    );
  }
  const next = new Map(previous);
  next.set(port, proto);
  return next;
}

async function replay(
  file: string,
  opts: { summary?: boolean; decodeAs: Map<number, ProtocolName> },
): Promise<number> {
  let bytes: Uint8Array;
  try {
    const size = statSync(file).size;
    if (size > MAX_CAPTURE_BYTES) throw new Error(`file is ${size} bytes, more than ${MAX_CAPTURE_BYTES}`);
    bytes = readFileSync(file);
  } catch (err) {
    process.stderr.write(`cannot read capture ${file}: ${(err as Error).message}\n`);
    return 1;
  }
  const counts = new Map<string, { calls: number; errors: number }>();
  const out = new LineWriter();
  const onCall = (call: ApiCall) => {
    if (opts.summary) {
      const c = counts.get(call.protocol) ?? { calls: 0, errors: 0 };
      c.calls++;
      if (call.error) c.errors++;
      counts.set(call.protocol, c);
    } else out.line(callJson(call));
  };
  const source = new PcapSource({ specs: protocolSpecs, onCall, decodeAs: opts.decodeAs });
  try {
    for (const p of readCapture(bytes)) {
      source.packet(p);
      await out.drainIfFull();
    }
  } catch (err) {
    if (!(err instanceof CaptureFormatError)) throw err;
    source.finish();
    await out.end();
    process.stderr.write(`cannot replay ${file}: ${err.message}\n`);
    return 1;
  }
  source.finish();
  if (opts.summary) {
    out.line('protocol  calls  errors');
    for (const [proto, c] of [...counts].sort((a, b) => a[0].localeCompare(b[0]))) {
      out.line(`${proto.padEnd(8)}  ${String(c.calls).padStart(5)}  ${String(c.errors).padStart(6)}`);
    }
    const total = [...counts.values()].reduce((n, c) => n + c.calls, 0);
    out.line(
      `total     ${String(total).padStart(5)}  (${source.stats.packets} packets, ${source.stats.flows} flows)`,
    );
  }
  await out.end();
  return 0;
}

/** One call as a JSON line; nanosecond times are printed as exact integers (they exceed 2^53). */
export function callJson(c: ApiCall): string {
  const obj = {
    protocol: c.protocol,
    role: c.role,
    method: c.method,
    resource: c.resource,
    status: c.status,
    error: c.error,
    start_ns: '\u0000start',
    duration_ns: '\u0000dur',
    client: c.client === undefined ? null : endpoint(c.client),
    server: c.server === undefined ? null : endpoint(c.server),
    req_bytes: c.reqBytes,
    resp_bytes: c.respBytes,
    attributes: c.attributes ?? {},
  };
  return JSON.stringify(obj)
    .replace('"\\u0000start"', String(c.startNs))
    .replace('"\\u0000dur"', String(c.endNs - c.startNs));
}

function endpoint(e: { ip: string; port: number }): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

/** Batches lines into stdout writes and honours backpressure (a slow pipe must not grow memory). */
class LineWriter {
  private lines: string[] = [];

  line(s: string): void {
    this.lines.push(s);
  }

  async drainIfFull(): Promise<void> {
    if (this.lines.length >= 1000) await this.flush();
  }

  async end(): Promise<void> {
    await this.flush();
  }

  private flush(): Promise<void> {
    if (this.lines.length === 0) return Promise.resolve();
    const text = `${this.lines.join('\n')}\n`;
    this.lines = [];
    return new Promise((resolve) => {
      if (process.stdout.write(text)) resolve();
      else process.stdout.once('drain', resolve);
    });
  }
}
