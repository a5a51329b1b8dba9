import type { KafkaReader } from './reader.ts';
import { API_NAMES, isFlexible } from './types.ts';

/**
 * Where a response's error code sits, for every API key the parser names (the response schemas of
 * https://kafka.apache.org/protocol and Kafka's `common/message/*Response.json`). The code reported is the
 * first one the response carries: the top-level `error_code` where the API has one before any array,
 * otherwise that of the first entry (topic, group, partition...). Empty arrays mean nothing failed: 0.
 *
 * Layouts, in reading order (`throttle` = the int32 throttle_time_ms, present from version `throttleFrom`):
 * - `error`: the error code itself;
 * - `entryError`: an array whose entries start with their error code;
 * - `namedError`: an array whose entries are `name, error_code` (`idFrom`: a topic id after the name);
 * - `partitionError`: topics `(name, partitions (partition_index, [skip], error_code))`.
 * A few APIs need their own walk (Metadata, OffsetFetch, FindCoordinator v4+, Fetch, ...), below.
 */
/** API key by name (from `API_NAMES`, the one table of names). */
function k(name: string): number {
  const key = API_NAMES.indexOf(name);
  if (key < 0) throw new Error(`cannot find Kafka API ${name}`);
  return key;
}

const K = {
  Produce: k('Produce'),
  Fetch: k('Fetch'),
  Metadata: k('Metadata'),
  OffsetFetch: k('OffsetFetch'),
  FindCoordinator: k('FindCoordinator'),
  AddPartitionsToTxn: k('AddPartitionsToTxn'),
  WriteTxnMarkers: k('WriteTxnMarkers'),
  DescribeLogDirs: k('DescribeLogDirs'),
  ElectLeaders: k('ElectLeaders'),
  Envelope: k('Envelope'),
} as const;

type Layout =
  | { kind: 'error' }
  | { kind: 'entryError' }
  | { kind: 'namedError'; idFrom?: number }
  | { kind: 'partitionError'; skip?: number; errorFirst?: boolean }
  | { kind: 'custom' };

interface Shape {
  /** First version with throttle_time_ms before the fields read here; -1: none there. */
  throttleFrom: number;
  layout: Layout;
}

const error: Layout = { kind: 'error' };
const entryError: Layout = { kind: 'entryError' };
const namedError: Layout = { kind: 'namedError' };
const partitionError: Layout = { kind: 'partitionError' };
const custom: Layout = { kind: 'custom' };

