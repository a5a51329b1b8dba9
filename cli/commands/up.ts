import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { freePort, portIsFree } from '../../lib/net.ts';
import { onShutdownSignal } from '../../lib/signals.ts';
import { defaultDataDir, parsePort } from '../options.ts';
import { bootstrapLocalEdge, type LocalAccount } from '../up/localBootstrap.ts';
import { type UpOptions, upPlan } from '../up/plan.ts';
import { processTree, sensorPrivilege } from '../up/sensorPlan.ts';
import { type RunningProcess, Supervisor } from '../up/supervisor.ts';

interface UpFlags {
  dataDir: string;
  edgePort: number;
  vmPort: number;
  vmagentPort: number;
  adminPort: number;
  collectorPort: number;
  ingesterPort: number;
  watcherPort: number;
  metricsRetention: string;
  edgeUrl?: string;
  installToken?: string;
  installTokenFile?: string;
  /** true: --sensor (fail if it cannot run), false: --no-sensor, undefined: run it when privileged. */
  sensor?: boolean;
  sensorAdminPort: number;
  sensorPid: number[];
}

export function register(program: Command): void {
  program
    .command('up')
    .description(
      'run everything on this machine: the edge (wrangler dev, bootstrapped with a local account and cluster), ' +
        'VictoriaMetrics, and the in-cluster components with embedded ClickHouse and the portal connected to that ' +
        'edge; or, with --edge-url, only the in-cluster side connected to a remote edge. Ctrl-C stops all of it',
    )
    .option('--data-dir <dir>', 'data and logs of every component', defaultDataDir())
    .option('--edge-port <port>', 'edge (UI and API) port', parsePort, 8787)
    .option('--vm-port <port>', 'VictoriaMetrics port', parsePort, 8428)
    .option('--vmagent-port <port>', 'vmagent port (scrapes every component)', parsePort, 8429)
    .option('--admin-port <port>', 'in-cluster process /healthz and /metrics port', parsePort, 9464)
    .option('--collector-port <port>', 'OTLP/HTTP receiver (traces, logs, metrics) port', parsePort, 4318)
    .option('--ingester-port <port>', 'Prometheus remote-write receiver port', parsePort, 9091)
    .option('--watcher-port <port>', 'k8s-watcher sensor API port (plain-host mode)', parsePort, 9470)
    .option('--metrics-retention <period>', 'VictoriaMetrics retention (e.g. 15d, 12w, 1y)', '30d')
    .option(
      '--edge-url <url>',
      'connect to this (remote) edge instead of running one here: only the in-cluster side runs on this ' +
        'machine, its portal dials out with the install token',
    )
    .option(
      '--install-token <token>',
      'with --edge-url: the install token the UI showed for the cluster (kept in <data-dir>/portal/install-token, ' +
        'mode 0600, so later runs need only --edge-url); env UNDERSTORY_INSTALL_TOKEN keeps it out of `ps`',
    )
    .option('--install-token-file <file>', 'with --edge-url: a file holding the install token')
    .option(
      '--sensor',
      'run the eBPF sensor (the default when privileged); fail if it cannot run here (needs root, or ' +
        'CAP_BPF and CAP_PERFMON)',
    )
    .option('--no-sensor', 'do not run the sensor')
    .option(
      '--sensor-admin-port <port>',
      'sensor /healthz and /metrics port (vmalert and the alert receiver take admin port + 1 and + 2)',
      parsePort,
      9467,
    )
    .addOption(
      new Option('--sensor-pid <pid>', 'capture only this process and what it forks (repeatable)')
        .argParser((v: string, prev: number[]) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`not a pid: ${v}`);
          return [...prev, n];
        })
        .default([], "every process but up's own"),
    )
    .addHelpText(
      'after',
      '\nRun as root (or with CAP_BPF and CAP_PERFMON), `up` also runs the eBPF sensor: the HTTP, gRPC,\n' +
        "database and messaging calls of this machine's processes (up's own excluded) become RED metrics,\n" +
        'traces and service-map edges in the UI with no further step. --no-sensor leaves it out.\n' +
        '\nWithout --edge-url, `up` also runs the edge and bootstraps it: an account admin@understory.localhost\n' +
        '(password printed, kept in <data-dir>/edge/local-account.json), an organization "local" and a cluster\n' +
        '"local" whose portal connects at once. With --edge-url, this machine becomes a cluster of that edge:\n' +
        '  understory up --edge-url https://edge.example.com --install-token ust_cit_...\n',
    )
    .action(async (flags: UpFlags) => {
      process.exitCode = await up(flags);
    });
}

