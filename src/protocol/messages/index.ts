/**
 * The registry of API definitions known to the codec: api key → request and response definitions.
 * Which versions the broker actually serves is decided by its handlers (src/broker), not here.
 */
import type { MessageDef } from '../codec/schema.js';
import { AlterConfigsRequest, AlterConfigsResponse } from './alter-configs.js';
import {
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse,
} from './alter-partition-reassignments.js';
import { ApiVersionsRequest, ApiVersionsResponse } from './api-versions.js';
import { CreatePartitionsRequest, CreatePartitionsResponse } from './create-partitions.js';
import { CreateTopicsRequest, CreateTopicsResponse } from './create-topics.js';
import { DeleteGroupsRequest, DeleteGroupsResponse } from './delete-groups.js';
import { DeleteRecordsRequest, DeleteRecordsResponse } from './delete-records.js';
import { DeleteTopicsRequest, DeleteTopicsResponse } from './delete-topics.js';
import { DescribeClusterRequest, DescribeClusterResponse } from './describe-cluster.js';
import { DescribeConfigsRequest, DescribeConfigsResponse } from './describe-configs.js';
import { DescribeGroupsRequest, DescribeGroupsResponse } from './describe-groups.js';
import { DescribeLogDirsRequest, DescribeLogDirsResponse } from './describe-log-dirs.js';
import { ElectLeadersRequest, ElectLeadersResponse } from './elect-leaders.js';
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
import { MetadataRequest, MetadataResponse } from './metadata.js';
import { OffsetCommitRequest, OffsetCommitResponse } from './offset-commit.js';
import { OffsetDeleteRequest, OffsetDeleteResponse } from './offset-delete.js';
import { OffsetFetchRequest, OffsetFetchResponse } from './offset-fetch.js';
import { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from './offset-for-leader-epoch.js';
import { ProduceRequest, ProduceResponse } from './produce.js';
import { SaslHandshakeRequest, SaslHandshakeResponse } from './sasl-handshake.js';
import { SyncGroupRequest, SyncGroupResponse } from './sync-group.js';

export interface ApiSpec {
  key: number;
  name: string;
  request: MessageDef;
  response: MessageDef;
}

function api(request: MessageDef, response: MessageDef): ApiSpec {
  if (request.apiKey !== response.apiKey) throw new Error(`${request.name}/${response.name}: api keys differ`);
  return { key: request.apiKey, name: request.name.replace(/Request$/, ''), request, response };
}

export const APIS: ApiSpec[] = [
  api(ProduceRequest, ProduceResponse),
  api(FetchRequest, FetchResponse),
  api(ListOffsetsRequest, ListOffsetsResponse),
  api(MetadataRequest, MetadataResponse),
  api(OffsetCommitRequest, OffsetCommitResponse),
  api(OffsetFetchRequest, OffsetFetchResponse),
  api(FindCoordinatorRequest, FindCoordinatorResponse),
  api(JoinGroupRequest, JoinGroupResponse),
  api(HeartbeatRequest, HeartbeatResponse),
  api(LeaveGroupRequest, LeaveGroupResponse),
  api(SyncGroupRequest, SyncGroupResponse),
  api(DescribeGroupsRequest, DescribeGroupsResponse),
  api(ListGroupsRequest, ListGroupsResponse),
  api(SaslHandshakeRequest, SaslHandshakeResponse),
  api(ApiVersionsRequest, ApiVersionsResponse),
  api(CreateTopicsRequest, CreateTopicsResponse),
  api(DeleteTopicsRequest, DeleteTopicsResponse),
  api(DeleteRecordsRequest, DeleteRecordsResponse),
  api(InitProducerIdRequest, InitProducerIdResponse),
  api(OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse),
  api(DescribeConfigsRequest, DescribeConfigsResponse),
  api(AlterConfigsRequest, AlterConfigsResponse),
  api(DescribeLogDirsRequest, DescribeLogDirsResponse),
  api(CreatePartitionsRequest, CreatePartitionsResponse),
  api(DeleteGroupsRequest, DeleteGroupsResponse),
  api(ElectLeadersRequest, ElectLeadersResponse),
  api(IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse),
  api(AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse),
  api(ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse),
  api(OffsetDeleteRequest, OffsetDeleteResponse),
  api(DescribeClusterRequest, DescribeClusterResponse),
];

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
} as const;
