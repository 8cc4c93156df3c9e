/**
 * DescribeTransactions (key 65, KIP-664): the state of transactional ids, answered by their coordinator.
 * Flexible from v0.
 *
 * DescribeTransactions Request (Version: 0) => [transactional_ids] TAG_BUFFER
 *   transactional_ids => COMPACT_STRING
 *
 * DescribeTransactions Response (Version: 0) => throttle_time_ms [transaction_states] TAG_BUFFER
 *   transaction_states => error_code transactional_id transaction_state transaction_timeout_ms
 *                         transaction_start_time_ms producer_id producer_epoch [topics] TAG_BUFFER
 *     topics => topic [partitions] TAG_BUFFER
 */
import type { MessageDef } from '../codec/schema.js';

export const DescribeTransactionsRequest = {
  name: 'DescribeTransactionsRequest',
  apiKey: 65,
  type: 'request',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [{ name: 'transactionalIds', type: '[]string', versions: '0+' }],
} as const satisfies MessageDef;

export const DescribeTransactionsResponse = {
  name: 'DescribeTransactionsResponse',
  apiKey: 65,
  type: 'response',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'transactionStates',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'transactionalId', type: 'string', versions: '0+' },
        { name: 'transactionState', type: 'string', versions: '0+' },
        { name: 'transactionTimeoutMs', type: 'int32', versions: '0+' },
        { name: 'transactionStartTimeMs', type: 'int64', versions: '0+' },
        { name: 'producerId', type: 'int64', versions: '0+' },
        { name: 'producerEpoch', type: 'int16', versions: '0+' },
        {
          name: 'topics',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'topic', type: 'string', versions: '0+' },
            { name: 'partitions', type: '[]int32', versions: '0+' },
          ],
        },
      ],
    },
  ],
} as const satisfies MessageDef;
