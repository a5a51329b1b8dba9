import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from '../../lib/log.ts';
import type { NativeSession } from './native.ts';

/** OpenSSL's libssl (libssl.so.3, libssl.so.1.1, ...); not NSS or GnuTLS, whose APIs differ. */
const LIBSSL = /\/libssl\.so(\.[0-9.]+)?$/;
/** Node.js binaries export their built-in OpenSSL's SSL_read/SSL_write. */
const NODE_EXE = /^(node|nodejs)[0-9]*$/;

/**
 * Attaches the OpenSSL uprobes to every libssl and Node binary that running processes use. A uprobe is
 * per file, not per process, so each binary (by device and inode) is attached once and then covers all
 * processes that map it now or later. New processes are looked at on exec (after a short delay, so the
 * dynamic loader has mapped their libraries) and all processes every `rescanMs`.
 * Runs on the JavaScript thread; attaching reads the binary's symbol table (milliseconds).
 */
export class TlsAttacher {
  /** dev:inode -> path and how many probes attached (0 = tried and failed). */
  readonly binaries = new Map<string, { path: string; probes: number; error?: string }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private rescan: NodeJS.Timeout | undefined;

  constructor(
    private readonly session: NativeSession,
    private readonly log: Logger,
    private readonly extraBinaries: readonly string[] = [],
    private readonly rescanMs = 30_000,
  ) {}

  start(): void {
    for (const path of [process.execPath, ...systemLibssl(), ...this.extraBinaries]) this.attach(path);
    this.scanAll();
    if (this.rescanMs > 0) {
      this.rescan = setInterval(() => this.scanAll(), this.rescanMs);
      this.rescan.unref();
    }
  }

  stop(): void {
    if (this.rescan) clearInterval(this.rescan);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** A process exec'd: look at it once its libraries are mapped, and again a little later (dlopen). */
  onExec(pid: number): void {
    for (const delay of [50, 1000]) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.scanPid(pid);
      }, delay);
      t.unref();
      this.timers.add(t);
    }
  }

  scanAll(): void {
    for (const name of readdirSync('/proc')) {
      if (/^[0-9]+$/.test(name)) this.scanPid(Number(name));
    }
  }

  scanPid(pid: number): void {
    let maps: string;
    try {
      maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    } catch {
      return; // exited, or a kernel thread
    }
    const seen = new Set<string>();
    for (const line of maps.split('\n')) {
      const path = line.slice(line.indexOf('/'));
      if (!line.includes('/') || seen.has(path)) continue;
      seen.add(path);
      // Paths in maps are in the process's mount namespace: reach them through its root.
      if (LIBSSL.test(path) || (NODE_EXE.test(basename(path)) && line.includes(' r-xp '))) {
        this.attach(`/proc/${pid}/root${path}`, path);
      }
    }
  }

  private attach(path: string, shown = path): void {
    let key: string;
    try {
      const st = statSync(path);
      key = `${st.dev}:${st.ino}`;
    } catch {
      return;
    }
    if (this.binaries.has(key)) return;
    try {
      const probes = this.session.attachUprobes(path);
      this.binaries.set(key, { path: shown, probes });
      this.log.info({ binary: shown, probes }, 'attached TLS uprobes');
    } catch (err) {
      const error = (err as Error).message;
      this.binaries.set(key, { path: shown, probes: 0, error });
      this.log.debug({ binary: shown, err: error }, 'cannot attach TLS uprobes');
    }
  }
}

const LIB_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/lib64',
  '/lib',
];

/**
 * The host's own libssl files, attached up front: a short-lived client (curl) may finish its TLS
 * exchange before an exec-triggered scan could see it. A uprobe on the file covers every later mapping.
 */
export function systemLibssl(dirs = LIB_DIRS): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) if (LIBSSL.test(`/${n}`)) out.push(`${dir}/${n}`);
  }
  return out;
}
