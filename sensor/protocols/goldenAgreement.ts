import type { ApiCall, ProtocolName } from './contract.ts';
import { qtypeName, rcodeName } from './dns/message.ts';

/**
 * Turns a tshark golden (../shared/testdata/goldens/<file>.json, field `golden`) and our replayed calls into
 * comparable keys, per protocol. A key holds what both sides must agree on: method, resource and status
 * (and the pairing, since a key is built from one request and its response). Comparison is by multiset.
 *
 * Conventions assumed for the part-B protocols (their parsers document the same):
 * - postgres: resource = query text, status = SQLSTATE ('00000' on success);
 * - mysql: resource = query text of COM_QUERY / COM_STMT_PREPARE, error flag set for ERR packets;
 * - redis: method = command name, error flag set for error replies;
 * - kafka: method = API name (Produce, Fetch, ...) or attribute `kafka.api_key`;
 * - mongodb: method = command name (find, isMaster, ...).
 */
export interface GoldenKeys {
  /** Keys tshark fully decoded: we must produce each of them. */
  expected: string[];
  /** How many golden entries tshark decoded only partly (not checked, reported). */
  incomplete: number;
}

/** Manifest folder -> our protocol names whose calls are compared. */
export const FOLDER_PROTOCOLS: Record<string, ProtocolName[]> = {
  http: ['http'],
  http2: ['http2', 'grpc'],
  grpc: ['grpc', 'http2'],
  dns: ['dns'],
  pgsql: ['postgres'],
  mysql: ['mysql'],
  redis: ['redis'],
  kafka: ['kafka'],
  mongo: ['mongodb'],
};

type Json = Record<string, unknown>;
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
/**
 * Query text as both sides can agree on it: tshark prints control characters as spaces, renders bytes that
 * are not ASCII its own way and cuts long values, so compare the ASCII text up to the first byte that is
 * not ASCII, at most 100 characters.
 */
const norm = (t: string): string =>
  t
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e][\s\S]*$/, '')
    .trim()
    .slice(0, 100);

const KAFKA_APIS = [
  'Produce',
  'Fetch',
  'ListOffsets',
  'Metadata',
  'LeaderAndIsr',
  'StopReplica',
  'UpdateMetadata',
  'ControlledShutdown',
  'OffsetCommit',
  'OffsetFetch',
  'FindCoordinator',
  'JoinGroup',
  'Heartbeat',
  'LeaveGroup',
  'SyncGroup',
  'DescribeGroups',
  'ListGroups',
  'SaslHandshake',
  'ApiVersions',
  'CreateTopics',
  'DeleteTopics',
  'DeleteRecords',
  'InitProducerId',
  'OffsetForLeaderEpoch',
  'AddPartitionsToTxn',
  'AddOffsetsToTxn',
  'EndTxn',
  'WriteTxnMarkers',
  'TxnOffsetCommit',
  'DescribeAcls',
  'CreateAcls',
  'DeleteAcls',
  'DescribeConfigs',
  'AlterConfigs',
];

