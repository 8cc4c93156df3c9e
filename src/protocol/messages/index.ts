/**
 * The registry of API definitions known to the codec: api key → request and response definitions.
 * Which versions the broker actually serves is decided by its handlers (src/broker), not here.
 */
import type { Decoded, Encodable, MessageDef } from '../codec/schema.js';
import {
  CreateAclsRequest,
  CreateAclsResponse,
  DeleteAclsRequest,
  DeleteAclsResponse,
  DescribeAclsRequest,
  DescribeAclsResponse,
} from './acls.js';
import { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from './add-offsets-to-txn.js';
import { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from './add-partitions-to-txn.js';
import { AlterConfigsRequest, AlterConfigsResponse } from './alter-configs.js';
import {
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse,
} from './alter-partition-reassignments.js';
import { ApiVersionsRequest, ApiVersionsResponse } from './api-versions.js';
import {
  AlterClientQuotasRequest,
  AlterClientQuotasResponse,
  DescribeClientQuotasRequest,
  DescribeClientQuotasResponse,
} from './client-quotas.js';
import { CreatePartitionsRequest, CreatePartitionsResponse } from './create-partitions.js';
import { CreateTopicsRequest, CreateTopicsResponse } from './create-topics.js';
import { DeleteGroupsRequest, DeleteGroupsResponse } from './delete-groups.js';
import { DeleteRecordsRequest, DeleteRecordsResponse } from './delete-records.js';
import { DeleteTopicsRequest, DeleteTopicsResponse } from './delete-topics.js';
import { DescribeClusterRequest, DescribeClusterResponse } from './describe-cluster.js';
import { DescribeConfigsRequest, DescribeConfigsResponse } from './describe-configs.js';
import { DescribeGroupsRequest, DescribeGroupsResponse } from './describe-groups.js';
import { DescribeLogDirsRequest, DescribeLogDirsResponse } from './describe-log-dirs.js';
import { DescribeProducersRequest, DescribeProducersResponse } from './describe-producers.js';
import { DescribeTransactionsRequest, DescribeTransactionsResponse } from './describe-transactions.js';
import { ElectLeadersRequest, ElectLeadersResponse } from './elect-leaders.js';
import { EndTxnRequest, EndTxnResponse } from './end-txn.js';
import { FetchRequest, FetchResponse } from './fetch.js';
import { FindCoordinatorRequest, FindCoordinatorResponse } from './find-coordinator.js';
import { HeartbeatRequest, HeartbeatResponse } from './heartbeat.js';
import { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from './incremental-alter-configs.js';
import { InitProducerIdRequest, InitProducerIdResponse } from './init-producer-id.js';
import { JoinGroupRequest, JoinGroupResponse } from './join-group.js';
import { LeaveGroupRequest, LeaveGroupResponse } from './leave-group.js';
import { ListGroupsRequest, ListGroupsResponse } from './list-groups.js';
import { ListOffsetsRequest, ListOffsetsResponse } from './list-offsets.js';
import {
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse,
} from './list-partition-reassignments.js';
import { ListTransactionsRequest, ListTransactionsResponse } from './list-transactions.js';
import { MetadataRequest, MetadataResponse } from './metadata.js';
import { OffsetCommitRequest, OffsetCommitResponse } from './offset-commit.js';
import { OffsetDeleteRequest, OffsetDeleteResponse } from './offset-delete.js';
import { OffsetFetchRequest, OffsetFetchResponse } from './offset-fetch.js';
import { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from './offset-for-leader-epoch.js';
import { ProduceRequest, ProduceResponse } from './produce.js';
import { SaslAuthenticateRequest, SaslAuthenticateResponse } from './sasl-authenticate.js';
import { SaslHandshakeRequest, SaslHandshakeResponse } from './sasl-handshake.js';
import { SyncGroupRequest, SyncGroupResponse } from './sync-group.js';
import { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from './txn-offset-commit.js';
import {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse,
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
} from './user-scram-credentials.js';
import { WriteTxnMarkersRequest, WriteTxnMarkersResponse } from './write-txn-markers.js';

export type { Item } from '../codec/schema.js';

/** One Kafka API: its key, name, and request and response definitions (typed: see Decoded / Encodable). */
export interface ApiSpec<Req extends MessageDef = MessageDef, Res extends MessageDef = MessageDef> {
  readonly key: number;
  readonly name: string;
  readonly request: Req;
  readonly response: Res;
}

function api<Req extends MessageDef, Res extends MessageDef>(request: Req, response: Res): ApiSpec<Req, Res> {
  if (request.apiKey !== response.apiKey) throw new Error(`${request.name}/${response.name}: api keys differ`);
  return { key: request.apiKey, name: request.name.replace(/Request$/, ''), request, response };
}

/** Every API the codec knows, by name: `Api.Produce.request` is the typed ProduceRequest definition. */
export const Api = {
  Produce: api(ProduceRequest, ProduceResponse),
  Fetch: api(FetchRequest, FetchResponse),
  ListOffsets: api(ListOffsetsRequest, ListOffsetsResponse),
  Metadata: api(MetadataRequest, MetadataResponse),
  OffsetCommit: api(OffsetCommitRequest, OffsetCommitResponse),
  OffsetFetch: api(OffsetFetchRequest, OffsetFetchResponse),
  FindCoordinator: api(FindCoordinatorRequest, FindCoordinatorResponse),
  JoinGroup: api(JoinGroupRequest, JoinGroupResponse),
  Heartbeat: api(HeartbeatRequest, HeartbeatResponse),
  LeaveGroup: api(LeaveGroupRequest, LeaveGroupResponse),
  SyncGroup: api(SyncGroupRequest, SyncGroupResponse),
  DescribeGroups: api(DescribeGroupsRequest, DescribeGroupsResponse),
  ListGroups: api(ListGroupsRequest, ListGroupsResponse),
  SaslHandshake: api(SaslHandshakeRequest, SaslHandshakeResponse),
  ApiVersions: api(ApiVersionsRequest, ApiVersionsResponse),
  CreateTopics: api(CreateTopicsRequest, CreateTopicsResponse),
  DeleteTopics: api(DeleteTopicsRequest, DeleteTopicsResponse),
  DeleteRecords: api(DeleteRecordsRequest, DeleteRecordsResponse),
  InitProducerId: api(InitProducerIdRequest, InitProducerIdResponse),
  OffsetForLeaderEpoch: api(OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse),
  AddPartitionsToTxn: api(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse),
  AddOffsetsToTxn: api(AddOffsetsToTxnRequest, AddOffsetsToTxnResponse),
  EndTxn: api(EndTxnRequest, EndTxnResponse),
  WriteTxnMarkers: api(WriteTxnMarkersRequest, WriteTxnMarkersResponse),
  TxnOffsetCommit: api(TxnOffsetCommitRequest, TxnOffsetCommitResponse),
  DescribeAcls: api(DescribeAclsRequest, DescribeAclsResponse),
  CreateAcls: api(CreateAclsRequest, CreateAclsResponse),
  DeleteAcls: api(DeleteAclsRequest, DeleteAclsResponse),
  DescribeConfigs: api(DescribeConfigsRequest, DescribeConfigsResponse),
  AlterConfigs: api(AlterConfigsRequest, AlterConfigsResponse),
  DescribeLogDirs: api(DescribeLogDirsRequest, DescribeLogDirsResponse),
  CreatePartitions: api(CreatePartitionsRequest, CreatePartitionsResponse),
  DeleteGroups: api(DeleteGroupsRequest, DeleteGroupsResponse),
  ElectLeaders: api(ElectLeadersRequest, ElectLeadersResponse),
  IncrementalAlterConfigs: api(IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse),
  AlterPartitionReassignments: api(AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse),
  ListPartitionReassignments: api(ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse),
  OffsetDelete: api(OffsetDeleteRequest, OffsetDeleteResponse),
  DescribeCluster: api(DescribeClusterRequest, DescribeClusterResponse),
  DescribeProducers: api(DescribeProducersRequest, DescribeProducersResponse),
  DescribeTransactions: api(DescribeTransactionsRequest, DescribeTransactionsResponse),
  ListTransactions: api(ListTransactionsRequest, ListTransactionsResponse),
  SaslAuthenticate: api(SaslAuthenticateRequest, SaslAuthenticateResponse),
  DescribeClientQuotas: api(DescribeClientQuotasRequest, DescribeClientQuotasResponse),
  AlterClientQuotas: api(AlterClientQuotasRequest, AlterClientQuotasResponse),
  DescribeUserScramCredentials: api(DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse),
  AlterUserScramCredentials: api(AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse),
};

/** The decoded request / response of an API, and what may be passed to encode them. */
export type RequestOf<A extends ApiSpec> = Decoded<A['request']>;
export type ResponseOf<A extends ApiSpec> = Decoded<A['response']>;
export type RequestInput<A extends ApiSpec> = Encodable<A['request']>;
export type ResponseInput<A extends ApiSpec> = Encodable<A['response']>;

export const APIS: readonly ApiSpec[] = Object.values(Api);

export const API_BY_KEY: ReadonlyMap<number, ApiSpec> = new Map(APIS.map((a) => [a.key, a]));

export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  LeaderAndIsr: 4,
  StopReplica: 5,
  UpdateMetadata: 6,
  ControlledShutdown: 7,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  SaslHandshake: 17,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DeleteRecords: 21,
  InitProducerId: 22,
  OffsetForLeaderEpoch: 23,
  AddPartitionsToTxn: 24,
  AddOffsetsToTxn: 25,
  EndTxn: 26,
  WriteTxnMarkers: 27,
  TxnOffsetCommit: 28,
  DescribeAcls: 29,
  CreateAcls: 30,
  DeleteAcls: 31,
  DescribeConfigs: 32,
  AlterConfigs: 33,
  AlterReplicaLogDirs: 34,
  DescribeLogDirs: 35,
  SaslAuthenticate: 36,
  CreatePartitions: 37,
  CreateDelegationToken: 38,
  RenewDelegationToken: 39,
  ExpireDelegationToken: 40,
  DescribeDelegationToken: 41,
  DeleteGroups: 42,
  ElectLeaders: 43,
  IncrementalAlterConfigs: 44,
  AlterPartitionReassignments: 45,
  ListPartitionReassignments: 46,
  OffsetDelete: 47,
  DescribeClientQuotas: 48,
  AlterClientQuotas: 49,
  DescribeUserScramCredentials: 50,
  AlterUserScramCredentials: 51,
  DescribeCluster: 60,
  DescribeProducers: 61,
  DescribeTransactions: 65,
  ListTransactions: 66,
} as const;
