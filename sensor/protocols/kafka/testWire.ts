/**
 * Kafka wire bytes by hand for tests: message format v2 (KIP-98; zigzag varints inside records, big-endian
 * batch header) and a Produce v3 request around a batch.
 */
export const zz = (n: number): number[] => uv(n >= 0 ? n * 2 : -n * 2 - 1);
export const uv = (n: number): number[] => {
  let v = n;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
};
const text = (s: string) => [...zz(Buffer.byteLength(s)), ...Buffer.from(s)];
export const be = (n: number, bytes: number) => {
  const b = Buffer.alloc(bytes);
  if (bytes === 8) b.writeBigInt64BE(BigInt(n));
  else b.writeIntBE(n, 0, bytes);
  return [...b];
};

export function record(key: string | null, value: string, headers: [string, string][]): number[] {
  const body = [
    0, // attributes
    ...zz(0), // timestamp delta
    ...zz(0), // offset delta
    ...(key === null ? zz(-1) : text(key)),
    ...text(value),
    ...zz(headers.length),
    ...headers.flatMap(([k, v]) => [...text(k), ...text(v)]),
  ];
  return [...zz(body.length), ...body];
}

export function batch(
  records: number[][],
  { count = records.length, attributes = 0, magic = 2 } = {},
): Buffer {
  const rest = [
    ...be(0, 4), // partition leader epoch
    magic,
    ...be(0, 4), // crc (not checked)
    ...be(attributes, 2),
    ...be(count - 1, 4),
    ...be(0, 8),
    ...be(0, 8),
    ...be(-1, 8),
    ...be(-1, 2),
    ...be(-1, 4),
    ...be(count, 4),
    ...records.flat(),
  ];
  return Buffer.from([...be(0, 8), ...be(rest.length, 4), ...rest]);
}

/** A whole message: its 32-bit size, then the body. */
export const frame = (body: number[]) => Buffer.from([...be(body.length, 4), ...body]);

/** A Produce v3 request writing `records` (a batch) to topic `orders`. */
export function produceV3(
  records: Buffer,
  {
    correlationId = 1,
    acks = 1,
    partition = 0,
  }: { correlationId?: number; acks?: number; partition?: number } = {},
): Buffer {
  return frame([
    ...be(0, 2), // api key Produce
    ...be(3, 2), // version 3
    ...be(correlationId, 4),
    ...be(-1, 2), // client id: null
    ...be(-1, 2), // transactional id: null
    ...be(acks, 2), // acks = 0: no response, a call of its own
    ...be(1000, 4),
    ...be(1, 4), // one topic
    ...be(6, 2),
    ...Buffer.from('orders'),
    ...be(1, 4), // one partition
    ...be(partition, 4),
    ...be(records.length, 4),
    ...records,
  ]);
}

/** The Produce v3 response: topic `orders`, one partition, error code `error`. */
export function produceResponseV3(correlationId: number, partition = 0, error = 0): Buffer {
  return frame([
    ...be(correlationId, 4),
    ...be(1, 4), // one topic
    ...be(6, 2),
    ...Buffer.from('orders'),
    ...be(1, 4), // one partition
    ...be(partition, 4),
    ...be(error, 2),
    ...be(0, 8), // base offset
    ...be(-1, 8), // log append time
    ...be(0, 4), // throttle time
  ]);
}
