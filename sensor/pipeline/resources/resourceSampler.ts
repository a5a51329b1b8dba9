import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parseCgroup as parseContainerCgroup } from '../../capture/processInfo.ts';
import type { MetadataLookup } from '../identityResolver.ts';
import type { FlatSeries } from '../redAggregator.ts';
import {
  type CgroupPaths,
  containerCgroup,
  containerSamples,
  isUnifiedRoot,
  netDevSamples,
  parseCgroupPaths,
} from './containerMetrics.ts';
import { nodeSamples, type Sample, toFlatSeries } from './procMetrics.ts';

/**
 * The node's and its containers' resource use, sampled when asked (the remote-write exporter asks every
 * interval): node_exporter-named node series plus cAdvisor-named container series labelled with the
 * workload the k8s-watcher names (`namespace`, `pod`, `workload`, `container`), or the container's short
 * id on a plain host. Every series carries `host` (the node name): the ingester removes `sensor`, `node`
 * and `instance` and sums over senders, so a per-node breakdown needs a label of its own.
 *
 * Containers are found by walking /proc: each process's cgroup file gives its container id (docker,
 * containerd, CRI-O, podman, kubepods; v1 or v2) and cgroup paths; the first process seen stands for its
 * container. Network is per network namespace (a pod's containers share one), so it carries the pod's
 * labels without `container`; host-network processes (the node's namespace) are skipped, the node series
 * cover them. Bounds: `maxContainers` containers and `maxPids` processes per sample.
 *
 * Synchronous procfs/cgroupfs reads on the event loop: a few small files per container, and the cgroup
 * file of each process only when it is new. A process's cgroup is read when it first shows up and once
 * more at the next sample (a runtime may move it into its container's cgroup just after it started), then
 * remembered while the pid stays in /proc; every `FULL_REREAD_SAMPLES` samples everything is read again
 * (a pid reused between two samples). Reading every process's cgroup every 15 s was most of the sensor's
 * own work on an idle node.
 */
export interface ResourceSamplerOptions {
  procRoot: string;
  cgroupRoot: string;
  /** Node name for the `host` label. */
  host: string;
  metadata?: MetadataLookup;
  maxContainers: number;
  maxPids: number;
}

/** Every this many samples each process's cgroup is read again, known or not. */
const FULL_REREAD_SAMPLES = 20;

/** What one process's cgroup file said: its container (undefined: none) and that container's paths. */
interface ProcessCgroup {
  containerId: string | undefined;
  paths: CgroupPaths | undefined;
  /** Read at two samples in a row: no longer re-read while the pid lives. */
  settled: boolean;
}

interface Found {
  id: string;
  pid: number;
  paths: CgroupPaths;
  netns: string | undefined;
}

export class ResourceSampler {
  private readonly o: ResourceSamplerOptions;
  readonly counts = { samples: 0, containers: 0, containersSkipped: 0, cgroupReads: 0 };
  private known = new Map<number, ProcessCgroup>();
  private sampleNo = 0;

  constructor(options: Partial<ResourceSamplerOptions> & Pick<ResourceSamplerOptions, 'host'>) {
    this.o = {
      procRoot: '/proc',
      cgroupRoot: '/sys/fs/cgroup',
      maxContainers: 1000,
      maxPids: 65_536,
      ...options,
    };
    if (!Number.isInteger(this.o.maxContainers) || this.o.maxContainers < 1)
      throw new Error('cannot configure resource metrics: maxContainers must be a positive integer');
  }

  /** Remote-write source: the samples with the sender labels added. */
  series(senderLabels: Record<string, string> = {}): FlatSeries[] {
    return toFlatSeries(this.samples(), senderLabels);
  }

  samples(): Sample[] {
    const host = this.o.host;
    const out: Sample[] = nodeSamples(this.o.procRoot).map((s) => ({ ...s, labels: { ...s.labels, host } }));
    const unified = isUnifiedRoot(this.o.cgroupRoot);
    const hostNetns = netnsOf(this.o.procRoot, 1);
    const netnsDone = new Set<string>();
    const found = this.findContainers(unified);
    this.counts.containers = found.length;
    for (const c of found) {
      const labels = this.labelsOf(c.id);
      out.push(...containerSamples(this.o.cgroupRoot, c.paths, { ...labels, host }, unified));
      if (c.netns === undefined || c.netns === hostNetns || netnsDone.has(c.netns)) continue;
      netnsDone.add(c.netns);
      const { container: _, ...podLabels } = labels;
      out.push(...netDevSamples(this.o.procRoot, c.pid, { ...podLabels, host }));
    }
    this.counts.samples = out.length;
    return out;
  }

  private findContainers(unified: boolean): Found[] {
    let names: string[];
    try {
      names = readdirSync(this.o.procRoot);
    } catch {
      return [];
    }
    const byId = new Map<string, Found>();
    const reread = this.sampleNo++ % FULL_REREAD_SAMPLES === 0;
    const before = this.known;
    // Only the pids listed now are kept: an exited process's entry goes with it.
    const known = new Map<number, ProcessCgroup>();
    this.known = known;
    let pids = 0;
    let skipped = 0;
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      if (++pids > this.o.maxPids) break;
      const pid = Number(name);
      let cg = reread ? undefined : before.get(pid);
      if (cg === undefined || !cg.settled) {
        const read = this.readCgroup(name, cg !== undefined);
        if (read === undefined) continue; // exited meanwhile
        cg = read;
      }
      known.set(pid, cg);
      const { containerId, paths } = cg;
      if (containerId === undefined || paths === undefined || byId.has(containerId)) continue;
      if (containerCgroup(paths, unified) === undefined) continue;
      if (byId.size >= this.o.maxContainers) {
        skipped++;
        continue;
      }
      byId.set(containerId, { id: containerId, pid, paths, netns: netnsOf(this.o.procRoot, pid) });
    }
    this.counts.containersSkipped = skipped;
    return [...byId.values()];
  }

  /** One process's cgroup file; `settled` when this is its second read. Undefined when it is gone. */
  private readCgroup(pid: string, settled: boolean): ProcessCgroup | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.o.procRoot, pid, 'cgroup'), 'utf8');
    } catch {
      return undefined;
    }
    this.counts.cgroupReads++;
    const { containerId } = parseContainerCgroup(text);
    return { containerId, paths: containerId ? parseCgroupPaths(text) : undefined, settled };
  }

  private labelsOf(id: string): Record<string, string> {
    const short = id.slice(0, 12);
    const e = this.o.metadata?.lookupContainer(id);
    if (e?.type === 'pod')
      return {
        namespace: e.namespace,
        pod: e.name,
        workload: e.workload.name,
        container: e.containers.find((c) => c.id === id)?.name ?? short,
      };
    if (e?.type === 'container') return { namespace: '', workload: e.workload.name, container: short };
    return { namespace: '', workload: short, container: short };
  }
}

/** The network namespace a process is in (`net:[4026531840]`), or undefined when unreadable. */
function netnsOf(procRoot: string, pid: number): string | undefined {
  try {
    return readlinkSync(join(procRoot, String(pid), 'ns', 'net'));
  } catch {
    return undefined;
  }
}
