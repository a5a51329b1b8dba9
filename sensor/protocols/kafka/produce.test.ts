import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { drive } from '../testkit-b/streamDriver.ts';
import { spec } from './index.ts';
import { countRecords } from './records.ts';
import { batch, record } from './testWire.ts';

const TP = (i: number) => `00-${String(i).padStart(32, 'a')}-${String(i).padStart(16, 'b')}-01`;
const require = createRequire(import.meta.url);

/** A whole Produce request as kafkajs (a real client's encoder) sends it. */
async function kafkajsProduce(
  version: 3 | 7,
  topicData: { topic: string; partitions: { partition: number; messages: object[] }[] }[],
): Promise<Buffer> {
  const produce = require(`kafkajs/src/protocol/requests/produce/v${version}/request.js`) as (
    o: object,
  ) => object;
  const request = require('kafkajs/src/protocol/request.js') as (o: object) => Promise<{ buffer: Buffer }>;
  const encoded = await request({
    correlationId: 7,
    clientId: 'shop',
    request: produce({ acks: 0, timeout: 1000, topicData }),
  });
  return encoded.buffer;
}

const messages = (n: number, from: number) =>
  Array.from({ length: n }, (_, i) => ({
    key: `k-${from + i}`,
    value: JSON.stringify({ n: from + i }),
    headers: { traceparent: TP(from + i) },
  }));

/** Orders to two partitions (3 and 2 messages), payments to one (1 message): 6 in all. */
const topicData = [
  {
    topic: 'orders',
    partitions: [
      { partition: 0, messages: messages(3, 0) },
      { partition: 2, messages: messages(2, 3) },
    ],
  },
  { topic: 'payments', partitions: [{ partition: 1, messages: messages(1, 5) }] },
];

const callOf = (data: Buffer) => drive(spec, [{ type: 'request', tsNs: 1n, data }]).calls[0]!;

describe('kafka Produce to several partitions', () => {
  it.each([3, 7] as const)('v%i: counts the messages of every partition of every topic', async (v) => {
    const call = callOf(await kafkajsProduce(v, topicData));
    expect(call.method).toBe('Produce');
    expect(call.resource).toBe('orders');
    expect(call.attributes?.['messaging.batch.message_count']).toBe(6);
    // No one partition: the attribute would name the first one only.
    expect(call.attributes?.['messaging.destination.partition.id']).toBeUndefined();
    // What the messages say is read from the first partition's batch: its key and its trace contexts.
    expect(call.attributes?.['messaging.kafka.message.key']).toBe('k-0');
    expect(call.links).toEqual([0, 1, 2].map((i) => ({ traceparent: TP(i) })));
    expect(call.reqHeaders).toBeUndefined();
  });

  it('one message to one partition stays a single send: its partition, its headers are the call', async () => {
    const call = callOf(
      await kafkajsProduce(7, [
        { topic: 'orders', partitions: [{ partition: 4, messages: messages(1, 9) }] },
      ]),
    );
    expect(call.attributes?.['messaging.destination.partition.id']).toBe('4');
    expect(call.attributes?.['messaging.batch.message_count']).toBeUndefined(); // 1: not a batch
    expect(call.reqHeaders?.traceparent).toBe(TP(9));
  });

  it('one message in each of two partitions is a batch of two, not a single send', async () => {
    const call = callOf(
      await kafkajsProduce(7, [
        {
          topic: 'orders',
          partitions: [
            { partition: 0, messages: messages(1, 0) },
            { partition: 1, messages: messages(1, 1) },
          ],
        },
      ]),
    );
    expect(call.attributes?.['messaging.batch.message_count']).toBe(2);
    expect(call.reqHeaders).toBeUndefined();
    expect(call.links).toEqual([{ traceparent: TP(0) }]);
  });

  it('a single partition whose batch runs past the parsed prefix still counts its records', async () => {
    const big = Array.from({ length: 5 }, (_, i) => ({ key: `k-${i}`, value: 'v'.repeat(400) }));
    const whole = await kafkajsProduce(7, [
      { topic: 'orders', partitions: [{ partition: 3, messages: big }] },
    ]);
    expect(whole.length).toBeGreaterThan(2048);
    // Its first 1100 bytes arrive first: the parser reads a message from its prefix and skips the rest.
    const call = drive(spec, [
      { type: 'request', tsNs: 1n, data: whole.subarray(0, 1100) },
      { type: 'request', tsNs: 2n, data: whole.subarray(1100) },
    ]).calls[0]!;
    expect(call.attributes?.['messaging.batch.message_count']).toBe(5);
    expect(call.attributes?.['messaging.destination.partition.id']).toBe('3');
  });

  it('cut by the capture (zeros from some byte on), the count is left out, never short', async () => {
    const whole = await kafkajsProduce(7, topicData);
    // v7 by hand: size, api key, version, correlation id, client id 'shop', null transactional id, acks,
    // timeout, topics, 'orders', partitions: the first partition's index at 42, its record set's size at 46.
    const firstSet = 50;
    expect(whole.subarray(32, 38).toString()).toBe('orders');
    const secondPartition = firstSet + whole.readInt32BE(46);
    expect(whole.readInt32BE(secondPartition)).toBe(2);
    // Zeros from inside the first batch's records, from the second partition's header, from the second
    // topic's name: each leaves some partition's records unread.
    for (const from of [firstSet + 61 + 20, secondPartition, whole.indexOf('payments')]) {
      const cut = Buffer.concat([whole.subarray(0, from), Buffer.alloc(whole.length - from)]);
      const call = callOf(cut);
      expect(call.method, `from ${from}`).toBe('Produce');
      expect(call.attributes?.['messaging.batch.message_count'], `from ${from}`).toBeUndefined();
    }
  });
});

describe('kafka countRecords', () => {
  const two = Buffer.concat([
    batch([record('a', '1', []), record('b', '2', [])]),
    batch([record('c', '3', [])]),
  ]);

  it('sums the batches of a record set that they fill exactly', () => {
    expect(countRecords(two, 0, two.length, two.length)).toBe(3);
  });

  it('is unknown for a header past the captured bytes, zeros, an old format or a set the batches overrun', () => {
    const first = batch([record('a', '1', [])]).length;
    expect(countRecords(two, 0, two.length, first + 30)).toBeUndefined();
    expect(countRecords(Buffer.alloc(80), 0, 80, 80)).toBeUndefined();
    const old = batch([record('a', '1', [])], { magic: 1 });
    expect(countRecords(old, 0, old.length, old.length)).toBeUndefined();
    expect(countRecords(two, 0, two.length - 1, two.length)).toBeUndefined();
  });
});
