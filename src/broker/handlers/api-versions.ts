/**
 * ApiVersions, answered as Kafka's broker does (KIP-511):
 * - a version newer than ours is answered in v0 with UNSUPPORTED_VERSION and our ApiVersions range (router.ts);
 * - v3+ carries the client's software name and version; when either is not `[a-zA-Z0-9]`, optionally with
 *   `-` and `.` inside (an empty string included, which is what a v3 request with its fields left at their
 *   defaults carries), the answer is INVALID_REQUEST with no api keys;
 * - a body that cannot be decoded at all (a v3 request with no body, or one cut short) gets the same
 *   INVALID_REQUEST answer (router.ts), where Kafka's parser would close the connection: the client learns
 *   what is wrong, and any other request's undecodable body still closes its connection.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/index.js';
import type { Handler } from '../router.js';

const SOFTWARE_NAME_OR_VERSION = /^[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?$/;

export const apiVersions: Handler = {
  apiKey: ApiKey.ApiVersions,
  minVersion: 0,
  maxVersion: 3,
  handle: (req, { node, header }) => {
    if (
      header.apiVersion >= 3 &&
      !(
        SOFTWARE_NAME_OR_VERSION.test(req.clientSoftwareName as string) &&
        SOFTWARE_NAME_OR_VERSION.test(req.clientSoftwareVersion as string)
      )
    ) {
      return { errorCode: ErrorCode.INVALID_REQUEST, apiKeys: [], throttleTimeMs: 0 };
    }
    return { errorCode: 0, apiKeys: node.apiVersions(), throttleTimeMs: 0 };
  },
};
