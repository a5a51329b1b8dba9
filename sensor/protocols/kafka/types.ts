import type { Frame } from '../contract.ts';
import type { SkipState } from '../prefixSkip.ts';
import type { BatchSummary } from './records.ts';

/**
 * Apache Kafka wire protocol (https://kafka.apache.org/protocol). A frame is one size-prefixed request or
 * response. Responses carry only a correlation id, so the request's API key and version are remembered in
 * the connection state when the request is parsed, to read the response header and error code.
 */
export interface KafkaFrame extends Frame {
  correlationId: number;
  apiKey?: number;
  apiVersion?: number;
  clientId?: string;
  /** Produce/Fetch/Metadata: first topic name; group APIs: the group id. */
  resource?: string;
  topicCount?: number;
  /** Produce with acks = 0 gets no response. */
  noResponse?: boolean;
  /** Response: the error code where the API has one we read (top level or first partition). */
  errorCode?: number;
  /** Produce request / Fetch response: the first partition, and what its record batch says (records.ts). */
  partition?: number;
  batch?: BatchSummary;
  /** Produce request read to its end: partitions over all topics, and their records (unknown: absent). */
  partitionCount?: number;
  messageCount?: number;
}

/** Also the bytes of the current request / response still to skip (parsed from its prefix). */
export interface KafkaState extends SkipState {
  /** Requests parsed and not yet answered: correlation id -> api key and version. Bounded. */
  pending: Map<number, { apiKey: number; apiVersion: number }>;
}

/** Messages larger than this are treated as garbage (brokers default to 100 MB `socket.request.max.bytes`). */
export const MAX_MESSAGE = 100 << 20;
export const MAX_PENDING = 4096;
export const MAX_TEXT = 256;
/** Partitions of a Produce request walked for its message count (a request of more leaves it unknown). */
export const MAX_PRODUCE_PARTITIONS = 1024;

export const API_NAMES = [
  'Produce', 'Fetch', 'ListOffsets', 'Metadata', 'LeaderAndIsr', 'StopReplica', 'UpdateMetadata',
  'ControlledShutdown', 'OffsetCommit', 'OffsetFetch', 'FindCoordinator', 'JoinGroup', 'Heartbeat', 'LeaveGroup',
  'SyncGroup', 'DescribeGroups', 'ListGroups', 'SaslHandshake', 'ApiVersions', 'CreateTopics', 'DeleteTopics',
  'DeleteRecords', 'InitProducerId', 'OffsetForLeaderEpoch', 'AddPartitionsToTxn', 'AddOffsetsToTxn', 'EndTxn',
  'WriteTxnMarkers', 'TxnOffsetCommit', 'DescribeAcls', 'CreateAcls', 'DeleteAcls', 'DescribeConfigs',
  'AlterConfigs', 'AlterReplicaLogDirs', 'DescribeLogDirs', 'SaslAuthenticate', 'CreatePartitions',
  'CreateDelegationToken', 'RenewDelegationToken', 'ExpireDelegationToken', 'DescribeDelegationToken',
  'DeleteGroups', 'ElectLeaders', 'IncrementalAlterConfigs', 'AlterPartitionReassignments',
  'ListPartitionReassignments', 'OffsetDelete', 'DescribeClientQuotas', 'AlterClientQuotas',
  'DescribeUserScramCredentials', 'AlterUserScramCredentials', 'Vote', 'BeginQuorumEpoch', 'EndQuorumEpoch',
  'DescribeQuorum', 'AlterPartition', 'UpdateFeatures', 'Envelope', 'FetchSnapshot', 'DescribeCluster',
  'DescribeProducers', 'BrokerRegistration', 'BrokerHeartbeat', 'UnregisterBroker', 'DescribeTransactions',
  'ListTransactions', 'AllocateProducerIds', 'ConsumerGroupHeartbeat', 'ConsumerGroupDescribe',
  'ControllerRegistration', 'GetTelemetrySubscriptions', 'PushTelemetry', 'AssignReplicasToDirs',
  'ListClientMetricsResources', 'DescribeTopicPartitions',
]; // biome-ignore format: a table

/**
 * First flexible version per API key (KIP-482): from it on, requests use header v2 and responses header v1
 * (tagged fields), strings and arrays are compact. -1: never flexible. Keys past the table are flexible from 0.
 */
export const FIRST_FLEXIBLE = [
  9, 12, 6, 9, 4, 2, 6, 3, 8, 6, 3, 6, 4, 4, 4, 5, 3, -1, 3, 5, 4, 2, 2, 4, 3, 3, 3, 1, 3, 2, 2, 2, 4, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 1, 0, 0, -1, 1, 1, 0, 0,
]; // biome-ignore format: a table

export function isFlexible(apiKey: number, apiVersion: number): boolean {
  const first = FIRST_FLEXIBLE[apiKey];
  if (first === undefined) return true;
  return first >= 0 && apiVersion >= first;
}

export const API = {
  Produce: 0,
  Fetch: 1,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  ListGroups: 16,
  SaslHandshake: 17,
  ApiVersions: 18,
  InitProducerId: 22,
  AddOffsetsToTxn: 25,
  EndTxn: 26,
  SaslAuthenticate: 36,
} as const;
