/**
 * What a request handler sees of the node (HandlerContext.node): a narrow view, not the Broker class, so
 * handlers translate requests and hand them to the owner of the state (a Partition, the ReplicaManager, the
 * topic admin, a group coordinator), as Kafka's KafkaApis does.
 */
import type { BrokerInfo, PartitionDoc, TopicDoc } from '../cluster/cluster.js';
import type { GroupCoordinator } from '../coordinator/coordinator.js';
import type { RequestHeader } from '../protocol/wire.js';
import type { Logger } from '../util/logger.js';
import type { Authorizer } from './acl/authorizer.js';
import type { BrokerConfig } from './config.js';
import type { Connection } from './connection.js';
import type { Credentials } from './credentials.js';
import type { FetchSessionCache } from './fetch-sessions.js';
import type { BrokerMetrics } from './metrics.js';
import type { Partition } from './partition.js';
import type { ClientQuotas } from './quota/quotas.js';
import type { LocalTopic } from './replica-manager.js';
import type { PlainUsersFile } from './sasl.js';
import type { CreatedTopic } from './topic-admin.js';
import type { TxnCoordinatorsView } from './txn-coordinators.js';

/** The cluster as this node sees it (the metadata store's topics, partition states, brokers). */
export interface ClusterView {
  readonly clusterId: string;
  controllerId(): number;
  liveBrokers(): BrokerInfo[];
  isAlive(nodeId: number): boolean;
  /** Topic documents by name. */
  topics(): ReadonlyMap<string, TopicDoc>;
  topic(name: string): TopicDoc | undefined;
  /** A partition's leader, epoch and ISR. */
  partitionState(topic: string, index: number): PartitionDoc | undefined;
  /**
   * Whether the leader `state` names accepts writes already: not a new partition whose leader has not taken
   * leadership yet, and, when it is this node, its replica leads at that epoch. Metadata names no leader
   * before (LEADER_NOT_AVAILABLE).
   */
  leaderReady(topic: string, index: number, state: PartitionDoc): boolean;
  /** Whether a topic partition exists (on this node or another). */
  partitionExists(topic: string, index: number): boolean;
}

/** Topic administration (one implementation for one node and for many). */
export interface TopicAdministration {
  hasTopic(name: string): boolean;
  /** A topic's config overrides; null if unknown. */
  topicConfigs(name: string): Record<string, string> | null;
  createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    validateOnly: boolean,
    assignment: number[][] | null,
  ): Promise<CreatedTopic>;
  /** Whether the topic exists after this (auto-created when allowed and enabled). */
  topicOrAutoCreate(name: string, allowAutoCreate: boolean): Promise<boolean>;
  deleteTopic(name: string): Promise<void>;
  addPartitions(name: string, count: number, validateOnly: boolean, assignment: number[][] | null): Promise<void>;
  alterTopicConfigs(
    name: string,
    next: (current: Record<string, string>) => Record<string, string>,
    validateOnly: boolean,
  ): Promise<void>;
  /** ElectLeaders: a Kafka error code per partition. */
  electLeader(topic: string, partition: number, type: 'preferred' | 'unclean'): Promise<number>;
  /** AlterPartitionReassignments (target null: cancel): a Kafka error code; a KafkaError when refused. */
  reassign(topic: string, partition: number, target: number[] | null): Promise<number>;
}

/** Consumer groups: the coordinators of this node. */
export interface Groups {
  /** The coordinator of a group on this node (creating __consumer_offsets on first use), or null. */
  coordinatorOf(groupId: string): Promise<GroupCoordinator | null>;
  /** Why coordinatorOf gave null: NOT_COORDINATOR (another node's group) or COORDINATOR_NOT_AVAILABLE. */
  noCoordinatorError(groupId: string): number;
  /** Where a group's coordinator runs; null: not available yet. */
  findCoordinator(groupId: string): Promise<BrokerInfo | null>;
  /** Every coordinator of this node (ListGroups). */
  allCoordinators(): Promise<GroupCoordinator[]>;
  /**
   * A transaction marker was written (durably) to a partition this node leads: for a `__consumer_offsets`
   * partition, its group coordinator settles the producer's transactional offset commits.
   */
  transactionMarkerWritten(topic: string, partition: number, producerId: bigint, commit: boolean): Promise<void>;
}

/** The local replicas. */
export interface Replicas {
  /** The local replica of a partition, or undefined. */
  partition(topic: string, index: number): Partition | undefined;
  /** The topics this node holds replicas of. */
  localTopics(): Iterable<LocalTopic>;
  /** A follower's fetch from a partition this node leads. */
  followerFetched(p: Partition, replicaId: number, fetchOffset: bigint): void;
}

/** Producer ids (InitProducerId), claimed in blocks from the metadata store (src/cluster/producer-ids.ts). */
export interface ProducerIds {
  /** A new producer id; a KafkaError (retriable) when no block could be claimed. */
  generate(): Promise<bigint>;
  /** Whether some node of the cluster may have handed out `id`. */
  isAllocated(id: bigint): boolean;
  /** Learn blocks other nodes claimed since (before answering UNKNOWN_PRODUCER_ID for an id above them). */
  refresh(): Promise<void>;
}

export interface BrokerContext extends ClusterView, TopicAdministration, Groups, Replicas {
  readonly nodeId: number;
  readonly producerIds: ProducerIds;
  /** Transactional ids: the transaction coordinators of this node (txn-coordinators.ts). */
  readonly transactions: TxnCoordinatorsView;
  readonly config: BrokerConfig;
  readonly log: Logger;
  /** The node is shutting down: long polls return at once. */
  readonly isStopping: boolean;
  /** SCRAM credentials in the metadata store (SASL logins, Describe/AlterUserScramCredentials). */
  readonly credentials: Credentials;
  /** sasl.plain.users.file (PLAIN logins check it before the store), null without one. */
  readonly plainUsers: PlainUsersFile | null;
  /** ACLs and the decisions made with them (acl/authorizer.ts); `enabled` false: everything is allowed. */
  readonly authorizer: Authorizer;
  /** Incremental fetch sessions (KIP-227) of this node's consumers and followers. */
  readonly fetchSessions: FetchSessionCache;
  /** Client quotas (quota/quotas.ts): producerActive / consumerActive false when none is stored. */
  readonly quotas: ClientQuotas;
  /** Counters the produce and fetch handlers bump (per topic, per request; never per record). */
  readonly metrics: BrokerMetrics;
  /** (api key, min version, max version) of every request this node serves (ApiVersions). */
  apiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[];
}

/** What a request handler gets besides its request: the node, the request's header and connection. */
export interface HandlerContext {
  /** The node, as handlers see it (context.ts). */
  node: BrokerContext;
  header: RequestHeader;
  connection: Connection;
  log: Logger;
  /** Size of the request (header and body), for client quotas. */
  requestBytes: number;
  /** Milliseconds the handler waited on others (replication for acks=all, new data for a long poll): metrics. */
  remoteMs: number;
}
