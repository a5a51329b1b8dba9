import { InvalidArgumentError } from 'commander';

/** Where `understory` keeps data, logs and state unless told otherwise. */
export function defaultDataDir(): string {
  return process.env.UNDERSTORY_DATA_DIR ?? '.understory';
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError(`not a TCP port: ${value}`);
  }
  return n;
}
