/**
 * DescribeProducers (key 61, KIP-664): the active idempotent/transactional producers of partitions, as their
 * leader knows them (what `kafka-transactions.sh describe-producers` shows). Flexible from v0.
 *
 * DescribeProducers Request (Version: 0) => [topics] TAG_BUFFER
 *   topics => name [partition_indexes] TAG_BUFFER
 *     name => COMPACT_STRING
 *     partition_indexes => INT32
 *
 * DescribeProducers Response (Version: 0) => throttle_time_ms [topics] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   topics => name [partitions] TAG_BUFFER
 *     name => COMPACT_STRING
 *     partitions => partition_index error_code error_message [active_producers] TAG_BUFFER
 *       partition_index => INT32
 *       error_code => INT16
 *       error_message => COMPACT_NULLABLE_STRING
 *       active_producers => producer_id producer_epoch last_sequence last_timestamp coordinator_epoch
 *                           current_txn_start_offset TAG_BUFFER
 *         producer_id => INT64
 *         producer_epoch => INT32
 *         last_sequence => INT32
 *         last_timestamp => INT64
 *         coordinator_epoch => INT32
 *         current_txn_start_offset => INT64
 */
import type { MessageDef } from '../codec/schema.js';

export const DescribeProducersRequest = {
  name: 'DescribeProducersRequest',
  apiKey: 61,
  type: 'request',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    {
      name: 'topics',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        { name: 'partitionIndexes', type: '[]int32', versions: '0+' },
      ],
    },
  ],
} as const satisfies MessageDef;

export const DescribeProducersResponse = {
  name: 'DescribeProducersResponse',
  apiKey: 61,
  type: 'response',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'topics',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        {
          name: 'partitions',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'partitionIndex', type: 'int32', versions: '0+' },
            { name: 'errorCode', type: 'int16', versions: '0+' },
            { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
            {
              name: 'activeProducers',
              type: '[]struct',
              versions: '0+',
              fields: [
                { name: 'producerId', type: 'int64', versions: '0+' },
                { name: 'producerEpoch', type: 'int32', versions: '0+' },
                { name: 'lastSequence', type: 'int32', versions: '0+', default: -1 },
                { name: 'lastTimestamp', type: 'int64', versions: '0+', default: -1 },
                { name: 'coordinatorEpoch', type: 'int32', versions: '0+' },
                { name: 'currentTxnStartOffset', type: 'int64', versions: '0+', default: -1 },
              ],
            },
          ],
        },
      ],
    },
  ],
} as const satisfies MessageDef;
