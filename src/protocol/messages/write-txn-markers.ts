/**
 * WriteTxnMarkers (key 27, KIP-98): sent by a transaction coordinator to the leaders of a transaction's
 * partitions; each leader appends a COMMIT or ABORT control batch for the producer. Flexible from v1.
 *
 * WriteTxnMarkers Request (Version: 1) => [markers] TAG_BUFFER
 *   markers => producer_id producer_epoch transaction_result [topics] coordinator_epoch TAG_BUFFER
 *     producer_id => INT64
 *     producer_epoch => INT16
 *     transaction_result => BOOLEAN          (false = ABORT, true = COMMIT)
 *     topics => name [partition_indexes] TAG_BUFFER
 *       name => COMPACT_STRING
 *       partition_indexes => INT32
 *     coordinator_epoch => INT32
 *
 * WriteTxnMarkers Response (Version: 1) => [markers] TAG_BUFFER
 *   markers => producer_id [topics] TAG_BUFFER
 *     producer_id => INT64
 *     topics => name [partitions] TAG_BUFFER
 *       name => COMPACT_STRING
 *       partitions => partition_index error_code TAG_BUFFER
 *         partition_index => INT32
 *         error_code => INT16
 */
import type { MessageDef } from '../codec/schema.js';

export const WriteTxnMarkersRequest = {
  name: 'WriteTxnMarkersRequest',
  apiKey: 27,
  type: 'request',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    {
      name: 'markers',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'producerId', type: 'int64', versions: '0+' },
        { name: 'producerEpoch', type: 'int16', versions: '0+' },
        { name: 'transactionResult', type: 'bool', versions: '0+' },
        {
          name: 'topics',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'name', type: 'string', versions: '0+' },
            { name: 'partitionIndexes', type: '[]int32', versions: '0+' },
          ],
        },
        { name: 'coordinatorEpoch', type: 'int32', versions: '0+' },
      ],
    },
  ],
} as const satisfies MessageDef;

export const WriteTxnMarkersResponse = {
  name: 'WriteTxnMarkersResponse',
  apiKey: 27,
  type: 'response',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    {
      name: 'markers',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'producerId', type: 'int64', versions: '0+' },
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
              ],
            },
          ],
        },
      ],
    },
  ],
} as const satisfies MessageDef;
