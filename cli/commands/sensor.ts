import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { Registry } from 'prom-client';
import { readIngestToken } from '../../incloud/ingester/bearerAuth.ts';
import { AdminServer } from '../../lib/adminServer.ts';
import { onShutdownSignal } from '../../lib/signals.ts';
import { CaptureError, type CaptureEvent } from '../../sensor/capture/index.ts';
import { cgroupCpuQuota } from '../../sensor/capture/loadShedder.ts';
import { DebugProcessFilter, formatEvent } from '../../sensor/live/debugFormat.ts';
import { LiveSensor } from '../../sensor/live/liveSensor.ts';
import {
  applyHostProc,
  loadSensorConfig,
  type PipelineFlags,
  pipelineOverrides,
  type SensorSection,
  sensorEnvironmentNames,
  startWarnings,
  unknownEnvironment,
} from '../../sensor/live/sensorConfig.ts';
import type { ApiCall, ProtocolName } from '../../sensor/protocols/contract.ts';
import { protocolSpecs } from '../../sensor/protocols/registry.ts';
import { defaultDataDir, parsePort } from '../options.ts';
import { callJson } from './replay.ts';

export { formatEvent };

/**
 * `understory sensor`: the whole node sensor. Every flag `--foo-bar` can also be set as UNDERSTORY_FOO_BAR
 * (the Helm chart does that) and, in camelCase, in the `sensor` section of the --config file.
 */
interface SensorOptions extends PipelineFlags {
  config?: string;
  debug: boolean;
  debugCalls: boolean;
  pid: number[];
  excludePid: number[];
  dataCap: number;
  msgStartCap: number;
  ringMb: number;
  tls: boolean;
  tlsBinary: string[];
  decodeAs: Map<number, ProtocolName>;
  maxConnections: number;
  cpuLimit?: number;
  loadShedding: boolean;
  clusterName?: string;
  hostProc?: string;
  ingestTokenFile?: string;
  checkConfig: boolean;
  logs: boolean;
  dataDir: string;
  duration?: number;
  statsInterval: number;
  admin: boolean;
  adminHost: string;
  adminPort: number;
}

const ENV_PREFIX = 'UNDERSTORY_';

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`not a non-negative integer: ${value}`);
  return n;
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1024)
    throw new InvalidArgumentError(`not a number in 0..1024: ${value}`);
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`not a positive number: ${value}`);
  return n;
}

/** Repeatable flag; one value may also be a comma-separated list (how an environment variable gives several). */
function collect<T>(parse: (v: string) => T) {
  return (value: string, previous: T[] = []) => [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(parse),
  ];
}

function collectDecodeAs(value: string, previous = new Map<number, ProtocolName>()) {
  const next = new Map(previous);
  for (const item of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\d{1,5})=([a-z0-9]+)$/.exec(item);
    if (m === null) throw new InvalidArgumentError(`expected <port>=<protocol>, got ${item}`);
    const port = Number(m[1]);
    if (port < 1 || port > 65535) throw new InvalidArgumentError(`not a port: ${m[1]}`);
    if (!protocolSpecs.some((s) => s.protocol === m[2]))
      throw new InvalidArgumentError(
        `unknown protocol ${m[2]}; known: ${protocolSpecs.map((s) => s.protocol).join(', ')}`,
      );
    next.set(port, m[2] as ProtocolName);
  }
  return next;
}

/** UNDERSTORY_FOO_BAR for --foo-bar (negated flags keep their `no`: --no-tls -> UNDERSTORY_NO_TLS). */
export function envName(flag: string): string {
  return ENV_PREFIX + flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase();
}

