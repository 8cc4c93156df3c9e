/**
 * SaslAuthenticate (key 36). Flexible from v2. v1 adds sessionLifetimeMs (KIP-368 re-authentication).
 *
 * SaslAuthenticate Request (Version: 2) => auth_bytes TAG_BUFFER
 *   auth_bytes => COMPACT_BYTES
 *
 * SaslAuthenticate Response (Version: 2) => error_code error_message auth_bytes session_lifetime_ms TAG_BUFFER
 *   error_code => INT16
 *   error_message => COMPACT_NULLABLE_STRING
 *   auth_bytes => COMPACT_BYTES
 *   session_lifetime_ms => INT64
 */
import type { MessageDef } from '../codec/schema.js';

export const SaslAuthenticateRequest = {
  name: 'SaslAuthenticateRequest',
  apiKey: 36,
  type: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [{ name: 'authBytes', type: 'bytes', versions: '0+' }],
} as const satisfies MessageDef;

export const SaslAuthenticateResponse = {
  name: 'SaslAuthenticateResponse',
  apiKey: 36,
  type: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'authBytes', type: 'bytes', versions: '0+' },
    { name: 'sessionLifetimeMs', type: 'int64', versions: '1+', default: 0n },
  ],
} as const satisfies MessageDef;