const SHAPES: Record<number, Shape> = {
  [k('Produce')]: { throttleFrom: -1, layout: custom },
  [k('Fetch')]: { throttleFrom: 1, layout: custom },
  [k('ListOffsets')]: { throttleFrom: 2, layout: partitionError },
  [k('Metadata')]: { throttleFrom: 3, layout: custom },
  [k('LeaderAndIsr')]: { throttleFrom: -1, layout: error },
  [k('StopReplica')]: { throttleFrom: -1, layout: error },
  [k('UpdateMetadata')]: { throttleFrom: -1, layout: error },
  [k('ControlledShutdown')]: { throttleFrom: -1, layout: error },
  [k('OffsetCommit')]: { throttleFrom: 3, layout: partitionError },
  [k('OffsetFetch')]: { throttleFrom: 3, layout: custom },
  [k('FindCoordinator')]: { throttleFrom: 1, layout: custom },
  [k('JoinGroup')]: { throttleFrom: 2, layout: error },
  [k('Heartbeat')]: { throttleFrom: 1, layout: error },
  [k('LeaveGroup')]: { throttleFrom: 1, layout: error },
  [k('SyncGroup')]: { throttleFrom: 1, layout: error },
  [k('DescribeGroups')]: { throttleFrom: 1, layout: entryError },
  [k('ListGroups')]: { throttleFrom: 1, layout: error },
  [k('SaslHandshake')]: { throttleFrom: -1, layout: error },
  [k('ApiVersions')]: { throttleFrom: -1, layout: error },
  [k('CreateTopics')]: { throttleFrom: 2, layout: { kind: 'namedError', idFrom: 7 } },
  [k('DeleteTopics')]: { throttleFrom: 1, layout: { kind: 'namedError', idFrom: 6 } },
  [k('DeleteRecords')]: { throttleFrom: 0, layout: { kind: 'partitionError', skip: 8 } },
  [k('InitProducerId')]: { throttleFrom: 0, layout: error },
  [k('OffsetForLeaderEpoch')]: { throttleFrom: 2, layout: { kind: 'partitionError', errorFirst: true } },
  [k('AddPartitionsToTxn')]: { throttleFrom: 0, layout: custom },
  [k('AddOffsetsToTxn')]: { throttleFrom: 0, layout: error },
  [k('EndTxn')]: { throttleFrom: 0, layout: error },
  [k('WriteTxnMarkers')]: { throttleFrom: -1, layout: custom },
  [k('TxnOffsetCommit')]: { throttleFrom: 0, layout: partitionError },
  [k('DescribeAcls')]: { throttleFrom: 0, layout: error },
  [k('CreateAcls')]: { throttleFrom: 0, layout: entryError },
  [k('DeleteAcls')]: { throttleFrom: 0, layout: entryError },
  [k('DescribeConfigs')]: { throttleFrom: 0, layout: entryError },
  [k('AlterConfigs')]: { throttleFrom: 0, layout: entryError },
  [k('AlterReplicaLogDirs')]: { throttleFrom: 0, layout: partitionError },
  [k('DescribeLogDirs')]: { throttleFrom: 0, layout: custom },
  [k('SaslAuthenticate')]: { throttleFrom: -1, layout: error },
  [k('CreatePartitions')]: { throttleFrom: 0, layout: namedError },
  [k('CreateDelegationToken')]: { throttleFrom: -1, layout: error },
  [k('RenewDelegationToken')]: { throttleFrom: -1, layout: error },
  [k('ExpireDelegationToken')]: { throttleFrom: -1, layout: error },
  [k('DescribeDelegationToken')]: { throttleFrom: -1, layout: error },
  [k('DeleteGroups')]: { throttleFrom: 0, layout: namedError },
  [k('ElectLeaders')]: { throttleFrom: 0, layout: custom },
  [k('IncrementalAlterConfigs')]: { throttleFrom: 0, layout: entryError },
  [k('AlterPartitionReassignments')]: { throttleFrom: 0, layout: error },
  [k('ListPartitionReassignments')]: { throttleFrom: 0, layout: error },
  [k('OffsetDelete')]: { throttleFrom: -1, layout: error },
  [k('DescribeClientQuotas')]: { throttleFrom: 0, layout: error },
  [k('AlterClientQuotas')]: { throttleFrom: 0, layout: entryError },
  [k('DescribeUserScramCredentials')]: { throttleFrom: 0, layout: error },
  [k('AlterUserScramCredentials')]: { throttleFrom: 0, layout: namedError },
  [k('Vote')]: { throttleFrom: -1, layout: error },
  [k('BeginQuorumEpoch')]: { throttleFrom: -1, layout: error },
  [k('EndQuorumEpoch')]: { throttleFrom: -1, layout: error },
  [k('DescribeQuorum')]: { throttleFrom: -1, layout: error },
  [k('AlterPartition')]: { throttleFrom: 0, layout: error },
  [k('UpdateFeatures')]: { throttleFrom: 0, layout: error },
  [k('Envelope')]: { throttleFrom: -1, layout: custom },
  [k('FetchSnapshot')]: { throttleFrom: 0, layout: error },
  [k('DescribeCluster')]: { throttleFrom: 0, layout: error },
  [k('DescribeProducers')]: { throttleFrom: 0, layout: partitionError },
  [k('BrokerRegistration')]: { throttleFrom: 0, layout: error },
  [k('BrokerHeartbeat')]: { throttleFrom: 0, layout: error },
  [k('UnregisterBroker')]: { throttleFrom: 0, layout: error },
  [k('DescribeTransactions')]: { throttleFrom: 0, layout: entryError },
  [k('ListTransactions')]: { throttleFrom: 0, layout: error },
  [k('AllocateProducerIds')]: { throttleFrom: 0, layout: error },
  [k('ConsumerGroupHeartbeat')]: { throttleFrom: 0, layout: error },
  [k('ConsumerGroupDescribe')]: { throttleFrom: 0, layout: entryError },
  [k('ControllerRegistration')]: { throttleFrom: 0, layout: error },
  [k('GetTelemetrySubscriptions')]: { throttleFrom: 0, layout: error },
  [k('PushTelemetry')]: { throttleFrom: 0, layout: error },
  [k('AssignReplicasToDirs')]: { throttleFrom: 0, layout: error },
  [k('ListClientMetricsResources')]: { throttleFrom: 0, layout: error },
  [k('DescribeTopicPartitions')]: { throttleFrom: 0, layout: entryError },
};

/** The API keys whose response error code is read (all of `API_NAMES`). */
export const ERROR_CODE_APIS: readonly number[] = Object.keys(SHAPES).map(Number);

/**
 * Reads the error code of a response body positioned after its header. Undefined for an API key we do not
 * know. Throws the reader's OutOfRange on a truncated response (the caller keeps the call without status).
 */
