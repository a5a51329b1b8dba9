import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * vmagent (Debian `victoria-metrics` package) scrapes every Understory component's prom-client `/metrics`
 * and remote-writes to VictoriaMetrics. `understory up` starts it with `vmagentArgs()`.
 */
export interface ScrapeTarget {
  /** Becomes the `job` label, e.g. `incloud`, `sensor`, `edge`. */
  job: string;
  /** Full URL of the metrics endpoint, e.g. http://127.0.0.1:9464/metrics. */
  url: string;
}

export interface VmagentOptions {
  targets: ScrapeTarget[];
  /** Where vmagent writes, e.g. http://127.0.0.1:8428/api/v1/write (VictoriaMetrics). */
  remoteWriteUrl: string;
  /** vmagent's own directory: the generated scrape config and its on-disk buffer go here. */
  dataDir: string;
  scrapeIntervalSeconds?: number;
  /** vmagent's own HTTP listener (its /metrics and /-/reload). */
  listenAddr?: string;
  /** Bound of vmagent's on-disk buffer while VictoriaMetrics is down. */
  maxDiskUsageBytes?: number;
}

export interface VmagentCommand {
  command: 'vmagent';
  args: string[];
  /** The generated scrape config (already written). */
  configFile: string;
}

/** The scrape configuration as an object; written as JSON, which every YAML parser reads. */
export function scrapeConfig(targets: readonly ScrapeTarget[], intervalSeconds: number): object {
  const jobs = new Map<string, { scheme: string; path: string; hosts: string[] }[]>();
  for (const t of targets) {
    let u: URL;
    try {
      u = new URL(t.url);
    } catch {
      throw new Error(`cannot scrape ${JSON.stringify(t.url)}: not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new Error(`cannot scrape ${t.url}: not http(s)`);
    if (!/^[a-zA-Z_][a-zA-Z0-9_-]*$/.test(t.job))
      throw new Error(`cannot use job name ${JSON.stringify(t.job)}`);
    const groups = jobs.get(t.job) ?? [];
    const scheme = u.protocol.slice(0, -1);
    const group = groups.find((g) => g.scheme === scheme && g.path === u.pathname);
    if (group) group.hosts.push(u.host);
    else groups.push({ scheme, path: u.pathname, hosts: [u.host] });
    jobs.set(t.job, groups);
  }
  const scrape_configs = [...jobs].flatMap(([job, groups]) =>
    groups.map((g, i) => ({
      job_name: groups.length > 1 ? `${job}-${i}` : job,
      scheme: g.scheme,
      metrics_path: g.path,
      static_configs: [{ targets: g.hosts, labels: { job } }],
    })),
  );
  return { global: { scrape_interval: `${intervalSeconds}s` }, scrape_configs };
}

/** Writes the scrape config under `dataDir` and returns the command line that runs vmagent with it. */
export function vmagentArgs(opts: VmagentOptions): VmagentCommand {
  const dir = opts.dataDir;
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'scrape.yml');
  writeFileSync(
    configFile,
    `${JSON.stringify(scrapeConfig(opts.targets, opts.scrapeIntervalSeconds ?? 15), null, 2)}\n`,
  );
  return {
    command: 'vmagent',
    configFile,
    args: [
      `-promscrape.config=${configFile}`,
      `-remoteWrite.url=${opts.remoteWriteUrl}`,
      `-remoteWrite.tmpDataPath=${join(dir, 'buffer')}`,
      `-remoteWrite.maxDiskUsagePerURL=${opts.maxDiskUsageBytes ?? 512 << 20}`,
      `-httpListenAddr=${opts.listenAddr ?? '127.0.0.1:8429'}`,
      '-loggerLevel=WARN',
    ],
  };
}
