import { ApiKey } from '../../protocol/messages/index.js';
import type { Handler } from '../router.js';

export const apiVersions: Handler = {
  apiKey: ApiKey.ApiVersions,
  minVersion: 0,
  maxVersion: 3,
  handle: (_req, { broker }) => ({ errorCode: 0, apiKeys: broker.router.apiVersions(), throttleTimeMs: 0 }),
};
