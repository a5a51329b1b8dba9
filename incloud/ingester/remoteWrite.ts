import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { compress, uncompress } from 'snappyjs';

/** One series as carried by Prometheus remote write 1.0: labels (with `__name__`) and samples. */
export interface RemoteSeries {
  labels: Record<string, string>;
  samples: { value: number; timestampMs: number }[];
}

const root = protobuf.loadSync(fileURLToPath(new URL('./remoteWrite.proto', import.meta.url)));
const WriteRequest = root.lookupType('prometheus.WriteRequest');

interface WireSeries {
  labels?: { name?: string; value?: string }[];
  samples?: { value?: number; timestamp?: string | number }[];
}

export class RemoteWriteInputError extends Error {}

/**
 * Decodes a snappy-compressed remote-write body. Throws `RemoteWriteInputError` (a 400 for the sender) on a bad
 * snappy stream, a decompressed size over `maxBytes`, bad protobuf, or a series without `__name__`.
 * Does not keep `body` after returning.
 */
export function decodeRemoteWrite(body: Uint8Array, maxBytes: number): RemoteSeries[] {
  let raw: Uint8Array;
  try {
    raw = uncompress(body, maxBytes);
  } catch (err) {
    throw new RemoteWriteInputError(`cannot decompress remote write body: ${(err as Error).message}`);
  }
  let msg: { timeseries?: WireSeries[] };
  try {
    msg = WriteRequest.toObject(WriteRequest.decode(raw), { longs: String }) as typeof msg;
  } catch (err) {
    throw new RemoteWriteInputError(`cannot decode remote write protobuf: ${(err as Error).message}`);
  }
  const out: RemoteSeries[] = [];
  for (const ts of msg.timeseries ?? []) {
    const labels: Record<string, string> = {};
    for (const l of ts.labels ?? []) {
      if (!l.name) throw new RemoteWriteInputError('cannot decode remote write series: empty label name');
      labels[l.name] = l.value ?? '';
    }
    if (!labels.__name__)
      throw new RemoteWriteInputError('cannot decode remote write series: no __name__ label');
    out.push({
      labels,
      samples: (ts.samples ?? []).map((s) => ({
        value: s.value ?? 0,
        timestampMs: Number(s.timestamp ?? 0),
      })),
    });
  }
  return out;
}

/** Encodes series as a snappy-compressed remote-write body (labels sorted by name, as the spec requires). */
export function encodeRemoteWrite(series: readonly RemoteSeries[]): Buffer {
  const timeseries = series.map((s) => ({
    labels: Object.keys(s.labels)
      .sort()
      .map((name) => ({ name, value: s.labels[name] })),
    samples: s.samples.map((x) => ({ value: x.value, timestamp: x.timestampMs })),
  }));
  const bytes = WriteRequest.encode(WriteRequest.fromObject({ timeseries })).finish();
  return compress(bytes);
}

export const REMOTE_WRITE_HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
} as const;

/**
 * POSTs one encoded body (with `Authorization: Bearer <token>` when a token is given); throws with the status
 * and the start of the answer on anything but 2xx.
 */
export async function postRemoteWrite(
  url: string,
  body: Buffer,
  timeoutMs = 10_000,
  token?: string,
): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: token ? { ...REMOTE_WRITE_HEADERS, authorization: `Bearer ${token}` } : REMOTE_WRITE_HEADERS,
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) {
    const text = (await res.text()).slice(0, 300);
    throw new RemoteWriteHttpError(res.status, `cannot remote write to ${url}: HTTP ${res.status} ${text}`);
  }
  await res.arrayBuffer().catch(() => undefined);
}

export class RemoteWriteHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
