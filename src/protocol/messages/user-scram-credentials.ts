/**
 * DescribeUserScramCredentials (key 50) and AlterUserScramCredentials (key 51), KIP-554. v0 only, flexible.
 * Mechanisms are int8: 1 SCRAM-SHA-256, 2 SCRAM-SHA-512. The client salts and hashes the password; the
 * broker never sees it.
 *
 * DescribeUserScramCredentials Request (Version: 0) => [users] TAG_BUFFER
 *   users => name TAG_BUFFER                       (null: every user)
 * DescribeUserScramCredentials Response (Version: 0) => throttle_time_ms error_code error_message
 *                                                       [results] TAG_BUFFER
 *   results => user error_code error_message [credential_infos] TAG_BUFFER
 *     credential_infos => mechanism iterations TAG_BUFFER
 *
 * AlterUserScramCredentials Request (Version: 0) => [deletions] [upsertions] TAG_BUFFER
 *   deletions => name mechanism TAG_BUFFER
 *   upsertions => name mechanism iterations salt salted_password TAG_BUFFER
 * AlterUserScramCredentials Response (Version: 0) => throttle_time_ms [results] TAG_BUFFER
 *   results => user error_code error_message TAG_BUFFER
 */
import type { MessageDef } from '../codec/schema.js';

export const DescribeUserScramCredentialsRequest = {
  name: 'DescribeUserScramCredentialsRequest',
  apiKey: 50,
  type: 'request',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    {
      name: 'users',
      type: '[]struct',
      versions: '0+',
      nullableVersions: '0+',
      fields: [{ name: 'name', type: 'string', versions: '0+' }],
    },
  ],
} as const satisfies MessageDef;

export const DescribeUserScramCredentialsResponse = {
  name: 'DescribeUserScramCredentialsResponse',
  apiKey: 50,
  type: 'response',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    {
      name: 'results',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'user', type: 'string', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
        {
          name: 'credentialInfos',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'mechanism', type: 'int8', versions: '0+' },
            { name: 'iterations', type: 'int32', versions: '0+' },
          ],
        },
      ],
    },
  ],
} as const satisfies MessageDef;

export const AlterUserScramCredentialsRequest = {
  name: 'AlterUserScramCredentialsRequest',
  apiKey: 51,
  type: 'request',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    {
      name: 'deletions',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        { name: 'mechanism', type: 'int8', versions: '0+' },
      ],
    },
    {
      name: 'upsertions',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        { name: 'mechanism', type: 'int8', versions: '0+' },
        { name: 'iterations', type: 'int32', versions: '0+' },
        { name: 'salt', type: 'bytes', versions: '0+' },
        { name: 'saltedPassword', type: 'bytes', versions: '0+' },
      ],
    },
  ],
} as const satisfies MessageDef;

export const AlterUserScramCredentialsResponse = {
  name: 'AlterUserScramCredentialsResponse',
  apiKey: 51,
  type: 'response',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'results',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'user', type: 'string', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
      ],
    },
  ],
} as const satisfies MessageDef;
