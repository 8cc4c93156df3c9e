/**
 * DescribeClientQuotas (key 48) and AlterClientQuotas (key 49), KIP-546. v0-1, flexible from v1. Entities are
 * lists of (entity type, name) components: `user`, `client-id` (and `ip`); a null name is the default entity.
 * Quota values are float64.
 *
 * DescribeClientQuotas Request (Version: 1) => [components] strict TAG_BUFFER
 *   components => entity_type match_type match TAG_BUFFER    (match_type 0 exact, 1 default, 2 any)
 * DescribeClientQuotas Response (Version: 1) => throttle_time_ms error_code error_message [entries] TAG_BUFFER
 *   entries => [entity] [values] TAG_BUFFER                  (entries nullable)
 *     entity => entity_type entity_name TAG_BUFFER
 *     values => key value TAG_BUFFER
 *
 * AlterClientQuotas Request (Version: 1) => [entries] validate_only TAG_BUFFER
 *   entries => [entity] [ops] TAG_BUFFER
 *     entity => entity_type entity_name TAG_BUFFER
 *     ops => key value remove TAG_BUFFER
 * AlterClientQuotas Response (Version: 1) => throttle_time_ms [entries] TAG_BUFFER
 *   entries => error_code error_message [entity] TAG_BUFFER
 */
import type { MessageDef } from '../codec/schema.js';

const entity = {
  name: 'entity',
  type: '[]struct',
  versions: '0+',
  fields: [
    { name: 'entityType', type: 'string', versions: '0+' },
    { name: 'entityName', type: 'string', versions: '0+', nullableVersions: '0+' },
  ],
} as const;

export const DescribeClientQuotasRequest = {
  name: 'DescribeClientQuotasRequest',
  apiKey: 48,
  type: 'request',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    {
      name: 'components',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'entityType', type: 'string', versions: '0+' },
        { name: 'matchType', type: 'int8', versions: '0+' },
        { name: 'match', type: 'string', versions: '0+', nullableVersions: '0+' },
      ],
    },
    { name: 'strict', type: 'bool', versions: '0+' },
  ],
} as const satisfies MessageDef;

export const DescribeClientQuotasResponse = {
  name: 'DescribeClientQuotasResponse',
  apiKey: 48,
  type: 'response',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    {
      name: 'entries',
      type: '[]struct',
      versions: '0+',
      nullableVersions: '0+',
      fields: [
        entity,
        {
          name: 'values',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'key', type: 'string', versions: '0+' },
            { name: 'value', type: 'float64', versions: '0+' },
          ],
        },
      ],
    },
  ],
} as const satisfies MessageDef;

export const AlterClientQuotasRequest = {
  name: 'AlterClientQuotasRequest',
  apiKey: 49,
  type: 'request',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    {
      name: 'entries',
      type: '[]struct',
      versions: '0+',
      fields: [
        entity,
        {
          name: 'ops',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'key', type: 'string', versions: '0+' },
            { name: 'value', type: 'float64', versions: '0+' },
            { name: 'remove', type: 'bool', versions: '0+' },
          ],
        },
      ],
    },
    { name: 'validateOnly', type: 'bool', versions: '0+' },
  ],
} as const satisfies MessageDef;

export const AlterClientQuotasResponse = {
  name: 'AlterClientQuotasResponse',
  apiKey: 49,
  type: 'response',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'entries',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
        entity,
      ],
    },
  ],
} as const satisfies MessageDef;
