import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  CaptureError,
  effectiveCapabilities,
  MissingPrivilegesError,
  missingCapabilities,
} from './errors.ts';

/** Where libbpf looks for tracepoint ids, in its order of preference. */
const TRACEFS_DIRS = ['/sys/kernel/debug/tracing', '/sys/kernel/tracing'];

/**
 * Syscall tracepoints are attached through their tracefs ids, so tracefs must be mounted. Many hosts and
 * containers do not mount it; with CAP_SYS_ADMIN the sensor mounts it itself (what node agents commonly
 * do), otherwise it says exactly what is missing.
 */
export function ensureTracefs(mount = true): string {
  for (const dir of TRACEFS_DIRS) {
    if (existsSync(`${dir}/events/syscalls`)) return dir;
  }
  const target = '/sys/kernel/tracing';
  const have = effectiveCapabilities();
  if (mount && have.has('CAP_SYS_ADMIN') && existsSync(target)) {
    try {
      execFileSync('mount', ['-t', 'tracefs', 'tracefs', target], { stdio: 'pipe', timeout: 10_000 });
      if (existsSync(`${target}/events/syscalls`)) return target;
    } catch (err) {
      throw new CaptureError(
        'tracefs-unavailable',
        `cannot mount tracefs at ${target}: ${(err as Error).message.trim()}`,
        undefined,
        { cause: err },
      );
    }
  }
  const missing = missingCapabilities(have);
  if (missing.length > 0) throw new MissingPrivilegesError(missing);
  throw new CaptureError(
    'tracefs-unavailable',
    'cannot find tracefs (no /sys/kernel/tracing/events/syscalls): mount it with ' +
      '`mount -t tracefs tracefs /sys/kernel/tracing`, or mount the host /sys/kernel/tracing into the container',
  );
}
