/**
 * AddPartitionsToTxn (key 24, KIP-98): a transactional producer tells its coordinator the partitions it is
 * about to write in the current transaction. Flexible from v3. v4 (KIP-890) batches several transactions in
 * one request (sent by brokers, with verifyOnly to check a partition is already in the transaction) and adds a
 * top-level error code to the response; v0-3 carry one transaction at the top level.
 *
 * AddPartitionsToTxn Request (Version: 3) => transactional_id producer_id producer_epoch [topics] TAG_BUFFER
 *   transactional_id => COMPACT_STRING
 *   producer_id => INT64
 *   producer_epoch => INT16
 *   topics => name [partitions] TAG_BUFFER
 *     name => COMPACT_STRING
 *     partitions => INT32
 * AddPartitionsToTxn Request (Version: 4) => [transactions] TAG_BUFFER
 *   transactions => transactional_id producer_id producer_epoch verify_only [topics] TAG_BUFFER
 *
 * AddPartitionsToTxn Response (Version: 3) => throttle_time_ms [results_by_topic] TAG_BUFFER
 *   results_by_topic => name [results_by_partition] TAG_BUFFER
 *     results_by_partition => partition_index partition_error_code TAG_BUFFER
 * AddPartitionsToTxn Response (Version: 4) => throttle_time_ms error_code [results_by_transaction] TAG_BUFFER
 *   results_by_transaction => transactional_id [topic_results] TAG_BUFFER
 */
import type { MessageDef } from '../codec/schema.js';

const topicFields = [
  { name: 'name', type: 'string', versions: '0+' },
  { name: 'partitions', type: '[]int32', versions: '0+' },
] as const;

const topicResultFields = [
  { name: 'name', type: 'string', versions: '0+' },
  {
    name: 'resultsByPartition',
    type: '[]struct',
    versions: '0+',
    fields: [
      { name: 'partitionIndex', type: 'int32', versions: '0+' },
      { name: 'partitionErrorCode', type: 'int16', versions: '0+' },
    ],
  },
] as const;

export const AddPartitionsToTxnRequest = {
  name: 'AddPartitionsToTxnRequest',
  apiKey: 24,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    {
      name: 'transactions',
      type: '[]struct',
      versions: '4+',
      fields: [
        { name: 'transactionalId', type: 'string', versions: '4+' },
        { name: 'producerId', type: 'int64', versions: '4+' },
        { name: 'producerEpoch', type: 'int16', versions: '4+' },
        { name: 'verifyOnly', type: 'bool', versions: '4+', default: false },
        { name: 'topics', type: '[]struct', versions: '4+', fields: topicFields },
      ],
    },
    { name: 'v3AndBelowTransactionalId', type: 'string', versions: '0-3', default: '' },
    { name: 'v3AndBelowProducerId', type: 'int64', versions: '0-3', default: -1 },
    { name: 'v3AndBelowProducerEpoch', type: 'int16', versions: '0-3', default: -1 },
    { name: 'v3AndBelowTopics', type: '[]struct', versions: '0-3', fields: topicFields },
  ],
} as const satisfies MessageDef;

export const AddPartitionsToTxnResponse = {
  name: 'AddPartitionsToTxnResponse',
  apiKey: 24,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '4+', default: 0 },
    {
      name: 'resultsByTransaction',
      type: '[]struct',
      versions: '4+',
      fields: [
        { name: 'transactionalId', type: 'string', versions: '4+' },
        { name: 'topicResults', type: '[]struct', versions: '4+', fields: topicResultFields },
      ],
    },
    { name: 'resultsByTopicV3AndBelow', type: '[]struct', versions: '0-3', fields: topicResultFields },
  ],
} as const satisfies MessageDef;