export function register(program: Command): void {
  const cmd = program
    .command('sensor')
    .description(
      'run the node sensor: eBPF capture of socket traffic (and TLS plaintext) -> protocol parsing -> RED ' +
        'metrics (remote write to the metrics-ingester) and sampled traces (OTLP to the collector), container ' +
        'logs and node resource metrics. Needs root or CAP_BPF + CAP_PERFMON (+ CAP_SYS_ADMIN for TLS uprobes ' +
        'and to mount tracefs)',
    );
  const valueOptions: Option[] = [
    new Option(
      '--config <file>',
      'JSON configuration: pipeline keys plus a `sensor` section (see sensor/README.md)',
    ),
    new Option(
      '--remote-write-url <url>',
      'metrics-ingester remote-write URL (…/api/v1/write); no metrics export without it',
    ),
    new Option(
      '--otlp-url <url>',
      'collector OTLP/HTTP base URL (e.g. http://127.0.0.1:4318); no spans or logs without it',
    ),
    new Option('--node-name <name>', 'node name on spans and the `sensor` label (default: host name)'),
    new Option(
      '--cluster-name <name>',
      'cluster name: k8s.cluster.name on spans and logs, k8s_cluster_name label on every series',
    ),
    new Option(
      '--host-proc <dir>',
      "the host's /proc when it is mounted elsewhere (a container: /host/proc): process names, containers " +
        'and resource metrics are read there (default: /proc, or UNDERSTORY_PROC_ROOT)',
    ),
    new Option(
      '--ingest-token-file <file>',
      'file holding the cluster ingest token, sent as "Authorization: Bearer <token>" on remote write and ' +
        `OTLP (or env UNDERSTORY_INGEST_TOKEN); receivers beyond loopback refuse data without it`,
    ),
    new Option(
      '--k8s-watcher-url <url>',
      'k8s-watcher sensor API (e.g. http://understory-k8s-watcher:9470): names workloads and peers; plain-host names without it',
    ),
    new Option(
      '--k8s-watcher-token-file <file>',
      'file holding the bearer token for the k8s-watcher (read at start; or UNDERSTORY_K8S_WATCHER_TOKEN)',
    ),
    new Option('--metrics-interval-ms <ms>', 'RED snapshot interval (>= 1000)').argParser(nonNegativeInt),
    new Option('--trace-rate <n>', 'spans per second at most (token bucket)').argParser(positiveNumber),
    new Option('--trace-baseline-rate <r>', 'share of normal calls kept as spans (0..1)').argParser(Number),
    new Option('--slow-threshold-ms <ms>', 'calls slower than this are always traced').argParser(
      positiveNumber,
    ),
    new Option(
      '--force-trace-workloads <list>',
      'workloads whose every call is traced (comma-separated)',
    ).argParser(collect(String)),
    new Option(
      '--pid <pid>',
      'capture only these processes and what they fork from now on (repeatable, or a,b)',
    )
      .argParser(collect(nonNegativeInt))
      .default([]),
    new Option('--exclude-pid <pid>', 'never capture these processes (repeatable, or a,b)')
      .argParser(collect(nonNegativeInt))
      .default([]),
    new Option('--data-cap <bytes>', 'bytes captured per read/write (0..4096)')
      .argParser(nonNegativeInt)
      .default(256),
    new Option('--msg-start-cap <bytes>', 'bytes captured at the start of a message (0..4096)')
      .argParser(nonNegativeInt)
      .default(1024),
    new Option('--ring-mb <mib>', 'ring buffer size in MiB (power of two)')
      .argParser(nonNegativeInt)
      .default(16),
    new Option(
      '--tls-binary <path>',
      'extra binary exporting SSL_read/SSL_write to probe (repeatable, or a,b)',
    )
      .argParser(collect(String))
      .default([]),
    new Option(
      '--decode-as <port=protocol>',
      'parse this port as this protocol without detection (repeatable)',
    )
      .argParser(collectDecodeAs)
      .default(new Map(), 'none'),
    new Option('--max-connections <n>', 'connections tracked at once (the oldest is evicted past it)')
      .argParser(nonNegativeInt)
      .default(65_536),
    new Option(
      '--cpu-limit <cores>',
      "CPU budget of the sensor (its process plus its eBPF programs' time on the applications' calls): " +
        'above it, whole connections are left out of the capture and RED ' +
        "counts are scaled to estimate all traffic (0: off; default: 0.8 x the cgroup's CPU quota, else off)",
    ).argParser(nonNegativeNumber),
    new Option('--pod-logs-dir <dir>', "kubelet's pod log directory to tail (default: /var/log/pods)"),
    new Option(
      '--logs-state-file <file>',
      'where log offsets persist (default: <data-dir>/sensor-log-offsets.json)',
    ),
    new Option('--data-dir <dir>', 'directory for the sensor state').default(defaultDataDir()),
    new Option(
      '--resources-interval-ms <ms>',
      'node and container resource metrics interval, >= 1000 (0: off; default: 15000)',
    ).argParser(nonNegativeInt),
    new Option(
      '--duration <seconds>',
      'stop after this many seconds (default: until SIGINT/SIGTERM)',
    ).argParser(nonNegativeInt),
    new Option('--stats-interval <seconds>', 'print counters to stderr this often (0: never)')
      .argParser(nonNegativeInt)
      .default(10),
    new Option('--admin-host <host>', 'address of the /healthz and /metrics endpoint').default('127.0.0.1'),
    new Option('--admin-port <port>', 'port of /healthz and /metrics (0: any free port)')
      .argParser(parsePort)
      .default(9465),
  ];
  for (const o of valueOptions) cmd.addOption(o.env(envName(o.long!)));
  // Booleans read their variables here (true/false/1/0/yes/no), not through commander, which only checks
  // that a variable exists: UNDERSTORY_NO_TLS=false must not turn TLS off.
  const booleanOptions: [string, string][] = [
    ['--debug', 'print every captured event on stdout (one line each, payload preview)'],
    ['--debug-calls', 'print every API call on stdout as a JSON line'],
    ['--no-tls', 'do not attach OpenSSL uprobes (no TLS plaintext)'],
    ['--no-logs', 'do not tail container logs'],
    [
      '--no-load-shedding',
      'never leave connections out of the capture: without it, ring-buffer drops (events of every busy ' +
        'connection lost at random) shrink the share of connections captured even without --cpu-limit',
    ],
    ['--logs-from-start', 'read log files found at start-up from their beginning (default: only new lines)'],
    ['--no-admin', 'do not serve /healthz and /metrics'],
    [
      '--check-config',
      'validate flags, environment, --config file and token files, print the effective settings as JSON ' +
        '(tokens never shown) and exit without loading eBPF',
    ],
  ];
  for (const [flag, help] of booleanOptions)
    cmd.addOption(new Option(flag, `${help} [env: ${envName(flag)}]`));
  const knownEnv = sensorEnvironmentNames([
    ...valueOptions.map((o) => envName(o.long!)),
    ...booleanOptions.map(([f]) => envName(f)),
  ]);
  // Bad options exit with 2 like every other configuration error (commander's default is 1); help exits 0.
  cmd.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  cmd.addHelpText(
    'after',
    '\nPrecedence: flag > environment variable > --config file > default. Exit status 2: bad options or\n' +
      'configuration, missing privileges or kernel support (the message says which).\n\n' +
      'Examples:\n' +
      '  understory sensor --remote-write-url http://127.0.0.1:9091/api/v1/write --otlp-url http://127.0.0.1:4318\n' +
      '  understory sensor --debug-calls --pid 1234      # API calls of one process as JSON lines\n' +
      '  UNDERSTORY_DATA_CAP=1024 understory sensor --config sensor.json',
  );
  cmd.action(async (opts: SensorOptions, command: Command) => {
    let sensor: LiveSensor;
    let admin: AdminServer | undefined;
    try {
      applyBooleanEnv(
        command,
        booleanOptions.map(([f]) => f),
      );
      const cfg = loadSensorConfig(opts.config, pipelineOverrides(opts), process.env, {
        // Under the file: container logs and resource metrics are on unless configured otherwise.
        logs: { root: '/var/log/pods', stateFile: join(opts.dataDir, 'sensor-log-offsets.json') },
        resources: { intervalMs: 15_000 },
      });
      applyFileSection(command, opts, cfg.sensor);
      if (!opts.logs) delete cfg.pipeline.logs;
      if (opts.resourcesIntervalMs === 0) delete cfg.pipeline.resources;
      applyHostProc(cfg.pipeline, opts.hostProc);
      const ingestToken = readIngestToken(opts.ingestTokenFile);
      const ignored = unknownEnvironment(process.env, knownEnv);
      for (const w of startWarnings(cfg.pipeline, ingestToken, ignored))
        process.stderr.write(`understory sensor: ${w}\n`);
      admin =
        opts.admin && !opts.checkConfig
          ? new AdminServer(() => [sensor], opts.adminHost, opts.adminPort, 'sensor')
          : undefined;
      sensor = build(opts, cfg.pipeline, admin?.registry ?? new Registry(), ingestToken);
      if (opts.checkConfig) {
        process.stdout.write(
          `${JSON.stringify(effectiveSettings(opts, cfg.pipeline, sensor, ingestToken, ignored), null, 2)}\n`,
        );
        return;
      }
    } catch (err) {
      process.stderr.write(`understory sensor: ${(err as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    await run(opts, sensor, admin);
  });
}

/** What `--check-config` prints: everything the sensor would run with; tokens only as "set". */
function effectiveSettings(
  opts: SensorOptions,
  pipeline: ReturnType<typeof loadSensorConfig>['pipeline'],
  sensor: LiveSensor,
  ingestToken: string | undefined,
  ignored: string[],
) {
  return {
    pipeline,
    sensor: {
      pid: opts.pid,
      excludePid: opts.excludePid,
      dataCap: opts.dataCap,
      msgStartCap: opts.msgStartCap,
      ringMb: opts.ringMb,
      tls: opts.tls,
      tlsBinary: opts.tlsBinary,
      decodeAs: Object.fromEntries(opts.decodeAs),
      maxConnections: opts.maxConnections,
      cpuLimit: cpuLimitCores(opts) || 'off',
      loadShedding: opts.loadShedding
        ? cpuLimitCores(opts)
          ? 'cpu budget and ring drops'
          : 'ring drops'
        : 'off',
      dataDir: opts.dataDir,
      clusterName: opts.clusterName ?? null,
      hostProc: opts.hostProc ?? null,
      ingestToken: ingestToken ? 'set' : 'none',
      admin: opts.admin ? `${opts.adminHost}:${opts.adminPort}` : 'off',
      containerLogs: sensor.logs ? 'on' : 'off',
    },
    ignoredEnvironment: ignored,
  };
}

function parseBool(name: string, v: string): boolean {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new Error(`cannot read ${name}: ${JSON.stringify(v)} is not a boolean (true/false/1/0/yes/no)`);
}

function applyBooleanEnv(command: Command, flags: string[]): void {
  for (const flag of flags) {
    const name = envName(flag);
    const raw = process.env[name];
    if (raw === undefined) continue;
    const negated = flag.startsWith('--no-');
    const key = camel(flag.replace(/^--(no-)?/, ''));
    if (command.getOptionValueSource(key) === 'cli') continue;
    const on = parseBool(name, raw);
    command.setOptionValueWithSource(key, negated ? !on : on, 'env');
  }
}

/** File values apply where neither a flag nor a variable set the option. */
function applyFileSection(command: Command, opts: SensorOptions, section: SensorSection): void {
  for (const [key, value] of Object.entries(section)) {
    const source = command.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') continue;
    if (key === 'decodeAs') {
      let m = new Map<number, ProtocolName>();
      for (const [port, proto] of Object.entries(value as Record<string, string>))
        m = collectDecodeAs(`${port}=${proto}`, m);
      opts.decodeAs = m;
    } else (opts as unknown as Record<string, unknown>)[key] = value;
  }
}

function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function build(
  opts: SensorOptions,
  pipeline: ReturnType<typeof loadSensorConfig>['pipeline'],
  registry: Registry,
  ingestToken: string | undefined,
): LiveSensor {
  const out = process.stdout;
  const write = (line: string) => {
    if (!out.writableEnded) out.write(line);
  };
  const debugFilter = new DebugProcessFilter(opts.pid);
  // `understory sensor --debug | head`: a closed pipe ends the debug output, not the process.
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') {
      opts.debug = false;
      opts.debugCalls = false;
    }
  });
  return new LiveSensor({
    capture: {
      includePids: opts.pid,
      excludePids: opts.excludePid,
      dataCap: opts.dataCap,
      msgStartCap: opts.msgStartCap,
      ringBytes: opts.ringMb * 1024 * 1024,
      tls: opts.tls,
      tlsBinaries: opts.tlsBinary,
    },
    pipeline,
    decodeAs: opts.decodeAs,
    maxConnections: opts.maxConnections,
    cpuLimitCores: cpuLimitCores(opts),
    loadShedding: opts.loadShedding,
    ingestToken,
    clusterName: opts.clusterName,
    registry,
    onEvents: (batch: Iterable<CaptureEvent>) => {
      if (!opts.debug) return;
      for (const ev of batch) if (debugFilter.shows(ev)) write(`${formatEvent(ev)}\n`);
    },
    onCalls: (calls: readonly ApiCall[]) => {
      if (!opts.debugCalls) return;
      for (const c of calls) write(`${callLine(c)}\n`);
    },
  });
}

/** --cpu-limit, else 0.8 x the cgroup's CPU quota (the sensor sheds load before the kernel throttles it). */
function cpuLimitCores(opts: SensorOptions): number {
  if (opts.cpuLimit !== undefined) return opts.cpuLimit;
  const quota = cgroupCpuQuota();
  return quota === undefined ? 0 : Math.round(quota * 0.8 * 1000) / 1000;
}

/** One API call as a JSON line: `understory replay`'s fields plus the observed pid. */
export function callLine(c: ApiCall): string {
  return callJson(c).replace(/^\{/, `{"pid":${c.pid ?? 'null'},`);
}

async function run(opts: SensorOptions, sensor: LiveSensor, admin: AdminServer | undefined): Promise<void> {
  try {
    await sensor.start();
  } catch (err) {
    const cause = (err as Error).cause;
    const capture = cause instanceof CaptureError ? cause : err instanceof CaptureError ? err : undefined;
    process.stderr.write(`understory sensor: ${capture?.message ?? (err as Error).message}\n`);
    if (capture?.detail && process.env.UNDERSTORY_LOG_LEVEL === 'debug')
      process.stderr.write(`${capture.detail}\n`);
    process.exitCode = 2;
    return;
  }
  if (admin) {
    try {
      const port = await admin.listen();
      process.stderr.write(`sensor: /healthz and /metrics on http://${opts.adminHost}:${port}\n`);
    } catch (err) {
      process.stderr.write(`understory sensor: cannot serve /metrics: ${(err as Error).message}\n`);
      await sensor.shutdown();
      process.exitCode = 2;
      return;
    }
  }
  const report = () => {
    const c = sensor.captureStats();
    const s = sensor.source.stats;
    const t = sensor.source.tracker.stats;
    const protocols = Object.entries(t.callsByProtocol)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    process.stderr.write(
      `sensor: events=${c.events} drops=${c.drops} batches=${c.batches} tls_binaries=${c.tlsBinaries} ` +
        `connections=${sensor.source.connections} truncated=${s.truncatedEvents} gaps=${s.gaps} ` +
        `${sensor.shedder ? `keep=${sensor.shedder.keep.toFixed(3)} shed=${c.shed} ` : ''}` +
        `calls=${t.calls}${protocols ? ` ${protocols}` : ''}\n`,
    );
  };
  const timer = opts.statsInterval > 0 ? setInterval(report, opts.statsInterval * 1000) : undefined;
  const stop = async () => {
    if (timer) clearInterval(timer);
    await admin?.close();
    await sensor.shutdown();
    report(); // the counters go with the session
  };
  if (opts.duration !== undefined) {
    await new Promise((r) => setTimeout(r, opts.duration! * 1000));
    await stop();
    return;
  }
  await onShutdownSignal(stop);
}