export function goldenKeys(folder: string, golden: Json): GoldenKeys {
  const out: GoldenKeys = { expected: [], incomplete: 0 };
  const list = (k: string) => (Array.isArray(golden[k]) ? (golden[k] as Json[]) : []);
  switch (folder) {
    case 'http':
      for (const p of list('pairs')) {
        if (p.status === null || p.status === undefined) out.incomplete++;
        else out.expected.push(`${str(p.method)} ${str(p.uri)} ${str(p.status)}`);
      }
      break;
    case 'http2':
    case 'grpc':
      for (const e of list('exchanges')) {
        if (e.method === null || e.path === null || e.status === null) out.incomplete++;
        else
          out.expected.push(
            h2Key(str(e.method), str(e.path), str(e.status), e.is_grpc === true, str(e.grpc_status)),
          );
      }
      break;
    case 'dns':
      for (const p of list('pairs')) {
        if (p.qname === null) out.incomplete++;
        else out.expected.push(`${qtypeName(Number(p.qtype))} ${str(p.qname)} ${rcodeName(Number(p.rcode))}`);
      }
      break;
    case 'pgsql':
      for (const q of list('query_results')) {
        const queries = (q.queries as string[]) ?? [];
        const err = q.error as Json | null;
        if (err) out.expected.push(`${norm(queries[0] ?? '')} ${str(err.code)}`);
        else
          for (const query of queries.slice(0, ((q.tags as string[]) ?? []).length))
            out.expected.push(`${norm(query)} 00000`);
      }
      break;
    case 'mysql':
      for (const c of list('commands')) {
        if (c.query === null || c.resp_kind === null) out.incomplete++;
        else out.expected.push(`${norm(str(c.query))} ${c.resp_kind === 'ERR' ? 'error' : 'ok'}`);
      }
      break;
    case 'redis':
      for (const p of list('pairs_fifo'))
        out.expected.push(`${str(p.command).toUpperCase()} ${p.reply_type === 'error' ? 'error' : 'ok'}`);
      break;
    case 'kafka':
      for (const p of list('pairs'))
        out.expected.push(KAFKA_APIS[Number(p.api_key)] ?? `api_key=${str(p.api_key)}`);
      break;
    case 'mongo':
      for (const p of list('pairs')) out.expected.push(str(p.command).toLowerCase());
      break;
    default:
      throw new Error(`cannot compare goldens of folder ${folder}: no comparator`);
  }
  return out;
}

function h2Key(method: string, path: string, status: string, grpc: boolean, grpcStatus: string): string {
  return grpc ? `grpc ${method} ${path} ${status} ${grpcStatus}` : `${method} ${path} ${status}`;
}

/** The key of one of our calls, in the same shape as `goldenKeys` for that folder. */
export function callKey(folder: string, c: ApiCall): string {
  switch (folder) {
    case 'http':
      return `${c.method} ${c.resource} ${c.status}`;
    case 'http2':
    case 'grpc': {
      const httpStatus = str(c.attributes?.['http.status_code']);
      if (c.protocol === 'grpc')
        return h2Key(c.reqHeaders?.[':method'] ?? 'POST', c.resource, httpStatus, true, c.status);
      return h2Key(c.method, c.resource, c.status, false, '');
    }
    case 'dns':
      return `${c.method} ${c.resource} ${c.status}`;
    case 'pgsql':
      return `${norm(c.resource)} ${c.status}`;
    case 'mysql':
      return `${norm(c.resource)} ${c.error ? 'error' : 'ok'}`;
    case 'redis':
      return `${c.method.toUpperCase()} ${c.error ? 'error' : 'ok'}`;
    case 'kafka': {
      const key = c.attributes?.['kafka.api_key'];
      return key !== undefined ? (KAFKA_APIS[Number(key)] ?? `api_key=${str(key)}`) : c.method;
    }
    case 'mongo':
      return c.method.toLowerCase();
    default:
      throw new Error(`cannot compare calls of folder ${folder}: no comparator`);
  }
}

export interface Agreement {
  expected: number;
  matched: number;
  /** Golden keys we did not produce. */
  missing: string[];
  /** Our keys tshark did not have. */
  extra: string[];
}

/** Multiset comparison of golden keys with ours. */
export function agree(expected: readonly string[], ours: readonly string[]): Agreement {
  const pool = new Map<string, number>();
  for (const k of ours) pool.set(k, (pool.get(k) ?? 0) + 1);
  const missing: string[] = [];
  let matched = 0;
  for (const k of expected) {
    const n = pool.get(k) ?? 0;
    if (n > 0) {
      pool.set(k, n - 1);
      matched++;
    } else missing.push(k);
  }
  const extra: string[] = [];
  for (const [k, n] of pool) for (let i = 0; i < n; i++) extra.push(k);
  return { expected: expected.length, matched, missing, extra };
}
