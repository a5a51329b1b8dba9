import { readFileSync } from 'node:fs';

/**
 * Typed errors of the capture layer. libbpf's own text ("failed to load program: -1", "Permission
 * denied" from the verifier) rarely tells an operator what to fix, so the native error is classified
 * here: missing capabilities, no tracefs, no BTF, or a genuine load/attach failure with libbpf's log.
 */
export type CaptureErrorCode =
  | 'missing-privileges'
  | 'tracefs-unavailable'
  | 'btf-missing'
  | 'addon-missing'
  | 'layout-mismatch'
  | 'invalid-config'
  | 'load-failed'
  | 'attach-failed';

export class CaptureError extends Error {
  override readonly name: string = 'CaptureError';
  constructor(
    readonly code: CaptureErrorCode,
    message: string,
    /** libbpf's log (the verifier's output for a rejected program), when there is one. */
    readonly detail?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class MissingPrivilegesError extends CaptureError {
  override readonly name = 'MissingPrivilegesError';
  constructor(
    /** Capabilities this process lacks, e.g. ['CAP_BPF', 'CAP_PERFMON']. */
    readonly missing: string[],
    detail?: string,
    options?: ErrorOptions,
  ) {
    super(
      'missing-privileges',
      `cannot load the eBPF sensor: missing privileges (${missing.join(', ')}): it needs CAP_BPF and ` +
        'CAP_PERFMON to load and attach, CAP_DAC_READ_SEARCH (or root) to read tracefs, and CAP_SYS_ADMIN ' +
        'for TLS uprobes; run it as root or grant these capabilities (Kubernetes: securityContext.capabilities.add)',
      detail,
      options,
    );
  }
}

/** Capability numbers from linux/capability.h. */
const CAPS: Record<string, number> = {
  CAP_DAC_READ_SEARCH: 2,
  CAP_SYS_ADMIN: 21,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
};

/** Effective capabilities of this process, from /proc/self/status (`CapEff`). */
export function effectiveCapabilities(status = readFileSync('/proc/self/status', 'utf8')): Set<string> {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  const bits = m ? BigInt(`0x${m[1]}`) : 0n;
  return new Set(Object.keys(CAPS).filter((name) => (bits >> BigInt(CAPS[name]!)) & 1n));
}

/** The capabilities the sensor needs that `have` lacks (CAP_SYS_ADMIN alone also covers BPF + PERFMON). */
export function missingCapabilities(have: Set<string>, wantUprobes = true): string[] {
  const missing: string[] = [];
  const admin = have.has('CAP_SYS_ADMIN');
  if (!have.has('CAP_BPF') && !admin) missing.push('CAP_BPF');
  if (!have.has('CAP_PERFMON') && !admin) missing.push('CAP_PERFMON');
  if (!have.has('CAP_DAC_READ_SEARCH') && process.getuid?.() !== 0) missing.push('CAP_DAC_READ_SEARCH');
  if (wantUprobes && !admin) missing.push('CAP_SYS_ADMIN');
  return missing;
}

interface NativeError {
  message: string;
  step?: string;
  errno?: number;
  libbpfLog?: string;
}

const EPERM = 1;
const ENOENT = 2;
const EACCES = 13;

/** Turns an error thrown by the native addon into a typed CaptureError. */
export function classifyNativeError(err: unknown, have = effectiveCapabilities()): CaptureError {
  const e = (err ?? {}) as NativeError;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const log = e.libbpfLog || undefined;
  const missing = missingCapabilities(have, false);
  if ((e.errno === EPERM || e.errno === EACCES) && missing.length > 0) {
    return new MissingPrivilegesError(missingCapabilities(have), log, { cause: err });
  }
  if (e.step === 'attach' && e.errno === ENOENT && /tracepoint/.test(message)) {
    return new CaptureError(
      'tracefs-unavailable',
      `${message}: tracefs is not mounted (mount -t tracefs tracefs /sys/kernel/tracing)`,
      log,
      { cause: err },
    );
  }
  const code = e.step === 'attach' ? 'attach-failed' : 'load-failed';
  return new CaptureError(code, message, log, { cause: err });
}
