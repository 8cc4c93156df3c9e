/**
 * FindCoordinator (key 10). Flexible from v3. v1 adds keyType (0 group, 1 transaction) and, in the
 * response, throttleTimeMs / errorMessage. v4 batches: the request carries coordinatorKeys instead of key,
 * and the response a coordinators array instead of the single top-level node.
 *
 * FindCoordinator Request (Version: 4) => key_type [coordinator_keys] TAG_BUFFER
 *   key_type => INT8
 *   coordinator_keys => COMPACT_STRING
 *
 * FindCoordinator Response (Version: 4) => throttle_time_ms [coordinators] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   coordinators => key node_id host port error_code error_message TAG_BUFFER
 *     key => COMPACT_STRING
 *     node_id => INT32
 *     host => COMPACT_STRING
 *     port => INT32
 *     error_code => INT16
 *     error_message => COMPACT_NULLABLE_STRING
 */
import type { MessageDef } from '../codec/schema.js';

export const FindCoordinatorRequest = {
  name: 'FindCoordinatorRequest',
  apiKey: 10,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'key', type: 'string', versions: '0-3' },
    { name: 'keyType', type: 'int8', versions: '1+', default: 0 },
    { name: 'coordinatorKeys', type: '[]string', versions: '4+' },
  ],
} as const satisfies MessageDef;

export const FindCoordinatorResponse = {
  name: 'FindCoordinatorResponse',
  apiKey: 10,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0-3' },
    { name: 'errorMessage', type: 'string', versions: '1-3', nullableVersions: '1-3' },
    { name: 'nodeId', type: 'int32', versions: '0-3' },
    { name: 'host', type: 'string', versions: '0-3' },
    { name: 'port', type: 'int32', versions: '0-3' },
    {
      name: 'coordinators',
      type: '[]struct',
      versions: '4+',
      fields: [
        { name: 'key', type: 'string', versions: '4+' },
        { name: 'nodeId', type: 'int32', versions: '4+' },
        { name: 'host', type: 'string', versions: '4+' },
        { name: 'port', type: 'int32', versions: '4+' },
        { name: 'errorCode', type: 'int16', versions: '4+' },
        { name: 'errorMessage', type: 'string', versions: '4+', nullableVersions: '4+' },
      ],
    },
  ],
} as const satisfies MessageDef;
