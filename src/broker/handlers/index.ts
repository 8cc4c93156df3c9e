import type { AnyHandler } from '../router.js';
import { createAcls, deleteAcls, describeAcls } from './acls.js';
import { alterConfigs, createPartitions, deleteRecords, incrementalAlterConfigs } from './admin.js';
import { apiVersions } from './api-versions.js';
import { alterClientQuotas, describeClientQuotas } from './client-quotas.js';
import { describeCluster } from './describe-cluster.js';
import { describeConfigs } from './describe-configs.js';
import { describeLogDirs } from './describe-log-dirs.js';
import { describeProducers } from './describe-producers.js';
import { electLeaders } from './elect-leaders.js';
import { fetch } from './fetch.js';
import { groupHandlers } from './groups.js';
import { initProducerId } from './init-producer-id.js';
import { listOffsets } from './list-offsets.js';
import { metadata } from './metadata.js';
import { offsetForLeaderEpoch } from './offset-for-leader-epoch.js';
import { offsetHandlers } from './offsets.js';
import { produce } from './produce.js';
import { alterPartitionReassignments, listPartitionReassignments } from './reassignments.js';
import { saslAuthenticate, saslHandshake } from './sasl.js';
import { createTopics, deleteTopics } from './topics.js';
import { transactionHandlers } from './transactions.js';
import { txnOffsetCommit } from './txn-offset-commit.js';
import { alterUserScramCredentials, describeUserScramCredentials } from './user-scram-credentials.js';
import { writeTxnMarkers } from './write-txn-markers.js';

export const allHandlers: AnyHandler[] = [
  produce,
  fetch,
  listOffsets,
  metadata,
  apiVersions,
  createTopics,
  deleteTopics,
  describeConfigs,
  describeLogDirs,
  describeCluster,
  createPartitions,
  deleteRecords,
  alterConfigs,
  incrementalAlterConfigs,
  offsetForLeaderEpoch,
  electLeaders,
  alterPartitionReassignments,
  listPartitionReassignments,
  initProducerId,
  describeProducers,
  writeTxnMarkers,
  txnOffsetCommit,
  ...groupHandlers,
  ...offsetHandlers,
  ...transactionHandlers,
  saslHandshake,
  saslAuthenticate,
  describeUserScramCredentials,
  alterUserScramCredentials,
  describeAcls,
  createAcls,
  deleteAcls,
  describeClientQuotas,
  alterClientQuotas,
];
