/**
 * kstream's Kafka client: the public API used by the CLI, the TUI and the benchmarks.
 *
 *   const producer = new Producer({ brokers: 'localhost:9092', acks: 'all', compression: 'zstd' });
 *   await producer.send({ topic: 'orders', key: 'k1', value: 'hello' });   // { topic, partition, offset, timestamp }
 *   await producer.close();
 *
 *   const consumer = new Consumer({ brokers, groupId: 'billing', autoOffsetReset: 'earliest' });
 *   consumer.subscribe(['orders']);                       // or consumer.assign([{ topic, partition, offset }])
 *   for await (const r of consumer.records()) { ... }     // consumer.batches() for whole batches
 *   await consumer.close();
 *
 *   const tx = new Producer({ brokers, transactionalId: 'copier-1' });   // transactions (KIP-98)
 *   await tx.initTransactions(); tx.beginTransaction(); await tx.send({...}); await tx.commitTransaction();
 *   new Consumer({ brokers, isolation: 'read_committed' })  // only committed transactions' records
 *
 *   const admin = new Admin({ brokers });
 *   await admin.createTopics([{ topic: 'orders', numPartitions: 6 }]);
 *
 * Offsets and timestamps are bigint (Kafka int64). Errors are KafkaError with the protocol `code` and
 * `retriable`; NetworkError / RequestTimeoutError for connection problems.
 */

export type { KafkaRecord, RecordHeader } from '../protocol/records/record.js';
export {
  Admin,
  type AdminOptions,
  type AlterConfigOp,
  type BrokerLogDirs,
  type ClusterDescription,
  type ConfigEntry,
  type ConfigResource,
  type ConfigResourceResult,
  type ConfigSourceName,
  type CreateTopicResult,
  type DeleteRecordsResult,
  type GroupDescription,
  type GroupListing,
  type GroupMemberDescription,
  type GroupResult,
  type ListOffsetsSpec,
  type LogDirDescription,
  type LogDirReplica,
  type NewPartitions,
  type NewTopic,
  type PartitionOffsets,
  type ResourceResult,
  type ResourceTypeName,
  type TopicDescription,
  type TopicResult,
  TRANSACTION_STATES,
  type TransactionDescription,
  type TransactionListing,
} from './admin.js';
export {
  ASSIGNORS,
  type Assignor,
  type AssignorName,
  cooperativeStickyAssignor,
  type GroupAssignment,
  type GroupMemberSubscription,
  rangeAssignor,
  roundRobinAssignor,
  stickyAssignor,
} from './assignors.js';
export {
  BROKERS_ENV,
  type BrokerAddress,
  DEFAULT_BROKERS,
  DEFAULT_PORT,
  formatAddress,
  parseBrokers,
  resolveBrokers,
} from './brokers.js';
export { type BrokerInfo, Cluster, type ClusterOptions, type PartitionInfo, type TopicInfo } from './cluster.js';
export { Connection, type ConnectionOptions } from './connection.js';
export {
  type AssignSpec,
  Consumer,
  type ConsumerBatch,
  type ConsumerGroupMetadata,
  type ConsumerOptions,
  type ConsumerRecord,
  type IsolationLevel,
  type IterateOptions,
  type OffsetResetPolicy,
  type RebalanceListener,
  type SeekTarget,
  type TopicPartition,
} from './consumer.js';
export {
  type Assignment,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  type Subscription,
  type TopicPartitions,
} from './consumer-protocol.js';
export { ErrorCode, errorName, isRetriable, KafkaError, NetworkError, RequestTimeoutError } from './errors.js';
export type { CommitResult, CommittedOffset, OffsetToCommit } from './group-api.js';
export type { ListOffsetsResult, OffsetQuery } from './list-offsets.js';
export {
  DefaultPartitioner,
  murmur2,
  murmur2Partition,
  type Partitioner,
  type PartitionerContext,
  toPositive,
} from './partitioner.js';
export {
  type Acks,
  type CompressionType,
  Producer,
  type ProducerOptions,
  type ProducerRecord,
  type RecordMetadata,
  TransactionAbortedError,
  type TransactionGroupMetadata,
  type TransactionState,
} from './producer.js';
export type { RetryOptions } from './retry.js';