async function up(flags: UpFlags): Promise<number> {
  const dataDir = resolve(flags.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const lock = takeLock(join(dataDir, 'up.lock'));
  if (lock !== undefined) {
    process.stderr.write(`cannot start: another \`understory up\` (pid ${lock}) uses ${dataDir}\n`);
    return 1;
  }
  const tokenFile = portalTokenFile(flags, dataDir);
  if (typeof tokenFile !== 'string') {
    process.stderr.write(`cannot start: ${tokenFile.error}\n`);
    releaseLock(dataDir);
    return 1;
  }
  const sensor = sensorDecision(flags);
  if ('error' in sensor) {
    process.stderr.write(`cannot start: ${sensor.error}\n`);
    releaseLock(dataDir);
    return 1;
  }
  let account: LocalAccount | undefined;
  let sup: Supervisor | undefined;
  const { sensor: _sensorFlag, ...ports } = flags;
  const opts: UpOptions = {
    ...ports,
    dataDir,
    edgeInspectorPort: await freePort(),
    remoteEdgeUrl: flags.edgeUrl,
    installTokenFile: tokenFile,
    afterEdgeStart: async () => {
      account = await bootstrapLocalEdge({
        edgeUrl: `http://127.0.0.1:${flags.edgePort}`,
        accountFile: join(dataDir, 'edge', 'local-account.json'),
        tokenFile,
      });
    },
    ...(sensor.run
      ? {
          sensor: {
            adminPort: flags.sensorAdminPort,
            pids: flags.sensorPid,
            tls: sensor.tls,
            // Everything up runs, with what those processes started (wrangler's workerd, ...).
            excludePids: () =>
              processTree((sup?.processes() ?? []).filter((p) => p.spec.name !== 'sensor').map((p) => p.pid)),
          },
        }
      : {}),
  };
  const edgePorts = flags.edgeUrl ? [] : ([['edge', opts.edgePort]] as const);
  const listeners = [
    ...edgePorts,
    ['VictoriaMetrics', opts.vmPort],
    ['vmagent', opts.vmagentPort],
    ['in-cluster admin', opts.adminPort],
    // Not flags of their own: incloud/monitors/upPlan.ts puts them beside the admin port.
    ['vmalert (admin port + 1)', opts.adminPort + 1],
    ['alert receiver (admin port + 2)', opts.adminPort + 2],
    ['OTLP collector', opts.collectorPort],
    ['metrics-ingester', opts.ingesterPort],
    ['k8s-watcher', opts.watcherPort],
    ...(opts.sensor ? ([['sensor admin', opts.sensor.adminPort]] as const) : []),
  ] as const;
  const taken = new Map<number, string>();
  for (const [what, port] of listeners) {
    const other = taken.get(port);
    if (other) {
      process.stderr.write(
        `cannot start: port ${port} is given to both ${other} and ${what}; change one of them\n`,
      );
      releaseLock(dataDir);
      return 1;
    }
    taken.set(port, what);
  }
  for (const [what, port] of listeners) {
    if (!(await portIsFree(port))) {
      process.stderr.write(
        `cannot start: port ${port} (${what}) is in use; pick another with its --*-port flag\n`,
      );
      releaseLock(dataDir);
      return 1;
    }
  }

  const logDir = join(dataDir, 'logs');
  let sensorLine = sensor.status;
  sup = new Supervisor(logDir, (msg) => process.stderr.write(`up: ${msg}\n`));
  const supervisor = sup;
  const stopped = onShutdownSignal(
    async () => {
      process.stderr.write('up: stopping...\n');
      await supervisor.stopAll();
    },
    () => {
      supervisor.killAll();
      releaseLock(dataDir);
    },
  );

  try {
    for (const spec of upPlan(opts)) {
      process.stderr.write(`up: starting ${spec.name}...\n`);
      try {
        await sup.start(spec);
      } catch (err) {
        // Started by default (not --sensor), the sensor is optional: a kernel it cannot load on must
        // not take the rest of `up` down with it.
        if (spec.name !== 'sensor' || flags.sensor === true) throw err;
        await sup.drop('sensor');
        process.stderr.write(`up: ${(err as Error).message}\nup: continuing without the sensor\n`);
        sensorLine = `sensor: failed to start, see ${join(logDir, 'sensor.log')} (\`--sensor\` makes that fatal)`;
      }
    }
  } catch (err) {
    process.stderr.write(`up: ${(err as Error).message}\nup: stopping what was started\n`);
    await sup.stopAll();
    releaseLock(dataDir);
    return 1;
  }

  writeFileSync(join(dataDir, 'up.json'), JSON.stringify(sup.processes().map(stateOf), null, 2));
  process.stdout.write(`${table(sup.processes())}\n`);
  process.stdout.write(
    `\nOTLP/HTTP: http://127.0.0.1:${opts.collectorPort}/v1/{traces,logs,metrics}` +
      `\nremote write: http://127.0.0.1:${opts.ingesterPort}/api/v1/write` +
      `\nworkloads (k8s-watcher, plain host): http://127.0.0.1:${opts.watcherPort}/v1/workloads` +
      `\n${portalStatus(flags, opts, account)}` +
      `\n${sensorLine}` +
      `\nlogs: ${logDir}\nready: press Ctrl-C to stop\n`,
  );

  await stopped;
  releaseLock(dataDir);
  rmSync(join(dataDir, 'up.json'), { force: true });
  process.stderr.write('up: stopped\n');
  return 0;
}

/**
 * The install-token file the portal reads, written from --install-token / UNDERSTORY_INSTALL_TOKEN (mode 0600)
 * so the token never appears in a child's command line; or an error for flags that do not fit together.
 */
function portalTokenFile(flags: UpFlags, dataDir: string): string | { error: string } {
  const own = join(dataDir, 'portal', 'install-token');
  const token = flags.installToken ?? process.env.UNDERSTORY_INSTALL_TOKEN;
  if (!flags.edgeUrl) {
    if (flags.installToken || flags.installTokenFile)
      return {
        error: '--install-token and --install-token-file need --edge-url (without it `up` runs its own edge)',
      };
    return own;
  }
  if (!/^(https?|wss?):\/\//.test(flags.edgeUrl))
    return { error: `--edge-url ${flags.edgeUrl} is not an http(s) URL` };
  if (flags.installTokenFile) {
    if (!existsSync(flags.installTokenFile)) return { error: `${flags.installTokenFile} does not exist` };
    return resolve(flags.installTokenFile);
  }
  if (token) {
    mkdirSync(join(dataDir, 'portal'), { recursive: true });
    writeFileSync(own, `${token.trim()}\n`, { mode: 0o600 });
    chmodSync(own, 0o600);
    return own;
  }
  if (existsSync(own)) return own; // the token of an earlier run
  return {
    error:
      'with --edge-url give the install token (--install-token, --install-token-file or UNDERSTORY_INSTALL_TOKEN)',
  };
}

function portalStatus(flags: UpFlags, opts: UpOptions, account: LocalAccount | undefined): string {
  if (flags.edgeUrl) return `portal: connected to ${flags.edgeUrl} (the cluster of its install token)`;
  const ui = `http://127.0.0.1:${opts.edgePort}`;
  if (!account) return `UI: ${ui}`;
  return (
    `UI: ${ui}  sign in as ${account.email} / ${account.password}` +
    `\n  (kept in ${join(opts.dataDir, 'edge', 'local-account.json')}); organization "local", cluster "local"` +
    `\nportal: connected; Prometheus URL for Grafana (with an API token made in the UI): ` +
    `${ui}/api/orgs/${account.orgId}/clusters/${account.clusterId}/prometheus`
  );
}

/**
 * Whether `up` runs the sensor: by default when this process may load eBPF; `--sensor` insists (and fails
 * with the reason when it cannot), `--no-sensor` leaves it out. `status` is the line `up` prints.
 */
function sensorDecision(
  flags: UpFlags,
): { run: true; tls: boolean; status: string } | { run: false; status: string } | { error: string } {
  if (flags.sensor === false) return { run: false, status: 'sensor: off (--no-sensor)' };
  const p = sensorPrivilege();
  if (!p.ok) {
    if (flags.sensor === true)
      return { error: `the sensor cannot run: ${p.reason}; run \`sudo understory up\`, or pass --no-sensor` };
    return {
      run: false,
      status:
        `sensor: not started: ${p.reason}. \`sudo understory up\` adds it: the calls of this machine's ` +
        'services then show in the UI',
    };
  }
  const what =
    flags.sensorPid.length > 0
      ? `processes ${flags.sensorPid.join(', ')}`
      : "this machine's processes (up's own excluded)";
  return {
    run: true,
    tls: p.tls,
    status: `sensor: capturing ${what}${p.tls ? '' : ' without TLS plaintext (no CAP_SYS_ADMIN)'}; RED metrics, traces and logs go to the receivers above`,
  };
}

function stateOf(p: RunningProcess) {
  return { name: p.spec.name, pid: p.pid, url: p.spec.url, log: p.log };
}

function table(procs: RunningProcess[]): string {
  const rows = [
    ['component', 'pid', 'url', 'log'],
    ...procs.map((p) => [p.spec.name, String(p.pid), p.spec.url, p.log]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

/** Returns the pid holding the lock, or undefined when we took it. A stale lock (dead pid) is taken over. */
function takeLock(path: string): number | undefined {
  try {
    const fd = openSync(path, 'wx');
    writeFileSync(fd, String(process.pid));
    closeSync(fd);
    return undefined;
  } catch {
    const pid = Number(readFileSync(path, 'utf8'));
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return pid;
    writeFileSync(path, String(process.pid));
    return undefined;
  }
}

function releaseLock(dataDir: string): void {
  rmSync(join(dataDir, 'up.lock'), { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
