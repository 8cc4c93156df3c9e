/**
 * AddPartitionsToTxn (key 24): a transactional producer tells its transaction coordinator which partitions the
 * ongoing transaction writes to, before its first batch to each. Flexible from v3. v0-3 carry one transaction
 * (the fields named v3AndBelow*), v4+ (KIP-890) batch several transactions and are sent between brokers
 * (verifyOnly); clients send v3 at most.
 *
 * AddPartitionsToTxn Request (Version: 3) => v3_and_below_transactional_id v3_and_below_producer_id
 *                                            v3_and_below_producer_epoch [v3_and_below_topics] TAG_BUFFER
 *   v3_and_below_transactional_id => COMPACT_STRING
 *   v3_and_below_producer_id => INT64
 *   v3_and_below_producer_epoch => INT16
 *   v3_and_below_topics => name [partitions] TAG_BUFFER
 *     name => COMPACT_STRING
 *     partitions => INT32
 *
 * AddPartitionsToTxn Request (Version: 4) => [transactions] TAG_BUFFER
 *   transactions => transactional_id producer_id producer_epoch verify_only [topics] TAG_BUFFER
 *     (transactional_id, producer_id, producer_epoch, topics as above) verify_only => BOOLEAN
 *
 * AddPartitionsToTxn Response (Version: 3) => throttle_time_ms [results_by_topic_v3_and_below] TAG_BUFFER
 *   results_by_topic_v3_and_below => name [results_by_partition] TAG_BUFFER
 *     results_by_partition => partition_index partition_error_code TAG_BUFFER
 *
 * AddPartitionsToTxn Response (Version: 4) => throttle_time_ms error_code [results_by_transaction] TAG_BUFFER
 *   results_by_transaction => transactional_id [topic_results] TAG_BUFFER
 *     topic_results => name [results_by_partition] TAG_BUFFER  (as above)
 */
import type { MessageDef } from '../codec/schema.js';

const topicFields = (versions: string) =>
  [
    { name: 'name', type: 'string', versions },
    { name: 'partitions', type: '[]int32', versions },
  ] as const;

const topicResultFields = (versions: string) =>
  [
    { name: 'name', type: 'string', versions },
    {
      name: 'resultsByPartition',
      type: '[]struct',
      versions,
      fields: [
        { name: 'partitionIndex', type: 'int32', versions },
        { name: 'partitionErrorCode', type: 'int16', versions },
      ],
    },
  ] as const;

export const AddPartitionsToTxnRequest = {
  name: 'AddPartitionsToTxnRequest',
  apiKey: 24,
  type: 'request',
  validVersions: '0-5',
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
        { name: 'topics', type: '[]struct', versions: '4+', fields: topicFields('4+') },
      ],
    },
    { name: 'v3AndBelowTransactionalId', type: 'string', versions: '0-3' },
    { name: 'v3AndBelowProducerId', type: 'int64', versions: '0-3' },
    { name: 'v3AndBelowProducerEpoch', type: 'int16', versions: '0-3' },
    { name: 'v3AndBelowTopics', type: '[]struct', versions: '0-3', fields: topicFields('0-3') },
  ],
} as const satisfies MessageDef;

export const AddPartitionsToTxnResponse = {
  name: 'AddPartitionsToTxnResponse',
  apiKey: 24,
  type: 'response',
  validVersions: '0-5',
  flexibleVersions: '3+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '4+' },
    {
      name: 'resultsByTransaction',
      type: '[]struct',
      versions: '4+',
      fields: [
        { name: 'transactionalId', type: 'string', versions: '4+' },
        { name: 'topicResults', type: '[]struct', versions: '4+', fields: topicResultFields('4+') },
      ],
    },
    { name: 'resultsByTopicV3AndBelow', type: '[]struct', versions: '0-3', fields: topicResultFields('0-3') },
  ],
} as const satisfies MessageDef;
