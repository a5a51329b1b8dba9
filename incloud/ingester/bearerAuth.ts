import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * The cluster's ingest token: one shared bearer token that sensors (and the collector, forwarding OTLP
 * metrics) send to the metrics-ingester and the collector (`Authorization: Bearer <token>`). In a cluster the
 * Helm chart generates it into a Secret; on one machine the receivers listen on loopback and need none.
 */
export const INGEST_TOKEN_ENV = 'UNDERSTORY_INGEST_TOKEN';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** The token from `file` (trimmed), else from the environment; undefined when neither is set. */
export function readIngestToken(file: string | undefined, env = process.env): string | undefined {
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new Error(`cannot read ingest token file ${file}: ${(err as Error).message}`);
    }
    if (text === '') throw new Error(`cannot use ingest token file ${file}: it is empty`);
    return text;
  }
  return env[INGEST_TOKEN_ENV] || undefined;
}

/**
 * Checks `Authorization` headers against the token. Only SHA-256 digests are kept and compared (with
 * `timingSafeEqual`), so the comparison takes the same time whatever the token's length or content.
 * Without a token every request passes, which is allowed on loopback addresses only (`forListener`).
 */
export class BearerCheck {
  private readonly digest: Buffer | undefined;

  constructor(token: string | undefined) {
    this.digest = token ? sha256(token) : undefined;
  }

  /** Fails fast (at start) when a receiver would listen beyond loopback without a token. */
  static forListener(what: string, host: string, token: string | undefined): BearerCheck {
    if (!token && !LOOPBACK.has(host)) {
      throw new Error(
        `cannot serve ${what} on ${host} without an ingest token: give --token-file or ${INGEST_TOKEN_ENV} ` +
          '(only loopback addresses may go without one)',
      );
    }
    return new BearerCheck(token);
  }

  get enabled(): boolean {
    return this.digest !== undefined;
  }

  allows(authorization: string | undefined): boolean {
    if (!this.digest) return true;
    if (!authorization || !/^bearer /i.test(authorization)) return false;
    return timingSafeEqual(sha256(authorization.slice(7).trim()), this.digest);
  }
}

/** The 401 answer's text: says what is wrong without saying anything about the token. */
export const UNAUTHORIZED =
  'cannot authorize request: missing or wrong bearer token (send Authorization: Bearer <the cluster ingest token>)';

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
