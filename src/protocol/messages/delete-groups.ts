/**
 * DeleteGroups (key 42). Flexible from v2.
 *
 * DeleteGroups Request (Version: 2) => [groups_names] TAG_BUFFER
 *   groups_names => COMPACT_STRING
 *
 * DeleteGroups Response (Version: 2) => throttle_time_ms [results] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   results => group_id error_code TAG_BUFFER
 *     group_id => COMPACT_STRING
 *     error_code => INT16
 */
import type { MessageDef } from '../codec/schema.js';

export const DeleteGroupsRequest = {
  name: 'DeleteGroupsRequest',
  apiKey: 42,
  type: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [{ name: 'groupsNames', type: '[]string', versions: '0+' }],
} as const satisfies MessageDef;

export const DeleteGroupsResponse = {
  name: 'DeleteGroupsResponse',
  apiKey: 42,
  type: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'results',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'groupId', type: 'string', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
      ],
    },
  ],
} as const satisfies MessageDef;
