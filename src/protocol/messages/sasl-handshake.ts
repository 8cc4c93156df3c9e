/**
 * SaslHandshake (key 17). Never flexible. v0: the SASL tokens follow as raw size-prefixed frames; v1: they
 * are wrapped in SaslAuthenticate requests. Defined for completeness; kstream does not serve SASL yet.
 *
 * SaslHandshake Request (Version: 1) => mechanism
 *   mechanism => STRING
 *
 * SaslHandshake Response (Version: 1) => error_code [mechanisms]
 *   error_code => INT16
 *   mechanisms => STRING
 */
import type { MessageDef } from '../codec/schema.js';

export const SaslHandshakeRequest = {
  name: 'SaslHandshakeRequest',
  apiKey: 17,
  type: 'request',
  validVersions: '0-1',
  flexibleVersions: 'none',
  fields: [{ name: 'mechanism', type: 'string', versions: '0+' }],
} as const satisfies MessageDef;

export const SaslHandshakeResponse = {
  name: 'SaslHandshakeResponse',
  apiKey: 17,
  type: 'response',
  validVersions: '0-1',
  flexibleVersions: 'none',
  fields: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'mechanisms', type: '[]string', versions: '0+' },
  ],
} as const satisfies MessageDef;
