/**
 * DescribeAcls (key 29), CreateAcls (key 30), DeleteAcls (key 31): KIP-11, prefixed patterns from v1 (KIP-290),
 * flexible from v2. Enums are int8: resource type (1 ANY, 2 TOPIC, 3 GROUP, 4 CLUSTER, 5 TRANSACTIONAL_ID, …),
 * pattern type (1 ANY, 2 MATCH, 3 LITERAL, 4 PREFIXED), operation (1 ANY, 2 ALL, 3 READ, …) and permission
 * (1 ANY, 2 DENY, 3 ALLOW). v0 has no pattern type: LITERAL.
 *
 * DescribeAcls Request => resource_type_filter resource_name_filter [pattern_type_filter] principal_filter
 *                         host_filter operation permission_type
 * DescribeAcls Response => throttle_time_ms error_code error_message [resources]
 *   resources => resource_type resource_name [pattern_type] [acls]
 *     acls => principal host operation permission_type
 * CreateAcls Request => [creations]
 *   creations => resource_type resource_name [resource_pattern_type] principal host operation permission_type
 * CreateAcls Response => throttle_time_ms [results]
 *   results => error_code error_message
 * DeleteAcls Request => [filters]   (each as DescribeAcls' request)
 * DeleteAcls Response => throttle_time_ms [filter_results]
 *   filter_results => error_code error_message [matching_acls]
 *     matching_acls => error_code error_message resource_type resource_name [pattern_type] principal host
 *                      operation permission_type
 */
import type { MessageDef } from '../codec/schema.js';

const LITERAL = 3;

const filterFields = [
  { name: 'resourceTypeFilter', type: 'int8', versions: '0+' },
  { name: 'resourceNameFilter', type: 'string', versions: '0+', nullableVersions: '0+' },
  { name: 'patternTypeFilter', type: 'int8', versions: '1+', default: LITERAL },
  { name: 'principalFilter', type: 'string', versions: '0+', nullableVersions: '0+' },
  { name: 'hostFilter', type: 'string', versions: '0+', nullableVersions: '0+' },
  { name: 'operation', type: 'int8', versions: '0+' },
  { name: 'permissionType', type: 'int8', versions: '0+' },
] as const;

export const DescribeAclsRequest = {
  name: 'DescribeAclsRequest',
  apiKey: 29,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: filterFields,
} as const satisfies MessageDef;

export const DescribeAclsResponse = {
  name: 'DescribeAclsResponse',
  apiKey: 29,
  type: 'response',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    {
      name: 'resources',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'resourceType', type: 'int8', versions: '0+' },
        { name: 'resourceName', type: 'string', versions: '0+' },
        { name: 'patternType', type: 'int8', versions: '1+', default: LITERAL },
        {
          name: 'acls',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'principal', type: 'string', versions: '0+' },
            { name: 'host', type: 'string', versions: '0+' },
            { name: 'operation', type: 'int8', versions: '0+' },
            { name: 'permissionType', type: 'int8', versions: '0+' },
          ],
        },
      ],
    },
  ],
} as const satisfies MessageDef;

export const CreateAclsRequest = {
  name: 'CreateAclsRequest',
  apiKey: 30,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    {
      name: 'creations',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'resourceType', type: 'int8', versions: '0+' },
        { name: 'resourceName', type: 'string', versions: '0+' },
        { name: 'resourcePatternType', type: 'int8', versions: '1+', default: LITERAL },
        { name: 'principal', type: 'string', versions: '0+' },
        { name: 'host', type: 'string', versions: '0+' },
        { name: 'operation', type: 'int8', versions: '0+' },
        { name: 'permissionType', type: 'int8', versions: '0+' },
      ],
    },
  ],
} as const satisfies MessageDef;

export const CreateAclsResponse = {
  name: 'CreateAclsResponse',
  apiKey: 30,
  type: 'response',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'results',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
      ],
    },
  ],
} as const satisfies MessageDef;

export const DeleteAclsRequest = {
  name: 'DeleteAclsRequest',
  apiKey: 31,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [{ name: 'filters', type: '[]struct', versions: '0+', fields: filterFields }],
} as const satisfies MessageDef;

export const DeleteAclsResponse = {
  name: 'DeleteAclsResponse',
  apiKey: 31,
  type: 'response',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'filterResults',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
        {
          name: 'matchingAcls',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'errorCode', type: 'int16', versions: '0+' },
            { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
            { name: 'resourceType', type: 'int8', versions: '0+' },
            { name: 'resourceName', type: 'string', versions: '0+' },
            { name: 'patternType', type: 'int8', versions: '1+', default: LITERAL },
            { name: 'principal', type: 'string', versions: '0+' },
            { name: 'host', type: 'string', versions: '0+' },
            { name: 'operation', type: 'int8', versions: '0+' },
            { name: 'permissionType', type: 'int8', versions: '0+' },
          ],
        },
      ],
    },
  ],
} as const satisfies MessageDef;
