/**
 * ListTransactions (key 66, KIP-664): the transactional ids a broker coordinates, filtered by state and
 * producer id (v1, KIP-994: by how long the transaction has run). Flexible from v0.
 *
 * ListTransactions Request (Version: 1) => [state_filters] [producer_id_filters] duration_filter TAG_BUFFER
 *   state_filters => COMPACT_STRING
 *   producer_id_filters => INT64
 *   duration_filter => INT64
 *
 * ListTransactions Response (Version: 1) => throttle_time_ms error_code [unknown_state_filters]
 *                                           [transaction_states] TAG_BUFFER
 *   transaction_states => transactional_id producer_id transaction_state TAG_BUFFER
 */
import type { MessageDef } from '../codec/schema.js';

export const ListTransactionsRequest = {
  name: 'ListTransactionsRequest',
  apiKey: 66,
  type: 'request',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'stateFilters', type: '[]string', versions: '0+' },
    { name: 'producerIdFilters', type: '[]int64', versions: '0+' },
    { name: 'durationFilter', type: 'int64', versions: '1+', default: -1 },
  ],
} as const satisfies MessageDef;

export const ListTransactionsResponse = {
  name: 'ListTransactionsResponse',
  apiKey: 66,
  type: 'response',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'unknownStateFilters', type: '[]string', versions: '0+' },
    {
      name: 'transactionStates',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'transactionalId', type: 'string', versions: '0+' },
        { name: 'producerId', type: 'int64', versions: '0+' },
        { name: 'transactionState', type: 'string', versions: '0+' },
      ],
    },
  ],
} as const satisfies MessageDef;
