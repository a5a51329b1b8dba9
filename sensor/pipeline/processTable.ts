import { readFileSync } from 'node:fs';
import { parseCgroup as parseRuntimeCgroup } from '../../incloud/k8s-watcher/plainHost.ts';
import { parseCgroup as parseContainerCgroup } from '../capture/processInfo.ts';

/**
 * pid -> what the process runs in, read from /proc/<pid>/{comm,cgroup}: the container id and pod UID
 * (kubepods paths, v1 and v2; on hybrid hosts the v1 hierarchies carry them), else a systemd unit, else
 * only the command name. These are the keys the k8s-watcher's maps are looked up with, and the plain-host
 * names when there is no watcher.
 *
 * Bounded: `maxPids` entries, the oldest read goes first. An entry is re-read after `refreshMs` because a
 * pid can be reused by another process (exec/exit events can also `forget` a pid at once). A process that
 * is gone when first asked about is remembered as `comm: 'unknown'` for the same period, so a burst of
 * calls of a short-lived process does not read /proc once per call.
 *
 * Synchronous reads on the event loop: two small procfs files per new pid, nothing per known pid.
 */
export interface ProcessFacts {
  comm: string;
  containerId?: string;
  podUid?: string;
  /** systemd unit without `.service`. */
  unit?: string;
}

export interface ProcessTableOptions {
  procRoot: string;
  maxPids: number;
  refreshMs: number;
}

interface Cached {
  facts: ProcessFacts;
  readAtMs: number;
}

export class ProcessTable {
  private readonly byPid = new Map<number, Cached>();
  private readonly o: ProcessTableOptions;
  reads = 0;

  constructor(
    options: Partial<ProcessTableOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.o = { procRoot: '/proc', maxPids: 16_384, refreshMs: 30_000, ...options };
    if (!Number.isInteger(this.o.maxPids) || this.o.maxPids < 1)
      throw new Error('cannot configure the process table: maxPids must be a positive integer');
  }

  get size(): number {
    return this.byPid.size;
  }

  get(pid: number): ProcessFacts {
    const t = this.now();
    const hit = this.byPid.get(pid);
    if (hit && t - hit.readAtMs < this.o.refreshMs) return hit.facts;
    const facts = this.read(pid);
    this.byPid.delete(pid);
    if (this.byPid.size >= this.o.maxPids) {
      const oldest = this.byPid.keys().next().value;
      if (oldest !== undefined) this.byPid.delete(oldest);
    }
    this.byPid.set(pid, { facts, readAtMs: t });
    return facts;
  }

  /** The process exited or exec'd: its next call reads /proc again. */
  forget(pid: number): void {
    this.byPid.delete(pid);
  }

  private read(pid: number): ProcessFacts {
    this.reads++;
    const dir = `${this.o.procRoot}/${pid}`;
    let comm: string;
    try {
      comm = readFileSync(`${dir}/comm`, 'utf8').trim() || `pid-${pid}`;
    } catch {
      return { comm: 'unknown' }; // exited before we looked: nothing left to name it by
    }
    let cgroup = '';
    try {
      cgroup = readFileSync(`${dir}/cgroup`, 'utf8');
    } catch {
      // exited between the two reads, or hidden: the name alone will do
    }
    const facts: ProcessFacts = { comm, ...parseContainerCgroup(cgroup) };
    if (!facts.containerId) {
      const runtime = parseRuntimeCgroup(cgroup);
      if (runtime.containerId) facts.containerId = runtime.containerId;
      else if (runtime.unit) facts.unit = runtime.unit;
    }
    return facts;
  }
}