export function readErrorCode(r: KafkaReader, apiKey: number, v: number): number | undefined {
  const shape = SHAPES[apiKey];
  if (shape === undefined) return undefined;
  const flexible = isFlexible(apiKey, v);
  const name = () => (flexible ? r.compactString() : r.string());
  if (shape.throttleFrom >= 0 && v >= shape.throttleFrom) r.int32();
  const layout = shape.layout;
  switch (layout.kind) {
    case 'error':
      return r.int16();
    case 'entryError':
      return r.arrayLength(flexible) > 0 ? r.int16() : 0;
    case 'namedError':
      if (r.arrayLength(flexible) <= 0) return 0;
      name();
      if (layout.idFrom !== undefined && v >= layout.idFrom) r.skip(16);
      return r.int16();
    case 'partitionError':
      return firstPartitionError(r, flexible, name, layout.skip ?? 0, layout.errorFirst === true);
    case 'custom':
      return readCustom(r, apiKey, v, flexible, name);
  }
}

/** topics (name, partitions (partition_index, [skip bytes], error_code)), or error_code first. */
function firstPartitionError(
  r: KafkaReader,
  flexible: boolean,
  name: () => unknown,
  skip: number,
  errorFirst: boolean,
): number {
  if (r.arrayLength(flexible) <= 0) return 0;
  name();
  if (r.arrayLength(flexible) <= 0) return 0;
  if (errorFirst) return r.int16();
  r.int32();
  if (skip > 0) r.skip(skip);
  return r.int16();
}

function readCustom(r: KafkaReader, apiKey: number, v: number, flexible: boolean, name: () => unknown) {
  switch (apiKey) {
    case K.Produce:
      // topics (name or v13+ topic id, partitions (index, error_code ...)) come before the throttle time.
      if (r.arrayLength(flexible) <= 0) return 0;
      if (v >= 13) r.skip(16);
      else name();
      if (r.arrayLength(flexible) <= 0) return 0;
      r.int32();
      return r.int16();
    case K.Fetch:
      if (v >= 7) return r.int16();
      return firstPartitionError(r, flexible, name, 0, false);
    case K.Metadata: {
      // brokers (node_id, host, port, rack v1+) and cluster/controller ids come before the topics, whose
      // entries start with their error code.
      const brokers = r.arrayLength(flexible);
      for (let i = 0; i < brokers; i++) {
        r.int32();
        name();
        r.int32();
        if (v >= 1) name();
        if (flexible) r.taggedFields();
      }
      if (v >= 2) name(); // cluster id
      if (v >= 1) r.int32(); // controller id
      return r.arrayLength(flexible) > 0 ? r.int16() : 0;
    }
    case K.OffsetFetch: {
      if (v >= 8) {
        // groups (group_id, topics (...), error_code): the group's code when it has no topics.
        if (r.arrayLength(flexible) <= 0) return 0;
        name();
        if (r.arrayLength(flexible) > 0) return offsetFetchPartition(r, v, flexible, name);
        return r.int16();
      }
      // topics (name, partitions (...)), then (v2+) the top-level error_code.
      const topics = r.arrayLength(flexible);
      if (topics > 0) return offsetFetchPartition(r, v, flexible, name);
      return v >= 2 ? r.int16() : 0;
    }
    case K.FindCoordinator:
      if (v < 4) return r.int16();
      // coordinators (key, node_id, host, port, error_code ...)
      if (r.arrayLength(flexible) <= 0) return 0;
      name();
      r.int32();
      name();
      r.int32();
      return r.int16();
    case K.AddPartitionsToTxn:
      if (v >= 4) return r.int16();
      return firstPartitionError(r, flexible, name, 0, false);
    case K.WriteTxnMarkers:
      // markers (producer_id, topics (name, partitions (index, error_code)))
      if (r.arrayLength(flexible) <= 0) return 0;
      r.skip(8);
      return firstPartitionError(r, flexible, name, 0, false);
    case K.DescribeLogDirs:
      if (v >= 3) return r.int16();
      return r.arrayLength(flexible) > 0 ? r.int16() : 0;
    case K.ElectLeaders:
      if (v >= 1) return r.int16();
      return firstPartitionError(r, flexible, name, 0, false);
    case K.Envelope:
      // response_data (compact nullable bytes), then error_code
      r.skipCompactBytes();
      return r.int16();
    default:
      return undefined;
  }
}

/** The first topic's first partition of an OffsetFetch response (positioned at its name). */
function offsetFetchPartition(r: KafkaReader, v: number, flexible: boolean, name: () => unknown): number {
  name();
  if (r.arrayLength(flexible) <= 0) return 0;
  r.int32(); // partition index
  r.skip(8); // committed offset
  if (v >= 5) r.int32(); // committed leader epoch
  name(); // metadata
  return r.int16();
}
